#!/usr/bin/env python3
"""One-screen summary: runs every seed workload (smoke size) under every configuration through
`arenalab run` when it exists, else through the configuration's LD_PRELOAD, and prints one row
per workload x configuration with its checks."""
import json
import os
import subprocess
import sys

bin_dir = sys.argv[1]
arenalab = os.path.join(bin_dir, "arenalab")
configs = json.loads(subprocess.run([arenalab, "allocators", "--json"], check=True,
                                    capture_output=True, text=True).stdout)["configurations"]
index = json.loads(open(os.path.join(bin_dir, "..", "share", "arenalab", "workloads.json")).read())
workloads = [w for w in index["workloads"] if w["category"] in ("probe", "seed")]

print(f"{'workload':<20} {'configuration':<22} {'checks':<8} {'RSS peak':>10}  detail")
for w in workloads:
    prog = os.path.join(bin_dir, w["program"])
    for c in configs:
        if not c["available"]:
            print(f"{w['name']:<20} {c['name']:<22} {'n/a':<8} {'':>10}  {c.get('problem', '')}")
            continue
        env = dict(os.environ)
        env.update(c["env"])
        if c["library"]:
            env["LD_PRELOAD"] = c["library"]
        r = subprocess.run([prog, "--smoke", "--json"], env=env, capture_output=True, text=True)
        try:
            doc = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print(f"{w['name']:<20} {c['name']:<22} {'ERROR':<8} {'':>10}  exit {r.returncode}: {r.stderr.strip()[-80:]}")
            continue
        checks = doc.get("checks", [])
        passed = sum(1 for x in checks if x["pass"])
        m = doc.get("measurements", {})
        peak = max([v for k, v in m.items() if k.startswith("rss") and isinstance(v, (int, float))] or [0])
        failed = [x["name"] for x in checks if not x["pass"]]
        served = doc["allocator"]["backend"]
        detail = f"served by {served}" + (f"; FAILED: {', '.join(failed)}" if failed else "")
        print(f"{w['name']:<20} {c['name']:<22} {f'{passed}/{len(checks)}':<8} {peak / 2**20:>7.1f} MiB  {detail}")
