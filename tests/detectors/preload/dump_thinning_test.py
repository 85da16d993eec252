#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 6(c): sample mode's dumps stay bounded. A run writing a dump every 2 ms keeps
# exactly the dumps timeline_writer.cc's rule keeps (the first, the last 15, then 8 per doubling
# of age: a geometric spread), the same for heap.* and mmap.*; and `arenalab profile` with a
# fixed --interval (whose dumps the interposer thins) still names the leaking function.
import json
import os
import re
import subprocess
import sys

from support import parse_args, report

DENSE_LOG = 3  # heap_sites_file.h kHeapDumpDenseLog
MAX_EVEN = 64  # profile_run.h kAdaptiveMaxDumps


def kept(s, n):
    if s <= 0 or s >= n:
        return True
    j = (n - s).bit_length() - 1
    return j <= DENSE_LOG or s % (1 << (j - DENSE_LOG)) == 0


def seqs(out, prefix):
    found = set()
    for name in os.listdir(out):
        m = re.fullmatch(re.escape(prefix) + r"(\d+)\.heap", name)
        if m:
            found.add(int(m.group(1)))
    return found


def main():
    args = parse_args("survivor", "leaky")
    failures = []

    # 1. run --mode sample, a dump every 2 ms for 3 s: up to 1,500 dumps written.
    out = os.path.join(args.workdir, "run")
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", "sample", "--interval", "2",
                        "--heap-dump-every", "1", "--out", out, "--", args.survivor,
                        "alloc_for", "3000"], capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        failures.append(f"run: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    heap = seqs(out, "heap.")
    mmap = seqs(out, "mmap.")
    n = max(heap) if heap else 0
    want = {s for s in range(n + 1) if kept(s, n)}
    dump_bytes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
                     if f.endswith(".heap"))
    print(f"run: {n + 1} dumps written, {len(heap)} heap + {len(mmap)} mmap kept "
          f"({dump_bytes} bytes); the rule keeps {len(want)}")
    if n < 200:
        failures.append(f"only {n + 1} dumps written: too few to show the thinning")
    if heap != want:
        failures.append(f"heap dumps kept differ from the rule: extra {sorted(heap - want)[:10]}, "
                        f"missing {sorted(want - heap)[:10]}")
    if mmap and mmap != want:
        failures.append(f"mmap dumps kept differ from the rule: extra {sorted(mmap - want)[:10]}, "
                        f"missing {sorted(want - mmap)[:10]}")
    # Bounded: 16 + 8 per doubling past 16 (80 after 3,600 dumps).
    bound = 16 + 8 * max(0, n.bit_length() - DENSE_LOG - 1)
    if len(heap) > bound:
        failures.append(f"{len(heap)} heap dumps kept for {n + 1} written, bound {bound}")
    # The readers take what is left: arenalab diff from the first dump to the run's newest.
    d = subprocess.run([args.arenalab, "diff", "--out", os.path.join(args.workdir, "diff"),
                        os.path.join(out, "heap.0.heap"), out], capture_output=True, text=True,
                       timeout=120)
    if d.returncode != 0:
        failures.append(f"diff on the thinned run: exit {d.returncode}: {d.stderr.strip()[-300:]}")

    # 2. profile with a fixed 10 ms dump interval for 6 s: ~600 dumps, thinned by the
    #    interposer; the analysis still names the leak.
    pout = os.path.join(args.workdir, "profile")
    p = subprocess.run([args.arenalab, "profile", "--profiler", "interposer", "--interval", "0.01",
                        "--lg-sample", "16", "--no-tools", "-q", "--out", pout, "--",
                        args.leaky, "--seconds", "6"], capture_output=True, text=True, timeout=240)
    pheap = seqs(pout, "heap.")
    pn = max(pheap) if pheap else 0
    print(f"profile: {pn + 1} dumps written, {len(pheap)} kept; exit {p.returncode}")
    # profile thins its own series evenly (DumpThinner, profilers_internal.h), not by the
    # geometric rule: at most kAdaptiveMaxDumps (profile_run.h) remain, all multiples of one
    # stride but the newest.
    if len(pheap) > MAX_EVEN:
        failures.append(f"profile: {len(pheap)} dumps kept of {pn + 1}, bound {MAX_EVEN}")
    older = sorted(pheap)[:-1]
    stride = next((1 << k for k in range(20, -1, -1)
                   if all(s % (1 << k) == 0 for s in older)), 1)
    if pn >= MAX_EVEN and len([s for s in range(pn) if s % stride == 0]) != len(older):
        failures.append(f"profile: the kept dumps are not every {stride}th: {older[:12]}")
    try:
        with open(os.path.join(pout, "profile.json")) as f:
            prof = json.load(f)
        top = prof["callsites"][0] if prof["callsites"] else {}
        fn = (top.get("site") or {}).get("function", "")
        print(f"profile: top {top.get('verdict')} {fn}, {len(prof['dump_t_ms'])} dumps in the series")
        if p.returncode != 3 or top.get("verdict") != "leak" or "leak_some_records" not in fn:
            failures.append(f"profile: exit {p.returncode}, top call site {fn!r} "
                            f"{top.get('verdict')}, expected leak_some_records leak: "
                            f"{p.stdout[-400:]}{p.stderr[-300:]}")
    except (OSError, ValueError, KeyError) as e:
        failures.append(f"profile: {e}: {p.stderr.strip()[-300:]}")

    return report(failures,
                  "dumps bounded by the geometric rule; diff and profile read the thinned "
                  "series")


if __name__ == "__main__":
    sys.exit(main())
