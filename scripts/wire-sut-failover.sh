#!/bin/sh
# `failover serve` as a server under test of `failover conform --wire --sut-start`:
#   --sut-start "scripts/wire-sut-failover.sh ROLE {port} {dhcp} {dir}"
# writes the server configuration matching conformance/README.md "Test your server over the
# network" (MCLT 2 s, keepalive 6 s, one pool of 64 addresses, loopback) into DIR and runs the
# server in the foreground (exec: the harness kills this very process). BIN overrides the binary.
set -eu
role=$1 port=$2 dhcp=$3 dir=$4
BIN=${BIN:-$(dirname "$0")/../target/debug/failover}
if [ "$role" = secondary ]; then local="[::1]:$port"; remote="[::1]:647"; else local="[::1]:0"; remote="[::1]:$port"; fi
cat > "$dir/serve.toml" <<CFG
role = "$role"
mclt = 2
valid_lifetime = 30
startup_time = 1
storage = "$dir/serve.redb"
control_socket = "$dir/serve.sock"
duid_file = "$dir/serve.duid"
[partner]
local = "$local"
remote = "$remote"
keepalive = 6
reconnect_min = 1
reconnect_max = 1
[dhcp]
bind = "::1"
port = $dhcp
[[address_pools]]
range = "2001:db8:1::100-2001:db8:1::13f"
CFG
exec "$BIN" serve --config "$dir/serve.toml" 2>>"$dir/serve.log"
