#!/usr/bin/env bash
# Side by side with Kea HA (project issue 19): the same perfdhcp load and the same faults against
# a Kea 2.2 HA pair (hot-standby, load-balancing) and a `failover serve` pair (RFC 8156).
# See --help. Everything it makes (namespaces, processes, files) is removed on exit, even on
# failure or Ctrl-C; traffic stays inside the namespaces it makes.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/compare-kea.sh [OPTIONS]          (root)

Runs, in network namespaces made here:
  bench      perfdhcp -6 against each system in --systems, --runs times, interleaved
             (ABCDEFG ABCDEFG ...): leases/s, Solicit->Advertise and Request->Reply median and
             99th percentile, server CPU per lease (user+system of the server processes).
  partition  the partner link AND the client link between the two halves cut for --cut
             seconds, so that clients on each side reach only "their" server; each system's
             own way into partner-down (Kea: automatic, its failure detection; failover: the
             operator's `failover ctl partner-down` once COMMUNICATIONS-INTERRUPTED, RFC 8156
             §8.9, on the servers named by --fo-partner-down); real dhclient clients arrive on
             both sides before the cut, during it and after partner-down, with perfdhcp load on
             both sides; then the link is restored.
  kill       kill -9 of the primary under perfdhcp load, real clients arriving during the
             outage (Kea: automatic takeover; failover: `ctl partner-down` on the secondary),
             the primary restarted on its own storage after --restart-after seconds.
Each drill counts: leases held by two clients at once (in the servers' databases before and
after the heal, and in the real clients' own lease files), real clients refused (no lease within
--client-wait seconds), perfdhcp exchanges unanswered, and bindings lost after the heal (a real
client's lease that no server holds for it any more; a lease a server held before the heal that
no server holds after).

Options (defaults in brackets):
  --what LIST          bench, partition, kill                      [bench partition kill]
  --systems LIST       bench systems: kea-alone kea-hs kea-lb fo-alone fo-pair fo-alone-shm
                       fo-pair-shm                                 [all seven]
                       (-shm: failover's redb files on tmpfs, /dev/shm, where fdatasync
                       costs nothing: closer to Kea's memfile, which never fsyncs)
  --pairs LIST         drill pairs: kea-hs kea-lb fo               [all three]
  --rate N             bench perfdhcp rate, exchanges/s            [200]
  --duration S         bench perfdhcp run length, seconds          [15]
  --runs N             bench runs per system                       [3]
  --pool N             addresses in the pool, both systems         [65536]
  --clients N          real clients per side per phase of a drill  [3]
  --drill-rate N       perfdhcp rate per side during a drill       [20]
  --cut S              partition length, seconds                   [45]
  --restart-after S    kill drill: seconds between kill and restart [20]
  --client-wait S      a real client not bound after S seconds counts as refused [40]
  --mclt S             failover MCLT in the drills (bench: max(30, duration+10)); longer
                       than the cut, so that no first grant (at most the MCLT, RFC 8156
                       §4.4) expires before the counts                       [60]
  --keepalive S        failover partner keepalive (RFC 8156 §6.5)  [4]
  --fo-partner-down W  partition drill: `ctl partner-down` on: both, primary, secondary, none
                                                                  [both]
  --kea-unacked N      Kea max-unacked-clients                     [1]
  --kea-timers H,R,A   Kea heartbeat-delay, max-response-delay, max-ack-delay (ms) [1000,4000,1000]
  --out DIR            keep the working directory there (configs, logs, snapshots, results)
  --json FILE          also write the summary JSON lines to FILE
  -h, --help

Durability, as configured here: Kea memfile (each lease change appended to a CSV file and
written to the kernel at once, no fsync: survives kill -9, not a power cut) against failover's
redb (one fdatasync'd commit per change: survives both).

Needs: iproute2, python3, kea-dhcp6-server (kea-dhcp6, libdhcp_ha.so, libdhcp_lease_cmds.so),
kea-admin (perfdhcp), isc-dhcp-client (dhclient); missing packages are installed with apt-get.
Builds `cargo build --release --bin failover`.
EOF
}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
. "$ROOT/scripts/lib/netlab.sh"
PY=$ROOT/scripts/lib/compare_kea.py
STATS=$ROOT/scripts/lib/perfdhcp_stats.py

WHAT="bench partition kill"
SYSTEMS="kea-alone kea-hs kea-lb fo-alone fo-pair fo-alone-shm fo-pair-shm"
PAIRS="kea-hs kea-lb fo"
RATE=200 DURATION=15 RUNS=3 POOL=65536 NCLI=3 DRILL_RATE=20 CUT=45 RESTART_AFTER=20
CLIENT_WAIT=40 MCLT=60 KEEPALIVE=4 FO_PD=both KEA_UNACKED=1 KEA_TIMERS=1000,4000,1000
OUT="" JSON_OUT=""
while (($#)); do
  # Every option but --help takes a value.
  if [[ $1 == --* && $1 != --help ]] && (($# < 2)); then
    echo "compare-kea.sh: $1 needs a value (try --help)" >&2; exit 2
  fi
  case $1 in
    -h|--help) usage; exit 0 ;;
    --what) WHAT=$2; shift ;;
    --systems) SYSTEMS=$2; shift ;;
    --pairs) PAIRS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --pool) POOL=$2; shift ;;
    --clients) NCLI=$2; shift ;;
    --drill-rate) DRILL_RATE=$2; shift ;;
    --cut) CUT=$2; shift ;;
    --restart-after) RESTART_AFTER=$2; shift ;;
    --client-wait) CLIENT_WAIT=$2; shift ;;
    --mclt) MCLT=$2; shift ;;
    --keepalive) KEEPALIVE=$2; shift ;;
    --fo-partner-down) FO_PD=$2; shift ;;
    --kea-unacked) KEA_UNACKED=$2; shift ;;
    --kea-timers) KEA_TIMERS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    *) echo "compare-kea.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in RATE DURATION RUNS POOL NCLI DRILL_RATE CUT RESTART_AFTER CLIENT_WAIT MCLT KEEPALIVE KEA_UNACKED; do
  [[ ${!n} =~ ^[0-9]+$ ]] || { echo "compare-kea.sh: ${n,,} must be a whole number, got '${!n}'" >&2; exit 2; }
