#!/usr/bin/env bash
# Checker throughput: unique states per CPU-second and per second of the default configuration
# (or of the `failover check` options given as arguments), with 1 and 2 threads, RUNS runs each
# (default 3), printing every run and the medians. Used for BENCHMARKS.md.
#
#   scripts/bench-checker.sh                      # this tree
#   OLD=/path/to/old/failover scripts/bench-checker.sh --ticks 1
#                                                 # paired: OLD and this tree alternately, and
#                                                 # the ratios (CPU time and wall time)
#   THREADS="1" scripts/bench-checker.sh          # one thread only
#
# Build OLD from another commit in its own worktree, e.g.
#   git worktree add ../base 3fc6281 && (cd ../base && cargo build --release -p failover-suite)
#   OLD=../base/target/release/failover scripts/bench-checker.sh
# On a shared machine compare the CPU-time ratio: wall time follows the other jobs' load.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
THREADS=${THREADS:-"1 2"}
cargo build --release -q -p failover-suite
bins="$PWD/target/release/failover"
if [ -n "${OLD:-}" ]; then
  bins="$OLD,$bins"
fi
exec python3 scripts/bench-checker.py "$RUNS" "$THREADS" "$bins" -- "$@"
