#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes small synthetic result directories in the contract formats (ARCHITECTURE.md): a matrix
# with a failed and an unverified cell, a leak and a retention watch run, a budget run killed at
# its limit and a profile with call sites. For exercising the report before real runs exist;
# the end-to-end test uses real runs.
import json, math, os, sys

MiB = 1 << 20

def timeline(path, workload, config, n, rss_of, live_of, gauges_of=None):
    with open(path, "w") as f:
        f.write(json.dumps({"schema": "arenalab.timeline/1", "pid": 1000,
                            "command": ["wl_" + workload, "--smoke"],
                            "allocator": {"name": config, "backend": config.split("-")[0],
                                          "library": "", "version": "", "verified": True},
                            "mode": "count", "interval_ms": 100}) + "\n")
        for i in range(n):
            s = {"t_ms": i * 100.0, "rss": rss_of(i), "live_bytes": live_of(i),
                 "alloc": {"resident": rss_of(i) * 0.95, "retained": max(0, rss_of(i) - live_of(i)) * 0.5}}
            if gauges_of:
                s["gauges"] = gauges_of(i)
            f.write(json.dumps(s) + "\n")

def wiggle(i):
    return (math.sin(i * 1.7) + 1) * 0.25 * MiB

def main(out):
    os.makedirs(out, exist_ok=True)
    # Watch: a leak and a retention plateau.
    for name, verdict, rss, live, slope in (
            ("watch-leak", "leak", lambda i: 20 * MiB + i * 1.5 * MiB + wiggle(i), lambda i: i * 1.5 * MiB, 15 * MiB),
            ("watch-cache", "retention", lambda i: 20 * MiB + min(i, 30) * 3 * MiB + wiggle(i),
             lambda i: min(i, 30) * 3 * MiB if i < 60 else 10 * MiB, 0.0)):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        wl = name.split("-")[1]
        timeline(os.path.join(d, "timeline.jsonl"), wl, "glibc", 100, rss, live)
        json.dump({"schema": "arenalab.run/1", "command": ["wl_" + wl, "--smoke"],
                   "allocator": {"name": "glibc", "backend": "glibc", "verified": True},
                   "exit": {"code": 0}, "peak_rss_bytes": max(rss(i) for i in range(100))},
                  open(os.path.join(d, "run.json"), "w"))
        json.dump({"schema": "arenalab.verdict/1", "verdict": verdict, "confidence": 0.9,
                   "evidence": {"slope_bytes_per_s": {"value": slope, "lo": slope * 0.9 - 1000, "hi": slope * 1.1 + 1000},
                                "knee_ms": 3000.0, "trend_p": 0.001 if verdict == "leak" else 0.6,
                                "growth_pct": 400.0 if verdict == "leak" else 2.0,
                                "gap_bytes": 30 * MiB}},
                  open(os.path.join(d, "verdict.json"), "w"))
    # Matrix.
    cells = []
    for wl, base in (("cache", 120.0), ("fragment", 60.0)):
        for k, cfg in enumerate(("glibc", "jemalloc", "mimalloc", "tcmalloc")):
            for rep in range(3):
                cells.append({"workload": wl, "configuration": cfg, "threads": 1, "repeat": rep,
                              "verified": not (wl == "fragment" and cfg == "tcmalloc"),
                              "exit": {"code": 1 if (wl == "cache" and cfg == "mimalloc") else 0},
                              "figures": {"wall_ms": base * (1 + 0.2 * k) + rep,
                                          "peak_rss_bytes": (base + 30 * ((k + 1) % 3) + rep) * MiB}})
    d = os.path.join(out, "matrix")
    os.makedirs(d, exist_ok=True)
    json.dump({"schema": "arenalab.matrix/1", "baseline": "glibc", "cells": cells},
              open(os.path.join(d, "results.json"), "w"))
    # Budget: killed at a 64 MiB limit.
    d = os.path.join(out, "budget")
    os.makedirs(d, exist_ok=True)
    timeline(os.path.join(d, "timeline.jsonl"), "leak", "glibc", 40,
             lambda i: 10 * MiB + i * 1.4 * MiB, lambda i: i * 1.4 * MiB,
             lambda i: {"cgroup_memory_bytes": 12 * MiB + i * 1.4 * MiB})
    json.dump({"schema": "arenalab.run/1", "command": ["wl_leak"], "allocator": {"name": "glibc"},
               "exit": {"signal": 9}}, open(os.path.join(d, "run.json"), "w"))
    json.dump({"schema": "arenalab.budget/1", "limit_bytes": 64 * MiB, "oom_kills": 1,
               "peak_bytes": 64 * MiB}, open(os.path.join(d, "budget.json"), "w"))
    # Profile: call sites.
    d = os.path.join(out, "profile")
    os.makedirs(d, exist_ok=True)
    json.dump({"schema": "arenalab.profile/1", "profiler": "jemalloc",
               "callsites": [{"frames": ["malloc", "Cache::put", "main"], "start_bytes": 0, "end_bytes": 96 * MiB},
                             {"frames": ["malloc", "Log::append", "main"], "start_bytes": MiB, "end_bytes": 2 * MiB}]},
              open(os.path.join(d, "profile.json"), "w"))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
