# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: SQL for a sqlite3 shell reading its stdin, paced over SECONDS. Modes:
#   grow RATE    an in-memory table gains 1 KiB rows at RATE KiB/s (a leak by construction)
#   cache MB     a file database (DB) several times bigger than a cache_size of MB MiB, read and
#                updated at random: the page cache fills to its bound and stays (bounded)
# It feeds until the shell is stopped (the watcher's --duration SECONDS; then the pipe breaks):
# the leak never stops before the window ends. usage: sqlite_feed.py MODE SECONDS ARG
import random, sys, time

mode, seconds, arg = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
out = sys.stdout
t0 = time.time()
end = t0 + seconds + 10  # a bound in case nobody stops the shell
if mode == "grow":
    out.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\n")
    n = 0
    while time.time() < end:
        want = int(arg * (time.time() - t0))
        if want > n:
            out.write("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<%d) "
                      "INSERT INTO t(v) SELECT randomblob(1000) FROM c;\n" % (want - n))
            out.flush()
            n = want
        time.sleep(0.05)
elif mode == "cache":
    rows = 4 * arg * 1024  # 1 KiB rows: four times the cache
    out.write("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-%d;\n"
              "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\n"
              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<%d) "
              "INSERT INTO t(id, v) SELECT x, randomblob(1000) FROM c;\n" % (arg * 1024, rows))
    out.flush()
    rnd = random.Random(19)
    while time.time() < end:
        lo = rnd.randrange(1, rows - 200)
        out.write("SELECT sum(length(v)) FROM t WHERE id BETWEEN %d AND %d;\n"
                  "UPDATE t SET v = randomblob(1000) WHERE id = %d;\n"
                  % (lo, lo + 200, rnd.randrange(1, rows)))
        out.flush()
        time.sleep(0.005)
