#!/bin/sh
# `failover serve` as the server under test of `failover scenarios --wire` (issue 15):
#   --sut-start "scripts/scenario-sut-failover.sh {config} {dir}"
# reads the per-case configuration the scenario runner writes (ScenarioSutConfig in
# conformance/src/wire/scenario.rs: role, partner and DHCPv6 addresses, MCLT, lifetime, STARTUP
# time, auto-partner-down, keepalive, every address and prefix of the pool), writes the matching
# `failover serve` configuration into DIR and runs the server in the foreground (exec: the
# harness kills this very process). Its operator commands:
#   --sut-ctl "BIN ctl --socket {dir}/serve.sock {command}"
# BIN overrides the binary.
set -eu
config=$1 dir=$2
BIN=${BIN:-$(dirname "$0")/../target/debug/failover}
python3 - "$config" "$dir" <<'PY'
import sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))
d = sys.argv[2]
host, port = cfg["partner"].rsplit(":", 1)
dhost, dport = cfg["dhcp"].rsplit(":", 1)
if cfg["role"] == "secondary":
    local, remote = cfg["partner"], f"{host}:647"
else:
    local, remote = f"{host}:0", cfg["partner"]
out = [
    f'role = "{cfg["role"]}"',
    f'mclt = {cfg["mclt"]}',
    f'valid_lifetime = {cfg["valid_lifetime"]}',
    f'startup_time = {cfg["startup_time"]}',
    f'storage = "{d}/serve.redb"',
    f'control_socket = "{d}/serve.sock"',
    f'duid_file = "{d}/serve.duid"',
    "[partner]",
    f'local = "{local}"',
    f'remote = "{remote}"',
    f'keepalive = {cfg["keepalive"]}',
    "reconnect_min = 1",
    "reconnect_max = 1",
]
if "auto_partner_down" in cfg:
    out.append(f'auto_partner_down = {cfg["auto_partner_down"]}')
out += ["[dhcp]", f'bind = "{dhost.strip("[]")}"', f"port = {dport}"]
for a in cfg["addresses"]:
    out += ["[[address_pools]]", f'range = "{a}-{a}"']
for p in cfg["prefixes"]:
    out += ["[[prefix_pools]]", f'prefix = "{p}"', f'delegated_length = {p.split("/")[1]}']
open(f"{d}/serve.toml", "w").write("\n".join(out) + "\n")
PY
exec "$BIN" serve --config "$dir/serve.toml" 2>>"$dir/serve.log"
