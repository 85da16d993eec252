#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes a synthetic timeline.jsonl (contract format) for the classify CLI test:
#   make_timeline.py KIND OUT   KIND = leak | plateau | retention | stable | short | nonheap
#                                      | outside (a heap leak, RSS growing twice as fast)
#                                      | sparse, sparseleak, paced (level stats under glibc: RSS on
#                                        every sample, the books (`alloc`) on every 20th, as the
#                                        agent paces mallinfo2 on a heap of many free chunks;
#                                        paced: on every 3rd; sparseleak: RSS grows 40 MiB)
import json, math, random, sys

kind, out = sys.argv[1], sys.argv[2]
rng = random.Random(5)
mib = 1 << 20
n = 8 if kind == "short" else 300
if kind in ("sparse", "sparseleak", "paced"):
    # The agent's level stats timeline: RSS parts every tick, the books only when paced in.
    every = 3 if kind == "paced" else 20
    with open(out, "w") as f:
        f.write(json.dumps({"schema": "arenalab.timeline/1", "pid": 1, "command": ["synthetic", kind],
                            "allocator": {"name": "attached", "backend": "glibc", "library": "",
                                          "version": "", "verified": True},
                            "mode": "stats", "interval_ms": 100}) + "\n")
        for i in range(n):
            u = i / (n - 1)
            rss = 134 * mib + (40 * mib * u if kind == "sparseleak" else 0) + rng.gauss(0, 0.2 * mib)
            s = {"t_ms": 3000 + i * 100.0, "rss": rss + 3 * mib, "rss_anon": rss,
                 "rss_file": 3 * mib, "rss_shmem": 0, "vm_size": 1100 * mib}
            if i % every == 0 or i == n - 1:  # the final sample always reads them
                s["alloc"] = {"allocated": 12 * mib + rng.gauss(0, 0.5 * mib), "mapped": 134 * mib}
            f.write(json.dumps(s) + "\n")
    sys.exit(0)
with open(out, "w") as f:
    f.write(json.dumps({"schema": "arenalab.timeline/1", "pid": 1, "command": ["synthetic", kind],
                        "allocator": {"name": "glibc", "backend": "glibc", "library": "", "version": "",
                                      "verified": True}, "mode": "count", "interval_ms": 100}) + "\n")
    for i in range(n):
        u = i / (n - 1)
        live = 50 * mib
        rss = 60 * mib
        mm = 1 * mib
        if kind in ("leak", "short"):
            live += 40 * mib * u
            rss += 40 * mib * u
        elif kind == "plateau":
            live += 40 * mib * min(1.0, u / 0.3)
            rss += 40 * mib * min(1.0, u / 0.3)
        elif kind == "retention":
            live += 40 * mib * (min(1.0, u / 0.2) - min(1.0, max(0.0, (u - 0.3) / 0.05)))
            rss += 40 * mib * min(1.0, u / 0.2)
        elif kind == "outside":
            live += 20 * mib * u
            rss += 40 * mib * u
        elif kind == "nonheap":
            rss += 40 * mib * u
            mm += 40 * mib * u
        live += rng.gauss(0, 0.2 * mib)
        rss += rng.gauss(0, 0.2 * mib)
        f.write(json.dumps({"t_ms": i * 100.0, "rss": rss, "live_bytes": live, "live_allocs": 1000,
                            "mmap_bytes": mm, "alloc": {"allocated": live}}) + "\n")
