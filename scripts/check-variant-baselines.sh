#!/bin/sh
# The RFC as we read it, checked in the configurations that `cargo test` leaves out for time
# (see model/tests/variants.rs): it must keep every property there, and every path must end, so
# that each variant's counterexample is the variant's doing and the liveness verdicts are sound.
# Takes about half an hour on 2 cores and up to 6 GiB.
set -e
cd "$(dirname "$0")/.."
cargo build --release --quiet
# The default configuration (the main job), with the cycle search.
./target/release/failover check --cycles "$@"
# Storage loss: where the trace walks found the cycle that readings R20 and R21 removed.
./target/release/failover check --storage-losses 1 --cycles "$@"
# local-time-clt-first: the default configuration with two crashes.
./target/release/failover check --crashes 2 "$@"
