#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Real programs under the interposer give the same stdout and exit code as bare, in every mode,
# under one allocator: python3 (allocation-heavy script), perl, sqlite3, git in a temp repo,
# cmake --version, g++ compiling and linking a small file, sort, gzip, tar, bash forking 200
# children, java (a small class through the source launcher), make -j2 on a generated Makefile,
# redis-server (its client's answers; the server is the target), python3's own unittest suites
# (part of test.test_json, else a generated suite; test.test_collections and test.test_re, each
# its own program, skipped where the interpreter has no test package). 16 programs; a missing
# one is skipped by name with the reason. Smoke sizes: each run takes a second or two unloaded.
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

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
    # java: a HashMap of 100,000 strings; compiled once by javac (in main, bare), then run.
    java_src = os.path.join(work, "Alloc.java")
    with open(java_src, "w") as f:
        f.write("public class Alloc { public static void main(String[] a) {\n"
                "  java.util.HashMap<Integer, String> m = new java.util.HashMap<>();\n"
                "  for (int i = 0; i < 100000; i++) m.put(i, \"x\".repeat(i % 50));\n"
                "  long t = 0; for (String v : m.values()) t += v.length();\n"
                "  System.out.println(m.size() + \" \" + t); } }\n")
    # make -j2: 24 targets built two at a time into the run's own directory, then one checksum.
    makefile = os.path.join(work, "gen.mk")
    with open(makefile, "w") as f:
        f.write("OUTS := $(patsubst %,o/%.txt,$(shell seq 1 24))\n"
                "all: $(OUTS)\n\t@cat $(OUTS) | cksum\n"
                "o/%.txt: | o\n\t@seq 1 $$(( $* * 500 )) | sort -r > $@\n"
                "o:\n\t@mkdir -p o\n")
    # python3's unittest: four modules of its own test.test_json when the interpreter ships its
    # test package (not Debian's python3 without libpython3.X-testsuite), else a generated suite;
    # the counts are printed (unittest's own report carries timings). With arguments, those
    # suites of the test package and no fallback (own_suite below).
    unit = os.path.join(work, "unit.py")
    with open(unit, "w") as f:
        f.write('''import io, json, sys, unittest
names = ["test.test_json.test_decode", "test.test_json.test_dump",
         "test.test_json.test_fail", "test.test_json.test_separators"]
if len(sys.argv) > 1:
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    r = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    print(" ".join(sys.argv[1:]), r.testsRun, len(r.failures), len(r.errors), len(r.skipped))
    sys.exit(0 if r.wasSuccessful() else 1)
try:
    import test.test_json  # noqa: F401
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    which = "test.test_json"
except ImportError:
    class Generated(unittest.TestCase):
        def test_round_trip(self):
            doc = {str(i): [i, str(i) * (i % 7), {"f": i / 3}] for i in range(20000)}
            self.assertEqual(json.loads(json.dumps(doc)), doc)
        def test_sort(self):
            xs = [(i * 7919) % 10007 for i in range(50000)]
            self.assertEqual(sorted(xs)[:3], [0, 1, 2])
        def test_strings(self):
            self.assertEqual(len("".join(str(i) for i in range(30000))), 138890)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Generated)
    which = "generated"
r = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
print(which, r.testsRun, len(r.failures), len(r.errors), len(r.skipped))
sys.exit(0 if r.wasSuccessful() else 1)
''')
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
        # 200 command substitutions: 200 forked children, as the case.
        ("bash", ["bash", "-c", "s=0; for i in $(seq 1 200); do s=$((s + $(echo $i))); done; "
                  "echo $s"], None, {}),
        # bash alone, no child: bash defines its own getenv, which answered null for every name
        # before its shell variables were set up; the interposer read its run from it and
        # wrote nothing under tcmalloc (probe9). Builtins only, so no child takes over the pid.
        ("bash-array", ["bash", "-c", "a=(); for ((i = 0; i < 150000; i++)); do a+=($i); done; "
                        "echo ${#a[@]}"], None, {}),
        ("java", ["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", work, "Alloc"], None,
         {}),
        ("make", ["make", "-s", "-j2", "-f", makefile], None, {}),
        ("redis-server", ["redis-server"], None, {}),  # run_redis: the server is the target
        ("python3-unittest", [py, unit], None, {}),
        # Two more of python3's own suites, whole: containers, and the regex engine (sre).
        ("python3-unittest-collections", [py, unit, "test.test_collections"], None, {}),
        ("python3-unittest-re", [py, unit, "test.test_re"], None, {}),
    ]


