# SPDX-License-Identifier: Apache-2.0
# What attach_test.py and stats_test.py share: the failure list every check appends to, the
# 77-exit skip, and a /proc-only liveness probe. Imported from the test's own folder.
import os
import sys

failures = []
HERE = os.path.dirname(os.path.abspath(__file__))


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
