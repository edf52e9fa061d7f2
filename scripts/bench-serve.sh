#!/usr/bin/env bash
# A running pair: `failover serve` under perfdhcp -6, standalone vs pair vs lockstep pair.
# Used for BENCHMARKS.md ("A running pair: failover serve under perfdhcp"); raw output and
# history in impl/daemon/BENCH.md. Run `scripts/bench-serve.sh --help` for the details.
#
# Read SECONDS before bash's own counter adds the time since start to it (bash imports an
# exported SECONDS as the start value of its clock); only an exported variable reaches printenv.
DURATION=$(printenv SECONDS || true)
DURATION=${DURATION:-15}
set -euo pipefail

usage() {
  cat <<'EOF'
scripts/bench-serve.sh: perfdhcp -6 against `failover serve` alone, as a pair, and as a
lockstep pair, on one machine in one run, interleaved run by run (ABC ABC ABC).

Needs root (network namespaces), iproute2, python3 and perfdhcp (package kea-admin; installed
with apt-get when missing). Builds `cargo build --release --bin failover` first.

Environment:
  RATE=N       perfdhcp exchanges (Solicit/Advertise/Request/Reply) started per second (200)
  SECONDS=N    length of each perfdhcp run, seconds (15)
  RUNS=N       runs of each configuration (3)
  CLIENTS=N    distinct clients perfdhcp simulates, its -R (RATE*SECONDS)
  POOL=N       addresses in the pool, the same on both servers (max(65536, 8*CLIENTS));
               perfdhcp's DUIDs change from run to run, so the pool is far larger than its
               clients; every run starts from empty storage anyway
  MCLT=N       the MCLT, seconds (max(30, SECONDS+10)). A fresh secondary waits the MCLT in
               RECOVER-WAIT (RFC 8156 §8.6.2), so every pair start costs MCLT seconds; and in
               NORMAL a first grant lasts at most the MCLT (§4.4), so an MCLT shorter than a
               run makes the pair expire leases during the run, work the standalone server
               (PARTNER-DOWN, full lifetimes) does not do: keep MCLT above SECONDS
  CONFIGS="standalone pair lockstep"   which configurations, in this order within a run
               (also: pair-ownfs, see below)
  PIN="P S C"  pin the primary, the secondary and perfdhcp to these CPU lists (taskset -c),
               e.g. PIN="0 1 1": the primary alone on CPU 0, the secondary and perfdhcp on
               CPU 1; PIN=1 means that. Unset: no pinning (the scheduler places all three).
               Only on an otherwise idle machine: with other jobs running, a pinned server
               waits for its CPU instead of moving (BENCHMARKS.md, issue 12 §3)
  KEEP=1       keep the working directory (configs, logs, perfdhcp output) afterwards
  FAILOVER_BIN=PATH  use this `failover` binary instead of building target/release/failover

Configurations:
  standalone  one primary; its partner's address is unreachable (nothing listens there), so a
              fresh primary starts in PARTNER-DOWN (RFC 8156 §8.2) and serves alone
  pair        primary + secondary, both on the client link; perfdhcp starts once both
              `failover ctl status` say NORMAL with the partner NORMAL
  lockstep    the same pair with `lockstep = true` on both: a REPLY granting a lease leaves
              only after the partner acknowledged the lease's BNDUPD
  pair-ownfs  the pair, with the secondary's database on a tmpfs (/dev/shm) while the
              primary's stays on the disk: the partner's fsyncs no longer share the primary's
              disk, standing in for the partner's own machine (two real servers share
              neither disk nor CPUs; with PIN they share no CPU either, as far as 2 CPUs allow)

Topology (namespaces made here, removed on exit even on failure): a client namespace, a
primary and a secondary namespace, and a bridge namespace holding a Linux bridge with
mcast_snooping 0 for the client link 2001:db8:1::/64; a separate veth pair fd00:fa11::/64
carries the partner link. DAD is off in every namespace.

