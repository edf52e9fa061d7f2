#!/usr/bin/env bash
# Every RFC scenario (conformance/scenarios/) over the wire against `failover serve` (issue 15):
# `failover scenarios --wire`, one fresh server per case started by
# scripts/scenario-sut-failover.sh, operator commands through `failover ctl`, JOBS cases at
# once. Prints the figures conformance/README.md quotes: passed, deviate by a reading, failed,
# errors, not wire-testable, wall time. Reports (JSON, JUnit, progress) go to a temporary folder
# named at the end; the harness kills every server it started.
#
#   scripts/wire-scenarios.sh                 # debug build, JOBS=3
#   PROFILE=release JOBS=4 scripts/wire-scenarios.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-debug}
JOBS=${JOBS:-3}
if [ "$PROFILE" = release ]; then
  cargo build --release --bin failover >&2
else
  cargo build --bin failover >&2
fi
BIN=$PWD/target/$PROFILE/failover
export BIN
WORK=$(mktemp -d /tmp/wire-scenarios.XXXXXX)
START=$(date +%s.%N)
RC=0
"$BIN" scenarios --wire --jobs "$JOBS" \
  --sut-start "$PWD/scripts/scenario-sut-failover.sh {config} {dir}" \
  --sut-ctl "$PWD/scripts/scenario-ctl-failover.sh {dir} {command}" \
  --json --report "$WORK/scenarios.junit.xml" > "$WORK/scenarios.json" 2> "$WORK/progress" || RC=$?
END=$(date +%s.%N)
python3 - "$WORK" "$START" "$END" "$JOBS" <<'PY'
import json, sys
work, start, end, jobs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
r = json.load(open(f"{work}/scenarios.json"))
print(f"{r['cases']} cases: {r['passed']} passed, {r['deviates']} deviate by a reading, "
      f"{r['failed']} failed, {r['errors']} errors, {r['not_wire_testable']} not wire-testable; "
      f"wall time {end - start:.0f} s ({jobs} server(s) at once)")
for x in r["results"]:
    if x["outcome"] in ("failed", "error"):
        print("  ", x["outcome"], x["id"], x.get("differs") or x.get("message"))
PY
echo "reports: $WORK"
exit $RC
