#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# wl_sqlite: the sqlite3 shell (Debian's, preloaded with the configuration's allocator) runs a
# generated script on an in-memory database, so every page lives on the heap: bulk inserts in
# transactions, an index, updates, aggregate and join queries, deletes, DROP and VACUUM. The
# script asks the shell itself (.shell on /proc/$PPID/status) for its RSS after the DROP.
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import real_driver as rd  # noqa: E402

FLAGS = {
    "rows": (300000, 10000, "rows inserted"),
    "updates": (100000, 4000, "rows updated"),
    "queries": (200, 20, "aggregate queries"),
    "time-limit": (300, 60, "seconds before sqlite3 is stopped"),
}


def script(v):
    rnd = random.Random(7)  # deterministic: every configuration runs the same statements
    out = ["PRAGMA cache_size=-65536;", "CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, "
           "name TEXT, payload BLOB, score REAL);", "CREATE TABLE grp(id INTEGER PRIMARY KEY, label TEXT);"]
    statements = 3
    out.append("BEGIN;")
    for g in range(100):
        out.append("INSERT INTO grp VALUES(%d,'group-%d');" % (g, g))
    for i in range(v["rows"]):
        out.append("INSERT INTO item VALUES(%d,%d,'name-%d-%s',zeroblob(%d),%f);" %
                   (i, rnd.randrange(100), i, "x" * rnd.randrange(1, 40), rnd.randrange(16, 400), rnd.random()))
        if i % 10000 == 9999:
            out += ["COMMIT;", "BEGIN;"]
    out.append("COMMIT;")
    out.append("CREATE INDEX item_grp ON item(grp, score);")
    out.append("BEGIN;")
    for _ in range(v["updates"]):
        out.append("UPDATE item SET score=score+1, name=name||'u' WHERE id=%d;" % rnd.randrange(v["rows"]))
    out.append("COMMIT;")
    for q in range(v["queries"]):
        lo = rnd.random()
        out.append("SELECT g.label, count(*), avg(i.score), max(length(i.name)) FROM item i JOIN grp g "
                   "ON i.grp=g.id WHERE i.score > %f GROUP BY g.label ORDER BY 2 DESC LIMIT 5;" % lo)
    out.append("DELETE FROM item WHERE id % 3 = 0;")
    out.append("SELECT 'rows_left', count(*) FROM item;")
    out.append("DROP TABLE item;")
    out.append("VACUUM;")
    out.append(".shell grep -e VmRSS -e VmHWM /proc/$PPID/status")
    statements += len(out)
    return "\n".join(out) + "\n", statements


def main():
    v, smoke, json_out = rd.parse_flags(sys.argv, "sqlite", "the sqlite3 shell under the "
                                        "configuration, running a generated in-memory script", FLAGS)
    exe = shutil.which("sqlite3")
    if not exe:
        print("wl_sqlite: sqlite3 not found (apt-get install sqlite3)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="wl_sqlite.")
    try:
        text, statements = script(v)
        path = os.path.join(work, "script.sql")
        with open(path, "w") as f:
            f.write(text)
        t0 = time.monotonic()
        with open(path) as stdin:
            proc = subprocess.Popen([exe, "-batch", ":memory:"], stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=rd.target_env(work), text=True,
                                    preexec_fn=rd.die_with_parent)
            try:
                out, err = proc.communicate(timeout=v["time-limit"])
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                print("wl_sqlite: sqlite3 exceeded %d s" % v["time-limit"], file=sys.stderr)
                return 1
        elapsed = time.monotonic() - t0
        m = {"elapsed_ms": elapsed * 1000, "statements": statements}
        rows_left = None
        for line in out.splitlines():
            if line.startswith("rows_left|"):
                rows_left = int(line.split("|")[1])
            elif line.startswith("VmRSS:"):
                m["rss_after_free_bytes"] = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                m["peak_rss_bytes"] = int(line.split()[1]) * 1024
        m["throughput"] = {"value": statements / elapsed, "unit": "statements/s"}
        expect_left = v["rows"] - (v["rows"] + 2) // 3
        checks = [
            {"name": "sqlite_ok", "pass": proc.returncode == 0 and not err.strip(),
             "detail": "sqlite3 exit %d%s" % (proc.returncode, (": " + err.strip()[-200:]) if err.strip() else "")},
            {"name": "rows_left", "pass": rows_left == expect_left,
             "detail": "%s rows left after deleting every third (expected %d)" % (rows_left, expect_left)},
        ]
        allocator = rd.identify(work, proc.pid, exe)
        rows = [("statements/s", "%.0f" % m["throughput"]["value"]),
                ("peak RSS", "%.1f MiB" % (m.get("peak_rss_bytes", 0) / 2**20)),
                ("RSS after DROP+VACUUM", "%.1f MiB" % (m.get("rss_after_free_bytes", 0) / 2**20))]
        return rd.finish("sqlite", allocator, dict(v, smoke=smoke), m, checks, json_out, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
