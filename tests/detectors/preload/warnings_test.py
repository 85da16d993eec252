#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The interposer's warnings from many threads at once (issue 21 hardening): note_warning once
# formatted every line into one static buffer, so two threads warning together could write each
# other's text. 16 threads each dlopen their own missing library with RTLD_DEEPBIND 100 times
# (every such call is noted); every line of preload-warnings.txt must be one thread's whole line,
# and each thread's lines must all be there.
import os
import re
import subprocess
import sys

from support import parse_args

THREADS, CALLS = 16, 100  # survivor.cc scenario_warn_threads
LINE = re.compile(r"target bypassed the interposer: dlopen\(/nonexistent/arenalab-warn-(\d+)-"
                  r"([a-z]+), RTLD_DEEPBIND\): that library's malloc calls are not seen")


def main():
    args = parse_args("survivor")
    failures = []
    for mode in ("count", "sample", "full"):
        out = os.path.join(args.workdir, mode)
        p = subprocess.run([args.arenalab, "run", "-q", "--mode", mode, "--out", out, "--",
                            args.survivor, "warn_threads"],
                           capture_output=True, text=True, timeout=240)
        if p.returncode != 0:
            failures.append(f"{mode}: exit {p.returncode}: {p.stderr[-300:]}")
            continue
        try:
            with open(os.path.join(out, "preload-warnings.txt"), "rb") as f:
                lines = f.read().split(b"\n")
        except OSError as e:
            failures.append(f"{mode}: {e}")
            continue
        if lines and lines[-1] == b"":
            lines.pop()
        per_thread = [0] * THREADS
        bad = 0
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            if not text.startswith("target bypassed the interposer: dlopen("):
                continue  # another warning (none expected here, but not this test's subject)
            m = LINE.fullmatch(text)
            ok = m is not None and int(m.group(1)) < THREADS
            if ok:
                t = int(m.group(1))
                ok = m.group(2) == chr(ord("a") + t) * 300
            if ok:
                per_thread[t] += 1
            else:
                bad += 1
                if bad <= 3:
                    failures.append(f"{mode}: a torn line: {text[:160]!r}...")
        if bad:
            failures.append(f"{mode}: {bad} of {len(lines)} lines torn")
        short = [t for t in range(THREADS) if per_thread[t] != CALLS]
        if short:
            failures.append(f"{mode}: threads {short} have {[per_thread[t] for t in short]} whole "
                            f"lines, {CALLS} expected each")
        print(f"{mode}: {len(lines)} lines, {bad} torn")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"{THREADS} threads x {CALLS} warnings: every line whole in every mode")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
