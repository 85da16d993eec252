# SPDX-License-Identifier: Apache-2.0
# What the interposer's python tests here share: their command line (--arenalab, the test's own
# programs, --workdir), a fresh work directory, and the closing report. Imported from the
# test's own folder.
import argparse
import os
import shutil


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
