#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 8, the interposer's part: every timeline line is valid UTF-8 JSON whatever bytes
# the command line or a gauge name holds. Bytes that are not well-formed UTF-8 are written as
# \u00XX (their Latin-1 reading); well-formed UTF-8 is kept. (The runner's own run.json is the
# runner's part of the item: this checks only the file the interposer writes.)
import json
import os
import shutil
import subprocess
import sys

from support import parse_args, report


def timeline(out):
    """Every line decoded strictly (UTF-8, JSON); raises on the first bad one."""
    with open(os.path.join(out, "timeline.jsonl"), "rb") as f:
        data = f.read()
    return [json.loads(line.decode("utf-8")) for line in data.split(b"\n") if line]


def main():
    args = parse_args("survivor")
    failures = []

    out = os.path.join(args.workdir, "argv")
    subprocess.run([args.arenalab, "run", "-q", "--mode", "count", "--out", out, "--",
                    args.survivor, "exit", b"\xff\xfe", "caf\u00e9".encode(), b"\xe2\x82",
                    b"\xed\xa0\x80"], capture_output=True, timeout=120)
    try:
        lines = timeline(out)
        want = ["\u00ff\u00fe", "caf\u00e9", "\u00e2\u0082", "\u00ed\u00a0\u0080"]
        if lines[0]["command"][-4:] != want:
            failures.append(f"argv: command {lines[0]['command'][-4:]!r}, expected {want!r}")
        if len(lines) < 2:
            failures.append("argv: no sample")
    except (OSError, ValueError, KeyError, IndexError) as e:
        failures.append(f"argv: {e}")

    py = shutil.which("python3")
    if py:
        out = os.path.join(args.workdir, "gauge")
        script = ("import ctypes, time\n"
                  "f = ctypes.CDLL(None).arenalab_gauge_set\n"
                  "f.argtypes = [ctypes.c_char_p, ctypes.c_double]\n"
                  "f(b'caf\\xe9 \\xc3\\xa9', 1.0)\n"
                  "time.sleep(0.2)\n")
        subprocess.run([args.arenalab, "run", "-q", "--mode", "count", "--interval", "20",
                        "--out", out, "--", py, "-c", script], capture_output=True, timeout=120)
        try:
            gauges = [s.get("gauges") for s in timeline(out)[1:] if s.get("gauges")]
            if not gauges or gauges[-1] != {"caf\u00e9 \u00e9": 1}:
                failures.append(f"gauge: {gauges[-1:] if gauges else 'no gauges'}")
        except (OSError, ValueError, KeyError, IndexError) as e:
            failures.append(f"gauge: {e}")

    return report(failures, "non-UTF-8 argv and gauge names: every timeline line valid UTF-8 JSON")


if __name__ == "__main__":
    sys.exit(main())
