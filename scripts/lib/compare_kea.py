"""Helpers of scripts/compare-kea.sh: Kea configurations, Kea's control socket, lease snapshots
of both systems in one shape, dhclient lease files, and the drill's counts.

Every lease, whoever reports it, becomes one JSON line
    {"lease": "2001:db8:1::1:5" or "2001:db8:100::/56", "duid": "000100...", "expires": UNIX,
     "source": NAME}
holding only leases bound to a client and not yet expired (Kea: state 0 "default" and
cltt + valid-lft in the future; failover: binding status ACTIVE and expiry in the future;
dhclient: the last lease6 block, starts + max-life in the future).

Subcommands (see each function):
    kea-config ARGS...            write a kea-dhcp6 configuration (JSON) to stdout
    kea-cmd SOCKET COMMAND [ARGS] send one command to a Kea control socket, print the answer
    kea-state SOCKET              the HA state (ha-heartbeat), or "down"/"error: ..."
    snap-kea SOCKET NAME          lease lines from lease6-get-all
    snap-fo LEASES-JSON NAME      lease lines from `failover ctl --json leases` output
    snap-client LEASEFILE NAME    lease lines from a dhclient -6 lease file
    count ARGS...                 duplicates, losses (JSON)
"""
import argparse
import ipaddress
import json
import socket
import sys
import time


def die(msg):
    print(f"compare_kea.py: {msg}", file=sys.stderr)
    sys.exit(2)


# ---- Kea configuration ---------------------------------------------------------------------

def kea_config(a):
    """One kea-dhcp6 configuration: memfile leases (persisted, no lease file cleanup during the
    run), multi-threading, lease_cmds (for lease6-get-all) and, for a pair member, the HA hook
    with its HTTP listener inside kea-dhcp6 (http-dedicated-listener; no kea-ctrl-agent)."""
    first = ipaddress.IPv6Address(a.pool_first)
    last = first + a.pool_size - 1
    pd = ipaddress.IPv6Network(a.pd_prefix)
    subnet = {
        "id": 1,
        "subnet": a.subnet,
        "interface": a.iface,
        "preferred-lifetime": a.preferred,
        "valid-lifetime": a.valid,
        "renew-timer": a.valid // 2,
        "rebind-timer": a.valid * 4 // 5,
    }
    if a.mode == "load-balancing":
        # Kea's load-balancing: each server allocates from the pools of its own scope, named by
        # the classes the HA hook assigns (HA_<server name>); the pools are split in two halves.
        half = a.pool_size // 2
        subnet["pools"] = [
            {"pool": f"{first}-{first + half - 1}", "client-class": "HA_server1"},
            {"pool": f"{first + half}-{last}", "client-class": "HA_server2"},
        ]
        lo, hi = pd.subnets(prefixlen_diff=1)
        subnet["pd-pools"] = [
            {"prefix": str(lo.network_address), "prefix-len": lo.prefixlen,
             "delegated-len": a.pd_delegated, "client-class": "HA_server1"},
            {"prefix": str(hi.network_address), "prefix-len": hi.prefixlen,
             "delegated-len": a.pd_delegated, "client-class": "HA_server2"},
        ]
    else:
        subnet["pools"] = [{"pool": f"{first}-{last}"}]
        subnet["pd-pools"] = [{"prefix": str(pd.network_address), "prefix-len": pd.prefixlen,
                               "delegated-len": a.pd_delegated}]
    hooks = [{"library": f"{a.hooks}/libdhcp_lease_cmds.so"}]
    if a.mode != "alone":
        hooks.append({
            "library": f"{a.hooks}/libdhcp_ha.so",
            "parameters": {"high-availability": [{
                "this-server-name": a.name,
                "mode": a.mode,
                "heartbeat-delay": a.heartbeat_delay,
                "max-response-delay": a.max_response_delay,
                "max-ack-delay": a.max_ack_delay,
                "max-unacked-clients": a.max_unacked_clients,
                "sync-timeout": 60000,
                "multi-threading": {
                    "enable-multi-threading": True,
                    "http-dedicated-listener": True,
                    "http-listener-threads": 0,
                    "http-client-threads": 0,
                },
                "peers": [
                    {"name": "server1", "url": a.url1, "role": "primary",
                     "auto-failover": True},
                    {"name": "server2", "url": a.url2,
                     "role": "standby" if a.mode == "hot-standby" else "secondary",
                     "auto-failover": True},
                ],
            }]},
        })
    conf = {"Dhcp6": {
        "interfaces-config": {"interfaces": [a.iface]},
        # A DUID-EN of its own for each server, not written to the host's /var/lib/kea
        # (Kea's default would persist one file there, shared by both servers).
        "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": a.server_id,
                      "persist": False},
        "lease-database": {"type": "memfile", "persist": True, "name": a.lease_file,
                           "lfc-interval": 0},
        "control-socket": {"socket-type": "unix", "socket-name": a.socket},
        "multi-threading": {"enable-multi-threading": True, "thread-pool-size": a.threads,
                            "packet-queue-size": 64},
        "hooks-libraries": hooks,
        "expired-leases-processing": {"reclaim-timer-wait-time": 10,
                                      "hold-reclaimed-time": 3600},
        "subnet6": [subnet],
        "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": a.log}],
                     "severity": "INFO"}],
    }}
    json.dump(conf, sys.stdout, indent=1)
    print()


