# SPDX-License-Identifier: Apache-2.0
# Writes an SQL script for the real sqlite3 CLI, paced by `.shell sleep 0.1` between batches
# (tests/data/regressions/README.md); run: sqlite3 DB < script.sql (the CLI is the process watched).
# usage: sqlite_cli.py MODE SECONDS ARG > script.sql
#   grow RATE: an in-memory table (run on :memory:) gaining RATE B/s of 1 KiB rows (leak)
#   cache CACHE_MIB: point reads of random 1 KiB rows from a file database of 2 x CACHE_MIB
#       made first, under PRAGMA cache_size of CACHE_MIB: the page cache fills to it (bounded)
import random, sys

mode, secs, arg = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.write
ticks = int(secs * 10)
if mode == "grow":
    out("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\n")
    per = max(1, arg // 10 // 1024)
    for k in range(ticks):
        out(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<{per}) "
            f"INSERT INTO t(v) SELECT randomblob(1024) FROM c;\n")
        out(".shell sleep 0.1\n")
elif mode == "cache":
    rows = arg * 2 * 1024
    out(f"PRAGMA cache_size=-{arg * 1024};\n")
    out("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB);\n")
    out(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<{rows}) "
        "INSERT INTO t(v) SELECT randomblob(1024) FROM c WHERE (SELECT count(*) FROM t)=0;\n")
    rnd = random.Random(1)
    for k in range(ticks):
        ids = ",".join(str(rnd.randrange(1, rows)) for _ in range(600))
        out(f"SELECT count(length(v)) FROM t WHERE id IN ({ids});\n")
        out(".shell sleep 0.1\n")
