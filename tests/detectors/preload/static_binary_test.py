#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A statically linked target cannot load the interposer: `arenalab run` still runs it with its
# stdout and exit code untouched, and run.json says the interposer was bypassed.
# Skips (77) when no static libc is installed (libc.a, Debian libc6-dev).
import json
import os
import shutil
import subprocess
import sys

from support import parse_args

SOURCE = r'''
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  char* p = malloc(1000);
  p[0] = 'x';
  printf("hello from a static binary %c\n", p[0]);
  free(p);
  return 7;
}
'''


def main():
    args = parse_args()
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("SKIPPED: no C compiler to build a static binary")
        return 77
    src = os.path.join(args.workdir, "hello.c")
    exe = os.path.join(args.workdir, "hello_static")
    with open(src, "w") as f:
        f.write(SOURCE)
    b = subprocess.run([cc, "-static", "-O1", "-o", exe, src], capture_output=True, text=True)
    if b.returncode != 0:
        print(f"SKIPPED: cannot link statically (libc.a missing?): {b.stderr.strip()[-200:]}")
        return 77
    out = os.path.join(args.workdir, "out")
    failures = []
    for mode in ("stats", "count"):
        # One directory for both modes: --force empties it between them.
        p = subprocess.run([args.arenalab, "run", "--mode", mode, "--force", "--out", out, "--", exe],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 7:
            failures.append(f"{mode}: exit {p.returncode}, expected 7 ({p.stderr.strip()})")
        if p.stdout != "hello from a static binary x\n":
            failures.append(f"{mode}: stdout {p.stdout!r}")
        try:
            with open(os.path.join(out, "run.json")) as f:
                rj = json.load(f)
            if not any("static binary" in w for w in rj["warnings"]):
                failures.append(f"{mode}: run.json warnings {rj['warnings']}")
            if rj["allocator"]["verified"]:
                failures.append(f"{mode}: a bypassed run must not be verified")
        except (OSError, ValueError, KeyError) as e:
            failures.append(f"{mode}: {e}")
        if "static binary" not in p.stderr:
            failures.append(f"{mode}: no warning on stderr: {p.stderr!r}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
