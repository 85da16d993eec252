#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# `arenalab watch|run --pid --mode stats` (the agent injected by ptrace) on real processes
# started before arenalab: the verdicts from the allocator's books, the target's output unchanged
# after detach, syscalls restarted (no EINTR, no errno 514), attach/detach/attach, 64 busy
# threads, SIGKILL of arenalab, and the refusals; levels count and sample (the GOT hooks); and
# the C leak at level rss under each allocator (rss_leak_<allocator>: nothing injected, no ptrace
# needed), with the same fixture as at levels stats and count.
# usage: stats_test.py CASE --arenalab BIN --target BIN --workdir DIR
# Exit 0 pass, 1 fail, 77 skipped (with the reason on stdout).
import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from support import (HERE, alive, check, fail, failures, samples_so_far, skip, spawn, timeline,
                     wait_for, watch_in_background)


def ptrace_permitted():
    """Skips with the reason where this machine forbids what level stats needs."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read())
    except OSError:
        scope = 0
    if scope >= 3 or (scope >= 1 and os.geteuid() != 0):
        skip(f"kernel.yama.ptrace_scope is {scope}: attaching is not permitted here")
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("TracerPid:") and int(line.split()[1]) != 0:
                skip("this test runs under a tracer")


class Target:
    """A target process whose stdout goes to a file; lines are checked as '<i> <f(i)>'."""

    def __init__(self, argv, workdir, name, env=None, stdin=None):
        self.out = os.path.join(workdir, name + ".out")
        self.err = os.path.join(workdir, name + ".err")
        with open(self.out, "w") as so, open(self.err, "w") as se:
            self.proc = spawn(argv, stdout=so, stderr=se, env=env, stdin=stdin)
        self.pid = self.proc.pid

    def lines(self):
        with open(self.out) as f:
            return f.read().splitlines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def check_output(tag, t, expect=lambda i: f"{i} {(i * i) % 9973}"):
    """The target's output is exactly what a run never attached prints: consecutive, no error."""
    lines = t.lines()
    check(len(lines) > 0, f"{tag}: no output")
    for i, line in enumerate(lines[:-1]):  # the last may be mid-write
        if line != expect(i):
            fail(f"{tag}: output line {i} is {line!r}, expected {expect(i)!r}")
            break
    with open(t.err) as f:
        err = f.read()
    check("Error" not in err and "ERROR" not in err and "514" not in err,
          f"{tag}: target stderr {err[-300:]!r}")


def attach(args, pid, out, *extra, sub="watch", duration="4", timeout=120, mode="stats"):
    """arenalab SUB --pid PID --mode MODE (mode None: no --mode, the level arenalab picks)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [args.arenalab, sub, "--pid", str(pid), *(("--mode", mode) if mode else ()),
           "--interval", "100", "--out", out, "-q", "--duration", duration, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def attach_for_samples(args, pid, out, samples, *extra, mode="stats"):
    """arenalab watch --pid PID --mode MODE until its timeline holds `samples` samples (100 ms
    apart on an idle machine), then SIGINT (arenalab stops sampling, writes its files and the
    verdict, detaches): the evidence a verdict is asserted on is a number of samples, not a wall
    time that a loaded machine fills with fewer ticks. At most 120 s (a failure)."""
    shutil.rmtree(out, ignore_errors=True)
    log = out + ".stdout"
    with open(log, "w") as so:
        a = spawn([args.arenalab, "watch", "--pid", str(pid), "--mode", mode, "--interval", "100",
                   "--out", out, "-q", "--duration", "150", *extra],
                  stdout=so, stderr=subprocess.STDOUT, text=True)
    tl = os.path.join(out, "timeline.jsonl")
    wait_for(lambda: samples_so_far(tl) >= samples or a.poll() is not None, 120,
             f"{samples} samples")
    if a.poll() is None:
        a.send_signal(signal.SIGINT)
    rc = a.wait(timeout=120)
    with open(log) as f:
        text = f.read()
    return subprocess.CompletedProcess(a.args, rc, text, text)


def check_stats_files(tag, out, backend):
    header, samples = timeline(os.path.join(out, "timeline.jsonl"))
    check(header.get("mode") == "stats", f"{tag}: header mode {header.get('mode')}")
    check(header["allocator"]["backend"] == backend, f"{tag}: backend {header['allocator']}")
    check(len(samples) >= 10, f"{tag}: {len(samples)} samples")
    # The books the backend's adapter has (REDIS_BOOKS): allocated where it counts live bytes,
    # mimalloc's mapped, none for tbbmalloc.
    want = REDIS_BOOKS.get(backend, {"allocated"})
    need = {"allocated"} if "allocated" in want else want
    check(all(need <= set(s.get("alloc", {})) for s in samples),
          f"{tag}: samples without the books {sorted(need)}: {samples[:2]}")
    check(samples and samples[-1].get("final") is True, f"{tag}: no final sample")
    with open(os.path.join(out, "attach.json")) as f:
        rec = json.load(f)
    check(rec["level"] == "stats" and rec["samples"] == len(samples), f"{tag}: attach.json {rec}")
    inj = rec.get("injection", {})
    check(inj.get("xstate_bytes", 0) >= 512 and inj.get("final_sample") is True,
          f"{tag}: injection {inj}")
    print(f"{tag}: injection {json.dumps(inj)}", flush=True)
    return header, samples, rec


def check_quiet_after(tag, out, t):
    """After detach the agent writes nothing more and the target runs on."""
    path = os.path.join(out, "timeline.jsonl")
    size = os.path.getsize(path)
    n = len(t.lines())
    time.sleep(0.6)
    check(os.path.getsize(path) == size, f"{tag}: the timeline grew after detach")
    check(alive(t.pid), f"{tag}: the target is gone after detach")
    wait_for(lambda: len(t.lines()) > n + 2, 30, f"{tag}: the target's output after detach")


def verdict_of(out):
    with open(os.path.join(out, "verdict.json")) as f:
        return json.load(f)


def check_rss_files(tag, out, backend, pid):
    """Level rss's files: nothing injected (the agent is not mapped in the target), the allocator
    the target maps named from outside (verified: false), and the reason saying what RSS alone
    cannot tell."""
    header, samples = timeline(os.path.join(out, "timeline.jsonl"))
    check(header.get("mode") == "rss", f"{tag}: header mode {header.get('mode')}")
    got = header.get("allocator", {})
    check(got.get("backend") == backend and got.get("verified") is False,
          f"{tag}: allocator {got}, expected {backend} by its mapped library")
    parts = ("rss", "rss_anon", "rss_file", "rss_shmem", "vm_size")
    check(len(samples) >= 10 and all(k in s for k in parts for s in samples),
          f"{tag}: {len(samples)} samples, first {samples[:1]}")
    with open(os.path.join(out, "attach.json")) as f:
        rec = json.load(f)
    check(rec["level"] == "rss" and rec["samples"] == len(samples) and "injection" not in rec,
          f"{tag}: attach.json {rec}")
    with open(f"/proc/{pid}/maps") as f:
        check("libarenalab_agent" not in f.read(), f"{tag}: the agent is mapped at level rss")
    print(f"{tag}: rss {samples[0]['rss']} -> {samples[-1]['rss']} in {len(samples)} samples, "
          f"allocator {got.get('backend')} ({got.get('library', '')})", flush=True)
    return header, samples


def run_leak(args, tag, allocator="glibc", mode="stats"):
    """The C program keeping 64 KiB every 50 ms (stats_target leak) under `allocator` (glibc, or
    one preloaded from the registry: skipped, saying why, where its library is absent), attached
    at `mode` for 5 s: exit 3, verdict leak, the level's files (level stats: the allocator's
    books; count: live bytes from zero at the attach; rss: nothing injected, RSS only), no
    timeline line after detach, the target's output unchanged."""
    env = preload_env(args, allocator) if allocator != "glibc" else None
    t = Target([args.target, "leak"], args.workdir, tag, env=env)
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, tag)
        p = attach(args, t.pid, out, duration="5", mode=mode)
        check(p.returncode == 3, f"{tag}: exit {p.returncode}; {p.stdout[-300:]!r} {p.stderr}")
        v = verdict_of(out)
        check(v["verdict"] == "leak", f"{tag}: verdict {v['verdict']}: {v['reason'][-300:]}")
        if mode == "stats":
            check_stats_files(tag, out, allocator)
            # Without live bytes in the books (mimalloc, tbbmalloc) the leak is read from RSS,
            # and the reason must say what RSS alone cannot tell.
            if "allocated" not in REDIS_BOOKS.get(allocator, {"allocated"}):
                check("RSS alone cannot separate heap from non-heap" in v["reason"],
                      f"{tag}: a leak from RSS without saying so: {v['reason'][-300:]}")
        elif mode == "count":
            _, samples = check_count_files(tag, out, allocator)
            # 64 KiB kept every 50 ms: about 1.25 MiB/s from zero at the attach.
            check(samples[0]["live_bytes"] < 1 << 20 and
                  samples[-1]["live_bytes"] - samples[0]["live_bytes"] >= 2 << 20,
                  f"{tag}: live bytes {samples[0]['live_bytes']} -> {samples[-1]['live_bytes']}")
            check("relative to the attach point" in v["reason"],
                  f"{tag}: the reason does not say live bytes count from the attach: "
                  f"{v['reason'][-200:]}")
        else:
            check_rss_files(tag, out, allocator, t.pid)
            check("cannot tell a leak from" in v["reason"],
                  f"{tag}: the reason does not say what level rss cannot tell: {v['reason']}")
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_glibc_leak(args):
    run_leak(args, "glibc_leak")


