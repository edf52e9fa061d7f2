#!/usr/bin/env python3
"""How much one process's durable commits slow down when another process commits on the same
disk: the shared-disk part of a failover pair run on one machine (issue 12 §3; BENCHMARKS.md,
"A running pair").

A *commit* here is what failover-store makes per grant (redb, two-phase commit): write two 4 KiB
pages, fdatasync, write a header page, fdatasync. The measured process ("primary") commits RATE
times a second into a file under DIR; a second process ("partner") does the same, at the same
rate, into a file under PARTNER_DIR (the same disk, or a tmpfs standing in for the partner's own
machine), or not at all. Modes are interleaved round by round; the figures are the primary's
commit times (median and 99th percentile, ms) per round and their medians over the rounds.

Usage: scripts/fsync-contention.py [--dir DIR] [--tmpfs DIR] [--rate N] [--seconds S] [--rounds R]
Defaults: --dir /var/tmp (the disk), --tmpfs /dev/shm, --rate 200, --seconds 10, --rounds 3.
"""
import argparse
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time

PAGE = 4096
FILE_PAGES = 256  # a 1 MiB file


def commit(fd, rng):
    """One redb-like two-phase commit: data pages, sync, header, sync."""
    for _ in range(2):
        os.pwrite(fd, rng.randbytes(PAGE), PAGE * rng.randrange(1, FILE_PAGES))
    os.fdatasync(fd)
    os.pwrite(fd, rng.randbytes(PAGE), 0)
    os.fdatasync(fd)


def committer(directory, rate, seconds, seed, out=None):
    """Commit `rate` times a second for `seconds`; return (or put on `out`) each commit's ms."""
    rng = random.Random(seed)
    with tempfile.NamedTemporaryFile(dir=directory, prefix="fsync-contention.") as f:
        fd = f.fileno()
        os.pwrite(fd, bytes(PAGE * FILE_PAGES), 0)
        os.fdatasync(fd)
        times = []
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t0 = time.perf_counter()
            commit(fd, rng)
            times.append((time.perf_counter() - t0) * 1e3)
    if out is not None:
        out.put(times)
    return times


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.rate <= 0 or a.seconds <= 0 or a.rounds <= 0:
        ap.error("--rate, --seconds and --rounds must be positive")
    for d in (a.dir, a.tmpfs):
        if not os.path.isdir(d):
            ap.error(f"{d} is not a directory")
    modes = [("alone", None), ("partner on the same disk", a.dir), ("partner on tmpfs", a.tmpfs)]
    print(f"primary commits into {a.dir}, {a.rate:g}/s, {a.seconds:g} s per mode, {a.rounds} rounds;"
          f" load average {os.getloadavg()[0]:.2f}")
    res = {m: [] for m, _ in modes}
    for r in range(1, a.rounds + 1):
        for name, pdir in modes:
            q = mp.Queue()
            partner = None
            if pdir is not None:
                partner = mp.Process(target=committer, args=(pdir, a.rate, a.seconds + 1, 1000 + r, q))
                partner.start()
                time.sleep(0.5)
            xs = committer(a.dir, a.rate, a.seconds, r)
            ptimes = None
            if partner is not None:
                ptimes = q.get()
                partner.join()
            med, p99 = statistics.median(xs), pct(xs, 99)
            res[name].append((med, p99))
            extra = "" if ptimes is None else f"  (partner's commits: median {statistics.median(ptimes):.3f} ms)"
            print(f"round {r}  {name:<26} median {med:.3f} ms  p99 {p99:.3f} ms"
                  f"  load {os.getloadavg()[0]:.2f}{extra}")
    print()
    base = statistics.median(m for m, _ in res["alone"])
    for name, _ in modes:
        med = statistics.median(m for m, _ in res[name])
        p99 = statistics.median(p for _, p in res[name])
        print(f"{name:<26} median of medians {med:.3f} ms ({med / base:.2f}x alone), median p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
