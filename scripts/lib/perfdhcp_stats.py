"""perfdhcp -6 output (run with `-x t`) -> one JSON line of figures.

Usage: perfdhcp_stats.py PERFDHCP-OUTPUT CONFIG RUN DURATION-SECONDS

Shared by scripts/bench-serve.sh and scripts/compare-kea.sh. perfdhcp prints only
min/avg/max/std of its delays; with `-x t` it also prints, when finished, the send and receive
time of every completed exchange, from which the median and 99th percentile are taken here.
"""
import json, re, sys, statistics
path, cfg, run, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
text = open(path).read()

def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]

# Sections of the final report: "***Statistics for: SOLICIT-ADVERTISE***" etc.
sections = {}
cur = None
for line in text.splitlines():
    m = re.match(r"\*\*\*Statistics for: (\S+)\*\*\*", line.strip())
    if m:
        cur = m.group(1)
        sections[cur] = {"delays_ms": []}
        continue
    m = re.match(r"\*\*\*Timestamps for packets: (\S+)\*\*\*", line.strip())
    if m:
        cur = m.group(1)
        sections.setdefault(cur, {"delays_ms": []})
        continue
    if cur is None:
        continue
    m = re.match(r"sent / received: (\S+) / (\S+)", line.strip())
    if m:
        # Kea 2.2 prints seconds.microseconds since the start: "000001.234567".
        sections[cur]["delays_ms"].append((float(m.group(2)) - float(m.group(1))) * 1000)
        continue
    m = re.match(r"\s*([a-z][a-z ]+?):\s*([-0-9.e+]+)", line)
    if m:
        sections[cur].setdefault(m.group(1).strip(), m.group(2))

def sec(name):
    for k, v in sections.items():
        if k.startswith(name):
            return v
    return {"delays_ms": []}

sa, rr = sec("SOLICIT"), sec("REQUEST")
def num(d, k):
    try:
        return float(d.get(k))
    except (TypeError, ValueError):
        return None
replies = num(rr, "received packets") or 0
m = re.search(r"^Rate: ([0-9.]+) 4-way exchanges/second", text, re.M)
out = {
    "perfdhcp_rate": float(m.group(1)) if m else None,
    "config": cfg, "run": run,
    "leases_per_s": round(replies / duration, 1),
    "replies": int(replies),
    "solicits": int(num(sa, "sent packets") or 0),
    "advertises": int(num(sa, "received packets") or 0),
    "requests": int(num(rr, "sent packets") or 0),
    "drops_sa": int(num(sa, "drops") or 0), "drops_rr": int(num(rr, "drops") or 0),
    "orphans_sa": int(num(sa, "orphans") or 0), "orphans_rr": int(num(rr, "orphans") or 0),
    "sa_avg_ms": num(sa, "avg delay"), "rr_avg_ms": num(rr, "avg delay"),
    "sa_n": len(sa["delays_ms"]), "rr_n": len(rr["delays_ms"]),
    "sa_median_ms": statistics.median(sa["delays_ms"]) if sa["delays_ms"] else None,
    "sa_p99_ms": pct(sa["delays_ms"], 99),
    "rr_median_ms": statistics.median(rr["delays_ms"]) if rr["delays_ms"] else None,
    "rr_p99_ms": pct(rr["delays_ms"], 99),
}
print(json.dumps(out))