def case_jemalloc_leak(args):
    run_leak(args, "jemalloc_leak", "jemalloc")


def case_default(args):
    """No --mode: level stats where ptrace is permitted and the target is dynamically linked."""
    t = Target([args.target, "leak"], args.workdir, "default")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "default")
        p = attach(args, t.pid, out, duration="2", sub="run", mode=None)
        check(p.returncode == 0, f"default: exit {p.returncode}; {p.stderr}")
        header, samples = timeline(os.path.join(out, "timeline.jsonl"))
        with open(os.path.join(out, "attach.json")) as f:
            rec = json.load(f)
        check(rec["level"] == "stats" and header["mode"] == "stats",
              f"default: level {rec['level']}, header mode {header['mode']}")
        check(not any("not stats" in w for w in rec["warnings"]), f"default: {rec['warnings']}")
        check_quiet_after("default", out, t)
        check_output("default", t)
    finally:
        t.kill()


def case_glibc_bounded(args):
    t = Target([args.target, "bounded"], args.workdir, "bounded")
    try:
        time.sleep(1.0)  # past the 64-tick warm-up? no: the books are flat after it (3.2 s)
        time.sleep(3.0)
        out = os.path.join(args.workdir, "bounded")
        p = attach(args, t.pid, out, duration="5")
        check(p.returncode == 0, f"bounded: exit {p.returncode}; {p.stdout[-300:]!r} {p.stderr}")
        check_stats_files("bounded", out, "glibc")
        v = verdict_of(out)["verdict"]
        check(v in ("stable", "bounded", "retention"), f"bounded: verdict {v}")
        check_quiet_after("bounded", out, t)
        check_output("bounded", t)
    finally:
        t.kill()


def case_reattach(args):
    """Attach, detach, attach again: the agent stays loaded, idle, and starts once more."""
    t = Target([args.target, "leak"], args.workdir, "reattach")
    try:
        time.sleep(0.5)
        for k in range(3):
            out = os.path.join(args.workdir, f"reattach{k}")
            p = attach(args, t.pid, out, duration="2", sub="run")
            check(p.returncode == 0, f"reattach {k}: exit {p.returncode}; {p.stderr}")
            _, samples = timeline(os.path.join(out, "timeline.jsonl"))
            check(len(samples) >= 5 and samples[-1].get("final"), f"reattach {k}: {len(samples)}")
            check(alive(t.pid), f"reattach {k}: target gone")
        with open(f"/proc/{t.pid}/maps") as f:
            n = sum(1 for line in f if line.rstrip().endswith("libarenalab_agent.so"))
        check(n >= 1, "reattach: the agent is not mapped")
        # A second attach while the first samples: an explicit --mode stats is refused in one
        # line (the agent runs once), and the directory it made for itself is not left behind,
        # empty. Without --mode the level is the highest that works: rss, which needs no agent,
        # said in one line and kept in attach.json's warnings. The first samples until SIGINT,
        # so that it still samples however slowly the machine serves the second ones.
        first_out = os.path.join(args.workdir, "reattach-first")
        shutil.rmtree(first_out, ignore_errors=True)
        first = spawn([args.arenalab, "run", "--pid", str(t.pid), "--mode", "stats", "--out",
                       first_out, "-q", "--duration", "120"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: os.path.exists(os.path.join(first_out, "timeline.jsonl")), 30,
                     "the first attach's timeline")
            second_out = os.path.join(args.workdir, "reattach-second")
            p = attach(args, t.pid, second_out, duration="2", sub="run")
            lines = p.stderr.strip().splitlines()
            check(p.returncode == 1 and len(lines) == 1 and "already has an arenalab agent"
                  in lines[0], f"second attach: exit {p.returncode}; {p.stderr}")
            check(not os.path.exists(second_out), "second attach: left its directory behind")
            for sub in ("run", "watch"):
                default_out = os.path.join(args.workdir, f"reattach-default-{sub}")
                shutil.rmtree(default_out, ignore_errors=True)
                p = subprocess.run([args.arenalab, sub, "--pid", str(t.pid), "--interval", "100",
                                    "--out", default_out, "--duration", "2"],
                                   capture_output=True, text=True, timeout=120)
                tag = f"second attach without --mode ({sub})"
                said = [x for x in p.stderr.splitlines() if "not stats" in x]
                check(p.returncode in ((0,) if sub == "run" else (0, 3, 4)),
                      f"{tag}: exit {p.returncode}; {p.stderr}")
                check(len(said) == 1 and "level rss (nothing injected)" in said[0] and
                      "already has an arenalab agent sampling" in said[0], f"{tag}: {p.stderr}")
                # The attaching line names the level the process is watched at, once it is
                # known: after the fallback's line, rss, never the stats it was not.
                lines = p.stderr.splitlines()
                attaching = [k for k, x in enumerate(lines) if "attaching to pid" in x]
                check(len(attaching) == 1 and "level rss, nothing injected" in
                      lines[attaching[0]] and attaching[0] > lines.index(said[0]),
                      f"{tag}: {p.stderr}")
                header, samples = timeline(os.path.join(default_out, "timeline.jsonl"))
                with open(os.path.join(default_out, "attach.json")) as f:
                    rec = json.load(f)
                check(rec["level"] == "rss" and header["mode"] == "rss" and len(samples) >= 5,
                      f"{tag}: level {rec['level']}, mode {header['mode']}, {len(samples)} samples")
                check(any("already has an arenalab agent sampling" in w for w in rec["warnings"]),
                      f"{tag}: warnings {rec['warnings']}")
            check(first.poll() is None, "the first attach ended before the second ones")
        finally:
            if first.poll() is None:
                first.send_signal(signal.SIGINT)
            first.wait(timeout=60)
        check(first.returncode == 0, f"first attach: exit {first.returncode}")
        check(alive(t.pid), "reattach: target gone")
        check_output("reattach", t)
    finally:
        t.kill()


def case_threads64(args, mode="stats"):
    """64 more threads, each waking every 50 ms for a burst of user code and one malloc/free
    (some run when arenalab stops them, most sleep: about a tenth of a core in all, so the case
    does not starve a 2-core CI machine), and the main thread in nanosleep. At level count the
    threads' malloc/free pairs go through the hooks while the slots are patched and put back."""
    tag = "threads64" if mode == "stats" else f"{mode}_threads64"
    t = Target([args.target, "bounded", "--threads", "64"], args.workdir, tag)
    try:
        wait_for(lambda: len(os.listdir(f"/proc/{t.pid}/task")) >= 65, 30, "65 threads")
        time.sleep(1.0)
        out = os.path.join(args.workdir, tag)
        p = attach(args, t.pid, out, duration="4", sub="run", timeout=180, mode=mode)
        check(p.returncode == 0, f"{tag}: exit {p.returncode}; {p.stderr}")
        if mode == "stats":
            check_stats_files(tag, out, "glibc")
        else:
            _, samples = check_count_files(tag, out, "glibc", mode)
            # 64 blocks of the ring at most, and each thread's 256 bytes between malloc and free.
            most = max(x["live_allocs"] for x in samples)
            check(most <= 64 + 64 + 4, f"{tag}: {most} blocks live")
        check(alive(t.pid), f"{tag}: target gone")
        check(len(os.listdir(f"/proc/{t.pid}/task")) == 65, f"{tag}: threads lost")
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_count_threads64(args):
    case_threads64(args, mode="count")


def case_sample_threads64(args):
    """The same 64 threads at level sample: their malloc/free pairs through the hooks and the
    sampler's countdown stripes (64, by thread), stacks taken on the sampled ones."""
    case_threads64(args, mode="sample")


def case_sigkill(args):
    """SIGKILL to arenalab while attached: the target runs on, the agent stops by itself."""
    t = Target([args.target, "leak"], args.workdir, "sigkill")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "sigkill")
        a, tl = watch_in_background(args.arenalab, t.pid, "stats", out)
        a.kill()
        a.wait()
        wait_for(lambda: timeline(tl)[1][-1].get("final") is True, 10,
                 "the agent's final sample after arenalab died")
        check_quiet_after("sigkill", out, t)
        check_output("sigkill", t)
    finally:
        t.kill()


