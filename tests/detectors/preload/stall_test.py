#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The sampler after a stall (issue 21 hardening): it kept an absolute schedule, so a target
# stopped for a second (SIGSTOP, a starved machine) wrote all its missed ticks back to back on
# waking, several samples at one moment. The target here is stopped for about 1 s mid-run under
# `arenalab run --interval 100`; in the timeline the stop must show as one long gap, and the
# samples after it must not bunch up: at most one of the next ten gaps below a quarter interval
# (one may be a late wake on a loaded machine; the old catch-up gave about nine).
import json
import os
import signal
import subprocess
import sys
import time

from support import parse_args

INTERVAL_MS = 100
STOP_S = 1.0


def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def poll(cond, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    return None


def read_timeline(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except (OSError, ValueError):
        return []


def main():
    args = parse_args("survivor")
    out = os.path.join(args.workdir, "out")
    timeline = os.path.join(out, "timeline.jsonl")
    # alloc_for 4000: about 4 s of allocating; stopped after its third sample, for STOP_S.
    run = subprocess.Popen([args.arenalab, "run", "-q", "--mode", "count", "--interval",
                            str(INTERVAL_MS), "--out", out, "--", args.survivor, "alloc_for",
                            "4000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = None
    try:
        lines = poll(lambda: (lambda ls: ls if len(ls) >= 4 else None)(read_timeline(timeline)),
                     120)
        if not lines:
            print("FAIL: no timeline with three samples within 120 s")
            return 1
        pid = lines[0]["pid"]
        os.kill(pid, signal.SIGSTOP)
        if not poll(lambda: state(pid) == "T", 30):
            print(f"FAIL: pid {pid} did not stop (state {state(pid)})")
            return 1
        time.sleep(STOP_S)  # the stall itself, not a wait for a condition
        os.kill(pid, signal.SIGCONT)
        _, err = run.communicate(timeout=240)
        if run.returncode != 0:
            print(f"FAIL: exit {run.returncode}: {err[-300:]}")
            return 1
    finally:
        if run.poll() is None:
            if pid:
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            run.kill()
            run.wait()
    samples = [s for s in read_timeline(timeline)[1:] if not s.get("final")]
    t = [s["t_ms"] for s in samples]
    gaps = [b - a for a, b in zip(t, t[1:])]
    if not gaps:
        print("FAIL: no samples")
        return 1
    stall = max(range(len(gaps)), key=lambda i: gaps[i])
    if gaps[stall] < STOP_S * 1000 / 2:
        print(f"FAIL: the {STOP_S} s stop left no long gap in the timeline "
              f"(longest {gaps[stall]:.1f} ms)")
        return 1
    after = gaps[stall + 1:stall + 11]
    if len(after) < 5:
        print(f"FAIL: only {len(after)} samples after the stop")
        return 1
    short = [g for g in after if g < INTERVAL_MS / 4]
    print(f"stop seen as a {gaps[stall]:.1f} ms gap; the next {len(after)} gaps (ms): "
          f"{', '.join(f'{g:.1f}' for g in after)}; {len(short)} below {INTERVAL_MS / 4} ms")
    if len(short) > 1:
        print(f"FAIL: after the stop the sampler wrote {len(short)} samples less than a quarter "
              f"interval apart (its missed ticks, back to back)")
        return 1
    print("after a stall the sampler resumes a full interval apart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
