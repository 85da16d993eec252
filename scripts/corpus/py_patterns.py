# SPDX-License-Identifier: Apache-2.0
# python3 patterns whose verdict is known by construction (tests/data/regressions/README.md).
# usage: py_patterns.py MODE SECONDS [ARG]
#   onethread N: N threads churn dicts of bytes; thread 0 alone also keeps 64 KiB/s (leak)
#   vecdouble RATE: a buffer appended RATE B/s, grown by doubling into a new bytearray (leak)
#   lrulate CAP_MIB: functools.lru_cache(maxsize) of 2 KiB values filled at 2 MiB/s: full at
#       CAP_MIB / 2 seconds, then evicting (bounded, reached late)
#   cleak RATE: a C extension's leak: libc malloc (ctypes) keeps RATE B/s in 4 KiB blocks while
#       python objects churn in pymalloc beside it (leak)
#   free90 MIB: MIB of small python objects (pymalloc) built in 3 s, 90 % of them dropped
#       (one in ten kept, scattered over every arena), then idle (not a leak)
#   sqlcache CACHE_MIB: sqlite3 point reads of random 1 KiB rows (6000 rows/s) from a database
#       of twice CACHE_MIB (made first by `py_patterns.py sqlcache 0 CACHE_MIB` in $TMPDIR) with
#       cache_size CACHE_MIB: the page cache fills up to it (bounded)
#   sqlgrowcache CACHE_MIB: the sqlcache reads on the same database (made first the same way), its
#       cache_size raised from CACHE_MIB / 8 to CACHE_MIB / 2 at 3 s and to CACHE_MIB at 6 s: the
#       page cache follows each bound and fills up to the last (bounded)
#   lrunone RATE: functools.lru_cache(maxsize=None) memoizing a 2 KiB value per unique key at
#       RATE B/s, dicts churned beside it: the cache grows without bound (leak)
#   dictclear MIB: a dict gains MIB MiB of 1 KiB values over 4 s, then is cleared, over and
#       over (a sawtooth back to its baseline: bounded)
import ctypes, functools, os, random, sqlite3, sys, threading, time

mode, secs = sys.argv[1], float(sys.argv[2])
arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
end = time.time() + secs

if mode == "onethread":
    kept = []
    def work(i):
        d = {}
        k = 0
        while time.time() < end:
            for _ in range(300):
                d[k % 500] = bytes(100 + (k * 37) % 4000)
                k += 1
            if i == 0:
                kept.extend(bytes(1000) for _ in range(6))  # ~64 KiB/s at 10 rounds/s
            time.sleep(0.1)
    ts = [threading.Thread(target=work, args=(i,)) for i in range(arg)]
    for t in ts: t.start()
    for t in ts: t.join()
elif mode == "vecdouble":
    buf, n = bytearray(1 << 20), 0
    while time.time() < end:
        add = arg // 10
        if n + add > len(buf):
            nb = bytearray(2 * len(buf))
            nb[:n] = buf[:n]
            buf = nb
        buf[n:n + add] = b"\x09" * add
        n += add
        time.sleep(0.1)
elif mode == "lrulate":
    @functools.lru_cache(maxsize=(arg << 20) // 2048)
    def value(k):
        return bytes(2048)
    k = 0
    while time.time() < end:
        for _ in range(100):  # 2 MiB/s at 10 rounds/s
            value(k)
            k += 1
        time.sleep(0.1)
elif mode == "cleak":
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    churn, k = {}, 0
    while time.time() < end:
        for _ in range(arg // 10 // 4096):
            p = libc.malloc(4096)
            ctypes.memset(p, 7, 4096)
        for _ in range(2000):
            churn[k % 3000] = (k, str(k) * 3, [k])
            k += 1
        time.sleep(0.1)
elif mode == "free90":
    start = time.time()
    n = (arg << 20) // 120  # a tuple of two small ints and a 40-byte str: about 120 B each
    objs = []
    for i in range(n):
        objs.append((i, i + 1, "x" * 40))
        if i % 20000 == 0:
            want = start + 3.0 * i / n
            if want > time.time():
                time.sleep(want - time.time())
    objs = objs[::10]
    while time.time() < end:
        time.sleep(0.1)
elif mode == "sqlcache":
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "py_patterns-sqlcache-%d.db" % arg)
    rows = 2 * arg * 1024
    if secs == 0:
        if os.path.exists(path):
            os.unlink(path)
        db = sqlite3.connect(path)
        db.execute("create table t (id integer primary key, v blob)")
        db.executemany("insert into t values (?, ?)", ((i, os.urandom(1000)) for i in range(rows)))
        db.commit()
        db.close()
    else:
        db = sqlite3.connect(path)
        db.execute("pragma cache_size = -%d" % (arg * 1024))
        while time.time() < end:
            for _ in range(600):
                db.execute("select v from t where id = ?", (random.randrange(rows),)).fetchone()
            time.sleep(0.1)
elif mode == "sqlgrowcache":
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "py_patterns-sqlcache-%d.db" % arg)
    rows = 2 * arg * 1024
    db = sqlite3.connect(path)
    start, step = time.time(), -1
    while time.time() < end:
        s = 0 if time.time() - start < 3 else 1 if time.time() - start < 6 else 2
        if s != step:
            step = s
            db.execute("pragma cache_size = -%d" % (arg * 1024 // (8, 2, 1)[s]))
        for _ in range(600):
            db.execute("select v from t where id = ?", (random.randrange(rows),)).fetchone()
        time.sleep(0.1)
elif mode == "lrunone":
    @functools.lru_cache(maxsize=None)
    def value(k):
        return bytes(2048)
    churn, k = {}, 0
    while time.time() < end:
        for _ in range(arg // 10 // 2048):
            value(k)
            k += 1
        for i in range(2000):
            churn[i % 700] = (i, str(i) * 3)
        time.sleep(0.1)
elif mode == "dictclear":
    d, k = {}, 0
    per_tick = (arg << 20) // 1024 // 40  # 40 ticks of 100 ms fill it
    while time.time() < end:
        for _ in range(40):
            for _ in range(per_tick):
                d[k] = bytes(1024)
                k += 1
            time.sleep(0.1)
        d.clear()
else:
    sys.exit("py_patterns: unknown mode " + mode)
print("py_patterns", mode, "done")
