#!/bin/sh
# The counterexample traces docs/findings.md cites from traces/findings/ are what the model
# produces now (the corpus folders are checked by `cargo test`, conformance/replay/tests/corpus.rs).
# About 3 minutes on one core (debug build: the model is optimized in every profile).
set -e
cd "$(dirname "$0")/.."
cargo build --quiet --bin failover
./target/debug/failover traces findings --check --out traces/findings