Latency: perfdhcp prints only min/avg/max/std of its delays; with `-x t` it also prints, when
finished, the send and receive time of every completed exchange, from which this script takes
the median and the 99th percentile of Solicit->Advertise and Request->Reply. leases/s is the
number of REPLYs perfdhcp received divided by SECONDS.

Where the time goes, per run (second table): for each server, from /proc/PID/task/*/schedstat
before and after the perfdhcp run, the CPU time it ran and the time it waited runnable on a
run queue (the kernel's sched_info), per REPLY perfdhcp received (us/lease); from `failover
ctl status` the durable commits (fsync) made during the run per lease and the service time of
the primary's client calls that committed a grant (median and p99 of the node call, fsync
included; the `timing` of ctl status); and from /proc/diskstats of the disk holding the work
directory, the mean time of a write and of a flush (all processes of the machine) during the
run.

Output: one line per run and configuration, then medians of the runs and the ratios pair /
standalone and lockstep / standalone (and each run's ratio to the standalone run of the same
round); the raw perfdhcp output of every run is in the working directory (printed at the
start; kept with KEEP=1).
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RATE=${RATE:-200}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-$((RATE * DURATION))}
POOL=${POOL:-$(( 8 * CLIENTS > 65536 ? 8 * CLIENTS : 65536 ))}
MCLT=${MCLT:-$(( DURATION + 10 > 30 ? DURATION + 10 : 30 ))}
CONFIGS=${CONFIGS:-standalone pair lockstep}
KEEP=${KEEP:-0}
PIN=${PIN:-}
[[ $PIN == 1 ]] && PIN="0 1 1"
PIN_P="" PIN_S="" PIN_C=""
if [[ -n $PIN ]]; then
  read -r PIN_P PIN_S PIN_C <<<"$PIN"
  if [[ -z $PIN_C ]]; then echo "PIN=\"$PIN\": give three CPU lists (primary secondary perfdhcp)" >&2; exit 2; fi
  command -v taskset >/dev/null || { echo "PIN needs taskset (util-linux)" >&2; exit 1; }
fi
for c in $CONFIGS; do
  case $c in standalone|pair|lockstep|pair-ownfs) ;;
    *) echo "unknown configuration $c in CONFIGS (standalone pair lockstep pair-ownfs)" >&2; exit 2 ;;
  esac
done

if (( POOL > 1048576 )); then
  echo "POOL=$POOL: the daemon expands at most 1048576 addresses per pool" >&2; exit 2
fi
if [[ $(id -u) != 0 ]]; then
  echo "needs root (network namespaces)" >&2; exit 1
fi
PERFDHCP=$(command -v perfdhcp || true)
[[ -z $PERFDHCP && -x /usr/sbin/perfdhcp ]] && PERFDHCP=/usr/sbin/perfdhcp
if [[ -z $PERFDHCP ]]; then
  echo "perfdhcp missing: apt-get install kea-admin" >&2
  apt-get install -y --no-install-recommends kea-admin >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends kea-admin >&2; }
  PERFDHCP=/usr/sbin/perfdhcp
fi

if [[ -n ${FAILOVER_BIN:-} ]]; then
  BIN=$(realpath "$FAILOVER_BIN")
  [[ -x $BIN ]] || { echo "FAILOVER_BIN=$FAILOVER_BIN is not an executable" >&2; exit 1; }
else
  echo "== building" >&2
  cargo build --release -q --bin failover
  BIN=$ROOT/target/release/failover
fi

# ---- the lab ---------------------------------------------------------------------------
TAG=bs$$
NS_C=$TAG-cli NS_P=$TAG-pri NS_S=$TAG-sec NS_B=$TAG-br
WORK=$(mktemp -d /var/tmp/bench-serve.XXXXXX)   # on the disk: storage fsyncs are real
# pair-ownfs: the secondary's database on a tmpfs, apart from the primary's disk.
SHM=$(mktemp -d /dev/shm/bench-serve.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for ns in "$NS_C" "$NS_P" "$NS_S" "$NS_B"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$SHM"
  if [[ $KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

lab_up() {
  for ns in "$NS_C" "$NS_P" "$NS_S" "$NS_B"; do
    ip netns add "$ns"
    nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_B" link add br0 type bridge mcast_snooping 0
  ip -n "$NS_B" link set br0 up
  local leg ns dev peer
  for leg in "$NS_C:cli0:bc" "$NS_P:pri0:bp" "$NS_S:sec0:bs"; do
    IFS=: read -r ns dev peer <<<"$leg"
    ip -n "$NS_B" link add "$peer" type veth peer name "$dev" netns "$ns"
    ip -n "$NS_B" link set "$peer" master br0 up
    ip -n "$ns" link set "$dev" up
  done
  ip -n "$NS_C" addr add 2001:db8:1::2/64 dev cli0 nodad
  ip -n "$NS_P" addr add 2001:db8:1::10/64 dev pri0 nodad
  ip -n "$NS_S" addr add 2001:db8:1::11/64 dev sec0 nodad
  # The partner link, apart from the clients'.
  ip -n "$NS_P" link add fo0 type veth peer name fo0 netns "$NS_S"
  ip -n "$NS_P" addr add fd00:fa11::1/64 dev fo0 nodad
  ip -n "$NS_S" addr add fd00:fa11::2/64 dev fo0 nodad
  ip -n "$NS_P" link set fo0 up
  ip -n "$NS_S" link set fo0 up
}

# write_config ROLE DIR LOCKSTEP [STORAGE-DIR]
write_config() {
  local role=$1 dir=$2 lockstep=$3 sdir=${4:-$2} local remote iface
  # POOL addresses from 2001:db8:1::1:0 on.
  local last
  last=$(python3 -c "import ipaddress,sys; print(ipaddress.IPv6Address('2001:db8:1::1:0') + $POOL - 1)")
  if [[ $role == primary ]]; then
    local="[fd00:fa11::1]:0" remote="[fd00:fa11::2]:647" iface=pri0
  else
    local="[fd00:fa11::2]:647" remote="[fd00:fa11::1]:647" iface=sec0
  fi
  cat >"$dir/$role.toml" <<EOF
role = "$role"
mclt = $MCLT
valid_lifetime = 3600
startup_time = 1
storage = "$sdir/$role.redb"
duid_file = "$sdir/$role.duid"
control_socket = "$dir/$role.sock"
lockstep = $lockstep
[partner]
local = "$local"
remote = "$remote"
reconnect_min = 1
reconnect_max = 2
[dhcp]
interfaces = ["$iface"]
[[address_pools]]
range = "2001:db8:1::1:0-$last"
EOF
}

status_json() { "$BIN" ctl --json --timeout 5 --socket "$1" status 2>/dev/null; }

# wait_until SOCKET PYTHON-CONDITION-ON-s SECONDS
wait_until() {
  local sock=$1 cond=$2 limit=$3 start=$SECONDS
  while (( SECONDS - start < limit )); do
    if status_json "$sock" | python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($cond) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "timed out after ${limit}s waiting for $cond on $sock; last status:" >&2
  status_json "$sock" >&2 || true
  return 1
}

start_server() { # NS CONFIG LOG CPUS -> pid in $STARTED
  local pre=()
  [[ -n $4 ]] && pre=(taskset -c "$4")
  ip netns exec "$1" "${pre[@]}" "$BIN" serve --config "$2" >/dev/null 2>"$3" &
  STARTED=$!
  PIDS+=("$STARTED")
}

# The block device under the work directory (for /proc/diskstats), e.g. vda.
DISK=$(lsblk -no PKNAME "$(df --output=source "$WORK" | tail -1)" 2>/dev/null || true)
[[ -z $DISK ]] && DISK=$(basename "$(df --output=source "$WORK" | tail -1)")
# disk: "WRITES WRITE_MS FLUSHES FLUSH_MS" of $DISK (fields 8, 11, 20, 21 of /proc/diskstats).
disk() {
  awk -v d="$DISK" '$3 == d {print $8, $11, ($20 == "" ? 0 : $20), ($21 == "" ? 0 : $21)}' /proc/diskstats
}

# sched PID: "RUN_NS WAIT_NS" summed over the process's threads (/proc/PID/task/*/schedstat).
sched() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{r+=$1; w+=$2} END {printf "%.0f %.0f\n", r, w}'
}