def case_python_sleep(args):
    """python3 in time.sleep: stopped inside clock_nanosleep three times, never sees EINTR/514."""
    t = Target([sys.executable, os.path.join(HERE, "sleeper.py")], args.workdir, "python_sleep")
    try:
        time.sleep(1.0)
        syscalls = []
        for k in range(3):
            out = os.path.join(args.workdir, f"python_sleep{k}")
            p = attach(args, t.pid, out, duration="1.5", sub="run")
            check(p.returncode == 0, f"python_sleep {k}: exit {p.returncode}; {p.stderr}")
            with open(os.path.join(out, "attach.json")) as f:
                syscalls.append(json.load(f)["injection"]["syscall"])
            check(alive(t.pid), f"python_sleep {k}: python3 died")
        print("python_sleep: syscalls interrupted", syscalls, flush=True)
        check(any(s in (35, 230, 23, 270) for s in syscalls),
              f"python_sleep: never stopped inside its sleep: {syscalls}")
        n = len(t.lines())
        wait_for(lambda: len(t.lines()) > n + 3, 30, "python3's output after the attaches")
        check_output("python_sleep", t, expect=str)
    finally:
        t.kill()


def case_read(args):
    """The main thread blocked in read(2) on a pipe: the read restarts and gets its byte."""
    r, w = os.pipe()
    t = Target([args.target, "bounded", "--read"], args.workdir, "read", stdin=r)
    os.close(r)
    stop = threading.Event()

    def feed():
        while not stop.is_set():
            os.write(w, b"x")
            time.sleep(0.3)
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        time.sleep(1.0)
        out = os.path.join(args.workdir, "read")
        p = attach(args, t.pid, out, duration="2", sub="run")
        check(p.returncode == 0, f"read: exit {p.returncode}; {p.stderr}")
        with open(os.path.join(out, "attach.json")) as f:
            sc = json.load(f)["injection"]["syscall"]
        print("read: syscall interrupted", sc, flush=True)
        check(sc == 0, f"read: stopped in syscall {sc}, not read (0)")
        n = len(t.lines())
        wait_for(lambda: len(t.lines()) > n + 2, 30, "the target's output after the attach")
        check_output("read", t)
    finally:
        stop.set()
        feeder.join()
        os.close(w)
        t.kill()


def refused(args, tag, pid, want, *extra, runner=()):
    out = os.path.join(args.workdir, "refused-" + tag)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*runner, args.arenalab, "watch", "--pid", str(pid), "--mode", "stats", "--out", out,
           "--duration", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    err = p.stderr.strip().splitlines()
    check(p.returncode == 1, f"{tag}: exit {p.returncode}; {p.stderr}")
    check(len(err) == 1 and want in err[0], f"{tag}: stderr {p.stderr!r}, expected {want!r}")
    check(not os.path.exists(out), f"{tag}: {out} was written")


