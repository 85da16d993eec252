#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes small synthetic result directories in the contract formats (docs/architecture.md): a
# matrix with a failed and an unverified cell, a leak and a retention watch run, a budget run
# killed at its limit and a profile with call sites. For exercising the report before real runs
# exist; the end-to-end test uses real runs.
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

def run_json(command, config, exit, peak, samples, identified=None):
    """run.json (arenalab.run/2) as the runner writes it; identified: the backend the
    interposer found when it is not the configuration's (then not verified)."""
    code, signal = exit
    e = {"describe": "exit %d" % code if signal is None else "killed by signal %d" % signal,
         "status": code if signal is None else 128 + signal}
    if signal is None:
        e["code"] = code
    else:
        e.update(signal=signal, core_dumped=False)
    return {"schema": "arenalab.run/2", "command": command, "mode": "count", "interval_ms": 100,
            "allocator": {"name": config, "backend": config,
                          "identified_backend": identified or config,
                          "library": "", "version": "", "verified": identified is None},
            "exit": e, "wall_ms": samples * 100.0, "user_ms": 1.0, "sys_ms": 1.0,
            "peak_rss_bytes": peak, "minor_faults": 0, "major_faults": 0,
            "timeline_samples": samples, "files": ["run.json", "timeline.jsonl"], "warnings": []}

def wiggle(i):
    return (math.sin(i * 1.7) + 1) * 0.25 * MiB

def verdict_json(verdict, slope):
    """verdict.json (arenalab.verdict/1) as analysis::to_json writes it: evidence per signal."""
    def trend(t0, t1, s):
        return {"t0_ms": t0, "t1_ms": t1, "blocks": 8, "block_ms": (t1 - t0) / 8,
                "slope_bytes_per_s": s,
                "slope_interval_bytes_per_s": [s * 0.9 - 1000, s * 1.1 + 1000],
                "p_median": 0.001 if verdict == "leak" else 0.6, "p_min": 0.001,
                "growth_pct": 400.0 if verdict == "leak" else 2.0, "rising": verdict == "leak"}
    rss = {"verdict": verdict, "reason": "fixture", "confidence": 0.9, "samples": 100,
           "duration_ms": 9900.0, "start_level_bytes": 20 * MiB, "level_bytes": 110 * MiB,
           "growth_pct": 400.0 if verdict == "leak" else 2.0, "oscillation_pct": 1.0,
           "trend": trend(0.0, 9900.0, slope),
           "knee": {"found": True, "t_ms": 3000.0, "slope_before_bytes_per_s": 30 * MiB,
                    "slope_after_bytes_per_s": slope, "tail_fraction": 0.7, "sse_ratio": 0.1},
           "after_knee": trend(3000.0, 9900.0, slope)}
    gap = {"verdict": "bounded", "reason": "fixture", "confidence": 0.9, "samples": 100,
           "level_bytes": 30 * MiB}
    return {"schema": "arenalab.verdict/1", "verdict": verdict, "confidence": 0.9,
            "reason": "fixture", "held_signal": "live_bytes", "rss_signal": "rss",
            "source": "timeline.jsonl", "signals": {"rss": rss, "gap": gap}}

