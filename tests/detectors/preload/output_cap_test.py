#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 6(b): --max-output SIZE. Past the cap the interposer stops the full log and the
# heap/mmap dumps (they stay within the cap), the timeline goes on to its final sample, and
# run.json's warnings and the text say so; the target's output and exit status are those of a
# bare run. Without the cap the same run writes more than the cap (so the cap is what held).
import json
import os
import subprocess
import sys

from support import parse_args, report

CAP = 64 * 1024


def capped_bytes(out):
    """Bytes of what the cap stops: the full log and the dumps."""
    total = 0
    for name in os.listdir(out):
        if name == "allocs.bin" or name.endswith(".heap"):
            total += os.path.getsize(os.path.join(out, name))
    return total


def main():
    args = parse_args("survivor")
    # 1.5 s of 20,000 mallocs a second, all kept; then the survivor's own summary on stdout.
    target = [args.survivor, "alloc_for", "1500"]
    bare = subprocess.run(target, capture_output=True, timeout=60)
    failures = []
    for mode in ("sample", "full"):
        for cap in (None, CAP):
            tag = f"{mode} {'--max-output ' + str(cap) if cap else 'no cap'}"
            out = os.path.join(args.workdir, f"{mode}-{cap or 'none'}")
            cmd = [args.arenalab, "run", "--mode", mode, "--interval", "5", "--heap-dump-every",
                   "1", "--sample-bytes", "4K", "--out", out]
            if cap:
                cmd += ["--max-output", "64K"]
            p = subprocess.run(cmd + ["--", *target], capture_output=True, timeout=180)
            if p.returncode != bare.returncode or p.stdout != bare.stdout:
                failures.append(f"{tag}: exit {p.returncode} stdout {p.stdout[-200:]!r}, bare "
                                f"exit {bare.returncode} stdout {bare.stdout[-200:]!r}")
            try:
                written = capped_bytes(out)
                with open(os.path.join(out, "run.json")) as f:
                    warnings = json.load(f).get("warnings", [])
                with open(os.path.join(out, "timeline.jsonl"), "rb") as f:
                    data = f.read()
                lines = [json.loads(x) for x in data.decode().splitlines()]
            except (OSError, ValueError) as e:
                failures.append(f"{tag}: {e}")
                continue
            capped = [w for w in warnings if w.startswith("output capped: --max-output ")]
            print(f"{tag}: full log + dumps {written} bytes, {len(lines) - 1} samples, "
                  f"{len(capped)} cap warning(s)")
            if not lines or not lines[-1].get("final"):
                failures.append(f"{tag}: the timeline has no final sample")
            if not data.endswith(b"\n"):
                failures.append(f"{tag}: the timeline ends in a cut line")
            if not cap:
                if written <= CAP:
                    failures.append(f"{tag}: only {written} bytes uncapped: the test shows nothing")
                if capped:
                    failures.append(f"{tag}: a cap warning without a cap: {capped}")
                continue
            if written > CAP:
                failures.append(f"{tag}: full log and dumps take {written} bytes, past {CAP}")
            if len(capped) != 1 or f"--max-output {CAP} bytes reached at t_ms=" not in capped[0]:
                failures.append(f"{tag}: expected one cap warning in run.json, got {warnings}")
            if b"output capped: --max-output" not in p.stderr:
                failures.append(f"{tag}: the text does not say the output was capped: "
                                f"{p.stderr[-300:]!r}")
            if mode == "full":
                # What was written is still read: the log's whole frames.
                a = subprocess.run([args.arenalab, "analyze", out], capture_output=True,
                                   text=True, timeout=120)
                if a.returncode != 0:
                    failures.append(f"{tag}: analyze of the capped log exits {a.returncode}: "
                                    f"{a.stderr.strip()[-300:]}")
    return report(failures,
                  f"--max-output {CAP}: full log and dumps stayed within it, the timeline "
                  "reached its final sample, the cap was noted, the target's output and status "
                  "unchanged")


if __name__ == "__main__":
    sys.exit(main())
