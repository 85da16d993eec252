# SPDX-License-Identifier: Apache-2.0
# What attach_test.py and stats_test.py share: the failure list every check appends to, the
# 77-exit skip, a /proc-only liveness probe, spawn(): every process a script starts is killed
# when the script ends, however it ends, the timeline reader, wait_for(), and an attached watch
# left running in the background. Imported from the test's own folder.
import atexit
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time

failures = []
HERE = os.path.dirname(os.path.abspath(__file__))
STARTED = []  # every process this script started, killed when it ends however it ends


def _die_with_parent():
    """In the child: SIGKILL when this script dies, even by SIGKILL (prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def spawn(argv, **kw):
    p = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    STARTED.append(p)
    return p


def kill_started():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"pid {p.pid} did not die within 10 s of SIGKILL", flush=True)


def _on_signal(sig, _frame):
    sys.exit(128 + sig)  # unwinds the finally blocks, then atexit kills what is left


atexit.register(kill_started)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def skip(reason):
    print("SKIP:", reason, flush=True)
    sys.exit(77)


def alive(pid):
    """True while pid is a running (not zombie) process; reads /proc, sends nothing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def timeline(path):
    """(header, samples) of a timeline.jsonl; a last line still being written is left out."""
    with open(path) as f:
        lines = [json.loads(x) for x in f.read().splitlines() if x.endswith("}")]
    return lines[0], lines[1:]


def samples_so_far(path):
    """How many samples a timeline being written holds now (0 while it is missing or empty)."""
    try:
        return len(timeline(path)[1])
    except (OSError, IndexError, ValueError):
        return 0


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    fail(f"timed out after {timeout} s waiting for {what}")
    return False


def watch_in_background(arenalab, pid, mode, out, samples=10, extra=()):
    """`arenalab watch --pid PID --mode MODE [EXTRA]` (100 ms samples, at most 60 s, quiet) into
    a fresh OUT, left running; returns (the process, its timeline's path) once the timeline holds
    `samples` samples (a failure after 60 s without them)."""
    shutil.rmtree(out, ignore_errors=True)
    proc = spawn([arenalab, "watch", "--pid", str(pid), "--mode", mode, "--interval", "100",
                  "--out", out, "-q", "--duration", "60", *extra],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(out, "timeline.jsonl")
    wait_for(lambda: samples_so_far(path) >= samples, 60, f"{samples} samples")
    return proc, path
