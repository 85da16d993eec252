# SPDX-License-Identifier: Apache-2.0
# What the interposer's python tests here share: their command line (--arenalab, the test's own
# programs, --workdir), a fresh work directory, a sample-mode run's last sample, and the closing
# report. Imported from the test's own folder.
import argparse
import json
import os
import shutil
import subprocess


def parse_args(*flags, fresh=True):
    """--arenalab, --FLAG for each of flags and --workdir, all required. With fresh the work
    directory is emptied first (the last run's files stay there for a look until the next)."""
    ap = argparse.ArgumentParser()
    for name in ("arenalab", *flags, "workdir"):
        ap.add_argument("--" + name, required=True)
    args = ap.parse_args()
    if fresh:
        fresh_dir(args.workdir)
    return args


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def report(failures, ok_line=None):
    """Prints each failure as 'FAIL: ...', or ok_line when there is none; returns the exit
    status (1 on any failure, else 0)."""
    for f in failures:
        print("FAIL:", f)
    if not failures and ok_line:
        print(ok_line)
    return 1 if failures else 0


def sample_run(args, *probe_args, sample_bytes="32"):
    """`arenalab run --mode sample --sample-bytes B -- PROBE ARGS...` into WORKDIR/out: the
    timeline's last sample and run.json's warnings, or None (after a FAIL line) when it failed."""
    out = os.path.join(args.workdir, "out")
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", "sample", "--sample-bytes",
                        sample_bytes, "--out", out, "--", args.probe, *probe_args],
                       capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        print(f"FAIL: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return None
    with open(os.path.join(out, "timeline.jsonl")) as f:
        last = [json.loads(line) for line in f][-1]
    with open(os.path.join(out, "run.json")) as f:
        warnings = json.load(f).get("warnings", [])
    return last, warnings