def own_suite_missing(cmd):
    """Why a python3 suite of the interpreter's own test package cannot run, else None."""
    if len(cmd) < 3:
        return None
    p = subprocess.run([cmd[0], "-c", f"import {cmd[2]}"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 0:
        return None
    minor = sys.version_info[1] if cmd[0] == sys.executable else "X"
    return (f"{cmd[2]} not importable: no test package for {cmd[0]} "
            f"(Debian: libpython3.{minor}-testsuite)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_COMMANDS = [
    ["SET", "k1", "v1"], ["GET", "k1"], ["INCRBY", "n", "5"], ["RPUSH", "l", "a", "b", "c"],
    ["LRANGE", "l", "0", "-1"], ["HSET", "h", "f1", "1", "f2", "2"], ["HGETALL", "h"],
    # 10,000 keys of 0..99 bytes, made inside the server (its allocations, not the client's).
    ["EVAL", "for i=1,10000 do redis.call('SET','key'..i,string.rep('x',i%100)) end "
             "return redis.call('DBSIZE')", "0"],
    ["STRLEN", "key99"], ["DEL", "key1", "key2"], ["DBSIZE"],
]


def run_redis(prefix, env, cwd):
    """redis-server on 127.0.0.1 (a free port, a config in cwd, no persistence) started through
    `prefix` (empty: bare); a few commands through redis-cli, then SHUTDOWN NOSAVE. stdout: the
    server's (its log goes to a file) and the client's answers; returncode: the server's."""
    port = free_port()
    conf = os.path.join(cwd, "redis.conf")
    with open(conf, "w") as f:
        f.write(f"bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\ndaemonize no\n"
                f"dir {cwd}\nlogfile {cwd}/redis.log\nprotected-mode yes\n")
    server = subprocess.Popen([*prefix, "redis-server", conf], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=cwd)
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    answers = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            ping = subprocess.run([*cli, "PING"], capture_output=True, text=True, timeout=30)
            if ping.stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        for c in REDIS_COMMANDS:
            r = subprocess.run([*cli, *c], capture_output=True, text=True, timeout=60)
            answers.append(f"{' '.join(c[:2])}: {r.returncode} {r.stdout.strip()!r}")
        subprocess.run([*cli, "SHUTDOWN", "NOSAVE"], capture_output=True, timeout=60)
        out, err = server.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
    return subprocess.CompletedProcess(server.args, server.returncode,
                                       out + "\n".join(answers) + "\n", err)


def linked_allocator(program):
    """The allocator a program links itself (Debian's redis-server: libjemalloc), else None:
    the process then calls that one whatever the configuration, and the interposer must say so."""
    path = shutil.which(program)
    if path is None or shutil.which("ldd") is None:
        return None
    libs = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60).stdout
    for backend, lib in (("jemalloc", "libjemalloc"), ("tcmalloc", "libtcmalloc"),
                         ("mimalloc", "libmimalloc")):
        if lib in libs:
            return backend
    return None


def execute(cmd, stdin_path, env, cwd, prefix=()):
    if cmd == ["redis-server"]:
        return run_redis(list(prefix), env, cwd)
    cmd = [*prefix, *cmd]
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
        tools = {"git": ["git"], "g++": ["g++"], "sort": ["sort"], "gzip": ["gzip"],
                 "tar": ["tar"], "bash": ["bash"], "bash-array": ["bash"], "redis-server": ["redis-server", "redis-cli"],
                 "java": ["java", "javac"]}
        missing = [t for t in tools.get(name, [cmd[0]]) if shutil.which(t) is None]
        if missing:
            skipped.append(f"{name} ({', '.join(missing)} not found)")
            continue
        if name.startswith("python3-unittest-") and (why := own_suite_missing(cmd)):
            skipped.append(f"{name} ({why})")
            continue
        env = dict(os.environ, **extra_env)
        own = linked_allocator(cmd[0]) if name == "redis-server" else None
        if name == "java":
            c = subprocess.run(["javac", "-d", args.workdir,
                                os.path.join(args.workdir, "Alloc.java")],
                               capture_output=True, text=True, timeout=600)
            if c.returncode != 0:
                failures.append(f"{args.allocator}/java: javac failed: {c.stderr[-300:]}")
                continue
        bare_dir = os.path.join(args.workdir, f"{name}-bare")
        os.makedirs(bare_dir)
        bare = execute(cmd, stdin_path, env, bare_dir)
        for mode in args.modes.split(","):
            cwd = os.path.join(args.workdir, f"{name}-{mode}")
            os.makedirs(cwd)
            out = os.path.join(cwd, "arenalab-out")
            p = execute(cmd, stdin_path, env, cwd,
                        [args.arenalab, "run", "-q", "--allocator", args.allocator, "--mode", mode,
                         "--interval", "50", "--out", out, "--"])
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
                # A program that links its own allocator calls it under glibc (nothing is
                # preloaded); a preloaded allocator comes first in symbol lookup and wins.
                want = own if args.allocator == "glibc" else args.allocator
                if own and rj["allocator"].get("identified_backend") != want:
                    failures.append(f"{tag}: links {own}, identified {rj['allocator']}, "
                                    f"expected {want}")
                if not own and not rj["allocator"]["verified"]:
                    failures.append(f"{tag}: not verified: {rj['allocator']}")
            except (OSError, ValueError, KeyError) as e:
                failures.append(f"{tag}: {e}")
    for f in failures:
        print("FAIL:", f)
    if skipped:
        print("skipped:", ", ".join(skipped))
    if ran == 0:
        print("SKIPPED: none of the real programs is installed")
        return 77
    print(f"{ran - len(failures)}/{ran} runs identical to bare under {args.allocator}" if not failures
          else f"{len(failures)} failure(s) under {args.allocator}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
