#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# sample mode's heap profiles are jemalloc heap_v2: the real jeprof reads them and attributes
# the live bytes to the call site that holds them (survivor `hot`: 64 MiB in 64 KiB blocks from
# hot_site_allocate, plus freed noise). jeprof unbiases the samples with the header's period.
# Survivor `hot_new` holds 32 MiB from hot_site_new through operator new, whose libstdc++
# definition calls malloc inside our hook: the estimate must count each block once.
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys


def profile(args, jeprof, scenario, mib, site, failures):
    out = os.path.join(args.workdir, scenario)
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", "sample", "--sample-bytes", "256K",
                        "--interval", "20", "--heap-dump-every", "2", "--out", out, "--",
                        args.survivor, scenario, str(mib)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or f"site holds {mib} MiB" not in p.stdout:
        failures.append(f"{scenario}: exit {p.returncode}, stdout {p.stdout!r}, "
                        f"stderr {p.stderr[-300:]}")
    dumps = sorted(glob.glob(os.path.join(out, "heap.*.heap")),
                   key=lambda f: int(f.split(".")[-2]))
    if len(dumps) < 2:
        failures.append(f"{scenario}: expected periodic dumps and a final one, found {dumps}")
        return
    final = dumps[-1]
    with open(final) as f:
        head = f.readline().strip()
    if head != "heap_v2/262144":
        failures.append(f"{final}: header {head!r}")
    t = subprocess.run([jeprof, "--text", "--show_bytes", args.survivor, final],
                       capture_output=True, text=True, timeout=120)
    if t.returncode != 0:
        failures.append(f"{scenario}: jeprof failed: {t.stderr[-300:]}")
        return
    m = re.search(r"Total: (\d+) B", t.stdout)
    hot = [line for line in t.stdout.splitlines() if site in line]
    if not m or not hot:
        failures.append(f"{scenario}: jeprof output lacks the total or {site}:\n"
                        f"{t.stdout[:1500]}")
        return
    total = int(m.group(1))
    cum = int(hot[0].split()[3])  # flat flat% sum% cum cum% name
    print(f"{scenario}: jeprof total {total} B, {site} cum {cum} B (expected ~{mib << 20})")
    if not (0.7 * (mib << 20) <= cum <= 1.3 * (mib << 20)):
        failures.append(f"{scenario}: {site} holds {cum} B, expected {mib} MiB +-30%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arenalab", required=True)
    ap.add_argument("--survivor", required=True)
    ap.add_argument("--jeprof", default="")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    jeprof = args.jeprof or shutil.which("jeprof")
    if not jeprof or not os.path.exists(jeprof):
        print("SKIPPED: jeprof not installed (Debian libjemalloc-dev)")
        return 77
    shutil.rmtree(args.workdir, ignore_errors=True)
    failures = []
    profile(args, jeprof, "hot", 64, "hot_site_allocate", failures)
    profile(args, jeprof, "hot_new", 32, "hot_site_new", failures)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