done
for w in $WHAT; do [[ $w =~ ^(bench|partition|kill)$ ]] || { echo "unknown --what $w" >&2; exit 2; }; done
for s in $SYSTEMS; do [[ $s =~ ^(kea-alone|kea-hs|kea-lb|fo-alone|fo-pair|fo-alone-shm|fo-pair-shm)$ ]] || { echo "unknown system $s" >&2; exit 2; }; done
for s in $PAIRS; do [[ $s =~ ^(kea-hs|kea-lb|fo)$ ]] || { echo "unknown pair $s" >&2; exit 2; }; done
[[ $FO_PD =~ ^(both|primary|secondary|none)$ ]] || { echo "--fo-partner-down: both, primary, secondary or none" >&2; exit 2; }
[[ $KEA_TIMERS =~ ^[0-9]+,[0-9]+,[0-9]+$ ]] || { echo "--kea-timers: three numbers H,R,A (ms)" >&2; exit 2; }
IFS=, read -r KEA_HB KEA_MRD KEA_MAD <<<"$KEA_TIMERS"
(( POOL >= 16 && POOL <= 1048576 )) || { echo "--pool: 16 to 1048576 (failover expands each pool)" >&2; exit 2; }
(( MCLT >= 1 && KEEPALIVE >= 4 )) || { echo "--mclt at least 1, --keepalive at least 4" >&2; exit 2; }

need_root compare-kea.sh
export PATH="$PATH:/usr/sbin:/sbin"
need_debs kea-dhcp6:kea-dhcp6-server perfdhcp:kea-admin dhclient:isc-dhcp-client ip:iproute2 python3:python3
HOOKS=/usr/lib/x86_64-linux-gnu/kea/hooks
for h in libdhcp_ha.so libdhcp_lease_cmds.so; do
  [[ -f $HOOKS/$h ]] || { echo "compare-kea.sh: $HOOKS/$h missing (package kea-common)" >&2; exit 1; }
done

echo "== building failover (release)" >&2
nice cargo build --release -q --bin failover
BIN=$ROOT/target/release/failover

# ---- the lab --------------------------------------------------------------------------------
TAG=ck$$
NS_BR=$TAG-br NS_A=$TAG-a NS_B=$TAG-b NS_PA=$TAG-pa NS_PB=$TAG-pb
if [[ -n $OUT ]]; then mkdir -p "$OUT"; WORK=$(cd "$OUT" && pwd); else WORK=$(mktemp -d /var/tmp/compare-kea.XXXXXX); fi
RESULTS=$WORK/results.jsonl
SHM=/dev/shm/compare-kea.$$    # the -shm systems' storage (tmpfs)
: >"$RESULTS"
SERVER_PIDS=()   # every server started, killed at the end whatever happened

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  netlab_teardown
  rm -rf "$SHM"
  if [[ -n $OUT ]]; then echo "== kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two halves of one client link: bridge brA (server A, the primary / Kea server1) and bridge
