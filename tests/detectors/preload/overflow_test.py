#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 4: the interposer's size computations never overflow. overflow_probe calls the
# allocation entry points at edge sizes (SIZE_MAX, SIZE_MAX - 100, 2^63 ...); its output under
# `arenalab run` in count, sample and full modes must equal its output bare under the same
# allocator (the configuration's LD_PRELOAD and environment, no interposer), and in count and
# full modes a reallocarray that overflows must leave the exact live counters where they were.
import difflib
import json
import os
import subprocess
import sys

from support import fresh_dir, parse_args, report


def main():
    args = parse_args("probe", "allocators-json", "allocator", fresh=False)
    with open(args.allocators_json) as f:
        configs = {c["name"]: c for c in json.load(f)["configurations"]}
    config = configs.get(args.allocator)
    if config is None:
        print(f"SKIP: no configuration {args.allocator}")
        return 77
    fresh_dir(args.workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENALAB_")}
    bare_env = dict(env, **config.get("env", {}))
    if config.get("preload"):
        bare_env["LD_PRELOAD"] = config["preload"]
    bare = subprocess.run([args.probe], capture_output=True, text=True, env=bare_env, timeout=60)
    if bare.returncode != 0 or not bare.stdout:
        print(f"FAIL: bare probe exit {bare.returncode}: {bare.stderr[-300:]}")
        return 1
    failures = []
    for mode in ("count", "sample", "full"):
        out = os.path.join(args.workdir, mode)
        p = subprocess.run([args.arenalab, "run", "-q", "--allocator", args.allocator, "--mode",
                            mode, "--out", out, "--", args.probe],
                           capture_output=True, text=True, env=env, timeout=120)
        tag = f"{args.allocator}/{mode}"
        if p.returncode != 0:
            failures.append(f"{tag}: exit {p.returncode}: {p.stderr[-300:]}")
        if mode in ("count", "full") and "counters: balanced" not in p.stderr:
            failures.append(f"{tag}: live counters moved by failed reallocarray calls: "
                            f"{p.stderr.strip()[-300:]}")
        if p.stdout != bare.stdout:
            diff = "\n".join(difflib.unified_diff(bare.stdout.splitlines(), p.stdout.splitlines(),
                                                  "bare", tag, lineterm="", n=0))
            failures.append(f"{tag}: differs from bare:\n{diff}")
    return report(failures,
                  f"{len(bare.stdout.splitlines())} edge calls x 3 modes identical to bare under "
                  f"{args.allocator}")


if __name__ == "__main__":
    sys.exit(main())