def callsite(function, start, end, verdict):
    """A call site of profile.json (arenalab.profile/1) with a two-dump live-bytes series."""
    return {"source": "heap", "verdict": verdict, "slope_bytes_per_s": float(end - start),
            "bytes_now": float(end), "method": "theil-sen", "reason": "fixture",
            "site": {"function": function, "file": "", "line": 0, "module": "wl_cache",
                     "address": "0x1000"},
            "stack": ["malloc", function, "main"], "t_ms": [1000.0, 2000.0],
            "live_bytes": [float(start), float(end)]}

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
        json.dump(run_json(["wl_" + wl, "--smoke"], "glibc", (0, None),
                           max(rss(i) for i in range(100)), 100),
                  open(os.path.join(d, "run.json"), "w"))
        json.dump(verdict_json(verdict, slope), open(os.path.join(d, "verdict.json"), "w"))
    # Matrix.
    cells = []
    for wl, base in (("cache", 120.0), ("fragment", 60.0)):
        for k, cfg in enumerate(("glibc", "jemalloc", "mimalloc", "tcmalloc")):
            for rep in range(3):
                failed = wl == "cache" and cfg == "mimalloc"
                verified = not (wl == "fragment" and cfg == "tcmalloc")
                cells.append({"workload": wl, "configuration": cfg, "threads": 1, "repeat": rep,
                              "sequence": len(cells),
                              "status": "failed" if failed else ("ok" if verified else "unverified"),
                              "verified": verified, "exit_code": 1 if failed else 0,
                              "message": "exit 1" if failed else "",
                              "command": ["wl_" + wl, "--json"], "measurements": {},
                              "wall_ms": base * (1 + 0.2 * k) + rep,
                              "peak_rss_bytes": (base + 30 * ((k + 1) % 3) + rep) * MiB})
    d = os.path.join(out, "matrix")
    os.makedirs(d, exist_ok=True)
    plan = {"workloads": ["cache", "fragment"],
            "configurations": ["glibc", "jemalloc", "mimalloc", "tcmalloc"], "threads": [1],
            "repeats": 3, "warmup": False, "baseline": "glibc", "smoke": True, "timeline": False,
            "confidence": 0.95, "identification": "runner"}
    json.dump({"schema": "arenalab.matrix/1", "complete": True, "plan": plan, "cells": cells,
               "summaries": []},
              open(os.path.join(d, "results.json"), "w"))
    # A run whose process brought its own allocator: glibc asked for, jemalloc identified.
    d = os.path.join(out, "unverified-run")
    os.makedirs(d, exist_ok=True)
    timeline(os.path.join(d, "timeline.jsonl"), "redis", "glibc", 30,
             lambda i: 8 * MiB + i * 0.1 * MiB, lambda i: 4 * MiB)
    json.dump(run_json(["wl_redis", "--smoke"], "glibc", (0, None),
                       12 * MiB, 30, identified="jemalloc"),
              open(os.path.join(d, "run.json"), "w"))
    # Budget: killed at a 64 MiB limit.
    d = os.path.join(out, "budget")
    os.makedirs(d, exist_ok=True)
    timeline(os.path.join(d, "timeline.jsonl"), "leak", "glibc", 40,
             lambda i: 10 * MiB + i * 1.4 * MiB, lambda i: i * 1.4 * MiB,
             lambda i: {"cgroup_memory_bytes": 12 * MiB + i * 1.4 * MiB})
    json.dump(run_json(["wl_leak"], "glibc", (None, 9), 64 * MiB, 40),
              open(os.path.join(d, "run.json"), "w"))
    json.dump({"schema": "arenalab.budget/2", "command": ["wl_leak"], "limit_bytes": 64 * MiB,
               "cgroup": {"version": "v2", "dir": "/sys/fs/cgroup/arenalab-1", "removed": True},
               "pid": 1000,
               "exit": {"describe": "killed by SIGKILL", "status": 137, "signal": 9,
                        "core_dumped": False, "signal_name": "SIGKILL", "wall_ms": 3950.0,
                        "user_ms": 1.0, "sys_ms": 1.0, "peak_rss_bytes": 64 * MiB},
               "oom_killed": False,
               "group": {"peak_usage_bytes": 64 * MiB, "oom_kill": 0},
               "peak_usage_bytes": 64 * MiB, "peak_rss_bytes": 63 * MiB, "interval_ms": 100,
               "rss_timeline": [{"t_ms": i * 100.0, "rss": 10 * MiB + i * 1.4 * MiB} for i in range(40)],
               "allocator_note": "", "files": {"timeline": "timeline.jsonl", "budget": "budget.json"},
               "warnings": []}, open(os.path.join(d, "budget.json"), "w"))
    # Profile: call sites.
    d = os.path.join(out, "profile")
    os.makedirs(d, exist_ok=True)
    json.dump({"schema": "arenalab.profile/1", "profiler": "jemalloc", "command": ["wl_cache"],
               "out_dir": d, "cadence": "every 1 s", "exit": "exit 0",
               "dumps": ["jeprof.1.heap", "jeprof.2.heap"], "dump_t_ms": [1000.0, 2000.0],
               "growing_callsites": 1,
               "callsites": [callsite("Cache::put", 0, 96 * MiB, "leak"),
                             callsite("Log::append", MiB, 2 * MiB, "bounded")],
               "tools": [], "notes": []},
              open(os.path.join(d, "profile.json"), "w"))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