# ---- Kea control socket -------------------------------------------------------------------

def kea_send(path, command, arguments=None, timeout=10.0):
    req = {"command": command}
    if arguments is not None:
        req["arguments"] = arguments
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(json.dumps(req).encode())
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            b = s.recv(1 << 20)
        except socket.timeout:
            break
        if not b:
            break
        chunks.append(b)
        try:  # Kea may keep the connection open: stop at the first complete answer
            return json.loads(b"".join(chunks))
        except ValueError:
            continue
    s.close()
    return json.loads(b"".join(chunks))


def kea_cmd(a):
    args = json.loads(a.arguments) if a.arguments else None
    print(json.dumps(kea_send(a.socket, a.command, args)))


def kea_state(a):
    try:
        ans = kea_send(a.socket, "ha-heartbeat", timeout=3)
    except (OSError, ValueError) as e:
        print(f"down")
        return
    if ans.get("result") != 0:
        print("error: " + str(ans.get("text")).replace("\n", " "))
        return
    print(ans.get("arguments", {}).get("state", "?"))


def norm_duid(d):
    return (d or "").replace(":", "").lower()


def snap_kea(a):
    ans = kea_send(a.socket, "lease6-get-all", timeout=30)
    if ans.get("result") not in (0, 3):  # 3: no leases
        die(f"lease6-get-all on {a.socket}: {ans.get('text')}")
    now = time.time()
    for l in (ans.get("arguments") or {}).get("leases", []):
        if l.get("state", 0) != 0:
            continue
        expires = l.get("cltt", 0) + l.get("valid-lft", 0)
        if expires <= now or l.get("valid-lft", 0) == 0:
            continue
        lease = l["ip-address"]
        if l.get("type") == "IA_PD":
            lease = f"{lease}/{l['prefix-len']}"
        print(json.dumps({"lease": canon(lease), "duid": norm_duid(l.get("duid")),
                          "expires": expires, "source": a.name}))


def snap_fo(a):
    text = open(a.file).read().strip()
    if not text:
        die(f"{a.file} is empty (the server did not answer `failover ctl leases`)")
    ans = json.loads(text)
    leases = ans.get("leases") if isinstance(ans, dict) else ans
    if leases is None:
        die(f"{a.file}: no leases in {text[:200]}")
    now = time.time()
    for l in leases:
        if l.get("status") != "ACTIVE" or not l.get("client"):
            continue
        if l.get("expires") is not None and l["expires"] <= now:
            continue
        print(json.dumps({"lease": canon(l["lease"]), "duid": norm_duid(l["client"]),
                          "expires": l.get("expires"), "source": a.name}))


def canon(lease):
    if "/" in lease:
        return str(ipaddress.IPv6Network(lease, strict=False))
    return str(ipaddress.IPv6Address(lease))


# ---- dhclient lease files -----------------------------------------------------------------

def parse_dhclient(path):
    """The last `lease6 { ... }` block of an ISC dhclient -6 lease file: the client's DUID
    (option dhcp6.client-id) and the addresses/prefixes with their expiry."""
    try:
        text = open(path).read()
    except OSError:
        return None, []
    blocks = []
    i = 0
    while True:
        j = text.find("lease6 {", i)
        if j < 0:
            break
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        blocks.append(text[j:k + 1])
        i = k + 1
    if not blocks:
        return None, []
    b = blocks[-1]
    duid = None
    leases = []
    tokens = b.replace(";", " ; ").replace("{", " { ").replace("}", " } ").split()
    cur, starts, life = None, None, None
    for n, t in enumerate(tokens):
        if t == "dhcp6.client-id":
            duid = "".join(f"{int(x, 16):02x}" for x in tokens[n + 1].split(":"))
        elif t in ("iaaddr", "iaprefix"):
            cur, starts, life = tokens[n + 1], None, None
        elif t == "starts" and cur:
            starts = int(tokens[n + 1])
        elif t == "max-life" and cur:
            life = int(tokens[n + 1])
        elif t == "}" and cur and starts is not None and life is not None:
            leases.append((canon(cur), starts + life))
            cur = None
    return duid, leases


