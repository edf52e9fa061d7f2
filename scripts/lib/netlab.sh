# Shell functions shared by the scripts that run servers in network namespaces
# (scripts/compare-kea.sh; scripts/bench-serve.sh uses lib/perfdhcp_stats.py). Source it.
# Facts behind them: docs/network-lab.md (DAD off, a bridge with
# mcast_snooping 0 so ff02::1:2 reaches every leg, perfdhcp's DUIDs are time-based).

# nsx NS CMD...: run CMD inside namespace NS.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_new NS: a namespace with lo up, duplicate address detection off and addresses kept when a
# link goes down (Linux drops an interface's static IPv6 addresses on link down unless
# keep_addr_on_down is set, so a cut link would stay dead after `ip link set up`); remembered
# in NETLAB_NS so that netlab_teardown removes it.
NETLAB_NS=()
ns_new() {
  ip netns add "$1"
  NETLAB_NS+=("$1")
  nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
  ip -n "$1" link set lo up
}

# ns_del NS: kill whatever runs in NS (it was started by us: only our namespaces), delete it.
ns_del() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$1" 2>/dev/null || true
}

# netlab_teardown: every namespace ns_new made, newest first.
netlab_teardown() {
  local i
  for ((i = ${#NETLAB_NS[@]} - 1; i >= 0; i--)); do ns_del "${NETLAB_NS[i]}"; done
  NETLAB_NS=()
}

# need_root SCRIPT
need_root() {
  [[ $(id -u) == 0 ]] || { echo "$1: needs root (network namespaces)" >&2; exit 1; }
}

# need_debs PROGRAM:PACKAGE...: install the Debian packages of the programs that are missing.
need_debs() {
  local missing=() spec prog pkg
  for spec in "$@"; do
    prog=${spec%%:*} pkg=${spec#*:}
    command -v "$prog" >/dev/null 2>&1 || [[ -x /usr/sbin/$prog || -x /sbin/$prog ]] \
      || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}

# proc_cpu_ms PID...: user+system CPU time of the processes (all their threads), milliseconds;
# 0 for a process that is gone.
proc_cpu_ms() {
  local tck total=0 pid f
  tck=$(getconf CLK_TCK)
  for pid in "$@"; do
    f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    # After "pid (comm)": field 3 is the state; utime and stime are fields 14 and 15.
    set -- $f
    total=$((total + (${12} + ${13}) * 1000 / tck))
  done
  echo "$total"
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds; fail after SECONDS.
wait_for() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  while ((SECONDS - start < limit)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "timed out after ${limit}s waiting for $what" >&2
  return 1
}
