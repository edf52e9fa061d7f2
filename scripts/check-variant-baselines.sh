#!/bin/sh
# The RFC as we read it, checked in the configuration of each design variant that `cargo test`
# leaves out for time (see model/tests/variants.rs): it must keep every property there, so that
# the variant's counterexample is the variant's doing. Takes tens of minutes on 2 cores.
set -e
cd "$(dirname "$0")/.."
cargo build --release --quiet
# local-time-clt-first: the default configuration with two crashes.
./target/release/failover check --crashes 2 "$@"
