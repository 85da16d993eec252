#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 25: the allocator's books get a share of the sampler's time, not a place in every tick.
# glibc's mallinfo2 walks every free chunk under the arena's lock: a heap of 100 000 free chunks
# made every 100 ms tick cost ~15 ms (15 % of a core). Now a read that costs c is followed by
# none for c / 0.1 %: the samples between carry no "alloc" (absent, never a copy of the last
# read), the final sample reads them, and a heap whose books cost nothing has them every tick.
import json
import os
import subprocess
import sys

from support import parse_args, report

# 200 000 blocks of 600..2000 B (above pymalloc's 512 B: glibc serves them), every other one
# freed: 100 000 free chunks that cannot coalesce, then 2.5 s idle.
FRAG = ("import time\nl = [bytearray(600 + (i % 1400)) for i in range(200000)]\n"
        "del l[::2]\nprint('ready', flush=True)\ntime.sleep(2.5)\n")


def run(args, name, cmd):
    out = os.path.join(args.workdir, name)
    p = subprocess.run([args.arenalab, "run", "-q", "--allocator", "glibc", "--mode", "stats",
                        "--out", out, "--", *cmd], capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        return None, f"{name}: exit {p.returncode}: {p.stderr.strip()[-300:]}"
    with open(os.path.join(out, "timeline.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    return lines[1:], None


def main():
    args = parse_args("survivor")
    failures = []
    samples, err = run(args, "fragmented", [sys.executable, "-c", FRAG])
    if err:
        failures.append(err)
    else:
        for s in samples:
            if not (0 < s.get("rss_anon", -1) <= s.get("rss", -1)):
                failures.append(f"t_ms {s['t_ms']}: rss {s.get('rss')}, rss_anon {s.get('rss_anon')}")
                break
        final = samples[-1]
        held = 100000 * 600
        if not final.get("final") or "allocated" not in final.get("alloc", {}):
            failures.append(f"the final sample does not read the books: {final}")
        reads = [s["alloc"]["allocated"] for s in samples if "alloc" in s]
        if max(reads, default=0) < held:
            failures.append(f"no read of the books saw the {held}+ bytes held: {reads}")
        if max(s.get("rss_anon", 0) for s in samples) < held:
            failures.append(f"no rss_anon reached the {held} bytes held")
        # The idle second half of the run: the heap built, a walk of 100 000 chunks per read.
        end = final["t_ms"]
        idle = [s for s in samples[:-1] if s["t_ms"] >= end - 2000]
        with_books = sum("alloc" in s for s in idle)
        if len(idle) < 10:
            failures.append(f"only {len(idle)} samples in the last 2 s of a 2.5 s sleep")
        elif with_books * 2 >= len(idle):
            failures.append(f"{with_books} of the last {len(idle)} samples read the books of a "
                            "heap of 100 000 free chunks: every tick pays its walk")
        # The books present are the allocator's own figures at that tick, not copies.
        if len(reads) >= 2 and len(set(reads)) < 2:
            failures.append(f"every read of the books gave the same figure {reads[0]}")
    # Books that cost nothing (the survivor's small heap): every tick has them.
    samples, err = run(args, "small", [args.survivor, "alloc_for", "1000"])
    if err:
        failures.append(err)
    elif not samples or not all("alloc" in s for s in samples):
        failures.append(f"{sum('alloc' not in s for s in samples or [])} of {len(samples or [])} "
                        "samples of a small heap lack the books")
    return report(failures, "the books of a fragmented heap are read within their CPU share; "
                            "a small heap's on every tick")


if __name__ == "__main__":
    sys.exit(main())