# brB (server B, the secondary / Kea server2) joined by a veth "trunk"; a separate veth pair
# between A and B carries partner traffic. Cutting trunk and partner link makes a partition in
# which clients on each half still reach their own server.
lab_up() {
  local ns
  for ns in "$NS_BR" "$NS_A" "$NS_B" "$NS_PA" "$NS_PB"; do ns_new "$ns"; done
  for br in brA brB; do
    ip -n "$NS_BR" link add "$br" type bridge mcast_snooping 0
    ip -n "$NS_BR" link set "$br" up
  done
  ip -n "$NS_BR" link add trA type veth peer name trB
  ip -n "$NS_BR" link set trA master brA up
  ip -n "$NS_BR" link set trB master brB up
  attach "$NS_A" brA 2001:db8:1::a/64
  attach "$NS_B" brB 2001:db8:1::b/64
  attach "$NS_PA" brA 2001:db8:1::f1/64
  attach "$NS_PB" brB 2001:db8:1::f2/64
  ip -n "$NS_A" link add fo0 type veth peer name fo0 netns "$NS_B"
  ip -n "$NS_A" addr add fd00:fa11::1/64 dev fo0 nodad
  ip -n "$NS_B" addr add fd00:fa11::2/64 dev fo0 nodad
  ip -n "$NS_A" link set fo0 up
  ip -n "$NS_B" link set fo0 up
}
LEG=0
attach() { # NS BRIDGE ADDR|-
  LEG=$((LEG + 1))
  ip -n "$NS_BR" link add "l$LEG" type veth peer name eth0 netns "$1"
  ip -n "$NS_BR" link set "l$LEG" master "$2" up
  [[ $3 == - ]] || ip -n "$1" addr add "$3" dev eth0 nodad
  ip -n "$1" link set eth0 up
}
cut_link() {
  ip -n "$NS_BR" link set trA down; ip -n "$NS_BR" link set trB down
  ip -n "$NS_A" link set fo0 down; ip -n "$NS_B" link set fo0 down
}
heal_link() {
  ip -n "$NS_BR" link set trA up; ip -n "$NS_BR" link set trB up
  ip -n "$NS_A" link set fo0 up; ip -n "$NS_B" link set fo0 up
}

