# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: drives a redis-server that scripts/record-corpus started (127.0.0.1:PORT) for
# SECONDS over a minimal RESP client (no redis module needed). Modes:
#   grow RATE      SET new 1 KiB values at RATE KiB/s, never deleted (a leak by construction)
#   evict RATE     the same, the server has maxmemory + allkeys-lru (bounded by construction)
#   massdel MB     fill about MB MiB of mixed-size values in the first seconds, then delete 9 keys
#                  in 10 (scattered survivors), then idle with light reads (retention)
# 2.5 s before SECONDS it prints the server's INFO memory figures on stderr (what the allocator
# did); grow and evict go on until the watcher stops the server (the leak never stops early).
# usage: redis_drive.py MODE PORT SECONDS ARG
import random, socket, sys, time

mode, port, seconds, arg = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])


def connect(deadline):
    while time.time() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            time.sleep(0.02)
    sys.exit("redis_drive: no redis-server on 127.0.0.1:%d" % port)


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def pipeline(s, cmds):
    """Sends CMDS (each answered by one single-line reply) and reads every reply."""
    s.sendall(b"".join(cmds))
    want, got = len(cmds), b""
    while got.count(b"\r\n") < want:
        chunk = s.recv(1 << 16)
        if not chunk:
            sys.exit("redis_drive: connection closed")
        got += chunk


def info(s):
    s.sendall(encode("INFO", "memory"))
    data = b""
    while True:
        data += s.recv(1 << 16)
        head, _, rest = data.partition(b"\r\n")
        if head.startswith(b"$") and len(rest) >= int(head[1:]):
            return rest.decode(errors="replace")


t0 = time.time()
s = connect(t0 + 15)
while True:  # wait for the server to answer (it may still be loading)
    s.sendall(encode("PING"))
    if s.recv(64).startswith(b"+PONG"):
        break
    time.sleep(0.02)
t0 = time.time()
info_at = t0 + seconds - 2.5  # INFO before the watcher stops the server
end = t0 + seconds + 10  # grow and evict: until the server is stopped
value = b"v" * 1000
keep = ("used_memory:", "used_memory_rss:", "allocator_allocated:", "allocator_active:",
        "allocator_resident:", "allocator_frag_ratio:", "mem_fragmentation_ratio:",
        "mem_allocator:")


def report():
    text = info(s)
    print(" ".join(l.strip() for l in text.splitlines() if l.startswith(keep)), file=sys.stderr,
          flush=True)


try:
    if mode in ("grow", "evict"):
        n, reported = 0, False
        while time.time() < end:
            if not reported and time.time() >= info_at:
                report()
                reported = True
            want = int(arg * (time.time() - t0))  # KiB (1 KiB values) by now
            if want > n:
                pipeline(s, [encode("SET", "k%d" % i, value) for i in range(n, want)])
                n = want
            time.sleep(0.02)
    elif mode == "massdel":
        rnd = random.Random(19)
        n, filled = 0, 0
        while filled < arg << 20:
            batch = []
            for _ in range(2000):
                size = rnd.choice((40, 90, 200, 400, 700))
                batch.append(encode("SET", "k%d" % n, b"x" * size))
                filled += size + 60  # value + key and dict entry, roughly
                n += 1
            pipeline(s, batch)
        time.sleep(max(0.0, t0 + 6 - time.time()))  # a plateau before the deletion
        for lo in range(0, n, 10000):
            pipeline(s, [encode("DEL", "k%d" % i) for i in range(lo, min(n, lo + 10000)) if i % 10])
        while time.time() < info_at:  # idle, with a few reads of the survivors
            pipeline(s, [encode("EXISTS", "k%d" % (10 * rnd.randrange(n // 10)))])
            time.sleep(0.05)
        report()
except (OSError, SystemExit) as e:
    print("redis_drive: %s" % e, file=sys.stderr)