def snap_client(a):
    duid, leases = parse_dhclient(a.file)
    now = time.time()
    for lease, expires in leases:
        if expires > now:
            print(json.dumps({"lease": lease, "duid": duid, "expires": expires,
                              "source": a.name}))


# ---- counting -----------------------------------------------------------------------------

def load(path):
    out = []
    try:
        for line in open(path):
            if line.strip():
                out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def duplicates(rows):
    """Leases (addresses or prefixes) that two different clients hold at once."""
    by = {}
    for r in rows:
        by.setdefault(r["lease"], set()).add(r["duid"])
    return sorted(k for k, v in by.items() if len(v) > 1)


def count(a):
    """Duplicates in the servers' databases (each snapshot file: one server at one moment;
    files named for the same moment are joined), duplicates among the real clients' own
    records, and the real clients' bindings that the servers no longer hold after the drill."""
    result = {}
    for spec in a.db:  # MOMENT=FILE[,FILE]
        moment, files = spec.split("=", 1)
        rows = [r for f in files.split(",") for r in load(f)]
        d = duplicates(rows)
        result[f"db_dup_{moment}"] = len(d)
        result[f"db_dup_{moment}_pd"] = sum(1 for x in d if "/" in x)
        result[f"db_leases_{moment}"] = len({r["lease"] for r in rows})
        if d:
            result[f"db_dup_{moment}_examples"] = d[:5]
    clients = [r for f in a.clients for r in load(f)]
    d = duplicates(clients)
    result["client_dup"] = len(d)
    if d:
        result["client_dup_examples"] = d[:5]
    final = [r for f in a.final for r in load(f)]
    held = {}
    for r in final:
        held.setdefault((r["lease"], r["duid"]), set()).add(r["source"])
    servers = {r["source"] for r in final} | set(a.server_names)
    lost = one_sided = stolen = 0
    lost_examples = []
    owner = {}
    for r in final:
        owner.setdefault(r["lease"], set()).add(r["duid"])
    for r in clients:
        srcs = held.get((r["lease"], r["duid"]), set())
        if not srcs:
            lost += 1
            if len(lost_examples) < 5:
                lost_examples.append(r["lease"])
            if owner.get(r["lease"], set()) - {r["duid"]}:
                stolen += 1
        elif len(a.server_names) > 1 and len(srcs) < len(a.server_names):
            one_sided += 1
    if a.lost_from:
        now = time.time()
        before = {(r["lease"], r["duid"]) for f in a.lost_from.split(",") for r in load(f)
                  if r.get("expires") is None or r["expires"] > now}
        gone = sorted(k for k in before if k not in held)
        result["db_lost"] = len(gone)
        result["db_lost_of"] = len(before)
        if gone:
            result["db_lost_examples"] = [k[0] for k in gone[:5]]
    result["client_bindings"] = len(clients)
    result["lost"] = lost
    result["lost_to_other_client"] = stolen
    result["known_to_one_server_only"] = one_sided
    if lost_examples:
        result["lost_examples"] = lost_examples
    print(json.dumps(result))