log() { echo "[$(date +%T)] $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- servers --------------------------------------------------------------------------------
# Each system's servers: A (primary; Kea "server1") in NS_A, B (secondary; Kea "server2") in
# NS_B. start_X DIR sets PID_A / PID_B; ready_X waits; stop_servers stops both.
PID_A="" PID_B=""

kea_conf() { # DIR WHO(A|B) MODE
  local dir=$1 who=$2 mode=$3 name=server1 id=0a0b0c0d01
  [[ $who == B ]] && { name=server2; id=0a0b0c0d02; }
  python3 "$PY" kea-config --mode "$mode" --name "$name" --server-id "$id" \
    --pool-size "$POOL" --lease-file "$dir/kea-$who.leases6.csv" --socket "$dir/kea-$who.sock" \
    --log "$dir/kea-$who.log" --heartbeat-delay "$KEA_HB" --max-response-delay "$KEA_MRD" \
    --max-ack-delay "$KEA_MAD" --max-unacked-clients "$KEA_UNACKED" >"$dir/kea-$who.json"
}
kea_start() { # DIR WHO NS -> STARTED
  mkdir -p "$1/run"
  ip netns exec "$3" env KEA_PIDFILE_DIR="$1/run" KEA_LOCKFILE_DIR="$1/run" \
    kea-dhcp6 -c "$1/kea-$2.json" >>"$1/kea-$2.out" 2>&1 &
  STARTED=$!
  SERVER_PIDS+=("$STARTED")
}
kea_state() { python3 "$PY" kea-state "$1/kea-$2.sock" 2>/dev/null || echo down; }
kea_is() { [[ $(kea_state "$1" "$2") == "$3" ]]; }
kea_up() { python3 "$PY" kea-cmd "$1/kea-$2.sock" list-commands 2>/dev/null | grep -q '"result": 0'; }

fo_conf() { # DIR WHO MCLT [STORAGE-DIR]
  local dir=$1 who=$2 mclt=$3 sdir=${4:-$1} role=primary local="[fd00:fa11::1]:0" remote="[fd00:fa11::2]:647"
  [[ $who == B ]] && { role=secondary local="[fd00:fa11::2]:647" remote="[fd00:fa11::1]:647"; }
  local last
  last=$(python3 -c "import ipaddress; print(ipaddress.IPv6Address('2001:db8:1::1:0') + $POOL - 1)")
  cat >"$dir/fo-$who.toml" <<EOF
role = "$role"
mclt = $mclt
valid_lifetime = 3600
preferred_percent = 75
startup_time = 1
storage = "$sdir/fo-$who.redb"
control_socket = "$dir/fo-$who.sock"
[partner]
local = "$local"
remote = "$remote"
keepalive = $KEEPALIVE
reconnect_min = 1
reconnect_max = 2
[dhcp]
interfaces = ["eth0"]
[[address_pools]]
range = "2001:db8:1::1:0-$last"
[[prefix_pools]]
prefix = "2001:db8:100::/44"
delegated_length = 56
EOF
  "$BIN" serve --check-config "$dir/fo-$who.toml" >/dev/null
}
fo_start() { # DIR WHO NS -> STARTED
  ip netns exec "$3" "$BIN" serve --config "$1/fo-$2.toml" >/dev/null 2>>"$1/fo-$2.log" &
  STARTED=$!
  SERVER_PIDS+=("$STARTED")
}
fo_status() { "$BIN" ctl --json --timeout 3 --socket "$1/fo-$2.sock" status 2>/dev/null; }
fo_state() { fo_status "$1" "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || echo down; }
fo_is() { [[ $(fo_state "$1" "$2") == "$3" ]]; }
fo_normal_pair() {
  fo_status "$1" "$2" | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["state"]=="NORMAL" and s.get("partner_state")=="NORMAL" else 1)'
}

# start_system SYSTEM DIR MCLT: start, wait until ready (bounded).
start_system() {
  local sys=$1 dir=$2 mclt=$3
  mkdir -p "$dir"
  PID_A="" PID_B=""
  case $sys in
    kea-alone)
      kea_conf "$dir" A alone; kea_start "$dir" A "$NS_A"; PID_A=$STARTED
      wait_for 30 "kea-dhcp6 alone to answer its control socket" kea_up "$dir" A ;;
    kea-hs|kea-lb)
      local mode=hot-standby want=hot-standby
      [[ $sys == kea-lb ]] && mode=load-balancing want=load-balancing
      kea_conf "$dir" A "$mode"; kea_conf "$dir" B "$mode"
      kea_start "$dir" B "$NS_B"; PID_B=$STARTED
      kea_start "$dir" A "$NS_A"; PID_A=$STARTED
      wait_for 60 "Kea server1 in $want" kea_is "$dir" A "$want"
      wait_for 30 "Kea server2 in $want" kea_is "$dir" B "$want" ;;
    fo-alone|fo-alone-shm)
      local sdir=$dir
      [[ $sys == *-shm ]] && { sdir=$SHM/$(basename "$dir"); mkdir -p "$sdir"; }
      fo_conf "$dir" A "$mclt" "$sdir"; fo_start "$dir" A "$NS_A"; PID_A=$STARTED
      wait_for 60 "failover primary alone in PARTNER-DOWN" fo_is "$dir" A PARTNER-DOWN ;;
    fo-pair|fo-pair-shm|fo)
      local sdir=$dir
      [[ $sys == *-shm ]] && { sdir=$SHM/$(basename "$dir"); mkdir -p "$sdir"; }
      fo_conf "$dir" A "$mclt" "$sdir"; fo_conf "$dir" B "$mclt" "$sdir"
      fo_start "$dir" B "$NS_B"; PID_B=$STARTED
      fo_start "$dir" A "$NS_A"; PID_A=$STARTED
      wait_for $((mclt + 90)) "failover primary NORMAL with partner NORMAL" fo_normal_pair "$dir" A
      wait_for 30 "failover secondary NORMAL with partner NORMAL" fo_normal_pair "$dir" B ;;
  esac
}
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_servers() { stop_pid "$PID_A"; stop_pid "$PID_B"; PID_A="" PID_B=""; }

# snapshot SYSTEM DIR WHO MOMENT -> DIR/snap-MOMENT-WHO.jsonl (normalized active leases)
snapshot() {
  local sys=$1 dir=$2 who=$3 moment=$4 f=$2/snap-$4-$3.jsonl
  case $sys in
    kea-*) python3 "$PY" snap-kea "$dir/kea-$who.sock" "$who" >"$f" 2>>"$dir/snap.err" || : >"$f" ;;
    fo*)
      "$BIN" ctl --json --timeout 20 --socket "$dir/fo-$who.sock" leases >"$dir/leases-$moment-$who.json" 2>>"$dir/snap.err" || true
      fo_status "$dir" "$who" >"$dir/status-$moment-$who.json" || true
      python3 "$PY" snap-fo "$dir/leases-$moment-$who.json" "$who" >"$f" 2>>"$dir/snap.err" || : >"$f" ;;
  esac
  echo "$f"
}
state_of() { # SYSTEM DIR WHO
  case $1 in kea-*) kea_state "$2" "$3" ;; *) fo_state "$2" "$3" ;; esac
}

