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
else:
    sys.exit("py_patterns: unknown mode " + mode)
print("py_patterns", mode, "done")
