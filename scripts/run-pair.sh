#!/usr/bin/env bash
# Run a DHCPv6 failover pair (RFC 8156) in network namespaces and let a real client use it.
# See --help. Everything it makes is removed on exit (trap), also on Ctrl-C or failure.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/run-pair.sh [--help]

Sets up, as root, three network namespaces -- a client, a primary and a secondary -- joined by
a bridge (the client link, 2001:db8:1::/64) and a separate partner link between the two servers
(fd00:fa11::/64); writes two configurations into a temp dir; starts `failover serve` in each
server namespace; waits until both are NORMAL; runs `dhclient -6` (an address and a delegated
prefix) in the client namespace; prints the lease the client got and `failover ctl status` and
`failover ctl leases` of each server; then tears everything down.

Environment (all optional):
  FAILOVER     the failover binary          (default: target/debug/failover, built if missing)
  MCLT         seconds                      (default: 10)
  LIFETIME     valid lifetime, seconds      (default: 60; RFC 8156 wants at least 30)
  KEEPALIVE    partner keepalive, seconds   (default: 5)
  POOL         address range FIRST-LAST     (default: 2001:db8:1::1000-2001:db8:1::1fff)
  PD_POOL      prefix pool                  (default: 2001:db8:100::/48)
  PD_LEN       delegated length             (default: 56)
  HOLD         seconds to keep the pair up after the client bound, to look around with
               `ip netns exec`, `failover ctl --socket DIR/primary.sock status`... (default: 0)
  KEEP_DIR=1   keep the temp dir (configs, logs, databases) instead of removing it

Needs: ip (iproute2), dhclient (isc-dhcp-client); root.
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run-pair.sh: needs root (network namespaces)" >&2; exit 1; }
for t in ip dhclient; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] || {
    echo "run-pair.sh: missing $t; apt-get install -y iproute2 isc-dhcp-client" >&2; exit 1; }
done
export PATH="$PATH:/usr/sbin:/sbin"

FAILOVER=${FAILOVER:-target/debug/failover}
if [ ! -x "$FAILOVER" ]; then
  echo "building $FAILOVER ..."
  cargo build --bin failover
fi
FAILOVER=$(realpath "$FAILOVER")
MCLT=${MCLT:-10}
LIFETIME=${LIFETIME:-60}
KEEPALIVE=${KEEPALIVE:-5}
POOL=${POOL:-2001:db8:1::1000-2001:db8:1::1fff}
PD_POOL=${PD_POOL:-2001:db8:100::/48}
PD_LEN=${PD_LEN:-56}
HOLD=${HOLD:-0}

TAG="frp$$"
NS_BR="$TAG-br"; NS_P="$TAG-p"; NS_S="$TAG-s"; NS_C="$TAG-c"
DIR=$(mktemp -d "/tmp/failover-pair-XXXXXX")
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.5
  for ns in "$NS_C" "$NS_P" "$NS_S" "$NS_BR"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ "${KEEP_DIR:-0}" = 1 ]; then echo "files kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

for ns in "$NS_BR" "$NS_P" "$NS_S" "$NS_C"; do
  ip netns add "$ns"
  nsx "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
done
ip -n "$NS_BR" link add br0 type bridge mcast_snooping 0
ip -n "$NS_BR" link set br0 up
port=0
attach() { # NS ADDR|-
  port=$((port + 1))
  ip -n "$NS_BR" link add "p$port" type veth peer name eth0 netns "$1"
  ip -n "$NS_BR" link set "p$port" master br0 up
  nsx "$1" sysctl -q -w net.ipv6.conf.eth0.accept_dad=0
  [ "$2" = - ] || ip -n "$1" addr add "$2" dev eth0 nodad
  ip -n "$1" link set eth0 up
}
attach "$NS_P" 2001:db8:1::a/64
attach "$NS_S" 2001:db8:1::b/64
attach "$NS_C" -
ip -n "$NS_P" link add part0 type veth peer name part0 netns "$NS_S"
for x in "$NS_P fd00:fa11::1" "$NS_S fd00:fa11::2"; do
  set -- $x
  nsx "$1" sysctl -q -w net.ipv6.conf.part0.accept_dad=0
  ip -n "$1" addr add "$2/64" dev part0 nodad
  ip -n "$1" link set part0 up
done

write_config() { # ROLE LOCAL REMOTE
  cat > "$DIR/$1.toml" <<EOF
role = "$1"
mclt = $MCLT
valid_lifetime = $LIFETIME
startup_time = 3
storage = "$DIR/$1.redb"
control_socket = "$DIR/$1.sock"

[partner]
local = "[$2]:647"
remote = "[$3]:647"
keepalive = $KEEPALIVE

[dhcp]
interfaces = ["eth0"]

[[address_pools]]
range = "$POOL"

[[prefix_pools]]
prefix = "$PD_POOL"
delegated_length = $PD_LEN
EOF
  "$FAILOVER" serve --check-config "$DIR/$1.toml"
}
write_config primary fd00:fa11::1 fd00:fa11::2
write_config secondary fd00:fa11::2 fd00:fa11::1

nsx "$NS_S" "$FAILOVER" serve --config "$DIR/secondary.toml" 2>"$DIR/secondary.log" &
PIDS+=($!)
nsx "$NS_P" "$FAILOVER" serve --config "$DIR/primary.toml" 2>"$DIR/primary.log" &
PIDS+=($!)

state() { "$FAILOVER" ctl --socket "$DIR/$1.sock" --json status 2>/dev/null \
  | sed -n 's/.*"state": *"\([A-Z-]*\)".*/\1/p' | head -1; }
echo "waiting for both servers to be NORMAL (MCLT $MCLT s, startup 3 s) ..."
for _ in $(seq 1 300); do
  [ "$(state primary)" = NORMAL ] && [ "$(state secondary)" = NORMAL ] && break
  sleep 0.2
done
echo "primary: $(state primary)   secondary: $(state secondary)"

echo "running dhclient -6 (address and prefix) in $NS_C ..."
nsx "$NS_C" timeout 30 dhclient -6 -1 -v -N -P -sf /bin/true \
  -lf "$DIR/client.leases" -pf "$DIR/client.pid" eth0 2>"$DIR/client.log" || {
  echo "dhclient got nothing within 30 s; its log:"; tail -20 "$DIR/client.log"; }
echo "--- what the client holds (dhclient's lease file):"
grep -E 'iaaddr|iaprefix|max-life' "$DIR/client.leases" 2>/dev/null | tail -4 || true

for r in primary secondary; do
  echo "--- failover ctl status ($r):"
  "$FAILOVER" ctl --socket "$DIR/$r.sock" status || true
done
echo "--- failover ctl leases (secondary; ACTIVE ones):"
"$FAILOVER" ctl --socket "$DIR/secondary.sock" leases 2>/dev/null | grep -i active || true

if [ "$HOLD" -gt 0 ]; then
  echo "holding the pair up for $HOLD s: sockets $DIR/primary.sock $DIR/secondary.sock, namespaces $NS_P $NS_S $NS_C"
  sleep "$HOLD"
fi
nsx "$NS_C" dhclient -6 -r -N -P -sf /bin/true -lf "$DIR/client.leases" -pf "$DIR/client.pid" eth0 2>/dev/null || true
echo "done; tearing down"