# ---- perfdhcp -------------------------------------------------------------------------------
PERF_SEQ=0
# perf_start NS RATE SECONDS OUTFILE -> PERF_PID (background)
perf_start() {
  PERF_SEQ=$((PERF_SEQ + 1))
  local clients=$(($2 * $3 * 4 + 100))
  ( rc=0; timeout $(($3 + 60)) ip netns exec "$1" perfdhcp -6 -l eth0 -r "$2" -R "$clients" -p "$3" -x t \
      >"$4" 2>"$4.err" || rc=$?; echo "$rc" >"$4.rc" ) &
  PERF_PID=$!
}

# ---- real clients (dhclient -6, an address and a prefix each) -------------------------------
# client_start DIR SIDE(A|B) PHASE N: N clients, each in its own namespace on that half's bridge
# (dhclient binds UDP 546, so one client per namespace); each writes CLIENT.res "RC SECONDS".
CLI_SEQ=0
client_start() {
  local dir=$1 side=$2 phase=$3 n=$4 i ns name br=brA
  [[ $side == B ]] && br=brB
  mkdir -p "$dir/clients"
  for ((i = 1; i <= n; i++)); do
    CLI_SEQ=$((CLI_SEQ + 1))
    name=$phase-$side-$i ns=$TAG-c$CLI_SEQ
    ns_new "$ns"
    attach "$ns" "$br" -
    echo "$ns" >"$dir/clients/$name.ns"
    ( t0=$(date +%s.%N); rc=0
      timeout "$CLIENT_WAIT" ip netns exec "$ns" dhclient -6 -1 -v -N -P -sf /bin/true \
        -lf "$dir/clients/$name.leases" -pf "$dir/clients/$name.pid" eth0 \
        >"$dir/clients/$name.log" 2>&1 || rc=$?
      echo "$rc $(python3 -c "import time; print(round(time.time() - $t0, 2))")" >"$dir/clients/$name.res" ) &
  done
}
# client_wait DIR PHASE: until every client of PHASE has a result (bounded by CLIENT_WAIT + 10).
client_wait() {
  local dir=$1 phase=$2 start=$SECONDS f
  while ((SECONDS - start < CLIENT_WAIT + 10)); do
    local pending=0
    for f in "$dir"/clients/"$phase"-*.ns; do
      [[ -e $f ]] || continue
      [[ -s ${f%.ns}.res ]] || pending=1
    done
    ((pending == 0)) && return 0
    sleep 0.5
  done
}
# client_summary DIR PHASE -> "bound/total max_seconds"
client_summary() {
  python3 - "$1" "$2" <<'PY'
import glob, sys
res = sorted(glob.glob(f"{sys.argv[1]}/clients/{sys.argv[2]}-*.res"))
bound, times = 0, []
for r in res:
    rc, t = open(r).read().split()
    if rc == "0":
        bound += 1
        times.append(float(t))
print(f"{bound} {len(res)} {max(times) if times else 0}")
PY
}
client_snaps() { # DIR -> list of snapshot files (one per client)
  local f out=()
  for f in "$1"/clients/*.leases; do
    [[ -e $f ]] || continue
    python3 "$PY" snap-client "$f" "client" >"${f%.leases}.snap" 2>/dev/null || : >"${f%.leases}.snap"
    out+=("--clients" "${f%.leases}.snap")
  done
  echo "${out[@]}"
}
clients_down() { # DIR: stop the drill's clients and remove their namespaces
  local f
  for f in "$1"/clients/*.ns; do [[ -e $f ]] && ns_del "$(cat "$f")"; done
}

# state_watch SYSTEM DIR SECONDS: log both servers' states each 0.5 s into DIR/states.log, in
# the background (-> WATCH_PID); t is seconds since the watch started.
state_watch() {
  local sys=$1 dir=$2 limit=$3
  ( start=$(date +%s.%N); last=""
    for ((i = 0; i < limit * 2; i++)); do
      s="$(state_of "$sys" "$dir" A) $(state_of "$sys" "$dir" B)"
      if [[ $s != "$last" ]]; then
        echo "$(python3 -c "import time; print(round(time.time() - $start, 1))") $s" >>"$dir/states.log"
        last=$s
      fi
      sleep 0.5
    done ) &
  WATCH_PID=$!
}

perf_figures() { # OUTFILE SECONDS -> "solicits replies exit"
  python3 "$STATS" "$1" drill 0 "$2" 2>/dev/null | python3 -c '
import json,sys; d=json.load(sys.stdin); print(d["solicits"], d["replies"])' || echo "0 0"
}

# ---- bench ----------------------------------------------------------------------------------
bench_one() { # SYSTEM RUN
  local sys=$1 run=$2 dir=$WORK/bench-$1-$2 mclt=$((DURATION + 10 > 30 ? DURATION + 10 : 30))
  start_system "$sys" "$dir" "$mclt"
  local pids=("$PID_A") load0 cpu0 cpu1 rc=0
  [[ -n $PID_B ]] && pids+=("$PID_B")
  load0=$(loadavg)
  cpu0=$(proc_cpu_ms "${pids[@]}")
  timeout $((DURATION + 60)) ip netns exec "$NS_PA" perfdhcp -6 -l eth0 -r "$RATE" \
    -R $((RATE * DURATION * 4)) -p "$DURATION" -x t >"$dir/perfdhcp.out" 2>"$dir/perfdhcp.err" || rc=$?
  cpu1=$(proc_cpu_ms "${pids[@]}")
  stop_servers
  if ((rc != 0 && rc != 3)); then
    echo "perfdhcp failed (exit $rc) against $sys run $run:" >&2; cat "$dir/perfdhcp.err" >&2; return 1
  fi
  python3 "$STATS" "$dir/perfdhcp.out" "$sys" "$run" "$DURATION" | python3 -c '
import json, sys
d = json.load(sys.stdin)
cpu = int(sys.argv[1]) - int(sys.argv[2])
d.update(kind="bench", rate=int(sys.argv[3]), duration=int(sys.argv[4]), server_cpu_ms=cpu,
         cpu_us_per_lease=round(cpu * 1000 / d["replies"], 1) if d["replies"] else None,
         load_before=sys.argv[5])
print(json.dumps(d))' "$cpu1" "$cpu0" "$RATE" "$DURATION" "$load0" | tee -a "$RESULTS"
  rm -f "$dir"/*.redb "$dir"/*.csv
  rm -rf "${SHM:?}/$(basename "$dir")"
}

# ---- drills ---------------------------------------------------------------------------------
# The operator's partner-down for failover: wait (bounded) until the server is in
# COMMUNICATIONS-INTERRUPTED (RFC 8156 §8.9), then `failover ctl partner-down` (§8.9.2).
fo_partner_down() { # DIR WHO
  wait_for 30 "failover $2 in COMMUNICATIONS-INTERRUPTED" fo_is "$1" "$2" COMMUNICATIONS-INTERRUPTED || return 0
  "$BIN" ctl --timeout 5 --socket "$1/fo-$2.sock" partner-down >>"$1/operator.log" 2>&1 || true
  log "  operator: failover ctl partner-down on $2: $(tail -1 "$1/operator.log")"
}
# settle SYSTEM DIR: before the final snapshots, let the updates owed since the heal drain:
# failover: both `owed_updates` 0 (bounded 30 s); Kea: its ha-heartbeat "unsent-update-count"
# is not a backlog of the partner's (it counts updates not sent while interrupted), so a
# fixed 5 s.
fo_owes_nothing() {
  fo_status "$1" "$2" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["owed_updates"]==0 else 1)'
}
settle() {
  case $1 in
    fo) wait_for 30 "failover A owing no updates" fo_owes_nothing "$2" A || true
        wait_for 30 "failover B owing no updates" fo_owes_nothing "$2" B || true ;;
    *) sleep 5 ;;
  esac
}
healed() { # SYSTEM DIR
  case $1 in
    kea-hs) kea_is "$2" A hot-standby && kea_is "$2" B hot-standby ;;
    kea-lb) kea_is "$2" A load-balancing && kea_is "$2" B load-balancing ;;
    fo) fo_normal_pair "$2" A && fo_normal_pair "$2" B ;;
  esac
}

drill_partition() { # PAIR
  local sys=$1 dir=$WORK/partition-$1 t0 load0
  log "partition drill: $sys"
  load0=$(loadavg)
  start_system "$sys" "$dir" "$MCLT"
  client_start "$dir" A before "$NCLI"; client_start "$dir" B before "$NCLI"
  client_wait "$dir" before
  log "  before the cut: $(client_summary "$dir" before | cut -d' ' -f1-2 | tr ' ' /) real clients bound"
  state_watch "$sys" "$dir" $((CUT + MCLT + 200))
  local watch=$WATCH_PID
  t0=$SECONDS
  cut_link
  log "  link cut (partner link and the trunk between the halves)"
  perf_start "$NS_PA" "$DRILL_RATE" "$((CUT - 5))" "$dir/perf-A.out"; local pa=$PERF_PID
  perf_start "$NS_PB" "$DRILL_RATE" "$((CUT - 5))" "$dir/perf-B.out"; local pb=$PERF_PID
  client_start "$dir" A cut "$NCLI"; client_start "$dir" B cut "$NCLI"
  local pd_t=""
  case $sys in
    fo)
      local who
      case $FO_PD in both) who="A B" ;; primary) who=A ;; secondary) who=B ;; none) who="" ;; esac
      for w in $who; do fo_partner_down "$dir" "$w"; done
      pd_t=$((SECONDS - t0)) ;;
    kea-*)
      # Kea moves on its own; wait (bounded by the cut) until both or the time is up.
      local lim=$((CUT - 5))
      while ((SECONDS - t0 < lim)); do
        kea_is "$dir" A partner-down && kea_is "$dir" B partner-down && break
        sleep 0.5
      done
      pd_t=$((SECONDS - t0)) ;;
  esac
  log "  states ${pd_t}s after the cut: A $(state_of "$sys" "$dir" A), B $(state_of "$sys" "$dir" B)"
  client_start "$dir" A down "$NCLI"; client_start "$dir" B down "$NCLI"
  client_wait "$dir" cut; client_wait "$dir" down
  while ((SECONDS - t0 < CUT)); do sleep 0.5; done
  wait "$pa" "$pb" 2>/dev/null || true
  local pre_a pre_b
  pre_a=$(snapshot "$sys" "$dir" A preheal); pre_b=$(snapshot "$sys" "$dir" B preheal)
  heal_link
  local th=$SECONDS healed_s=-1 fault_s=$((SECONDS - t0))
  log "  link restored after $((SECONDS - t0))s; waiting for the pair to be back in its normal state"
  if wait_for $((MCLT + 150)) "$sys back to normal" healed "$sys" "$dir"; then healed_s=$((SECONDS - th)); fi
  settle "$sys" "$dir"
  local post_a post_b
  post_a=$(snapshot "$sys" "$dir" A postheal); post_b=$(snapshot "$sys" "$dir" B postheal)
  kill "$watch" 2>/dev/null || true; wait "$watch" 2>/dev/null || true
  drill_result partition "$sys" "$dir" "$fault_s" "$healed_s" "$load0" \
    --db "preheal=$pre_a,$pre_b" --db "postheal=$post_a,$post_b" --final "$post_a" --final "$post_b" \
    --lost-from "$pre_a,$pre_b"
  clients_down "$dir"
  stop_servers
}

drill_kill() { # PAIR
  local sys=$1 dir=$WORK/kill-$1 t0 load0
  log "kill drill: $sys"
  load0=$(loadavg)
  start_system "$sys" "$dir" "$MCLT"
  local len=$((RESTART_AFTER + CLIENT_WAIT))
  perf_start "$NS_PA" "$DRILL_RATE" "$len" "$dir/perf-A.out"; local pa=$PERF_PID
  client_start "$dir" A before "$NCLI"; client_start "$dir" B before "$NCLI"
  client_wait "$dir" before
  log "  before the kill: $(client_summary "$dir" before | cut -d' ' -f1-2 | tr ' ' /) real clients bound"
  state_watch "$sys" "$dir" $((len + MCLT + 200))
  local watch=$WATCH_PID
  t0=$SECONDS
  kill -KILL "$PID_A"; wait "$PID_A" 2>/dev/null || true
  log "  kill -9 of server A (primary)"
  client_start "$dir" A outage "$NCLI"; client_start "$dir" B outage "$NCLI"
  local pd_t=""
  case $sys in
    fo) fo_partner_down "$dir" B; pd_t=$((SECONDS - t0)) ;;
    kea-*)
      while ((SECONDS - t0 < RESTART_AFTER)); do kea_is "$dir" B partner-down && break; sleep 0.5; done
      pd_t=$((SECONDS - t0)) ;;
  esac
  log "  ${pd_t}s after the kill: B $(state_of "$sys" "$dir" B)"
  while ((SECONDS - t0 < RESTART_AFTER)); do sleep 0.5; done
  local pre_b
  pre_b=$(snapshot "$sys" "$dir" B prerestart)
  case $sys in
    kea-*) kea_start "$dir" A "$NS_A"; PID_A=$STARTED ;;
    fo) fo_start "$dir" A "$NS_A"; PID_A=$STARTED ;;
  esac
  local th=$SECONDS healed_s=-1 fault_s=$((SECONDS - t0))
  log "  server A restarted on its own storage after $((SECONDS - t0))s"
  client_wait "$dir" outage
  if wait_for $((MCLT + 150)) "$sys back to normal" healed "$sys" "$dir"; then healed_s=$((SECONDS - th)); fi
  wait "$pa" 2>/dev/null || true
  settle "$sys" "$dir"
  local post_a post_b
  post_a=$(snapshot "$sys" "$dir" A end); post_b=$(snapshot "$sys" "$dir" B end)
  kill "$watch" 2>/dev/null || true; wait "$watch" 2>/dev/null || true
  drill_result kill "$sys" "$dir" "$fault_s" "$healed_s" "$load0" \
    --db "prerestart=$pre_b" --db "end=$post_a,$post_b" --final "$post_a" --final "$post_b" \
    --lost-from "$pre_b"
  clients_down "$dir"
  stop_servers
}

# drill_result DRILL SYSTEM DIR FAULT_SECONDS HEALED_SECONDS LOAD COUNT-ARGS...: one JSON line.
# FAULT_SECONDS: how long the link was cut, or from the kill to the restart; HEALED_SECONDS:
# from the heal (restart) until both servers were back in their normal state (-1: not in time).
drill_result() {
  local drill=$1 sys=$2 dir=$3 fault_s=$4 healed_s=$5 load0=$6
  shift 6
  local counts clients phases="" p s
  # shellcheck disable=SC2046
  counts=$(python3 "$PY" count "$@" $(client_snaps "$dir") --server-names A B)
  for p in before cut down outage; do
    ls "$dir"/clients/"$p"-*.res >/dev/null 2>&1 || continue
    s=$(client_summary "$dir" "$p"); phases="$phases $p:${s// /:}"
  done
  local perf=""
  for s in A B; do [[ -f $dir/perf-$s.out ]] && perf="$perf $s:$(perf_figures "$dir/perf-$s.out" 1 | tr ' ' :)"; done
  python3 - "$drill" "$sys" "$fault_s" "$healed_s" "$load0" "$(loadavg)" "$counts" "$phases" "$perf" "$dir/states.log" <<'PY' | tee -a "$RESULTS"
import json, sys
drill, sysname, fault_s, healed, l0, l1, counts, phases, perf, states = sys.argv[1:]
d = {"kind": "drill", "drill": drill, "system": sysname, "fault_s": int(fault_s),
     "back_to_normal_s": int(healed), "load_before": l0, "load_after": l1}
d.update(json.loads(counts))
refused = total = 0
slowest = 0.0
for ph in phases.split():
    name, bound, n, tmax = ph.split(":")
    d[f"clients_{name}"] = f"{bound}/{n}"
    refused += int(n) - int(bound); total += int(n)
    slowest = max(slowest, float(tmax))
d["clients_refused"] = refused
d["clients_total"] = total
d["slowest_client_s"] = slowest
sent = answered = 0
for p in perf.split():
    side, sol, rep = p.split(":")
    d[f"perfdhcp_{side}"] = f"{rep}/{sol}"
    sent += int(sol); answered += int(rep)
d["perfdhcp_unanswered"] = sent - answered
d["perfdhcp_solicits"] = sent
try:
    d["states"] = [l.strip() for l in open(states)]
except FileNotFoundError:
    d["states"] = []
# failover only: updates still owed to the partner at each snapshot (RFC 8156 §7.5.4
# update-pending), which should be none once the pair is back in NORMAL and settled.
import glob, os
for f in sorted(glob.glob(os.path.join(os.path.dirname(states), "status-*.json"))):
    try:
        st = json.load(open(f))
        d["owed_updates_" + os.path.basename(f)[7:-5]] = st["owed_updates"]
    except (ValueError, KeyError, OSError):
        pass
# When each server was first seen in partner-down (seconds since the fault, polled every 0.5 s).
for i, who in ((1, "A"), (2, "B")):
    d[f"partner_down_{who}_s"] = next(
        (float(l.split()[0]) for l in d["states"] if l.split()[i].lower() == "partner-down"), None)
print(json.dumps(d))
PY
}

# ---- main -----------------------------------------------------------------------------------
log "compare-kea: what=[$WHAT] systems=[$SYSTEMS] pairs=[$PAIRS] rate=$RATE duration=$DURATION runs=$RUNS pool=$POOL clients/side/phase=$NCLI drill-rate=$DRILL_RATE cut=$CUT restart-after=$RESTART_AFTER mclt=$MCLT keepalive=$KEEPALIVE fo-partner-down=$FO_PD kea: unacked=$KEA_UNACKED timers=$KEA_TIMERS; work dir $WORK"
log "$(uname -r), $(nproc) CPUs, load $(loadavg); $(kea-dhcp6 -v 2>&1 | head -1) (Kea); $("$BIN" --version 2>/dev/null || echo failover)"
LOAD_START=$(loadavg)
lab_up
for w in $WHAT; do
  case $w in
    bench)
      for run in $(seq "$RUNS"); do
        for s in $SYSTEMS; do log "bench run $run: $s"; bench_one "$s" "$run"; done
      done ;;
    partition) for p in $PAIRS; do drill_partition "$p"; done ;;
    kill) for p in $PAIRS; do drill_kill "$p"; done ;;
  esac
done
LOAD_END=$(loadavg)

python3 "$PY" table "$RESULTS" "$LOAD_START" "$LOAD_END"
if [[ -n $JSON_OUT ]]; then cp "$RESULTS" "$JSON_OUT"; fi
log "done; load $(loadavg)"
