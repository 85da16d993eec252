#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 3: the interposer's writes never raise a signal in the target. Under a file-size
# limit (bash's `ulimit -f`) a target that exits 0 bare must exit 0 under `arenalab run` in
# every mode; the timeline stops at a whole line, and run.json's warnings say it was cut and
# why (full mode: the log of events too). Before the fix: exit 153 (SIGXFSZ).
import json
import os
import shutil
import subprocess
import sys

from support import fresh_dir, parse_args, report

LIMIT_KIB = 8  # bash's ulimit -f counts 1024-byte blocks


def main():
    args = parse_args("survivor", fresh=False)
    if shutil.which("bash") is None:
        print("SKIP: no bash")
        return 77
    fresh_dir(args.workdir)
    target = ["bash", "-c", f"ulimit -f {LIMIT_KIB}; exec \"$0\" alloc_for 600", args.survivor]
    bare = subprocess.run(target, capture_output=True, text=True, timeout=60)
    failures = []
    if bare.returncode != 0:
        failures.append(f"bare: exit {bare.returncode}")
    for mode in ("stats", "count", "sample", "full"):
        out = os.path.join(args.workdir, mode)
        p = subprocess.run([args.arenalab, "run", "-q", "--mode", mode, "--interval", "5",
                            "--heap-dump-every", "1", "--out", out, "--", *target],
                           capture_output=True, text=True, timeout=120)
        tag = f"{mode}"
        if p.returncode != bare.returncode:
            failures.append(f"{tag}: exit {p.returncode}, bare {bare.returncode}: "
                            f"{p.stderr.strip()[-300:]}")
        try:
            with open(os.path.join(out, "timeline.jsonl"), "rb") as f:
                data = f.read()
            if len(data) > LIMIT_KIB * 1024:
                failures.append(f"{tag}: timeline {len(data)} bytes beyond the limit")
            if not data.endswith(b"\n"):
                failures.append(f"{tag}: timeline ends in a cut line: {data[-80:]!r}")
            lines = [json.loads(line) for line in data.decode().splitlines()]
            if len(lines) < 2:
                failures.append(f"{tag}: timeline has no sample")
            with open(os.path.join(out, "run.json")) as f:
                warnings = json.load(f).get("warnings", [])
            if not any(w.startswith("timeline cut: the file size limit") for w in warnings):
                failures.append(f"{tag}: no 'timeline cut' warning in {warnings}")
            if mode == "full":
                log = os.path.getsize(os.path.join(out, "allocs.bin"))
                if log > LIMIT_KIB * 1024:
                    failures.append(f"{tag}: allocs.bin {log} bytes beyond the limit")
                if not any(w.startswith("full log cut: ") for w in warnings):
                    failures.append(f"{tag}: no 'full log cut' warning in {warnings}")
        except (OSError, ValueError) as e:
            failures.append(f"{tag}: {e}")
    return report(failures,
                  f"4 modes under ulimit -f {LIMIT_KIB}: exit status as bare, whole lines, "
                  "cut noted")


if __name__ == "__main__":
    sys.exit(main())