stop_server() { # PID SOCKET
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

RESULTS=$WORK/results.jsonl
PARSE=$ROOT/scripts/lib/perfdhcp_stats.py

SUMMARY=$WORK/summary.py
cat >"$SUMMARY" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = sys.argv[2].split()
def f(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"
print()
print("per run:")
print(f"{'config':<11} {'run':>3} {'leases/s':>9} {'replies':>7} {'drops S/R':>9} {'orph S/R':>9}"
      f" {'SA med':>7} {'SA p99':>7} {'RR med':>7} {'RR p99':>7} {'RR avg':>7}  (ms)")
for r in rows:
    print(f"{r['config']:<11} {r['run']:>3} {r['leases_per_s']:>9.1f} {r['replies']:>7}"
          f" {str(r['drops_sa'])+'/'+str(r['drops_rr']):>9} {str(r['orphans_sa'])+'/'+str(r['orphans_rr']):>9}"
          f" {f(r['sa_median_ms']):>7} {f(r['sa_p99_ms']):>7} {f(r['rr_median_ms']):>7} {f(r['rr_p99_ms']):>7} {f(r['rr_avg_ms']):>7}"
          f"  load {r.get('load','?')}")
print()
print("where the time goes, per run (p = primary, s = secondary): cpu, wait = us of CPU run time and")
print("of run-queue wait per REPLY; com/l = durable commits per REPLY; grant = the primary's node call")
print("that committed a grant, median/p99 us; s com = the secondary's committing calls, median us;")
print("disk = mean ms of a write / of a flush on the work directory's disk (whole machine):")
print(f"{'config':<11} {'run':>3} {'p cpu':>6} {'p wait':>6} {'p com/l':>7} {'grant med/p99':>13}"
      f" {'s cpu':>6} {'s wait':>6} {'s com/l':>7} {'s com':>6} {'disk w/f ms':>12}")
def g(r, k, nd=0):
    v = r.get(k)
    return "-" if v is None else f"{v:.{nd}f}"
def per(r, k):
    v = r.get(k)
    return "-" if v is None else f"{v / max(r['replies'], 1):.2f}"
for r in rows:
    gr = "-" if "p_client_commit_med_us" not in r else f"{r['p_client_commit_med_us']}/{r['p_client_commit_p99_us']}"
    dk = "-" if "disk_write_ms" not in r else f"{r['disk_write_ms']:.2f}/{r['disk_flush_ms']:.2f}"
    print(f"{r['config']:<11} {r['run']:>3} {g(r,'p_cpu_us'):>6} {g(r,'p_wait_us'):>6} {per(r,'p_commits'):>7}"
          f" {gr:>13} {g(r,'s_cpu_us'):>6} {g(r,'s_wait_us'):>6} {per(r,'s_commits'):>7}"
          f" {g(r,'s_partner_commit_med_us'):>6} {dk:>12}")
print()
print("RR median per run, and its ratio to the standalone run of the same round:")
for run in sorted({r["run"] for r in rows}):
    rs = {r["config"]: r for r in rows if r["run"] == run}
    b = rs.get("standalone", {}).get("rr_median_ms")
    cells = []
    for c in order:
        if c in rs and rs[c]["rr_median_ms"] is not None:
            x = rs[c]["rr_median_ms"]
            cells.append(f"{c} {x:.3f}" + (f" ({x / b:.3f})" if b else ""))
    print(f"  run {run}: " + ", ".join(cells))
med = {}
for c in order:
    rs = [r for r in rows if r["config"] == c]
    if not rs:
        continue
    m = {}
    for k in ("leases_per_s", "sa_median_ms", "sa_p99_ms", "rr_median_ms", "rr_p99_ms", "rr_avg_ms"):
        xs = [r[k] for r in rs if r[k] is not None]
        m[k] = statistics.median(xs) if xs else None
    m["runs"] = len(rs)
    med[c] = m
print()
print("medians of the runs:")
print(f"{'config':<11} {'runs':>4} {'leases/s':>9} {'SA med':>7} {'SA p99':>7} {'RR med':>7} {'RR p99':>7}"
      f" {'RR avg':>7}  {'RR med/alone':>12} {'RR p99/alone':>12}")
base = med.get("standalone")
for c, m in med.items():
    r1 = r2 = "-"
    if base and base["rr_median_ms"] and m["rr_median_ms"] is not None:
        r1 = f"{m['rr_median_ms'] / base['rr_median_ms']:.3f}"
    if base and base["rr_p99_ms"] and m["rr_p99_ms"] is not None:
        r2 = f"{m['rr_p99_ms'] / base['rr_p99_ms']:.3f}"
    print(f"{c:<11} {m['runs']:>4} {f(m['leases_per_s'],1):>9} {f(m['sa_median_ms']):>7} {f(m['sa_p99_ms']):>7}"
          f" {f(m['rr_median_ms']):>7} {f(m['rr_p99_ms']):>7} {f(m['rr_avg_ms']):>7}  {r1:>12} {r2:>12}")
PY

# run_one CONFIG RUN
run_one() {
  local cfg=$1 run=$2 dir=$WORK/$1-$2 ppid spid="" lockstep=false sdir=$WORK/$1-$2
  mkdir -p "$dir"
  [[ $cfg == lockstep ]] && lockstep=true
  [[ $cfg == pair-ownfs ]] && { sdir=$SHM/$cfg-$run; mkdir -p "$sdir"; }
  write_config primary "$dir" "$lockstep"
  write_config secondary "$dir" "$lockstep" "$sdir"
  if [[ $cfg != standalone ]]; then
    start_server "$NS_S" "$dir/secondary.toml" "$dir/secondary.log" "$PIN_S"; spid=$STARTED
  fi
  start_server "$NS_P" "$dir/primary.toml" "$dir/primary.log" "$PIN_P"; ppid=$STARTED
  if [[ $cfg == standalone ]]; then
    wait_until "$dir/primary.sock" "s['state']=='PARTNER-DOWN'" 60
  else
    wait_until "$dir/primary.sock" "s['state']=='NORMAL' and s.get('partner_state')=='NORMAL'" $((MCLT + 90))
    wait_until "$dir/secondary.sock" "s['state']=='NORMAL' and s.get('partner_state')=='NORMAL'" 30
  fi
  local load rc=0 pp=$ppid sp=$spid pre=() p0 p1 s0="0 0" s1="0 0" d0 d1
  [[ -n $PIN_C ]] && pre=(taskset -c "$PIN_C")
  status_json "$dir/primary.sock" >"$dir/primary.before.json" || true
  [[ -n $spid ]] && { status_json "$dir/secondary.sock" >"$dir/secondary.before.json" || true; }
  load=$(cut -d' ' -f1 /proc/loadavg)
  p0=$(sched "$pp"); [[ -n $sp ]] && s0=$(sched "$sp")
  d0=$(disk)
  timeout $((DURATION + 60)) ip netns exec "$NS_C" "${pre[@]}" "$PERFDHCP" -6 -l cli0 -r "$RATE" -R "$CLIENTS" \
    -p "$DURATION" -x t >"$dir/perfdhcp.out" 2>"$dir/perfdhcp.err" || rc=$?
  p1=$(sched "$pp"); [[ -n $sp ]] && s1=$(sched "$sp")
  d1=$(disk)
  echo "$d0 $d1" >"$dir/disk"
  echo "$p0 $p1" >"$dir/primary.sched"; echo "$s0 $s1" >"$dir/secondary.sched"
  # 3: some exchanges were not completed (drops); counted and shown, not an error here.
  if (( rc != 0 && rc != 3 )); then
    echo "perfdhcp failed (exit $rc) for $cfg run $run:" >&2
    cat "$dir/perfdhcp.err" >&2
    return 1
  fi
  status_json "$dir/primary.sock" >"$dir/primary.status.json" || true
  [[ -n $spid ]] && { status_json "$dir/secondary.sock" >"$dir/secondary.status.json" || true; }
  stop_server "$ppid"
  [[ -n $spid ]] && stop_server "$spid"
  local line
  line=$(python3 "$PARSE" "$dir/perfdhcp.out" "$cfg" "$run" "$DURATION")
  line=$(python3 - "$line" "$load" "$rc" "$dir" <<'PY'
import json, sys
import statistics
d = json.loads(sys.argv[1]); d["load"] = sys.argv[2]; d["perfdhcp_exit"] = int(sys.argv[3])
n = max(d["replies"], 1)
for role, short in (("primary", "p"), ("secondary", "s")):
    try:
        s = json.load(open(f"{sys.argv[4]}/{role}.status.json"))
        d[role + "_replied"] = s["dhcp"]["replied"]
        b = json.load(open(f"{sys.argv[4]}/{role}.before.json"))
        st, sb = s.get("storage", {}), b.get("storage", {})
        for k in ("commits", "deferred_commits", "partner_messages_in"):
            if k in st:
                d[f"{short}_{k}"] = st[k] - sb.get(k, 0)
        for k, t in s.get("timing", {}).items():
            d[f"{short}_{k}_med_us"] = t["median_us"]
            d[f"{short}_{k}_p99_us"] = t["p99_us"]
            d[f"{short}_{k}_calls"] = t["calls"] - b.get("timing", {}).get(k, {}).get("calls", 0)
    except Exception:
        pass
    try:
        r0, w0, r1, w1 = map(int, open(f"{sys.argv[4]}/{role}.sched").read().split())
        if r1 or w1:
            d[f"{short}_cpu_us"] = (r1 - r0) / 1e3 / n
            d[f"{short}_wait_us"] = (w1 - w0) / 1e3 / n
    except Exception:
        pass
try:
    w0, wm0, f0, fm0, w1, wm1, f1, fm1 = map(int, open(f"{sys.argv[4]}/disk").read().split())
    d["disk_writes"], d["disk_flushes"] = w1 - w0, f1 - f0
    d["disk_write_ms"] = (wm1 - wm0) / max(w1 - w0, 1)
    d["disk_flush_ms"] = (fm1 - fm0) / max(f1 - f0, 1)
except Exception:
    pass
print(json.dumps(d))
PY
)
  echo "$line" >>"$RESULTS"
  echo "$line"
  rm -f "$dir"/*.redb "$sdir"/*.redb
}

echo "== bench-serve: RATE=$RATE SECONDS=$DURATION RUNS=$RUNS CLIENTS=$CLIENTS POOL=$POOL MCLT=$MCLT" \
  "configs: $CONFIGS; PIN=${PIN:-none}; work dir $WORK" >&2
echo "== $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs; uptime:$(uptime)" >&2
"$PERFDHCP" -v 2>&1 | head -1 >&2
lab_up
for run in $(seq "$RUNS"); do
  for cfg in $CONFIGS; do
    echo "== run $run: $cfg" >&2
    run_one "$cfg" "$run"
  done
done
python3 "$SUMMARY" "$RESULTS" "$CONFIGS"
echo "== done $(date -u +%FT%TZ); uptime:$(uptime)"
