#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The interposer's mmap call sites, exactly: mmap_sites_program maps from named functions and
# then cuts holes, heads and tails, mremaps, maps MAP_FIXED over a mapping and maps a file.
#  1. arenalab run --mode sample and --mode full under every available allocator (glibc,
#     jemalloc, mimalloc, tcmalloc, tbbmalloc): the last mmap.<seq>.heap is heap_v2 with period 1
#     and its total equals the timeline's final mmap_bytes (5952 KiB), so none of the memory the
#     allocator mapped for the program's malloc calls is counted; count mode writes no mmap dump.
#  2. arenalab profile --profiler interposer: the [mmap] call sites and their bytes now, by
#     function (symbolized by arenalab), are exactly what each function still has mapped.
#  3. jeprof (when installed) reads the mmap dump and names map_kept with its bytes.
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

KIB = 1024
EXPECTED = {"map_kept": 3648 * KIB, "grow_moved": 1536 * KIB, "map_covered": 384 * KIB,
            "cover_fixed": 384 * KIB}
ABSENT = ("map_freed", "map_moved", "map_file")
TOTAL = sum(EXPECTED.values())


def seq_of(path):
    return int(path.split(".")[-2])


def last_sample(timeline):
    with open(timeline) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arenalab", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    failures = []

    allocs = json.loads(subprocess.run([args.arenalab, "allocators", "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    available = {c["name"] for c in allocs["configurations"] if c.get("available")}
    wanted = ("glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc")
    allocators = [a for a in wanted if a in available]
    for a in wanted:
        if a not in available:
            print(f"note: {a} not available; its runs skipped")

    for allocator in allocators:
        for mode in ("sample", "full", "count"):
            out = os.path.join(args.workdir, f"{allocator}-{mode}")
            p = subprocess.run([args.arenalab, "run", "-q", "--allocator", allocator, "--mode",
                                mode, "--interval", "50", "--heap-dump-every", "2", "--out", out,
                                "--", args.program], capture_output=True, text=True, timeout=120)
            what = f"{allocator}/{mode}"
            if p.returncode != 0 or p.stdout:
                failures.append(f"{what}: exit {p.returncode}, stdout {p.stdout!r}, "
                                f"stderr {p.stderr[-300:]}")
                continue
            mmap_bytes = last_sample(os.path.join(out, "timeline.jsonl")).get("mmap_bytes")
            if mmap_bytes != TOTAL:
                failures.append(f"{what}: timeline mmap_bytes {mmap_bytes}, expected {TOTAL}")
            dumps = sorted(glob.glob(os.path.join(out, "mmap.*.heap")), key=seq_of)
            if mode == "count":
                if dumps:
                    failures.append(f"{what}: count mode wrote mmap dumps {dumps}")
                continue
            if not dumps:
                failures.append(f"{what}: no mmap.<seq>.heap written")
                continue
            with open(dumps[-1]) as f:
                text = f.read()
            head = text.splitlines()[:2]
            m = re.match(r"\s*t\*: (\d+): (\d+) \[", head[1]) if len(head) > 1 else None
            records = text.count("\n@ ")
            print(f"{what}: {len(dumps)} mmap dump(s); last: {head[0]} {head[1].strip()}, "
                  f"{records} stack(s); timeline mmap_bytes {mmap_bytes}")
            if head[0] != "heap_v2/1" or not m:
                failures.append(f"{what}: {dumps[-1]} starts {head!r}")
            elif int(m.group(2)) != TOTAL:
                failures.append(f"{what}: dump total {m.group(2)} B, expected {TOTAL}")
            if records != len(EXPECTED):
                failures.append(f"{what}: {records} stacks in the dump, expected {len(EXPECTED)}")

    out = os.path.join(args.workdir, "profile")
    p = subprocess.run([args.arenalab, "profile", "--profiler", "interposer", "--interval", "0.1",
                        "--json", "--out", out, "--", args.program],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        failures.append(f"profile: exit {p.returncode}: {p.stderr[-300:]}")
    else:
        r = json.loads(p.stdout)
        got = {}
        for c in r["callsites"]:
            if c.get("source") != "mmap":
                continue
            fn = (c.get("site") or {}).get("function", "")
            name = next((n for n in list(EXPECTED) + list(ABSENT) if n in fn), fn or "?")
            got[name] = got.get(name, 0) + c["bytes_now"]
        print(f"profile: {len(r.get('mmap_dumps', []))} mmap dumps; [mmap] sites now: {got}")
        for name, want in EXPECTED.items():
            if got.get(name) != want:
                failures.append(f"profile: {name} holds {got.get(name)} B, expected {want}")
        for name in ABSENT:
            if got.get(name):
                failures.append(f"profile: {name} listed with {got[name]} B, expected none")
        if set(got) - set(EXPECTED):
            failures.append(f"profile: unexpected mmap sites {sorted(set(got) - set(EXPECTED))}")
        jeprof = shutil.which("jeprof")
        dumps = r.get("mmap_dumps", [])
        if not jeprof:
            print("note: jeprof not installed (Debian libjemalloc-dev): its check skipped")
        elif dumps:
            t = subprocess.run([jeprof, "--text", "--show_bytes", args.program, dumps[-1]],
                               capture_output=True, text=True, timeout=120)
            kept = [line for line in t.stdout.splitlines() if "map_kept" in line]
            print("jeprof: " + (kept[0].strip() if kept else t.stdout[:300]))
            if not kept or int(kept[0].split()[0]) != EXPECTED["map_kept"]:
                failures.append(f"jeprof does not give map_kept {EXPECTED['map_kept']} B:\n"
                                f"{t.stdout[:800]}{t.stderr[-300:]}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
