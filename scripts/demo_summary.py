#!/usr/bin/env python3
"""One-screen summary: runs every seed workload (smoke size) under every configuration (its
LD_PRELOAD and environment) and prints one row per workload x configuration: checks passed,
the process's peak RSS (wait4) and which allocator served it."""
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
        # wait4 gives this child's own peak RSS (ru_maxrss, KiB).
        p = subprocess.Popen([prog, "--smoke", "--json"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out, err = p.stdout.read(), p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss * 1024
        try:
            doc = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print(f"{w['name']:<20} {c['name']:<22} {'ERROR':<8} {'':>10}  exit {p.returncode}: {err.strip()[-80:]}")
            continue
        checks = doc.get("checks", [])
        passed = sum(1 for x in checks if x["pass"])
        failed = [x["name"] for x in checks if not x["pass"]]
        served = doc["allocator"]["backend"]
        detail = f"served by {served}" + (f"; FAILED: {', '.join(failed)}" if failed else "")
        for sk in doc.get("skipped_checks", []):
            detail += f"; skipped {sk['name']}: {sk['reason']}"
        print(f"{w['name']:<20} {c['name']:<22} {f'{passed}/{len(checks)}':<8} {peak / 2**20:>7.1f} MiB  {detail}")
