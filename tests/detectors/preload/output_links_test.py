#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 1, the interposer's part: its files are opened relative to the output
# directory, never through a link, temporaries with O_EXCL under unpredictable names. A victim
# file reached through a symbolic or hard link planted in the output directory must stay
# untouched: links planted before the run under the dumps' temporary names (the runner refuses
# the directory, or under --force removes the links themselves), or swapped in for
# timeline.jsonl mid-run (the interposer's own guard). The interposer's files are 0600.
import json
import os
import stat
import subprocess
import sys
import time

from support import parse_args, report

VICTIM = b"victim: must not change\n"


def victim(path):
    with open(path, "wb") as f:
        f.write(VICTIM)
    return path


def unchanged(path):
    with open(path, "rb") as f:
        return f.read() == VICTIM


def main():
    args = parse_args("survivor")
    failures = []

    # Symbolic links planted under the temporary names of the first heap and mmap dumps.
    out = os.path.join(args.workdir, "planted")
    os.makedirs(out)
    planted = {}
    for name in ("heap.0.heap.tmp", "mmap.0.heap.tmp", "heap.1.heap.tmp"):
        planted[name] = victim(os.path.join(args.workdir, f"victim-{name}"))
        os.symlink(planted[name], os.path.join(out, name))
    run = [args.arenalab, "run", "-q", "--mode", "sample", "--interval", "10",
           "--heap-dump-every", "1", "--out", out, "--", args.survivor, "alloc_for", "300"]
    # The runner refuses a directory it did not make empty; with --force it removes the links
    # themselves (never what they point to). Either way no victim may be written.
    p = subprocess.run(run, capture_output=True, text=True, timeout=120)
    if p.returncode != 1 or "not empty" not in p.stderr:
        failures.append(f"planted, no --force: exit {p.returncode}, want 1 and 'not empty': "
                        f"{p.stderr.strip()[-300:]}")
    p = subprocess.run(run[:2] + ["--force"] + run[2:], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        failures.append(f"planted: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    for name, path in planted.items():
        if not unchanged(path):
            failures.append(f"planted: {name} -> {path} was written through")
    if not os.path.exists(os.path.join(out, "heap.0.heap")):
        failures.append("planted: no heap.0.heap written")
    # The interposer's files (run.json is the runner's).
    loose = sorted(name for name in os.listdir(out)
                   if name != "run.json" and stat.S_ISREG(os.lstat(os.path.join(out, name)).st_mode)
                   and os.lstat(os.path.join(out, name)).st_mode & 0o077)
    if loose:
        failures.append(f"planted: {len(loose)} files not 0600, e.g. {loose[:3]}")

    # timeline.jsonl swapped mid-run for a symbolic link, then for a hard link.
    for kind in ("symlink", "hardlink"):
        out = os.path.join(args.workdir, f"swap-{kind}")
        target = victim(os.path.join(args.workdir, f"victim-timeline-{kind}"))
        proc = subprocess.Popen([args.arenalab, "run", "-q", "--mode", "count", "--interval",
                                 "10", "--out", out, "--", args.survivor, "alloc_for", "1200"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        timeline = os.path.join(out, "timeline.jsonl")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(timeline) as f:
                    if len(f.read().splitlines()) >= 3:
                        break
            except OSError:
                pass
            time.sleep(0.02)
        staged = os.path.join(out, "staged")
        if kind == "symlink":
            os.symlink(target, staged)
        else:
            os.link(target, staged)
        os.replace(staged, timeline)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(f"{kind}: exit {proc.returncode}: {err.strip()[-300:]}")
        if not unchanged(target):
            failures.append(f"{kind}: the target appended to the victim through the {kind}")
        try:
            with open(os.path.join(out, "run.json")) as f:
                warnings = json.load(f).get("warnings", [])
            if not any(w.startswith("timeline cut: the file was replaced") for w in warnings):
                failures.append(f"{kind}: no 'timeline cut' warning in {warnings}")
        except (OSError, ValueError) as e:
            failures.append(f"{kind}: run.json: {e}")

    return report(failures,
                  "planted symlinks and a swapped timeline: no victim written, files 0600")


if __name__ == "__main__":
    sys.exit(main())
