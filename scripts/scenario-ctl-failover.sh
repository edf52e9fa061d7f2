#!/bin/sh
# The operator commands of `failover scenarios --wire` for `failover serve`:
#   --sut-ctl "scripts/scenario-ctl-failover.sh {dir} {command}"
# COMMAND is the RFC 8156 external command the scenario names: `partner-down` (§8.4, §8.8.2,
# §8.9.2, §8.11.2: the operator has decided the partner is down) or `shutdown`. `failover ctl
# partner-down` refuses while the partner is connected unless --force (a guard for an operator
# typing it by hand); the scenario's command is that decision already made, so it is given with
# --force. BIN overrides the binary.
set -eu
dir=$1 command=$2
BIN=${BIN:-$(dirname "$0")/../target/debug/failover}
case "$command" in
  partner-down) exec "$BIN" ctl --socket "$dir/serve.sock" partner-down --force ;;
  shutdown) exec "$BIN" ctl --socket "$dir/serve.sock" shutdown ;;
  *) echo "scenario-ctl-failover.sh: unknown command $command" >&2; exit 2 ;;
esac