def case_refusals(args):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        exe = os.path.join(args.workdir, "target_static")
        b = subprocess.run([cc, "-static", "-O1", "-o", exe, os.path.join(HERE, "stats_target.c"),
                            "-lpthread"], capture_output=True, text=True)
        if b.returncode == 0:
            t = Target([exe, "bounded"], args.workdir, "static")
            try:
                time.sleep(0.3)
                refused(args, "static", t.pid, "statically linked")
                check(alive(t.pid), "static: target gone")
            finally:
                t.kill()
        else:
            print("static: cannot link statically:", b.stderr.strip()[-200:])
    # Already under arenalab's interposer.
    inner = os.path.join(args.workdir, "inner")
    shutil.rmtree(inner, ignore_errors=True)
    runner = spawn([args.arenalab, "run", "-q", "--mode", "stats", "--out", inner,
                    "--", args.target, "bounded"], stdout=subprocess.DEVNULL)
    try:
        kids = []
        wait_for(lambda: kids.extend(open(f"/proc/{runner.pid}/task/{runner.pid}/children")
                                     .read().split()) or kids, 20, "the interposed target")
        if kids:
            time.sleep(0.5)
            refused(args, "interposed", int(kids[0]), "already runs under arenalab's interposer")
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
    # Another user's process.
    if os.getuid() == 0 and shutil.which("setpriv"):
        t = Target([args.target, "bounded"], args.workdir, "notours")
        try:
            time.sleep(0.3)
            refused(args, "not-ours", t.pid, "not ours",
                    runner=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
            check(alive(t.pid), "not-ours: target gone")
        finally:
            t.kill()
    # Another mount namespace (unshare -m, as root).
    if os.getuid() == 0 and shutil.which("unshare"):
        t = Target(["unshare", "-m", "--propagation", "private", args.target, "bounded"],
                   args.workdir, "mntns")
        try:
            time.sleep(0.5)
            if os.readlink(f"/proc/{t.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"):
                refused(args, "mount-ns", t.pid, "another mount namespace")
            else:
                print("mount-ns: unshare -m did not give a new namespace here")
        finally:
            t.kill()
    # --mode full with --pid is a usage error (the interposer's alone), level sample's options
    # at another level too, and --mode rss without --pid.
    p = subprocess.run([args.arenalab, "watch", "--pid", str(os.getpid()), "--mode", "full"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "--mode full does not apply" in p.stderr,
          f"mode full: {p.stderr}")
    p = subprocess.run([args.arenalab, "watch", "--pid", str(os.getpid()), "--mode", "count",
                        "--sample-bytes", "64K"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "--sample-bytes applies with --pid at --mode sample only"
          in p.stderr, f"sample-bytes at count: {p.stderr}")
    p = subprocess.run([args.arenalab, "run", "--mode", "rss", "--", "true"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "rss applies with --pid only" in p.stderr, f"mode rss: {p.stderr}")


# Level count: the GOT hooks. Live bytes are counted from the attach point.
def check_count_files(tag, out, backend, mode="count"):
    """Level count's (or sample's: the same hooks) timeline and attach.json."""
    header, samples = timeline(os.path.join(out, "timeline.jsonl"))
    check(header.get("mode") == mode, f"{tag}: header mode {header.get('mode')}")
    check(header["allocator"]["backend"] == backend, f"{tag}: backend {header['allocator']}")
    check(len(samples) >= 10, f"{tag}: {len(samples)} samples")
    check(all("live_bytes" in s and "live_allocs" in s and "mmap_bytes" in s for s in samples),
          f"{tag}: samples without live bytes: {samples[:2]}")
    check(all(s["live_bytes"] >= 0 and s["live_allocs"] >= 0 for s in samples),
          f"{tag}: live bytes below zero: {[s['live_bytes'] for s in samples]}")
    hooked = [s["gauges"]["attach_hooked_slots"] for s in samples]
    check(all(h > 0 for h in hooked[:-1]), f"{tag}: no slot hooked while attached: {hooked}")
    # Every patch and restore pass read /proc/self/maps whole (none wrote a RELRO slot blind).
    unread = samples[-1]["gauges"].get("attach_maps_unread")
    check(unread == 0, f"{tag}: {unread} passes without /proc/self/maps: {samples[-1]['gauges']}")
    check(samples and samples[-1].get("final") is True and hooked[-1] == 0,
          f"{tag}: the final sample does not say every slot is back: {samples[-1:]}")
    with open(os.path.join(out, "attach.json")) as f:
        rec = json.load(f)
    check(rec["level"] == mode and "relative to the attach point" in rec["cannot_tell"],
          f"{tag}: attach.json {rec.get('level')} {rec.get('cannot_tell')}")
    print(f"{tag}: {hooked[0]} slots hooked in {samples[0]['gauges']['attach_hooked_objects']} "
          f"objects; live_bytes {samples[0]['live_bytes']} -> {samples[-1]['live_bytes']}, "
          f"unknown frees {samples[-1]['gauges']['attach_unknown_frees']}, stopped "
          f"{rec['injection']['stopped_ms']:.1f} ms", flush=True)
    return header, samples


def case_count_glibc_leak(args):
    run_leak(args, "count_glibc_leak", mode="count")


def case_count_jemalloc_leak(args):
    run_leak(args, "count_jemalloc_leak", "jemalloc", mode="count")


def case_count_steady(args):
    """Allocating and freeing steadily (a ring of 2 blocks of 64 KiB, small blocks in and out
    through calloc, realloc, reallocarray, posix_memalign):
    not a leak; the frees of blocks allocated before the attach do not take live bytes below 0."""
    t = Target([args.target, "bounded", "--ring", "2"], args.workdir, "count_steady")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "count_steady")
        p = attach(args, t.pid, out, duration="5", mode="count")
        check(p.returncode == 0, f"count_steady: exit {p.returncode}; {p.stdout[-300:]!r} "
              f"{p.stderr}")
        _, samples = check_count_files("count_steady", out, "glibc")
        # The ring's 2 blocks, a third between its malloc and the free of the oldest, and one
        # small block on its way through calloc/realloc/reallocarray: a block whose free went
        # unseen would stay and add one a tick.
        check(max(s["live_allocs"] for s in samples) <= 4 and
              max(s["live_bytes"] for s in samples) <= 3 * (64 << 10) + 1024,
              f"count_steady: up to {max(s['live_allocs'] for s in samples)} blocks, "
              f"{max(s['live_bytes'] for s in samples)} bytes")
        check(samples[-1]["gauges"]["attach_unknown_frees"] >= 1,
              "count_steady: the ring's blocks from before the attach were freed unseen")
        v = verdict_of(out)["verdict"]
        check(v in ("stable", "bounded", "retention"), f"count_steady: verdict {v}")
        check_quiet_after("count_steady", out, t)
        check_output("count_steady", t)
    finally:
        t.kill()


def case_count_churn(args):
    """Two threads cycling 64 blocks each through malloc, calloc, realloc, posix_memalign and
    free as fast as they can (nice 10): under that contention the table keeps exactly what is
    held, at most 2 x 64 blocks and the ring, and every block from before the attach that is
    freed is an unknown free, never a negative count."""
    t = Target(["nice", "-n", "10", args.target, "bounded", "--ring", "2", "--churn", "2"],
               args.workdir, "count_churn")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "count_churn")
        p = attach(args, t.pid, out, duration="3", sub="run", mode="count")
        check(p.returncode == 0, f"count_churn: exit {p.returncode}; {p.stderr}")
        _, samples = check_count_files("count_churn", out, "glibc")
        most = max(s["live_allocs"] for s in samples)
        check(most <= 2 * 64 + 2 + 2, f"count_churn: {most} blocks live, at most 132 held")
        check(samples[-1]["gauges"]["attach_untracked"] == 0,
              f"count_churn: untracked {samples[-1]['gauges']}")
        check(samples[-1]["gauges"]["attach_unknown_frees"] >= 2,
              f"count_churn: unknown frees {samples[-1]['gauges']}")
        check_quiet_after("count_churn", out, t)
        check_output("count_churn", t)
    finally:
        t.kill()


def case_count_reattach(args, tag="count_reattach", modes=("count", "stats", "count")):
    """count, stats, count again on one process: the hooks go in and come out each time."""
    t = Target([args.target, "leak"], args.workdir, tag)
    try:
        time.sleep(0.5)
        before = got_slots(t.pid, args.target)
        for k, mode in enumerate(modes):
            out = os.path.join(args.workdir, f"{tag}{k}")
            extra = ("--sample-bytes", "64K", "--heap-dump-every", "2") if mode == "sample" else ()
            p = attach(args, t.pid, out, *extra, duration="2", sub="run", mode=mode)
            check(p.returncode == 0, f"{tag} {k}: exit {p.returncode}; {p.stderr}")
            header, samples = timeline(os.path.join(out, "timeline.jsonl"))
            check(header["mode"] == mode and len(samples) >= 5 and samples[-1].get("final"),
                  f"{tag} {k}: mode {header['mode']}, {len(samples)} samples")
            if mode in ("count", "sample"):
                # Each attach counts from its own point: from zero, not from the last one's.
                check(samples[0]["live_bytes"] < 1 << 20 and samples[-1]["live_bytes"] > 0 and
                      samples[-1]["gauges"]["attach_hooked_slots"] == 0,
                      f"{tag} {k}: {samples[0]} ... {samples[-1]}")
            else:
                check("live_bytes" not in samples[-1], f"{tag} {k}: {samples[-1]}")
            if mode == "sample":
                # Sampled bytes from zero too (the stack table dropped at the new attach), the
                # site's stack in the table, the detach's dump written.
                last = samples[-1]
                check(samples[0]["sampled_live_bytes"] < 1 << 20 and
                      last["gauges"]["attach_sample_stacks"] > 0 and
                      abs(last["sampled_live_bytes"] - last["live_bytes"]) <
                      0.5 * last["live_bytes"] and glob.glob(os.path.join(out, "heap.*.heap")),
                      f"{tag} {k}: sampled {samples[0]['sampled_live_bytes']} -> "
                      f"{last['sampled_live_bytes']} of {last['live_bytes']}, {last['gauges']}")
            after = got_slots(t.pid, args.target)
            check(after == before, f"{tag} {k}: slots not put back: {before} -> {after}")
            check(alive(t.pid), f"{tag} {k}: target gone")
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_sample_reattach(args):
    """sample, stats, sample, count on one process: each level sample attach starts its
    sampling from zero, every slot is back after each, the target's output unchanged."""
    case_count_reattach(args, "sample_reattach", ("sample", "stats", "sample", "count"))


def got_slots(pid, exe, names=("malloc", "free")):
    """The values of the executable's GOT slots for `names` in process pid, read from
    /proc/PID/mem (offsets from readelf -r, the load address from /proc/PID/maps)."""
    if not shutil.which("readelf"):
        skip("readelf not installed (binutils)")
    rel = subprocess.run(["readelf", "-rW", exe], capture_output=True, text=True).stdout
    offsets = {}
    for line in rel.splitlines():
        f = line.split()
        if len(f) >= 5 and f[2] in ("R_X86_64_JUMP_SLOT", "R_X86_64_GLOB_DAT"):
            name = f[4].split("@")[0]
            if name in names:
                offsets[name] = int(f[0], 16)
    real = os.path.realpath(exe)
    with open(f"/proc/{pid}/maps") as f:
        base = next(int(x.split("-")[0], 16) for x in f
                    if x.split()[-1] == real and int(x.split()[2], 16) == 0)
    out = {}
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for name, off in offsets.items():
            mem.seek(base + off)
            out[name] = int.from_bytes(mem.read(8), "little")
    check(set(out) == set(names), f"got_slots: found {sorted(out)} in {exe}")
    return out


def case_count_sigkill(args, mode="count"):
    """SIGKILL to arenalab at level count (or sample): the agent sees it gone, puts every GOT
    slot back (the executable's malloc/free slots read the same as before the attach) and
    stops; the target runs on with its output unchanged."""
    tag = f"{mode}_sigkill"
    t = Target([args.target, "leak"], args.workdir, tag)
    try:
        time.sleep(0.5)
        before = got_slots(t.pid, args.target)
        out = os.path.join(args.workdir, tag)
        a, tl = watch_in_background(args.arenalab, t.pid, mode, out, extra=(
            ("--sample-bytes", "64K") if mode == "sample" else ()))
        during = got_slots(t.pid, args.target)
        check(all(during[k] != before[k] for k in before),
              f"{tag}: the executable's slots were not hooked: {before} {during}")
        a.kill()
        a.wait()
        wait_for(lambda: timeline(tl)[1][-1].get("final") is True, 10,
                 "the agent's final sample after arenalab died")
        last = timeline(tl)[1][-1]
        check(last["gauges"]["attach_hooked_slots"] == 0, f"{tag}: {last}")
        after = got_slots(t.pid, args.target)
        if mode == "sample":
            # The detach's heap dump (written after the slots went back) and the sampled stacks
            # of what was kept until arenalab died.
            dumps = glob.glob(os.path.join(out, "heap.*.heap"))
            check(dumps and last["gauges"]["attach_sample_stacks"] > 0 and
                  last["sampled_live_bytes"] > 0,
                  f"{tag}: {len(dumps)} dumps, last sample {last}")
        check(after == before, f"{tag}: slots not put back: {before} -> {after}")
        print(f"{tag}: malloc slot {before['malloc']:#x} -> hook {during['malloc']:#x}"
              f" -> {after['malloc']:#x}", flush=True)
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_sample_sigkill(args):
    case_count_sigkill(args, mode="sample")


def attach_then_dlopen(args, pid, out, trigger, duration="6"):
    """arenalab watch --pid PID --mode count in the background; once its agent has written 3
    samples, `trigger` is created (the target dlopens its plugin at its next tick: after the
    attach, however slow the injection was on a loaded machine). Returns arenalab's exit."""
    shutil.rmtree(out, ignore_errors=True)
    a = spawn([args.arenalab, "watch", "--pid", str(pid), "--mode", "count", "--interval", "100",
               "--out", out, "-q", "--duration", duration],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tl = os.path.join(out, "timeline.jsonl")
    wait_for(lambda: samples_so_far(tl) >= 3 or a.poll() is not None, 90,
             "3 samples before the dlopen")
    with open(trigger, "w"):
        pass
    return a.wait(timeout=120)


def case_count_dlopen(args):
    """A library dlopened (by its path) after the attach, whose own malloc calls keep 64 KiB a
    tick while the program itself holds steady: the agent's dlopen hook patches it before dlopen
    returns, so its first allocation, a 7 MiB + 4 KiB marker made right after dlopen returned,
    is counted (a patch at the sampler's next tick would miss it), and live bytes grow."""
    if not args.plugin:
        skip("no --plugin given")
    trigger = os.path.join(args.workdir, "count_dlopen.go")
    if os.path.exists(trigger):
        os.unlink(trigger)
    t = Target([args.target, "bounded", "--ring", "2", "--dlopen", args.plugin, "--dlopen-after",
                trigger], args.workdir, "count_dlopen")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "count_dlopen")
        rc = attach_then_dlopen(args, t.pid, out, trigger)
        _, samples = check_count_files("count_dlopen", out, "glibc")
        objects = [s["gauges"]["attach_hooked_objects"] for s in samples]
        check(max(objects) > objects[0], f"count_dlopen: no object patched later: {objects}")
        check(samples[-1]["live_bytes"] >= 2 << 20,
              f"count_dlopen: live bytes {samples[-1]['live_bytes']}: the library's blocks "
              "were not counted")
        # The marker: the program itself holds at most 2 x 64 KiB, the library 64 KiB a tick.
        marker = (7 << 20) + 4096
        jump = [b - a for a, b in zip([s["live_bytes"] for s in samples],
                                      [s["live_bytes"] for s in samples[1:]])]
        check(max(jump) >= marker,
              f"count_dlopen: the library's first allocation ({marker} bytes, right after "
              f"dlopen returned) was not counted: largest step between samples {max(jump)}")
        check(rc == 3 and verdict_of(out)["verdict"] == "leak",
              f"count_dlopen: exit {rc}, verdict {verdict_of(out)['verdict']}")
        with open(f"/proc/{t.pid}/maps") as f:
            check(os.path.realpath(args.plugin) in f.read(), "count_dlopen: library not mapped")
        check_quiet_after("count_dlopen", out, t)
        check_output("count_dlopen", t)
    finally:
        t.kill()


def run_sample_leak(args, tag, allocator="glibc"):
    """Level sample on a C program keeping 64 KiB a tick from stats_target_leaky_keep (under
    glibc, or under an allocator preloaded from the registry): the profile after detach names
    that function as the growing call site (profile.json too), the verdict is leak, the agent's
    dumps and heap-sites.jsonl are the interposer's formats, every GOT slot is put back, and the
    target's output is unchanged."""
    env = None
    if allocator != "glibc":
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        env["LD_PRELOAD"] = redis_preload(args, allocator)  # skips, saying why, when absent
    t = Target([args.target, "leak"], args.workdir, tag, env=env)
    try:
        time.sleep(0.5)
        before = got_slots(t.pid, args.target)
        out = os.path.join(args.workdir, tag)
        # 64 KiB blocks at a 64 KiB mean: 63 % of them sampled; a dump every tick of 100 ms
        # (about 80, thinned evenly to every other one: about 41 kept, 13 blocks of the 8 the
        # trend test needs; the geometric spread kept 34 in 7 or 8 blocks, fewer when a loaded
        # machine delayed the first ticks).
        p = attach(args, t.pid, out, "--sample-bytes", "64K", "--heap-dump-every", "1",
                   duration="8", mode="sample")
        print(p.stdout, flush=True)
        check(p.returncode == 3, f"{tag}: exit {p.returncode}; {p.stdout[-300:]!r} "
              f"{p.stderr}")
        header, samples = timeline(os.path.join(out, "timeline.jsonl"))
        check(header.get("mode") == "sample" and header.get("sample_bytes") == 65536,
              f"{tag}: header {header.get('mode')} {header.get('sample_bytes')}")
        got = header.get("allocator", {})
        check(got.get("backend") == allocator and got.get("verified") is True,
              f"{tag}: identified {got}, expected {allocator}")
        v = verdict_of(out)
        check(v["verdict"] == "leak", f"{tag}: verdict {v['verdict']}: {v['reason'][-300:]}")
        check(all("sampled_live_bytes" in s and "live_bytes" in s for s in samples),
              f"{tag}: samples without sampled_live_bytes: {samples[:2]}")
        hooked = [s["gauges"]["attach_hooked_slots"] for s in samples]
        check(all(h > 0 for h in hooked[:-1]) and samples[-1].get("final") is True and
              hooked[-1] == 0, f"{tag}: hooked slots {hooked}")
        # Unbiased sampled bytes track the exact live bytes since the attach (within 40 %).
        last = samples[-1]
        check(last["live_bytes"] >= 3 << 20 and
              abs(last["sampled_live_bytes"] - last["live_bytes"]) < 0.4 * last["live_bytes"],
              f"{tag}: sampled {last['sampled_live_bytes']} vs live {last['live_bytes']}")
        after = got_slots(t.pid, args.target)
        check(after == before, f"{tag}: slots not put back: {before} -> {after}")
        dumps = sorted(glob.glob(os.path.join(out, "heap.*.heap")),
                       key=lambda d: int(d.rsplit("heap.", 1)[1].split(".")[0]))
        check(len(dumps) >= 24, f"{tag}: {len(dumps)} heap dumps")
        # Thinned evenly (the per-site series are judged in equal-time blocks): the kept dumps
        # are the multiples of one stride, and the newest; at most 64.
        seqs = [int(d.rsplit("heap.", 1)[1].split(".")[0]) for d in dumps]
        stride = seqs[1] - seqs[0] if len(seqs) > 1 else 1
        check(len(seqs) <= 64 and seqs[:-1] == list(range(0, stride * (len(seqs) - 1), stride)),
              f"{tag}: kept dumps {seqs} are not evenly thinned")
        with open(dumps[-1]) as f:
            text = f.read()
        check(text.startswith("heap_v2/65536\n") and "MAPPED_LIBRARIES:" in text,
              f"{tag}: dump {dumps[-1]} starts {text[:40]!r}")
        with open(os.path.join(out, "heap-sites.jsonl")) as f:
            sites = [json.loads(x) for x in f.read().splitlines()]
        points = [x for x in sites if "seq" in x]
        # One point per dump written, thinned away or not; the last is the detach's dump.
        last_seq = int(dumps[-1].rsplit("heap.", 1)[1].split(".")[0])
        check(sites[0].get("schema") == "arenalab.heap_sites/1" and
              sites[0].get("pid") == t.pid and len(points) >= len(dumps) and
              [x["seq"] for x in points] == list(range(len(points))) and
              points[-1]["seq"] == last_seq,
              f"{tag}: heap-sites {sites[0]} with {len(points)} points, {len(dumps)} dumps "
              f"(last seq {last_seq})")
        with open(os.path.join(out, "profile.json")) as f:
            prof = json.load(f)
        top = prof["callsites"][0] if prof.get("callsites") else {}
        check("stats_target_leaky_keep" in (top.get("site") or {}).get("function", "") and
              top.get("verdict") == "leak",
              f"{tag}: the top call site is not stats_target_leaky_keep, leak: "
              f"{json.dumps(top)[:400]}")
        check("stats_target_leaky_keep" in p.stdout and "count from the attach" in p.stdout,
              f"{tag}: the report does not name the site: {p.stdout[-600:]!r}")
        with open(os.path.join(out, "attach.json")) as f:
            rec = json.load(f)
        check(rec["level"] == "sample" and "relative to the attach point" in rec["cannot_tell"],
              f"{tag}: attach.json {rec.get('level')} {rec.get('cannot_tell')}")
        print(f"{tag}: {hooked[0]} slots hooked in "
              f"{samples[0]['gauges']['attach_hooked_objects']} objects; live "
              f"{last['live_bytes']}, sampled "
              f"{last['sampled_live_bytes']}; {len(dumps)} dumps; malloc slot "
              f"{before['malloc']:#x} -> {after['malloc']:#x}", flush=True)
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_sample_leak(args):
    run_sample_leak(args, "sample_leak")


def case_sample_leak_jemalloc(args):
    run_sample_leak(args, "sample_leak_jemalloc", "jemalloc")


def case_sample_leak_mimalloc(args):
    run_sample_leak(args, "sample_leak_mimalloc", "mimalloc")


def case_sample_leak_tcmalloc(args):
    run_sample_leak(args, "sample_leak_tcmalloc", "tcmalloc")


def case_sample_leak_tbbmalloc(args):
    run_sample_leak(args, "sample_leak_tbbmalloc", "tbbmalloc")


def preload_env(args, allocator):
    """The environment with `allocator` preloaded from the registry; skips, saying why, where
    its library is absent."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env["LD_PRELOAD"] = redis_preload(args, allocator)
    return env


def case_python_levels(args):
    """python3 growing a dict (grow.py: the dict's table in malloc, grown by doublings, and its
    ~200-byte strings in pymalloc's arenas, mmaps of its own) is a leak at every level: level
    stats from RSS and glibc's books, levels count and sample from what it holds, live bytes +
    its own mmap bytes (the books still rising beside the arenas is the heap growing, not growth
    outside malloc). A fresh python3 per level, attached 1 s after its start, watched for 60
    samples (80 at level sample: 6 s and 8 s at 100 ms on an idle machine, longer on a loaded
    one, whose sampler fills a fixed wall time with fewer ticks); level sample also names a
    growing call site; every slot back, no line of its output lost."""
    for mode in ("stats", "count", "sample"):
        tag = f"python_{mode}"
        t = Target([sys.executable, os.path.join(HERE, "grow.py"), "--print"], args.workdir, tag)
        try:
            time.sleep(1.0)
            out = os.path.join(args.workdir, tag)
            extra = ("--sample-bytes", "64K", "--heap-dump-every", "1") if mode == "sample" else ()
            p = attach_for_samples(args, t.pid, out, 80 if mode == "sample" else 60, *extra,
                                   mode=mode)
            v = verdict_of(out)
            print(f"{tag}: exit {p.returncode}, verdict {v['verdict']}: {v['reason'][:400]}",
                  flush=True)
            check(p.returncode == 3 and v["verdict"] == "leak",
                  f"{tag}: exit {p.returncode}, verdict {v['verdict']}")
            header, samples = timeline(os.path.join(out, "timeline.jsonl"))
            check(header.get("mode") == mode and samples and samples[-1].get("final") is True,
                  f"{tag}: header mode {header.get('mode')}, last {samples[-1:]}")
            if mode != "stats":
                check(samples[-1]["gauges"]["attach_hooked_slots"] == 0 and
                      samples[-1]["mmap_bytes"] > 0,
                      f"{tag}: last sample {samples[-1]}")
            if mode == "sample":
                with open(os.path.join(out, "profile.json")) as f:
                    sites = json.load(f).get("callsites") or []
                top = (sites[0].get("site") or {}) if sites else {}
                print(f"{tag}: top call site {top.get('function')} at {top.get('file')}:"
                      f"{top.get('line')}", flush=True)
                check(sites and "top growing call sites" in p.stdout,
                      f"{tag}: no call site in the profile: {p.stdout[-400:]!r}")
            check_quiet_after(tag, out, t)
            check_output(tag, t, expect=str)
        finally:
            t.kill()


def case_count_relro(args, mode="count", maps=0):
    """The RELRO race: one thread of the target dlopens a full-RELRO library (2000 symbol
    relocations: each dlopen relocates a while, then mprotects its RELRO read-only), calls it
    and dlcloses it, for ever, while level count's sampler re-patches at every tick (each
    dlopen moves dlpi_adds). A pass that read /proc/self/maps while the library was still being
    relocated sees its RELRO pages writable; a store there after the loader's mprotect would
    fault in the target (SIGSEGV). The agent leaves such pages to a later pass (counted in
    attach_relro_pending): the target runs on, its output unchanged, every slot back.
    maps > 0 (count_bigmaps): the target has that many more mappings, so /proc/self/maps is
    over 256 KiB; every pass must still read it whole (attach_maps_unread 0: no RELRO page made
    writable blind) however large it is."""
    if not args.relro_plugin:
        skip("no --relro-plugin given")
    tag = f"{mode}_relro" if not maps else f"{mode}_bigmaps"
    t = Target([args.target, "bounded", "--ring", "2", "--dlopen-loop", args.relro_plugin,
                *(("--maps", str(maps)) if maps else ())], args.workdir, tag)
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, tag)
        if maps:
            with open(f"/proc/{t.pid}/maps", "rb") as f:
                size = len(f.read())
            check(size > 256 << 10, f"{tag}: /proc/PID/maps is only {size} bytes")
        p = attach(args, t.pid, out, duration="6" if maps else "8", sub="run", mode=mode)
        check(p.returncode == 0, f"{tag}: exit {p.returncode}; {p.stderr}")
        check(alive(t.pid), f"{tag}: the target died while attached: {t.proc.poll()}")
        _, samples = check_count_files(tag, out, "glibc", mode)
        pending = samples[-1]["gauges"].get("attach_relro_pending")
        objects = sorted({s["gauges"]["attach_hooked_objects"] for s in samples[:-1]})
        print(f"{tag}: {len(samples)} samples; slot writes left to a later pass (RELRO not yet "
              f"applied): {pending}; hooked objects seen {objects}", flush=True)
        check(pending is not None, f"{tag}: no attach_relro_pending gauge: {samples[-1]}")
        # The slots of each instance dlclosed are forgotten at the next pass: the count stays at
        # what is loaded (the first pass's, plus the library's malloc and free slots, plus those
        # of one instance dlclosed since the last pass), never one more pair per dlopen.
        hooked = [s["gauges"]["attach_hooked_slots"] for s in samples[:-1]]
        print(f"{tag}: hooked slots {min(hooked)} to {max(hooked)}", flush=True)
        check(max(hooked) <= hooked[0] + 2 * 2, f"{tag}: hooked slots grew: {hooked}")
        if maps:
            read = [s["gauges"]["attach_maps_bytes"] for s in samples]
            passes = samples[-1]["gauges"]["attach_patch_passes"]
            print(f"{tag}: /proc/self/maps {min(read)} to {max(read)} bytes at the passes; "
                  f"{passes} passes", flush=True)
            check(min(read) > 256 << 10 and passes >= 5,
                  f"{tag}: maps of {min(read)} bytes, {passes} passes")
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_count_dlopen_runpath(args):
    """The hooked dlopen keeps glibc's caller: an executable whose DT_RUNPATH names the plugin's
    folder dlopens it by its bare name after the attach (no LD_LIBRARY_PATH). glibc searches the
    caller's RUNPATH, so the call must reach dlopen with the executable's return address: the
    hook jumps to it untouched (a hook calling dlopen itself would be the caller, and the name
    would not be found: the target prints ERROR and exits 1). The library loads, its mallocs are
    counted from the sampler's next tick, the output is unchanged."""
    if not args.plugin or not args.runpath_target:
        skip("no --plugin / --runpath-target given")
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    trigger = os.path.join(args.workdir, "count_dlopen_runpath.go")
    if os.path.exists(trigger):
        os.unlink(trigger)
    t = Target([args.runpath_target, "bounded", "--ring", "2", "--dlopen",
                os.path.basename(args.plugin), "--dlopen-after", trigger], args.workdir,
               "count_dlopen_runpath", env=env)
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "count_dlopen_runpath")
        rc = attach_then_dlopen(args, t.pid, out, trigger)
        _, samples = check_count_files("count_dlopen_runpath", out, "glibc")
        check(alive(t.pid), "count_dlopen_runpath: the target ended (its dlopen failed?)")
        with open(f"/proc/{t.pid}/maps") as f:
            check(os.path.realpath(args.plugin) in f.read(),
                  "count_dlopen_runpath: library not mapped")
        objects = [s["gauges"]["attach_hooked_objects"] for s in samples]
        check(max(objects) > objects[0] and samples[-1]["live_bytes"] >= 2 << 20,
              f"count_dlopen_runpath: objects {objects}, live {samples[-1]['live_bytes']}")
        check(rc == 3, f"count_dlopen_runpath: exit {rc}")
        check_quiet_after("count_dlopen_runpath", out, t)
        check_output("count_dlopen_runpath", t)
    finally:
        t.kill()


def case_count_cxx(args):
    """A C++ program keeping one new[] block per tick and cycling the other forms of new and
    delete: each block counted once (live bytes grow as the allocator's books do, not twice as
    fast: libstdc++'s new[] calls its operator new through its own GOT), nothing else kept."""
    if not args.cxx:
        skip("no --cxx given")
    t = Target([args.cxx], args.workdir, "count_cxx")
    try:
        time.sleep(0.5)
        out = os.path.join(args.workdir, "count_cxx")
        p = attach(args, t.pid, out, duration="4", mode="count")
        check(p.returncode == 3, f"count_cxx: exit {p.returncode}; {p.stdout[-300:]!r}")
        _, samples = check_count_files("count_cxx", out, "glibc")
        first, last = samples[0], samples[-1]
        d_live = last["live_bytes"] - first["live_bytes"]
        d_books = last["alloc"]["allocated"] - first["alloc"]["allocated"]
        d_blocks = last["live_allocs"] - first["live_allocs"]
        print(f"count_cxx: live bytes +{d_live}, allocated +{d_books}, blocks +{d_blocks}",
              flush=True)
        check(d_books > 200000 and 0.8 <= d_live / d_books <= 1.1,
              f"count_cxx: live bytes +{d_live} against the books' +{d_books}")
        check(abs(d_live - 10000 * d_blocks) <= 10000,
              f"count_cxx: {d_blocks} blocks for +{d_live} bytes (10,000 each expected)")
        check_quiet_after("count_cxx", out, t)
        check_output("count_cxx", t)
    finally:
        t.kill()


# redis-server at level stats, with its own allocator (Debian's links libjemalloc.so.2) or one
# preloaded from the registry next to arenalab (a preloaded allocator comes first in symbol
# lookup and is the malloc redis calls). "glibc": LD_PRELOAD of libc.so.6 itself, which puts
# glibc's malloc ahead of the linked jemalloc. What the agent must read per backend is what its
# adapter in allocators/src/stats_<backend>.cc fills in.
REDIS_BOOKS = {
    "jemalloc": {"allocated", "active", "resident", "mapped", "retained"},  # mallctl stats.*
    "glibc": {"allocated", "mapped", "retained"},                           # mallinfo2
    "tcmalloc": {"allocated", "resident", "mapped", "retained"},  # MallocExtension properties
    "mimalloc": {"mapped"},  # mi_process_info's commit: release builds count no live bytes
    "tbbmalloc": set(),      # tbbmalloc publishes no byte counts: identified, no books
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_preload(args, allocator):
    """The library to preload for `allocator` (None: redis-server's own), or skips saying why."""
    if allocator == "own":
        return None
    if allocator == "glibc":
        libs = sorted(glob.glob("/lib/*/libc.so.6") + glob.glob("/usr/lib/*/libc.so.6"))
        if not libs:
            skip("no libc.so.6 found to preload")
        return libs[0]
    registry = os.path.join(os.path.dirname(os.path.abspath(args.arenalab)), "..", "share",
                            "arenalab", "allocators.json")
    try:
        with open(registry) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        skip(f"the allocators registry {registry} cannot be read: {e}")
    confs = doc["configurations"] if isinstance(doc, dict) else doc
    lib = next((c.get("preload") for c in confs if c.get("name") == allocator), None)
    if not lib or not os.path.exists(lib):
        skip(f"{allocator}: no library to preload in {registry} ({lib!r}); scripts/bootstrap "
             "installs it")
    return lib


def run_redis(args, allocator, mode="stats"):
    """redis-server on 127.0.0.1 (a generated config, no persistence) under `allocator`, keys
    loaded and a light load running while `run --pid --mode MODE` attaches for 3 s: the agent
    is injected, names the allocator redis calls, reads its books (and at level count, counts
    the SETs' blocks from the attach and puts every slot back); redis answers throughout and
    after, with every key it had."""
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            skip(f"{tool} not installed (scripts/bootstrap installs redis-server redis-tools)")
    preload = redis_preload(args, allocator)
    tag = f"redis_{allocator}" if mode == "stats" else f"redis_{mode}_{allocator}"
    tmp = os.path.join(args.workdir, tag)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    port = free_port()
    conf = os.path.join(tmp, "redis.conf")
    with open(conf, "w") as f:
        f.write(f"bind 127.0.0.1\nport {port}\ndir {tmp}\nsave \"\"\nappendonly no\n"
                f"daemonize no\nlogfile {tmp}/redis.log\nprotected-mode yes\n")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    server = spawn(["redis-server", conf], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]

    def ask(*cmd):
        return subprocess.run([*cli, *cmd], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    bench = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-t", "set", "-d",
             "256", "-r", "1000000000", "-c", "4"]
    stop = threading.Event()
    load_errors = []

    def load():  # a light load while attached: 500 SETs, then a pause
        while not stop.is_set():
            r = subprocess.run([*bench, "-n", "500"], capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                load_errors.append(r.stderr.strip()[-200:])
            stop.wait(0.2)
    loader = threading.Thread(target=load, daemon=True)
    try:
        deadline = time.monotonic() + 30
        while ask("ping") != "PONG":
            if server.poll() is not None:
                with open(os.path.join(tmp, "redis.log")) as f:
                    skip(f"redis-server under {allocator} did not start: {f.read()[-300:]}")
            if time.monotonic() > deadline:
                skip(f"redis-server under {allocator} did not answer PING within 30 s")
            time.sleep(0.1)
        subprocess.run([*bench, "-n", "20000"], capture_output=True, timeout=120, check=True)
        loader.start()
        out = os.path.join(tmp, "attach")
        # Level sample at a 16 KiB mean: a light load's few MiB give hundreds of samples.
        p = attach(args, server.pid, out, *(("--sample-bytes", "16K") if mode == "sample" else ()),
                   sub="run", duration="3", mode=mode)
        stop.set()
        loader.join()
        check(p.returncode == 0, f"{tag}: exit {p.returncode}; {p.stderr}")
        header, samples = timeline(os.path.join(out, "timeline.jsonl"))
        with open(os.path.join(out, "attach.json")) as f:
            rec = json.load(f)
        inj = rec.get("injection", {})
        want = "jemalloc" if allocator == "own" else allocator
        got = header.get("allocator", {})
        check(got.get("backend") == want and got.get("verified") is True,
              f"{tag}: identified {got}, expected {want}")
        check(len(samples) >= 10 and samples[-1].get("final") is True,
              f"{tag}: {len(samples)} samples, last {samples[-1:]}")
        books = set(samples[-1].get("alloc", {})) if samples else set()
        check(REDIS_BOOKS[want] <= books, f"{tag}: books {sorted(books)}, expected "
              f"{sorted(REDIS_BOOKS[want])}")
        check(inj.get("final_sample") is True, f"{tag}: injection {inj}")
        if mode in ("count", "sample"):
            check(header.get("mode") == mode and all("live_bytes" in x for x in samples),
                  f"{tag}: no live bytes: {samples[:1]}")
            check(max(x["live_allocs"] for x in samples) > 0 and
                  samples[-1]["gauges"]["attach_hooked_slots"] == 0,
                  f"{tag}: blocks {[x['live_allocs'] for x in samples]}, last {samples[-1]}")
            print(f"{tag}: {samples[0]['gauges']['attach_hooked_slots']} slots in "
                  f"{samples[0]['gauges']['attach_hooked_objects']} objects; live bytes "
                  f"{samples[0]['live_bytes']} -> {samples[-1]['live_bytes']}", flush=True)
        if mode == "sample":
            # The dumps of the interposer's format (at least the detach's) and heap-sites.jsonl.
            dumps = glob.glob(os.path.join(out, "heap.*.heap"))
            with open(os.path.join(out, "heap-sites.jsonl")) as f:
                sites = [json.loads(x) for x in f.read().splitlines()]
            check(dumps and sites and sites[0].get("schema") == "arenalab.heap_sites/1" and
                  all("sampled_live_bytes" in x for x in samples) and
                  samples[-1]["gauges"]["attach_sample_stacks"] > 0,
                  f"{tag}: {len(dumps)} dumps, heap-sites {sites[:1]}, last {samples[-1]}")
            print(f"{tag}: {len(dumps)} dumps, {samples[-1]['gauges']['attach_sample_stacks']} "
                  f"stacks, sampled live {samples[-1]['sampled_live_bytes']} of "
                  f"{samples[-1]['live_bytes']}", flush=True)
        # redis rewrites its title and NULs the rest of argv: no empty arguments are recorded.
        check(rec.get("command") and "" not in rec["command"],
              f"{tag}: command {rec.get('command')}")
        print(f"{tag}: injected through thread {inj.get('thread')} (syscall "
              f"{inj.get('syscall')}, stopped {inj.get('stopped_ms', 0):.1f} ms); identified "
              f"{got.get('backend')} {got.get('version', '')} ({got.get('library', '')}); books "
              f"{sorted(books)}; {len(samples)} samples", flush=True)
        # Detached: no more timeline lines; redis runs on, answers, and kept every key.
        check(not load_errors, f"{tag}: redis-benchmark failed while attached: {load_errors[:2]}")
        check(server.poll() is None, f"{tag}: redis-server stopped")
        check(ask("ping") == "PONG", f"{tag}: PING after the attach")
        keys = int(ask("dbsize") or 0)
        check(ask("set", "after", "attach") == "OK" and ask("get", "after") == "attach",
              f"{tag}: SET/GET after the attach")
        check(int(ask("dbsize") or 0) == keys + 1, f"{tag}: DBSIZE after one SET")
        size = os.path.getsize(os.path.join(out, "timeline.jsonl"))
        time.sleep(0.5)
        check(os.path.getsize(os.path.join(out, "timeline.jsonl")) == size,
              f"{tag}: the timeline grew after detach")
    finally:
        stop.set()
        if loader.is_alive():
            loader.join()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def exe_protections(pid, exe):
    """The permissions of each mapping of `exe` in process pid, in address order."""
    real = os.path.realpath(exe)
    with open(f"/proc/{pid}/maps") as f:
        return [x.split()[1] for x in f if x.split()[-1] == real]


def case_count_relro_writable(args):
    """A program that makes its own RELRO pages writable and keeps them so (full RELRO: its
    malloc and free slots are there). Such a page is not an object still being loaded (the
    loader is done with the program), so the agent writes its slots as on any writable page:
    the program's mallocs are counted (leak), no slot is left for a later pass, no tick repeats
    the pass (before: every tick a full pass, attach_relro_pending one more per slot each time,
    the executable's slots never hooked), every slot back and the protections as the program
    left them."""
    if not args.now_target:
        skip("no --now-target given")
    tag = "count_relro_writable"
    t = Target([args.now_target, "leak", "--relro-writable"], args.workdir, tag)
    try:
        time.sleep(0.5)
        before = got_slots(t.pid, args.now_target)
        prot = exe_protections(t.pid, args.now_target)
        out = os.path.join(args.workdir, tag)
        a, tl = watch_in_background(args.arenalab, t.pid, "count", out, samples=40)
        during = got_slots(t.pid, args.now_target)
        check(all(during[k] != before[k] for k in before),
              f"{tag}: the executable's slots were not hooked: {before} {during}")
        a.send_signal(signal.SIGINT)
        rc = a.wait(timeout=120)
        check(rc == 3, f"{tag}: exit {rc}")
        _, samples = check_count_files(tag, out, "glibc")
        g = samples[-1]["gauges"]
        print(f"{tag}: {len(samples)} samples, {g['attach_patch_passes']} patch passes, "
              f"{g['attach_relro_pending']} slot writes left to a later pass, live bytes "
              f"{samples[-1]['live_bytes']}", flush=True)
        # Nothing is dlopened in this target: the start's pass is the only one, and it wrote the
        # program's slots on the pages it keeps writable.
        check(g["attach_relro_pending"] == 0 and g["attach_patch_passes"] == 1 and
              g["attach_relro_kept_writable"] > 0, f"{tag}: gauges {g}")
        check(samples[-1]["live_bytes"] >= 2 << 20 and verdict_of(out)["verdict"] == "leak",
              f"{tag}: live bytes {samples[-1]['live_bytes']}, verdict "
              f"{verdict_of(out)['verdict']}")
        after = got_slots(t.pid, args.now_target)
        check(after == before, f"{tag}: slots not put back: {before} -> {after}")
        check(exe_protections(t.pid, args.now_target) == prot,
              f"{tag}: protections {prot} -> {exe_protections(t.pid, args.now_target)}")
        check_quiet_after(tag, out, t)
        check_output(tag, t)
    finally:
        t.kill()


def case_count_bigmaps(args):
    case_count_relro(args, maps=12000)  # ~48 bytes a line: about 570 KiB of /proc/self/maps


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}
# The C leak under the allocators glibc_leak/jemalloc_leak and count_glibc_leak/
# count_jemalloc_leak leave out (leak_<allocator>, count_leak_<allocator>), and at level rss under
# all five (rss_leak_<allocator>: nothing injected, so no ptrace needed). Level sample:
# sample_leak_<allocator>.
for _alloc in ("mimalloc", "tcmalloc", "tbbmalloc"):
    CASES["leak_" + _alloc] = lambda args, a=_alloc: run_leak(args, "leak_" + a, a)
    CASES["count_leak_" + _alloc] = lambda args, a=_alloc: run_leak(args, "count_leak_" + a, a,
                                                                    mode="count")
for _alloc in ("glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc"):
    CASES["rss_leak_" + _alloc] = lambda args, a=_alloc: run_leak(args, "rss_leak_" + a, a,
                                                                  mode="rss")
for _alloc in ("own", "glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc"):
    CASES["redis_" + _alloc] = lambda args, a=_alloc: run_redis(args, a)
    CASES["redis_count_" + _alloc] = lambda args, a=_alloc: run_redis(args, a, "count")
    CASES["redis_sample_" + _alloc] = lambda args, a=_alloc: run_redis(args, a, "sample")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--arenalab", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--plugin", help="the library count_dlopen's target loads late")
    ap.add_argument("--runpath-target",
                    help="count_dlopen_runpath's target (a DT_RUNPATH to the plugin's folder)")
    ap.add_argument("--cxx", help="count_cxx's target (every form of operator new/delete)")
    ap.add_argument("--now-target",
                    help="count_relro_writable's target (full RELRO, -z now)")
    ap.add_argument("--relro-plugin",
                    help="count_relro's library (full RELRO), dlopened and dlclosed in a loop")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    args.workdir = os.path.abspath(args.workdir)
    if not args.case.startswith("rss_"):  # level rss injects nothing: no ptrace
        ptrace_permitted()
    CASES[args.case](args)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
