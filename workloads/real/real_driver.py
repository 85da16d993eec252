# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the real-program drivers (wl_redis, wl_sqlite): flags, the target's
# environment, identification of the allocator the target's malloc is bound to, and the
# arenalab.workload/2 result the matrix reads, printed through the format's one writer
# (arenalab-workload-report, which the drivers hand their figures to as words).
import glob
import json
import os
import re
import sys

BACKENDS = [("libjemalloc", "jemalloc"), ("libmimalloc", "mimalloc"), ("libtcmalloc", "tcmalloc"),
            ("libtbbmalloc", "tbbmalloc"), ("libc.so", "glibc")]


def backend_of(library):
    base = os.path.basename(library)
    for prefix, name in BACKENDS:
        if base.startswith(prefix):
            return name
    return "unknown"


def target_env(debug_dir):
    """Environment for the measured program: the configuration's LD_PRELOAD and variables as the
    matrix set them, plus the dynamic linker's binding log (LD_DEBUG=bindings) for
    identification. Helper programs (clients) get client_env() instead."""
    env = dict(os.environ)
    env["LD_DEBUG"] = "bindings"
    env["LD_DEBUG_OUTPUT"] = os.path.join(debug_dir, "ld")
    return env


def die_with_parent():
    """preexec_fn for the measured program: SIGKILL it when the driver dies (PR_SET_PDEATHSIG),
    so a driver killed by the matrix's cell timeout leaves no server behind."""
    import ctypes
    import signal
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def client_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


_BINDING = re.compile(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: normal symbol `malloc'")


def identify(debug_dir, pid, executable):
    """Which object the dynamic linker bound the target's `malloc` to, read from its
    LD_DEBUG=bindings log (the binding made inside the target process). The binding of the
    executable's own reference wins; otherwise the object most references were bound to."""
    paths = glob.glob(os.path.join(debug_dir, "ld.%d" % pid)) or glob.glob(os.path.join(debug_dir, "ld.*"))
    counts, from_exe = {}, None
    exe_names = {executable, os.path.basename(executable)}
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = _BINDING.search(line)
                if not m:
                    continue
                src, dst = m.group(1), m.group(2)
                counts[dst] = counts.get(dst, 0) + 1
                if src in exe_names or os.path.basename(src) == os.path.basename(executable):
                    from_exe = from_exe or dst
    library = from_exe or (max(counts, key=counts.get) if counts else "")
    return {"backend": backend_of(library) if library else "unknown", "library": library,
            "version": "", "method": "ld-debug"}


def parse_flags(argv, name, description, flags):
    """flags: {name: (default, smoke, help)}. Returns (values, smoke, json_out)."""
    values = {k: v[0] for k, v in flags.items()}
    given, smoke, json_out = set(), False, False
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--help", "-h"):
            print("wl_%s: %s\n\nusage: wl_%s [--smoke] [--json] [flags]\n" % (name, description, name))
            print("  %-28s %s" % ("--smoke", "small sizes (explicit flags still win)"))
            print("  %-28s %s" % ("--json", "print one JSON object with measurements and checks"))
            for k, (d, s, h) in flags.items():
                print("  %-28s %s (default %s, smoke %s)" % ("--" + k + " N", h, d, s))
            sys.exit(0)
        if a == "--smoke":
            smoke = True
        elif a == "--json":
            json_out = True
        elif a.startswith("--") and a[2:].split("=")[0] in flags:
            key = a[2:].split("=")[0]
            if "=" in a:
                text = a.split("=", 1)[1]
            elif i + 1 < len(argv):
                i += 1
                text = argv[i]
            else:
                print("wl_%s: --%s needs a value" % (name, key), file=sys.stderr)
                sys.exit(2)
            try:
                values[key] = int(text)
            except ValueError:
                print("wl_%s: --%s: invalid value '%s' (expected N)" % (name, key, text), file=sys.stderr)
                sys.exit(2)
            given.add(key)
        else:
            print("wl_%s: unknown argument '%s' (see --help)" % (name, a), file=sys.stderr)
            sys.exit(2)
        i += 1
    if smoke:
        for k, (d, s, h) in flags.items():
            if k not in given:
                values[k] = s
    return values, smoke, json_out


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# The program that prints the result through the format's one writer (formats/workload.h),
# built beside the drivers (workloads/real/workload_report.cc).
REPORT_TOOL = os.path.join(os.path.dirname(os.path.realpath(__file__)), "arenalab-workload-report")


def report_words(name, allocator, params, measurements, checks):
    """The words arenalab-workload-report takes: the allocator block, each param and
    measurement as KEY=VALUE (VALUE a JSON value; a figure not measured, None, is left out),
    throughput as its value and unit, and each check after --check."""
    words = ["workload=" + name]
    for key in ("backend", "library", "version", "method"):
        words.append("%s=%s" % (key, allocator.get(key, "")))
    for kind, values in (("param", params), ("measurement", measurements)):
        for key, value in values.items():
            if value is None:
                continue
            if kind == "measurement" and key == "throughput":
                words += ["throughput=%r" % float(value["value"]), "throughput_unit=" + value["unit"]]
                continue
            words.append("%s=%s=%s" % (kind, key, json.dumps(value)))
    for c in checks:
        words += ["--check", "name=" + c["name"], "pass=" + ("true" if c["pass"] else "false"),
                  "detail=" + c["detail"]]
    return words


def finish(name, allocator, params, measurements, checks, json_out, rows):
    ok = all(c["pass"] for c in checks)
    if json_out:
        import subprocess
        done = subprocess.run([REPORT_TOOL] + report_words(name, allocator, params, measurements, checks),
                              stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            return done.returncode  # the tool said what was wrong on stderr, in one line
        sys.stdout.write(done.stdout)
    else:
        print("wl_%s under %s (%s)" % (name, allocator["backend"], allocator["library"]))
        for label, value in rows:
            print("  %-24s %s" % (label, value))
        for c in checks:
            print("  [%s] %s: %s" % ("PASS" if c["pass"] else "FAIL", c["name"], c["detail"]))
    sys.stdout.flush()
    return 0 if ok else 1
