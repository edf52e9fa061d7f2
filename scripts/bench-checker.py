#!/usr/bin/env python3
"""Checker throughput, measured as unique states per CPU-second as well as per wall-second.

Usage: bench-checker.py RUNS THREADS BINARY[,BINARY...] [-- CHECK-ARGS...]

Runs `BINARY check --threads T --json-summary CHECK-ARGS` RUNS times for each thread count
in THREADS (space-separated) and each binary, alternating the binaries (ABAB, then BABA) so
that both see the same load, and prints every run, the medians and, with two binaries, the
ratios of the second to the first. CPU time is user+sys of the child (getrusage), so a loaded
machine does not pass for a slow checker; "wall" is the checker's own elapsed time. Every
run of one configuration must explore the same number of states, or it stops.
"""
import json, os, resource, statistics, subprocess, sys, time

runs, threads, bins = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(",")
args = sys.argv[5:] if len(sys.argv) > 4 and sys.argv[4] == "--" else sys.argv[4:]
for t in threads:
    res = {b: [] for b in bins}
    for i in range(runs):
        for b in bins if i % 2 == 0 else bins[::-1]:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run([b, "check", "--threads", t, "--json-summary", *args],
                               capture_output=True, text=True)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            d = json.loads(p.stdout)
            u, wall = d["unique_states"], d["seconds"]
            if any(r and r[0][0] != u for r in res.values()):
                sys.exit(f"{b}: {u} unique states, another run explored a different number")
            res[b].append((u, cpu, wall))
            print(f"threads={t} {b}: {u} unique, CPU {cpu:.2f} s, wall {wall:.2f} s, "
                  f"{u / cpu:,.0f} unique/CPU-s, {u / wall:,.0f} unique/s", flush=True)
    med = {}
    for b in bins:
        u = res[b][0][0]
        cpu = statistics.median(r[1] for r in res[b])
        wall = statistics.median(r[2] for r in res[b])
        med[b] = (cpu, wall)
        print(f"threads={t} {b}: median CPU {cpu:.2f} s ({u / cpu:,.0f} unique/CPU-s), "
              f"median wall {wall:.2f} s ({u / wall:,.0f} unique/s)")
    for b in bins[1:]:
        print(f"threads={t} {b} against {bins[0]}: CPU {med[bins[0]][0] / med[b][0]:.2f}x, "
              f"wall {med[bins[0]][1] / med[b][1]:.2f}x")
