#!/usr/bin/env bash
# The whole wire conformance suite (`failover conform --wire`, issue 16) against `failover
# serve` on loopback, as secondary and as primary at the same time, each role over JOBS
# instances the harness starts itself (--sut-start scripts/wire-sut-failover.sh; the crash
# test included). Prints the figures that conformance/README.md quotes: tests, passed, not
# applicable, not wire-testable, wall time.
#
#   scripts/wire-suite.sh                      # debug build, JOBS=3
#   PROFILE=release JOBS=1 scripts/wire-suite.sh
#
# The tester's configurations, JSON and JUnit reports and progress go to a temporary folder,
# named at the end; the harness kills every server it started, even on failure.
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
SUT=$PWD/scripts/wire-sut-failover.sh
WORK=$(mktemp -d /tmp/wire-suite.XXXXXX)

# The tester's view of the servers (--sut-start chooses the ports of each instance).
for role in secondary primary; do
  key=target
  [ "$role" = primary ] && key=listen
  printf '%s\n' \
    "role = \"$role\"" \
    "$key = \"[::1]:647\"" \
    "dhcp = \"[::1]:547\"" \
    "mclt = 2" \
    "keepalive = 6" \
    "valid_lifetime = 30" \
    "reconnect_max = 1" \
    "address_range = \"2001:db8:1::100-2001:db8:1::13f\"" > "$WORK/$role-wire.toml"
done

PIDS=()
START=$(date +%s.%N)
for role in secondary primary; do
  "$BIN" conform --wire --sut-config "$WORK/$role-wire.toml" \
    --sut-start "$SUT $role {port} {dhcp} {dir}" --jobs "$JOBS" \
    --json --report "$WORK/$role.junit.xml" \
    > "$WORK/$role.json" 2> "$WORK/$role.progress" &
  PIDS+=($!)
done
RC=0
for p in "${PIDS[@]}"; do wait "$p" || RC=$?; done
END=$(date +%s.%N)
python3 - "$WORK" "$START" "$END" "$JOBS" <<'EOF'
import json, sys
work, start, end, jobs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
tot = {}
for role in ("secondary", "primary"):
    r = json.load(open(f"{work}/{role}.json"))
    t = r["totals"]
    print(f"{role:9}: {t['tests']} tests, {t['passed']} passed, {t['failed']} failed, "
          f"{t['errors']} errors, {t['not_applicable']} not applicable, "
          f"{t['not_wire_testable']} not wire-testable")
    for x in r["results"]:
        if x["verdict"] in ("fail", "error"):
            print("   ", x["id"], x)
    for k, v in t.items():
        tot[k] = tot.get(k, 0) + v
print(f"both     : {tot['tests']} verdicts, {tot['passed']} passed, {tot['failed']} failed, "
      f"{tot['errors']} errors; wall time {end - start:.1f} s "
      f"(the two roles at once, {jobs} server instance(s) each)")
EOF
echo "reports: $WORK"
exit $RC
