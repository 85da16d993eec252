#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Survival of the interposer under one allocator: runs tests/detectors/preload/survivor.cc scenarios
# through `arenalab run` in every mode and checks exit codes, stdout, the timeline (valid
# JSON lines; a killed target leaves a valid prefix), run.json and the files written.
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def read_timeline(path, allow_cut=False):
    """Returns (header, samples); every line but a cut last one must be JSON."""
    with open(path, "rb") as f:
        data = f.read().decode()
    lines = data.split("\n")
    complete, last = lines[:-1], lines[-1]
    if last and not allow_cut:
        raise ValueError(f"{path}: last line not terminated: {last[:80]!r}")
    objs = [json.loads(line) for line in complete if line]
    if not objs or objs[0].get("schema") != "arenalab.timeline/1":
        raise ValueError(f"{path}: no header line")
    for s in objs[1:]:
        if "t_ms" not in s:
            raise ValueError(f"{path}: sample without t_ms: {s}")
    return objs[0], objs[1:]


def run(args, scenario, mode, extra=(), out=None, env=None, expect_rc=0, expect_out=None,
        scenario_args=(), tables_off_ok=False):
    out = out or os.path.join(args.workdir, f"{scenario}-{mode}")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [args.arenalab, "run", "-q", "--allocator", args.allocator, "--mode", mode,
           "--interval", "20", "--out", out, *extra, "--", args.survivor, scenario, *scenario_args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    tag = f"{args.allocator}/{mode}/{scenario}"
    if p.returncode != expect_rc:
        fail(f"{tag}: exit {p.returncode}, expected {expect_rc}; stderr: {p.stderr.strip()[-500:]}")
    if expect_out is not None and expect_out not in p.stdout:
        fail(f"{tag}: stdout {p.stdout!r} lacks {expect_out!r}")
    run_json = {}
    try:
        with open(os.path.join(out, "run.json")) as f:
            run_json = json.load(f)
        header, samples = read_timeline(os.path.join(out, "timeline.jsonl"))
        if not header["allocator"].get("verified"):
            fail(f"{tag}: not verified: {header['allocator']}")
        if header["allocator"]["backend"] != args.allocator:
            fail(f"{tag}: identified {header['allocator']['backend']}")
        if not samples:
            fail(f"{tag}: no samples")
        if mode in ("count", "full") and samples and "live_bytes" not in samples[-1]:
            fail(f"{tag}: count mode without live_bytes")
        if mode == "stats" and samples and "live_bytes" in samples[-1]:
            fail(f"{tag}: stats mode wrote live_bytes")
        # Count mode's size tables check themselves against the allocator as the program runs.
        table = [w for w in run_json.get("warnings", []) if w.startswith("count mode:")]
        if table and not tables_off_ok:
            fail(f"{tag}: {table}")
    except (OSError, ValueError, KeyError) as e:
        fail(f"{tag}: {e}")
        header, samples = {}, []
    return p, out, run_json, header, samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arenalab", required=True)
    ap.add_argument("--survivor", required=True)
    ap.add_argument("--deepbind-lib", required=True)
    ap.add_argument("--allocator", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    modes = ["stats", "count", "sample", "full"]

    # Every entry point with exact balance, 64 threads, dlopen/dlclose, signals: every mode.
    for mode in modes:
        for scenario in ("entry", "threads", "dlopen", "signals"):
            run(args, scenario, mode, expect_out=f"ok {scenario}")

    # Page reuse across size classes and kinds of block (count mode's page table).
    for mode in ("count", "full"):
        run(args, "pages", mode, expect_out="ok pages")
    # ... past the page table's reach (160 MiB): an aligned block's page keeps its mark; marks
    # in two pages that share an entry turn the tables off, under the allocators whose aligned
    # blocks may start inside others (the others note no marks; glibc has no tables).
    run(args, "pages_alias", "count", expect_out="ok pages_alias")
    # Aligned blocks from before the interposer's constructor, freed once the tables are on.
    run(args, "early", "count", expect_out="ok early")
    p, out, rj, header, samples = run(args, "pages_alias_marks", "count",
                                      expect_out="ok pages_alias_marks", tables_off_ok=True)
    # mimalloc carves the aligned blocks from the same 160 MiB of pages, so two marked pages
    # share an entry for certain; tbbmalloc marks its pages too, but serves them from its own
    # slabs, which may not span 128 MiB (either is right there: exactness is checked above).
    off = [w for w in rj.get("warnings", []) if "page table is off" in w]
    allowed = {"mimalloc": (1,), "tbbmalloc": (0, 1)}.get(args.allocator, (0,))
    if len(off) not in allowed:
        fail(f"count/pages_alias_marks: table-off warnings {rj.get('warnings')}, "
             f"expected {' or '.join(map(str, allowed))}")

    for mode in ("count", "sample"):
        # fork: the child works and exits 0; the parent's timeline stays intact and has
        # samples after the fork; no file for the (untraced) child.
        p, out, rj, header, samples = run(args, "fork", mode, expect_out="child ok")
        extra_files = [f for f in os.listdir(out) if f.startswith("timeline.") and f != "timeline.jsonl"]
        if extra_files:
            fail(f"{mode}/fork: untraced child wrote {extra_files}")
        # ... and traced on request, into its own file.
        p, out, rj, header, samples = run(args, "fork", mode, extra=["--trace-children"],
                                          expect_out="child ok")
        child_files = [f for f in os.listdir(out) if f.startswith("timeline.") and f != "timeline.jsonl"]
        if len(child_files) != 1:
            fail(f"{mode}/fork --trace-children: expected one child timeline, found {child_files}")
        else:
            try:
                ch, _ = read_timeline(os.path.join(out, child_files[0]))
                if ch["pid"] == header.get("pid"):
                    fail(f"{mode}/fork: child timeline has the parent's pid")
            except (ValueError, KeyError) as e:
                fail(f"{mode}/fork child timeline: {e}")
        if mode == "sample":
            # The traced child's heap dumps carry its pid: the parent's heap.<seq>.heap are its own.
            p, out, rj, header, samples = run(args, "fork_exit", mode, extra=["--trace-children"],
                                              expect_out="child ok")
            child_files = [f for f in os.listdir(out)
                           if f.startswith("timeline.") and f != "timeline.jsonl"]
            dumps = [f for f in os.listdir(out) if f.startswith("heap.") and f.endswith(".heap")]
            parent = [f for f in dumps if re.fullmatch(r"heap\.\d+\.heap", f)]
            child = [f for f in dumps if re.fullmatch(r"heap\.\d+\.\d+\.heap", f)]
            if not parent or not child or len(parent) + len(child) != len(dumps):
                fail(f"{mode}/fork --trace-children: heap dumps parent {parent} child {child} "
                     f"(all {dumps})")
            elif child_files and not all(f.startswith(f"heap.{child_files[0].split('.')[1]}.")
                                         for f in child):
                fail(f"{mode}/fork --trace-children: child dumps {child} lack its pid")

        # exec: the exec'd child is not traced (passive: counters say -1).
        run(args, "exec", mode, expect_out="child mode -1")

        # _exit and abort: exit status passed through, timeline valid.
        run(args, "exit", mode, expect_rc=3, expect_out="before _exit")
        run(args, "abort", mode, expect_rc=128 + signal.SIGABRT)

        # gauges published by the program appear in later samples.
        p, out, rj, header, samples = run(args, "gauge", mode, expect_out="ok gauge")
        g = samples[-1].get("gauges", {}) if samples else {}
        if g.get("store.bytes") != 12345 or g.get('queue "depth"') != 2.5:
            fail(f"{mode}/gauge: last sample gauges {g}")

        # RTLD_DEEPBIND: the bypass is reported, nothing crashes.
        if args.allocator == "glibc":
            p, out, rj, header, samples = run(args, "deepbind", mode, scenario_args=[args.deepbind_lib],
                                              expect_out="ok deepbind")
            if not any("RTLD_DEEPBIND" in w for w in rj.get("warnings", [])):
                fail(f"{mode}/deepbind: run.json warnings {rj.get('warnings')}")

    # SIGKILL of the target mid-run: arenalab returns 137 and the timeline is a valid prefix.
    out = os.path.join(args.workdir, "sigkill")
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen([args.arenalab, "run", "-q", "--allocator", args.allocator, "--mode", "count",
                             "--interval", "10", "--out", out, "--", args.survivor, "alloc_for", "20000"])
    pid = None
    deadline = time.time() + 30
    while time.time() < deadline and pid is None:
        time.sleep(0.1)
        try:
            header, samples = read_timeline(os.path.join(out, "timeline.jsonl"), allow_cut=True)
            if len(samples) >= 5:
                pid = header["pid"]
        except (OSError, ValueError):
            pass
    if pid is None:
        fail("sigkill: target never produced 5 samples")
        proc.kill()
    else:
        os.kill(pid, signal.SIGKILL)
    rc = proc.wait(timeout=60)
    if rc != 128 + signal.SIGKILL:
        fail(f"sigkill: arenalab exit {rc}, expected 137")
    try:
        header, samples = read_timeline(os.path.join(out, "timeline.jsonl"), allow_cut=True)
        if len(samples) < 5:
            fail(f"sigkill: only {len(samples)} samples")
        with open(os.path.join(out, "run.json")) as f:
            rj = json.load(f)
        if rj["exit"].get("signal") != signal.SIGKILL:
            fail(f"sigkill: run.json exit {rj['exit']}")
    except (OSError, ValueError, KeyError) as e:
        fail(f"sigkill: {e}")

    # jemalloc's own profiler dumps on the sampler's cadence (used by the profilers).
    if args.allocator == "jemalloc":
        env = dict(os.environ, MALLOC_CONF="prof:true,lg_prof_sample:12")
        p, out, rj, header, samples = run(args, "alloc_for", "stats", env=env, scenario_args=["400"],
                                          extra=["--jemalloc-prof-dump-every", "5"])
        dumps = [f for f in os.listdir(out) if f.startswith("jeprof.") and f.endswith(".heap")]
        if len(dumps) < 2:
            fail(f"jemalloc prof.dump cadence: dumps {dumps}")
        else:
            with open(os.path.join(out, sorted(dumps)[0])) as f:
                if not f.readline().startswith("heap_v2/"):
                    fail("jemalloc prof.dump: not a heap_v2 file")

    if failures:
        print(f"{len(failures)} failure(s) under {args.allocator}")
        return 1
    print(f"all survival scenarios passed under {args.allocator}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
