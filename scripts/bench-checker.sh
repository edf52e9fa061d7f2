#!/usr/bin/env bash
# Checker throughput: unique states/s of the default configuration with 1 and 2 threads,
# RUNS runs each (default 3), printing every run and the median. Used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
cargo build --release -q -p failover-suite
for threads in 1 2; do
  rates=()
  for _ in $(seq "$RUNS"); do
    out=$(./target/release/failover check --threads "$threads" --json-summary "$@")
    rate=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(int(d["unique_states"]/d["seconds"]), d["unique_states"], round(d["seconds"],2))' <<<"$out")
    echo "threads=$threads unique/s, unique, seconds: $rate"
    rates+=("${rate%% *}")
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "threads=$threads median unique states/s: $median"
done