def table(a):
    """The tables compare-kea.sh prints at the end, from its results.jsonl (also usable on a kept
    one: `python3 scripts/lib/compare_kea.py table DIR/results.jsonl`)."""
    import statistics
    sys.argv = [None, a.results, a.load_start, a.load_end]
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    def f(x, nd=2):
        return "-" if x is None else f"{x:.{nd}f}"
    bench = [r for r in rows if r.get("kind") == "bench"]
    names = {"kea-alone": "Kea 2.2 alone (memfile)", "kea-hs": "Kea HA hot-standby",
             "kea-lb": "Kea HA load-balancing", "fo-alone": "failover alone (redb)",
             "fo-alone-shm": "failover alone (redb on tmpfs)", "fo-pair-shm": "failover pair (redb on tmpfs)",
             "fo-pair": "failover pair (RFC 8156)", "fo": "failover pair (RFC 8156)"}
    print(f"\nload average (1, 5, 15 min): {sys.argv[2]} at the start, {sys.argv[3]} at the end")
    if bench:
        print("\nperfdhcp -6, medians of the runs (ms; CPU: server processes' user+system per lease):\n")
        print("| configuration | runs | leases/s | SA median | RR median | RR p99 | CPU µs/lease | drops S/R |")
        print("|---|---|---|---|---|---|---|---|")
        for s in dict.fromkeys(r["config"] for r in bench):
            rs = [r for r in bench if r["config"] == s]
            med = lambda k: statistics.median([r[k] for r in rs if r.get(k) is not None]) if any(r.get(k) is not None for r in rs) else None
            drops = f"{sum(r['drops_sa'] for r in rs)}/{sum(r['drops_rr'] for r in rs)}"
            print(f"| {names.get(s, s)} | {len(rs)} | {f(med('leases_per_s'),1)} | {f(med('sa_median_ms'))} | "
                  f"{f(med('rr_median_ms'))} | {f(med('rr_p99_ms'))} | {f(med('cpu_us_per_lease'),0)} | {drops} |")
    drills = [r for r in rows if r.get("kind") == "drill"]
    if drills:
        print("\nfault drills (duplicates: leases held by two clients at once; refused: real clients "
              "with no lease in the wait; lost: real clients' leases no server holds afterwards; held by one server only: after the heal, a real client's lease that only one of the two servers holds for it):\n")
        print("| drill | pair | fault lasted | partner-down reached A / B | back to normal | dup DB before heal | dup DB after | "
              "dup clients | real clients refused | perfdhcp unanswered | lost (clients) | lost (DB) | "
              "clients' leases held by one server only | slowest client |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in drills:
            before = r.get("db_dup_preheal", r.get("db_dup_prerestart"))
            after = r.get("db_dup_postheal", r.get("db_dup_end"))
            back = "not within the wait" if r["back_to_normal_s"] < 0 else f"{r['back_to_normal_s']} s"
            def reached(i):
                return next((float(l.split()[0]) for l in r.get("states", [])
                             if l.split()[i].lower() == "partner-down"), None)
            pd = " / ".join("never" if reached(i) is None else f"{reached(i):.0f} s"
                            for i in (1, 2))
            if r["drill"] == "kill":
                pd = "killed / " + pd.split(" / ")[1]
            print(f"| {r['drill']} | {names.get(r['system'], r['system'])} | {r.get('fault_s', '?')} s | {pd} | {back} | "
                  f"{before} | {after} | {r['client_dup']} | {r['clients_refused']}/{r['clients_total']} | "
                  f"{r['perfdhcp_unanswered']}/{r['perfdhcp_solicits']} | {r['lost']}/{r['client_bindings']} | "
                  f"{r.get('db_lost', '-')} | {r.get('known_to_one_server_only', '-')} | {r['slowest_client_s']} s |")
        print("\nstate timelines (seconds since the fault: server A, server B):")
        for r in drills:
            print(f"  {r['drill']} {r['system']}: " + "; ".join(r["states"]))
    print("\nJSON lines:")
    for r in rows:
        print(json.dumps(r))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kea-config")
    for name, typ, default in [
        ("mode", str, "alone"), ("name", str, "server1"), ("iface", str, "eth0"),
        ("subnet", str, "2001:db8:1::/64"), ("pool-first", str, "2001:db8:1::1:0"),
        ("pool-size", int, 65536), ("pd-prefix", str, "2001:db8:100::/44"),
        ("pd-delegated", int, 56), ("valid", int, 3600), ("preferred", int, 2700),
        ("lease-file", str, None), ("socket", str, None), ("log", str, None),
        ("hooks", str, "/usr/lib/x86_64-linux-gnu/kea/hooks"), ("threads", int, 2),
        ("url1", str, "http://[fd00:fa11::1]:8000/"), ("url2", str, "http://[fd00:fa11::2]:8000/"),
        ("heartbeat-delay", int, 1000), ("max-response-delay", int, 4000),
        ("max-ack-delay", int, 1000), ("max-unacked-clients", int, 1),
        ("server-id", str, "0a0b0c0d01"),
    ]:
        k.add_argument("--" + name, type=typ, default=default, required=default is None)
    k.set_defaults(fn=kea_config)
    c = sub.add_parser("kea-cmd")
    c.add_argument("socket"); c.add_argument("command"); c.add_argument("arguments", nargs="?")
    c.set_defaults(fn=kea_cmd)
    s = sub.add_parser("kea-state"); s.add_argument("socket"); s.set_defaults(fn=kea_state)
    s = sub.add_parser("snap-kea"); s.add_argument("socket"); s.add_argument("name")
    s.set_defaults(fn=snap_kea)
    s = sub.add_parser("snap-fo"); s.add_argument("file"); s.add_argument("name")
    s.set_defaults(fn=snap_fo)
    s = sub.add_parser("snap-client"); s.add_argument("file"); s.add_argument("name")
    s.set_defaults(fn=snap_client)
    s = sub.add_parser("count")
    s.add_argument("--db", action="append", default=[], help="MOMENT=FILE[,FILE]")
    s.add_argument("--clients", action="append", default=[])
    s.add_argument("--final", action="append", default=[])
    s.add_argument("--server-names", nargs="*", default=[])
    s.add_argument("--lost-from", default="", help="FILE[,FILE]: leases held before")
    s.set_defaults(fn=count)
    s = sub.add_parser("table")
    s.add_argument("results"); s.add_argument("load_start", nargs="?", default="?")
    s.add_argument("load_end", nargs="?", default="?")
    s.set_defaults(fn=table)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
