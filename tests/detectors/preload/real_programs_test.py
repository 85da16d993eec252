#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Real programs under the interposer give the same stdout and exit code as bare, in every mode,
# under one allocator: python3 (allocation-heavy script), perl, sqlite3, git in a temp repo,
# cmake --version, g++ compiling and linking a small file, sort, gzip, tar, bash forking 100
# children. A missing program is skipped by name.
import argparse
import json
import os
import shutil
import subprocess
import sys

GIT_ENV = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b", "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": "/nonexistent"}


def programs(data, work):
    py = sys.executable
    perl = ("my %h; for my $i (1..100000) { $h{$i} = 'x' x ($i % 100) } "
            "my $t = 0; $t += length($h{$_}) for keys %h; print scalar(keys %h), \" $t\\n\";")
    git_script = ("set -e; rm -rf repo; git init -q -b main repo; cd repo; "
                  "for i in 1 2 3; do echo line$i >> f.txt; git add f.txt; git commit -q -m c$i; done; "
                  "git log --format='%H %s'; git status --porcelain; git rev-list --count HEAD")
    gpp = f"g++ -O1 -o small {data}/small.cc && ./small"
    return [
        ("python3", [py, f"{data}/alloc_heavy.py"], None, {}),
        ("perl", ["perl", "-e", perl], None, {}),
        ("sqlite3", ["sqlite3", ":memory:"], f"{data}/queries.sql", {}),
        ("git", ["sh", "-c", git_script], None, GIT_ENV),
        ("cmake", ["cmake", "--version"], None, {}),
        ("g++", ["sh", "-c", gpp], None, {}),
        # Issue 21's list: sort, gzip and tar on generated data, bash forking 100 children.
        ("sort", ["sh", "-c", "seq 1 30000 | sort -rn | cksum"], None, {}),
        ("gzip", ["sh", "-c", "seq 1 50000 | gzip -c | gzip -dc | cksum"], None, {}),
        ("tar", ["sh", "-c", "rm -rf t; mkdir t; seq 1 2000 > t/a; seq 3 9 > t/b; "
                 "tar -cf - t | tar -tf - | sort"], None, {}),
        ("bash", ["bash", "-c", "s=0; for i in $(seq 1 100); do s=$((s + $(echo $i))); done; "
                  "echo $s"], None, {}),
    ]


def execute(cmd, stdin_path, env, cwd):
    stdin = open(stdin_path) if stdin_path else subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, env=env, cwd=cwd,
                           timeout=240)
    finally:
        if stdin_path:
            stdin.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arenalab", required=True)
    ap.add_argument("--allocator", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--modes", default="stats,count,sample,full")
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    failures, ran, skipped = [], 0, []
    for name, cmd, stdin_path, extra_env in programs(args.data, args.workdir):
        tool = name if name in ("git", "g++", "sort", "gzip", "tar", "bash") else cmd[0]
        if shutil.which(tool) is None:
            skipped.append(name)
            continue
        env = dict(os.environ, **extra_env)
        bare_dir = os.path.join(args.workdir, f"{name}-bare")
        os.makedirs(bare_dir)
        bare = execute(cmd, stdin_path, env, bare_dir)
        for mode in args.modes.split(","):
            cwd = os.path.join(args.workdir, f"{name}-{mode}")
            os.makedirs(cwd)
            out = os.path.join(cwd, "arenalab-out")
            p = execute([args.arenalab, "run", "-q", "--allocator", args.allocator, "--mode", mode,
                         "--interval", "50", "--out", out, "--", *cmd], stdin_path, env, cwd)
            ran += 1
            tag = f"{args.allocator}/{mode}/{name}"
            if p.returncode != bare.returncode:
                failures.append(f"{tag}: exit {p.returncode}, bare {bare.returncode}: {p.stderr[-400:]}")
            if p.stdout != bare.stdout:
                failures.append(f"{tag}: stdout differs:\n--- bare\n{bare.stdout[:400]}\n--- run\n{p.stdout[:400]}")
            try:
                with open(os.path.join(out, "run.json")) as f:
                    rj = json.load(f)
                with open(os.path.join(out, "timeline.jsonl")) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
                if len(lines) < 2:
                    failures.append(f"{tag}: timeline has no samples")
                if not rj["allocator"]["verified"]:
                    failures.append(f"{tag}: not verified: {rj['allocator']}")
            except (OSError, ValueError, KeyError) as e:
                failures.append(f"{tag}: {e}")
    for f in failures:
        print("FAIL:", f)
    if skipped:
        print("skipped (not installed):", ", ".join(skipped))
    if ran == 0:
        print("SKIPPED: none of the real programs is installed")
        return 77
    print(f"{ran - len(failures)}/{ran} runs identical to bare under {args.allocator}" if not failures
          else f"{len(failures)} failure(s) under {args.allocator}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
