// SPDX-License-Identifier: Apache-2.0
// C patterns whose verdict is known by construction (tests/data/regressions/README.md).
// usage: c_patterns MODE SECONDS [ARGS]; build: cc -O1 -pthread -o c_patterns c_patterns.c -lm
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static void nap(double s) {
  struct timespec t = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&t, 0);
}
static volatile char sink;
static void touch(char* p, size_t n) {
  for (size_t i = 0; i < n; i += 4096) p[i] = (char)i;
}
static double T;

// realloc growth: one buffer grows by RATE bytes every 100 ms, never shrunk; churn beside it.
static void m_realloc(long rate) {
  size_t n = 1 << 20;
  char* b = malloc(n);
  touch(b, n);
  double end = now() + T;
  while (now() < end) {
    n += rate / 10;
    b = realloc(b, n);
    touch(b, n);
    for (int i = 0; i < 100; i++) {
      char* q = malloc(100 + i * 37);
      q[0] = 1;
      free(q);
    }
    nap(0.1);
  }
}
// aligned leak: posix_memalign/aligned_alloc blocks of 16 KiB at RATE B/s, with churn
static void m_aligned(long rate) {
  double end = now() + T;
  int k = 0;
  while (now() < end) {
    for (long b = 0; b < rate / 10; b += 16384) {
      void* p;
      if (k++ & 1) {
        if (posix_memalign(&p, 4096, 16384)) abort();
      } else
        p = aligned_alloc(256, 16384);
      touch(p, 16384);
    }
    for (int i = 0; i < 200; i++) {
      void* q = 0;
      if (posix_memalign(&q, 64, 1000) == 0) free(q);
    }
    nap(0.1);
  }
}
// hash map of strdup'd keys; every op inserts a key and removes an old one; removal forgets
// to free the string when LEAK; the table is rehashed (doubled then rebuilt) every 2 s.
struct ent {
  char* k;
};
static void m_hash(int leak) {
  size_t cap = 1 << 16, live = 0;
  struct ent* t = calloc(cap, sizeof *t);
  double end = now() + T, rh = now() + 2;
  unsigned long id = 0;
  char buf[256];
  while (now() < end) {
    for (int i = 0; i < 200; i++) {  // 200 inserts/100ms of ~200 B strings = ~400 KiB/s churn
      snprintf(buf, sizeof buf, "key-%lu-%0180lu", id, id);
      id++;
      size_t h = (id * 2654435761u) % cap;
      if (t[h].k) {
        if (!leak) {
          free(t[h].k);
        }
        t[h].k = 0;
        live--;
      }
      t[h].k = strdup(buf);
      live++;
      if (live > 20000) {  // evict a random entry
        size_t r = rand() % cap;
        while (!t[r].k) r = (r + 1) % cap;
        if (!leak) free(t[r].k);
        t[r].k = 0;
        live--;
      }
    }
    if (now() > rh) {  // rehash into a fresh table (alternating sizes)
      size_t nc = cap == (1 << 16) ? (1 << 17) : (1 << 16);
      struct ent* nt = calloc(nc, sizeof *nt);
      for (size_t i = 0; i < cap; i++)
        if (t[i].k) {
          size_t h = (size_t)(uintptr_t)t[i].k % nc;
          while (nt[h].k) h = (h + 1) % nc;
          nt[h] = t[i];
        }
      free(t);
      t = nt;
      cap = nc;
      rh = now() + 2;
    }
    nap(0.1);
  }
}
// memfd leak: 256 KiB memfd every 250 ms (1 MiB/s), mapped, touched, never closed
static void m_memfd(long rate) {
  double end = now() + T;
  while (now() < end) {
    int fd = memfd_create("probe", 0);
    ftruncate(fd, rate / 4);
    char* p = mmap(0, rate / 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    touch(p, rate / 4);
    nap(0.25);
  }
}
// lazy paging: one big malloc (or mmap) of SIZE, touched progressively over the window
static void m_lazy(long size, int use_mmap) {
  char* p = use_mmap ? mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                     : malloc(size);
  double start = now(), end = start + T;
  size_t done = 0;
  while (now() < end) {
    size_t want = (size_t)((now() - start) / T * size);
    if (want > (size_t)size) want = size;
    if (want > done) {
      touch(p + done, want - done);
      done = want;
    }
    nap(0.1);
  }
}
// bounded cache with random eviction, random sizes 64 B..64 KiB, capacity N entries
static void m_cache(long n) {
  void** slot = calloc(n, sizeof *slot);
  double end = now() + T;
  while (now() < end) {
    for (int i = 0; i < 400; i++) {
      long r = rand() % n;
      free(slot[r]);
      size_t sz = 64 + (rand() % 1024) * (rand() % 64);
      slot[r] = malloc(sz);
      memset(slot[r], 1, sz);
    }
    nap(0.05);
  }
}
// bursts then malloc_trim: 150 MiB of 2 KiB blocks, freed, malloc_trim(0), idle 2 s, repeat
static void m_trim(int do_trim) {
  size_t nb = 150 << 9;
  void** v = malloc(nb * sizeof *v);
  double end = now() + T;
  while (now() < end) {
    for (size_t i = 0; i < nb; i++) {
      v[i] = malloc(2048);
      memset(v[i], 2, 2048);
    }
    nap(0.5);
    for (size_t i = 0; i < nb; i++) free(v[i]);
    if (do_trim) malloc_trim(0);
    nap(2);
  }
}
// many threads: each allocates/frees a working set of random blocks (per-thread arenas)
static void* worker(void* a) {
  (void)a;
  unsigned s = (unsigned)(uintptr_t)a;
  void* w[512] = {0};
  double end = now() + T;
  while (now() < end) {
    for (int i = 0; i < 2000; i++) {
      int r = rand_r(&s) % 512;
      free(w[r]);
      size_t z = 16 + rand_r(&s) % 8192;
      w[r] = malloc(z);
      memset(w[r], 3, z);
    }
    nap(0.01);
  }
  for (int i = 0; i < 512; i++) free(w[i]);
  return 0;
}
static void m_threads(int n) {
  pthread_t t[256];
  for (int i = 0; i < n; i++) pthread_create(&t[i], 0, worker, (void*)(uintptr_t)(i + 1));
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
}
// detached threads that exit (glibc caches their stacks): 20 threads/s each touching 64 KiB
static void* shortlived(void* a) {
  (void)a;
  char buf[65536];
  memset(buf, 1, sizeof buf);
  sink = buf[100];
  nap(0.2);
  return 0;
}
static void m_detached(void) {
  double end = now() + T;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  while (now() < end) {
    pthread_t t;
    pthread_create(&t, &at, shortlived, 0);
    nap(0.05);
  }
}
// slow leak on a big level: LEVEL MiB of 4 KiB blocks then RATE B/s of 4 KiB blocks
static void m_bigslow(long level_mib, long rate) {
  for (long i = 0; i < level_mib * 256; i++) {
    char* p = malloc(4096);
    touch(p, 4096);
  }
  double end = now() + T;
  while (now() < end) {
    for (long b = 0; b < rate / 10; b += 4096) {
      char* p = malloc(4096);
      touch(p, 4096);
    }
    nap(0.1);
  }
}
// file mapping read sequentially: a SIZE MiB file (made first), mapped read-only, read over T
static void m_filemap(long size_mib) {
  char path[] = "/tmp/probe-filemap-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  static char buf[1 << 20];
  memset(buf, 7, sizeof buf);
  for (long i = 0; i < size_mib; i++)
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) abort();
  size_t size = (size_t)size_mib << 20;
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  char* p = mmap(0, size, PROT_READ, MAP_SHARED, fd, 0);
  double start = now(), end = start + T;
  size_t done = 0;
  long sum = 0;
  while (now() < end) {
    size_t want = (size_t)((now() - start) / T * size);
    if (want > size) want = size;
    for (; done < want; done += 4096) sum += p[done];
    nap(0.1);
  }
  sink = (char)sum;
}
// mapping leak: a new SIZE MiB file (default 4) made every 250 ms in a temp dir, mapped
// read-only (MAP_SHARED), read whole, never unmapped (unlinked once mapped; the dir removed at
// the end, also when stopped by SIGINT or SIGTERM, as watch --duration stops it): the address
// space and the resident file pages grow without bound, nothing allocated
static volatile sig_atomic_t g_stop;
static void on_stop(int sig) {
  (void)sig;
  g_stop = 1;
}
static void m_mapleak(long size_mib) {
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  const char* tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/probe-mapleak-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) abort();
  size_t size = (size_t)(size_mib > 0 ? size_mib : 4) << 20;
  static char buf[1 << 20];
  memset(buf, 7, sizeof buf);
  double end = now() + T;
  long sum = 0;
  for (int i = 0; now() < end && !g_stop; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%d", dir, i);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    for (size_t w = 0; w < size; w += sizeof buf)
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) abort();
    char* p = mmap(0, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) abort();
    unlink(path);
    close(fd);
    for (size_t o = 0; o < size; o += 4096) sum += p[o];
    nap(0.25);
  }
  rmdir(dir);
  sink = (char)sum;
}
// per-thread leaks: N threads, each with churn and a leak of 8 KiB/s
static void* leaker(void* a) {
  unsigned s = (unsigned)(uintptr_t)a;
  void* w[256] = {0};
  double end = now() + T;
  while (now() < end) {
    for (int i = 0; i < 500; i++) {
      int r = rand_r(&s) % 256;
      free(w[r]);
      size_t z = 16 + rand_r(&s) % 4096;
      w[r] = malloc(z);
      memset(w[r], 3, z);
    }
    char* l = malloc(800);
    memset(l, 4, 800);
    nap(0.1);
  }
  return 0;
}
static void m_threadleak(int n) {
  pthread_t t[256];
  for (int i = 0; i < n; i++) pthread_create(&t[i], 0, leaker, (void*)(uintptr_t)(i + 1));
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
}
// one leaking thread of N: every thread churns random blocks (its own arena under glibc);
// thread 0 alone also keeps RATE B/s of 1 KiB blocks
static long g_rate;
static void* churner(void* a) {
  unsigned id = (unsigned)(uintptr_t)a, s = id * 7919u + 1;
  void* w[512] = {0};
  double end = now() + T;
  while (now() < end) {
    for (int i = 0; i < 400; i++) {
      int r = rand_r(&s) % 512;
      free(w[r]);
      size_t z = 16 + rand_r(&s) % 8192;
      w[r] = malloc(z);
      memset(w[r], 5, z < 256 ? z : 256);
    }
    if (id == 0)
      for (long b = 0; b < g_rate / 10; b += 1024) memset(malloc(1024), 6, 1024);
    nap(0.1);
  }
  for (int i = 0; i < 512; i++) free(w[i]);
  return 0;
}
static void m_onethread(int n, long rate) {
  pthread_t t[256];
  g_rate = rate;
  for (int i = 0; i < n; i++) pthread_create(&t[i], 0, churner, (void*)(uintptr_t)i);
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
}
// a std::vector-like buffer appended RATE B/s: when full, a new block of twice the capacity,
// the contents copied, the old one freed (capacity steps 1, 2, 4, 8 ... MiB); never shrunk
static void m_vecdouble(long rate) {
  size_t cap = 1 << 20, len = 0;
  char* v = malloc(cap);
  double end = now() + T;
  while (now() < end) {
    size_t add = (size_t)rate / 10;
    if (len + add > cap) {
      size_t ncap = cap * 2;
      while (len + add > ncap) ncap *= 2;
      char* nv = malloc(ncap);
      memcpy(nv, v, len);
      free(v);
      v = nv, cap = ncap;
    }
    memset(v + len, 9, add);
    len += add;
    nap(0.1);
  }
  sink = v[len / 2];
}
// kernel buffers: every 100 ms a new pipe (KIND 0) or socketpair (KIND 1) filled until it would
// block, never read nor closed: memory the kernel holds for the process, outside its RSS
static void m_kbuf(int kind) {
  static char buf[65536];
  memset(buf, 1, sizeof buf);
  double end = now() + T;
  while (now() < end) {
    int fd[2];
    if (kind ? socketpair(AF_UNIX, SOCK_STREAM, 0, fd) : pipe(fd)) break;
    fcntl(fd[1], F_SETFL, O_NONBLOCK);
    while (write(fd[1], buf, sizeof buf) > 0) {
    }
    nap(0.1);
  }
}
// thread-local caches: a new thread every 2 s up to N, each filling a cache of 4 MiB of 4 KiB
// blocks it recycles (bounded per thread); all run to the end: memory steps up with the count
static void* tlworker(void* a) {
  (void)a;
  enum { K = 1024 };
  void* c[K] = {0};
  unsigned s = (unsigned)(uintptr_t)&c;
  double end = now() + T;
  while (now() < end) {
    for (int i = 0; i < 200; i++) {
      int r = rand_r(&s) % K;
      free(c[r]);
      c[r] = malloc(4096);
      memset(c[r], 2, 4096);
    }
    nap(0.05);
  }
  for (int i = 0; i < K; i++) free(c[i]);
  return 0;
}
static void m_tlcache(int n) {
  pthread_t t[256];
  for (int i = 0; i < n; i++) {
    pthread_create(&t[i], 0, tlworker, 0);
    nap(2);
  }
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
}
// a cache filled at RATE B/s (2 KiB entries) until CAP MiB, then LRU-evicted (the oldest freed
// for every new one): it reaches its bound at CAP/RATE seconds
static void m_lrulate(long cap_mib, long rate) {
  long cap = (cap_mib << 20) / 2048, head = 0, n = 0;
  char** ring = calloc((size_t)cap, sizeof *ring);
  double end = now() + T;
  while (now() < end) {
    for (long b = 0; b < rate / 10; b += 2048) {
      if (n == cap)
        free(ring[head]);
      else
        n++;
      ring[head] = malloc(2048);
      memset(ring[head], 3, 2048);
      head = (head + 1) % cap;
    }
    nap(0.1);
  }
}
// a huge sparse calloc (SIZE MiB) touched slowly: one page in every 64 KiB, progressively
static void m_sparse(long size_mib) {
  size_t size = (size_t)size_mib << 20;
  char* p = calloc(1, size);
  double start = now(), end = start + T;
  size_t done = 0;
  while (now() < end) {
    size_t want = (size_t)((now() - start) / T * size);
    if (want > size) want = size;
    for (; done < want; done += 65536) p[done] = 1;
    nap(0.1);
  }
  sink = p[0];
}
// short-lived threads: every 50 ms a thread allocates SIZE KiB of random blocks (16 B-16 KiB),
// holds them 200 ms, frees them all and exits; about 4 live at once (glibc gives each its arena)
static long g_size;
static void* burstthread(void* a) {
  unsigned s = (unsigned)(uintptr_t)a;
  enum { K = 65536 };
  void** w = malloc(K * sizeof *w);
  int n = 0;
  for (long b = 0; b < g_size && n < K; n++) {
    size_t z = 16 + rand_r(&s) % 16384;
    w[n] = malloc(z);
    memset(w[n], 4, z);
    b += (long)z;
  }
  nap(0.2);
  for (int i = 0; i < n; i++) free(w[i]);
  free(w);
  return 0;
}
static void m_shortthreads(long size_kib) {
  g_size = size_kib << 10;
  double end = now() + T;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  for (unsigned i = 1; now() < end; i++) {
    pthread_t t;
    pthread_create(&t, &at, burstthread, (void*)(uintptr_t)i);
    nap(0.05);
  }
  nap(0.3);
}
// a leak only in request bursts: every PERIOD s (default 9) a 1 s burst of requests, each
// churning buffers and keeping 1 KiB it should have freed (LEAK B per burst); idle between
static void m_burstleak(long leak, long period) {
  if (period <= 0) period = 9;
  double end = now() + T;
  while (now() < end) {
    double burst_end = now() + 1;
    long kept = 0;
    while (now() < burst_end) {
      for (int i = 0; i < 200; i++) {
        size_t z = 64 + (size_t)(rand() % 8192);
        char* q = malloc(z);
        memset(q, 1, z);
        free(q);
      }
      for (; kept < leak && kept < (long)((1 - (burst_end - now())) * leak); kept += 1024)
        memset(malloc(1024), 8, 1024);
      nap(0.01);
    }
    for (; kept < leak; kept += 1024) memset(malloc(1024), 8, 1024);
    double idle_end = burst_end + (double)period - 1;
    while (now() < idle_end && now() < end) nap(0.05);
  }
}
// a leaking worker process: the parent forks one child that runs bigslow(LEVEL MiB, RATE B/s)
// and waits for it; the parent itself allocates nothing after the fork
static void m_forkleak(long level_mib, long rate) {
  pid_t c = fork();
  if (c == 0) {
    m_bigslow(level_mib, rate);
    _exit(0);
  }
  int st;
  while (waitpid(c, &st, 0) < 0) {
  }
}
// free 90 %: SIZE MiB of 256 B blocks filled in the first 3 s, then every block but one in ten
// freed (the survivors scattered over every page) and the program idles to the end
static void m_free90(long size_mib) {
  size_t nb = ((size_t)size_mib << 20) / 256;
  void** v = malloc(nb * sizeof *v);
  double start = now();
  for (size_t i = 0; i < nb; i++) {
    v[i] = malloc(256);
    memset(v[i], 5, 256);
    if (i % 4096 == 0) {
      double want = start + 3.0 * (double)i / (double)nb;
      if (want > now()) nap(want - now());
    }
  }
  for (size_t i = 0; i < nb; i++)
    if (i % 10) free(v[i]);
  double end = start + T;
  while (now() < end) nap(0.1);
}
// logarithmic growth: a set of unique 64-byte keys, never freed, whose arrival rate decays as
// RATE/(1+t) keys/s (the set grows as RATE ln(1+t): without bound, ever slower), churn beside
static void m_logkeys(long rate) {
  double start = now(), end = start + T, due = 0;
  while (now() < end) {
    due += (double)rate / (1 + now() - start) / 10;
    for (; due >= 1; due -= 1) memset(malloc(64), 1, 64);
    for (int i = 0; i < 100; i++) {
      char* q = malloc(200 + i * 13);
      q[0] = 1;
      free(q);
    }
    nap(0.1);
  }
}

// ---- probe6's patterns ----
static void churn(int n) {
  for (int i = 0; i < n; i++) {
    char* q = malloc(64 + (i * 53) % 3000);
    q[0] = 1;
    free(q);
  }
}
// keep RATE B/s (fractional, carried) of 512 B blocks this 100 ms tick
static double leak_due;
static void leak_tick(double rate) {
  for (leak_due += rate / 10; leak_due >= 512; leak_due -= 512) memset(malloc(512), 5, 512);
}
// fragmentation under survivors: every 0.5 s a burst of 512 B blocks whose size grows from 2 to
// 2 + MAX MiB over the window (default 60), all freed but 64 picked at random, which replace
// the 64 oldest of 512 long-lived survivors (allocated at the start): live bytes flat (~256 KiB
// between bursts), the freed bursts pinned by the survivors scattered over them (retention)
static void m_fragramp(long max_mib) {
  if (!max_mib) max_mib = 60;
  enum { NS = 512, KEEP = 64 };
  void* surv[NS];
  for (int i = 0; i < NS; i++) memset(surv[i] = malloc(512), 4, 512);
  long head = 0;
  double start = now(), end = start + T;
  while (now() < end) {
    size_t nb = (size_t)((2 + max_mib * (now() - start) / T) * 2048);
    void** v = malloc(nb * sizeof *v);
    for (size_t i = 0; i < nb; i++) {
      v[i] = malloc(512);
      memset(v[i], 4, 512);
    }
    for (int k = 0; k < KEEP; k++) {
      size_t r = (size_t)rand() % nb;
      if (!v[r]) continue;
      free(surv[head]);
      surv[head] = v[r];
      v[r] = 0;
      head = (head + 1) % NS;
    }
    for (size_t i = 0; i < nb; i++) free(v[i]);
    free(v);
    nap(0.5);
  }
}
// a leak whose rate follows the load: RATE x (1 + 0.9 sin(2 pi t / PERIOD)) B/s (PERIOD s,
// default 8) of 512 B blocks, with churn beside it (leak)
static void m_sineleak(long rate, long period) {
  if (!period) period = 8;
  double start = now(), end = start + T;
  while (now() < end) {
    leak_tick(rate * (1 + 0.9 * sin(2 * M_PI * (now() - start) / period)));
    churn(200);
    nap(0.1);
  }
}
// a slow leak beneath a warm cache: LEVEL MiB of random-size entries (64 B..16 KiB), 10 % of
// them replaced every second, and RATE B/s of 512 B blocks never freed (leak). WALK 0: an entry
// is replaced by one of the same size (the cache's bytes constant); 1: by one of a new random
// size (the cache's bytes a random walk: ~4 MiB standard deviation over 30 s at 1 GiB)
static void m_warmleak(long level_mib, long rate, int walk) {
  long n = (level_mib << 20) / 8256;
  void** slot = calloc((size_t)n, sizeof *slot);
  size_t* size = calloc((size_t)n, sizeof *size);
  unsigned s = 7;
  for (long i = 0; i < n; i++) {
    size_t z = size[i] = 64 + rand_r(&s) % 16320;
    slot[i] = malloc(z);
    memset(slot[i], 1, z);
  }
  double end = now() + T;
  while (now() < end) {
    for (long i = 0; i < n / 100; i++) {
      long r = rand_r(&s) % n;
      free(slot[r]);
      size_t z = walk ? 64 + rand_r(&s) % 16320 : size[r];
      slot[r] = malloc(z);
      memset(slot[r], 1, z);
    }
    leak_tick((double)rate);
    nap(0.1);
  }
}
// threads started one every EVERY ms (default 150) up to N (default 64), each churning 512
// random blocks (16 B..8 KiB) to the end: glibc's arenas grow to their cap (8 x cores) and
// plateau (bounded)
static void m_arenaramp(long n, long every) {
  if (!n) n = 64;
  if (!every) every = 150;
  if (n > 256) n = 256;
  pthread_t t[256];
  for (long i = 0; i < n; i++) {
    pthread_create(&t[i], 0, worker, (void*)(uintptr_t)(i + 1));
    nap(every / 1000.0);
  }
  for (long i = 0; i < n; i++) pthread_join(t[i], 0);
}
// memory outside malloc: every 100 ms RATE/10 bytes from sbrk (KIND 0) or one anonymous mapping
// grown by mremap (KIND 1), touched, never returned (non-heap-growth)
static void m_rawgrow(long rate, long kind) {
  double end = now() + T;
  size_t len = 1 << 20;
  char* m = kind ? mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : 0;
  if (m == MAP_FAILED) abort();
  while (now() < end) {
    size_t add = (size_t)(rate / 10) & ~(size_t)4095;
    if (kind) {
      char* g = mremap(m, len, len + add, MREMAP_MAYMOVE);
      if (g == MAP_FAILED) abort();
      touch(g + len, add);
      m = g;
      len += add;
    } else {
      char* g = sbrk((intptr_t)add);
      if (g == (void*)-1) abort();
      touch(g, add);
    }
    churn(200);
    nap(0.1);
  }
}
// a leak that starts late or stops: RATE B/s of 512 B blocks from FROM % to TO % of the window
// (lateleak: 60..100, stopleak: 0..40), churn throughout
static void m_window_leak(long rate, double from, double to) {
  double start = now(), end = start + T;
  while (now() < end) {
    double u = (now() - start) / T;
    if (u >= from && u < to) leak_tick((double)rate);
    churn(200);
    nap(0.1);
  }
}
// a cache whose size follows the load: MAX MiB x (1 - cos(2 pi t / PERIOD)) / 2 of 4 KiB
// entries (PERIOD s, default 25; empty at the start, full at PERIOD/2), filled and evicted
// oldest-first every 100 ms, churn beside it; never above MAX (bounded)
static void m_sinecache(long max_mib, long period) {
  if (!period) period = 25;
  long cap = (max_mib << 20) / 4096, head = 0, tail = 0, n = 0;
  char** ring = calloc((size_t)cap + 1, sizeof *ring);
  double start = now(), end = start + T;
  while (now() < end) {
    long want = (long)(cap * (1 - cos(2 * M_PI * (now() - start) / period)) / 2);
    for (; n < want; n++, head = (head + 1) % (cap + 1)) memset(ring[head] = malloc(4096), 6, 4096);
    for (; n > want; n--, tail = (tail + 1) % (cap + 1)) free(ring[tail]);
    churn(200);
    nap(0.1);
  }
}
// ---- probe9's patterns ----
// a leak freed in bursts: RATE B/s of 512 B blocks kept on a list, and every PERIOD s (default
// 10) all of them freed but KEEP % (default 0) of that tooth, churn throughout: KEEP 0 is a
// sawtooth back to its baseline (bounded), KEEP > 0 troughs that rise KEEP % of a tooth (leak)
static void m_stairs(long rate, long period, long keep) {
  if (period <= 0) period = 10;
  char** blocks = 0;
  size_t n = 0, cap = 0, since = 0;  // blocks[since..n) are this tooth's
  double due = 0, start = now(), end = start + T, next = start + period;
  while (now() < end) {
    for (due += rate / 10.0; due >= 512; due -= 512) {
      if (n == cap) {
        cap = cap ? 2 * cap : 4096;
        blocks = realloc(blocks, cap * sizeof *blocks);
      }
      blocks[n] = malloc(512);
      memset(blocks[n++], 5, 512);
    }
    churn(200);
    if (now() >= next) {
      size_t w = since;
      for (size_t i = since; i < n; i++)
        if ((long)(i % 100) < keep)
          blocks[w++] = blocks[i];
        else
          free(blocks[i]);
      n = since = w;
      next += period;
    }
    nap(0.1);
  }
}
// fork per request: every 100 ms the parent forks a worker that allocates SIZE KiB (default
// 4096) of random blocks, touches them, exits after 50 ms; the parent reaps it and keeps LEAK B
// (default 0) of its own per request (a record it never frees): the parent is stable at LEAK 0
static void m_forkreq(long size_kib, long leak) {
  if (size_kib <= 0) size_kib = 4096;
  double end = now() + T;
  unsigned seed = 1;
  while (now() < end) {
    pid_t c = fork();
    if (c == 0) {
      for (long got = 0; got < size_kib << 10;) {
        size_t s = 16 + rand_r(&seed) % 16384;
        memset(malloc(s), 1, s);
        got += (long)s;
      }
      nap(0.05);
      _exit(0);
    }
    if (leak > 0) memset(malloc((size_t)leak), 3, (size_t)leak);
    churn(50);
    int st;
    while (waitpid(c, &st, 0) < 0) {
    }
    nap(0.1);
  }
}
// shared memory growing: one POSIX shm object (shm_open, unlinked at once) grown by RATE/10
// bytes every 100 ms with ftruncate, its mapping grown by mremap and touched; nothing allocated
// (non-heap-growth: rss_shmem)
static void m_shmgrow(long rate) {
  char name[64];
  snprintf(name, sizeof name, "/probe-shmgrow-%d", (int)getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) abort();
  shm_unlink(name);
  size_t size = 1 << 20;
  if (ftruncate(fd, (off_t)size)) abort();
  char* p = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) abort();
  touch(p, size);
  double end = now() + T;
  while (now() < end) {
    size_t grown = size + (size_t)rate / 10;
    if (ftruncate(fd, (off_t)grown)) abort();
    p = mremap(p, size, grown, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) abort();
    touch(p + size, grown - size);
    size = grown;
    churn(100);
    nap(0.1);
  }
}
// a growing file read through its mapping: RATE/10 bytes appended every 100 ms to a file
// (unlinked temp), its read-only mapping grown by mremap (the pages read stay mapped) and the
// new part read; RSS grows only in file pages of one mapping (page cache the kernel may drop),
// nothing allocated
static void m_filegrow(long rate) {
  const char* tmp = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/probe-filegrow-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) abort();
  unlink(path);
  static char buf[1 << 16];
  memset(buf, 7, sizeof buf);
  size_t size = 0, read_to = 0;
  char* p = 0;
  long sum = 0;
  double end = now() + T;
  while (now() < end) {
    for (long w = 0; w < rate / 10; w += (long)sizeof buf)
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) abort();
    size_t grown = (size_t)lseek(fd, 0, SEEK_END);
    p = p ? mremap(p, size, grown, MREMAP_MAYMOVE) : mmap(0, grown, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) abort();
    size = grown;
    for (; read_to < size; read_to += 4096) sum += p[read_to];
    churn(100);
    nap(0.1);
  }
  sink = (char)sum;
}
// thread-local leak in threads never joined: a thread every 250 ms (up to N, default 120) keeps
// SIZE KiB (default 256) in a __thread pointer, touches it and parks forever: the heap grows by
// SIZE x 4 KiB/s and the thread stacks beside it (leak)
static __thread char* volatile tl_block;  // volatile: a store no one reads is kept
static long tl_size;
static void* tl_parked(void* arg) {
  (void)arg;
  tl_block = malloc((size_t)tl_size);
  memset(tl_block, 9, (size_t)tl_size);
  for (;;) pause();
  return 0;
}
static void m_tlsleak(long n, long size_kib) {
  if (n <= 0) n = 120;
  tl_size = (size_kib > 0 ? size_kib : 256) << 10;
  double end = now() + T;
  for (long i = 0; now() < end; i++) {
    if (i < n) {
      pthread_t th;
      if (pthread_create(&th, 0, tl_parked, 0)) abort();
    }
    churn(100);
    nap(0.25);
  }
}
// a staircase down: LEVEL MiB of 512 B blocks built in the first 2 s, then every PERIOD s
// (default 4) the oldest tenth of what is left freed, churn throughout: what the program holds
// falls in steps (no leak; RSS may stay where the allocator keeps the freed steps)
static void m_stepdown(long level_mib, long period) {
  if (period <= 0) period = 4;
  size_t n = (size_t)level_mib << 11, first = 0;
  char** blocks = malloc(n * sizeof *blocks);
  for (size_t i = 0; i < n; i++) memset(blocks[i] = malloc(512), 5, 512);
  double start = now(), end = start + T, next = start + 2 + period;
  while (now() < end) {
    if (now() >= next) {
      size_t cut = first + (n - first) / 10;
      for (; first < cut; first++) free(blocks[first]);
      next += period;
    }
    churn(200);
    nap(0.1);
  }
}
// setenv leak: every 10 ms setenv("PROBE_VAR", a new value of ~200 B); glibc keeps every value
// it has ever set (setenv(3): a pointer getenv returned must stay valid), so the strings pile up
// at ~20 KiB/s (leak, through glibc's own malloc calls)
static void m_setenv(void) {
  char v[200];
  memset(v, 'v', sizeof v - 16);
  double end = now() + T;
  for (unsigned i = 0; now() < end; i++) {
    snprintf(v + sizeof v - 16, 16, "%u", i);
    setenv("PROBE_VAR", v, 1);
    if (i % 10 == 0) churn(20);
    nap(0.01);
  }
}
// ---- probe11's patterns ----
// a leak never touched: RATE B/s of 256 KiB blocks kept and never written (beyond what the
// allocator writes itself), churn beside them: what the program holds grows, RSS hardly (leak)
static void m_untouched(long rate) {
  double due = 0, end = now() + T;
  while (now() < end) {
    for (due += rate / 10.0; due >= 262144; due -= 262144)
      if (!malloc(262144)) abort();
    churn(100);
    nap(0.1);
  }
}
// the program's own free list: every 0.5 s a burst needs a random number (0..MAX KiB, default
// 32768) of 1 KiB nodes, taken from the free list or malloc'd when it is empty, then all put
// back on the list, never freed: what it holds is the largest burst so far (bounded by MAX)
static void m_freelist(long max_kib) {
  if (max_kib <= 0) max_kib = 32768;
  void* head = 0;
  void** burst = malloc((size_t)max_kib * sizeof *burst);
  unsigned seed = 7;
  double end = now() + T;
  while (now() < end) {
    long k = (long)(rand_r(&seed) % (unsigned)(max_kib + 1));
    for (long i = 0; i < k; i++) {
      void* n = head;
      if (n)
        head = *(void**)n;
      else
        n = malloc(1024);
      memset(n, 6, 1024);
      burst[i] = n;
    }
    for (long i = 0; i < k; i++) {
      *(void**)burst[i] = head;
      head = burst[i];
    }
    churn(100);
    nap(0.5);
  }
}
// a leaking worker replaced: a worker thread churns and keeps RATE B/s of 512 B blocks, exits
// after LIFE s (default 2) and a new one takes its place (glibc hands it an arena again): leak
static double worker_rate, worker_life;
static void* leaky_worker(void* u) {
  (void)u;
  double due = 0, end = now() + worker_life;
  while (now() < end) {
    for (due += worker_rate / 10; due >= 512; due -= 512) memset(malloc(512), 5, 512);
    churn(100);
    nap(0.1);
  }
  return 0;
}
static void m_workerleak(long rate, long life) {
  worker_rate = (double)rate;
  worker_life = life > 0 ? (double)life : 2;
  double end = now() + T;
  while (now() < end) {
    pthread_t t;
    if (pthread_create(&t, 0, leaky_worker, 0)) abort();
    pthread_join(t, 0);
  }
}
// a leak cleaned up at exit: RATE B/s of 512 B blocks kept on a list for the whole window (never
// freed while running), all freed at the end, then 1 s idle before exit (a program whose
// destructors free its ever-growing structure at shutdown)
static void m_exitfree(long rate) {
  void** v = 0;
  size_t n = 0, cap = 0;
  double due = 0, end = now() + T;
  while (now() < end) {
    for (due += rate / 10.0; due >= 512; due -= 512) {
      if (n == cap) v = realloc(v, (cap = cap ? 2 * cap : 4096) * sizeof *v);
      memset(v[n++] = malloc(512), 5, 512);
    }
    churn(100);
    nap(0.1);
  }
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
  nap(1);
}
// a one-off spike: churn throughout; at 20 % of the window SIZE MiB (default 400) of 4 KiB
// blocks allocated and touched, held 1 s, all freed; then the same churn to the end (no leak).
// EVERY s > 0: a spike held 0.3 s every EVERY s instead (a periodic batch; no leak)
static void m_spike(long size_mib, long every) {
  if (size_mib <= 0) size_mib = 400;
  size_t nb = (size_t)size_mib * 256;
  double start = now(), end = start + T, next = every > 0 ? start + every : start + 0.2 * T;
  int done = 0;
  while (now() < end) {
    if (!done && now() >= next) {
      void** v = malloc(nb * sizeof *v);
      for (size_t i = 0; i < nb; i++) memset(v[i] = malloc(4096), 2, 4096);
      nap(every > 0 ? 0.3 : 1);
      for (size_t i = 0; i < nb; i++) free(v[i]);
      free(v);
      if (every > 0)
        next += every;
      else
        done = 1;
    }
    churn(200);
    nap(0.1);
  }
}
// a period near the sampling interval: SIZE MiB (default 64) of 64 KiB blocks allocated,
// touched, held half of PERIOD ms (default 190) and freed, over and over (bounded)
static void m_alias(long size_mib, long period_ms) {
  if (size_mib <= 0) size_mib = 64;
  if (period_ms <= 0) period_ms = 190;
  size_t nb = (size_t)size_mib * 16;
  void** v = malloc(nb * sizeof *v);
  double end = now() + T;
  while (now() < end) {
    for (size_t i = 0; i < nb; i++) touch(v[i] = malloc(65536), 65536);
    nap(period_ms / 2000.0);
    for (size_t i = 0; i < nb; i++) free(v[i]);
    nap(period_ms / 2000.0);
  }
}
// a queue between threads: a producer enqueues IN B/s of 1 KiB messages (malloc'd in its
// thread), a consumer dequeues and frees OUT B/s of them (in its own): OUT >= IN keeps the queue
// near empty (stable; every block freed by a thread that did not allocate it), OUT < IN is a
// backlog that grows at IN - OUT B/s without bound (leak)
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static void** q_buf;
static size_t q_head, q_tail, q_cap;
static double q_out, q_end;
static void* q_consumer(void* u) {
  (void)u;
  double due = 0;
  while (now() < q_end) {
    for (due += q_out / 10; due >= 1024; due -= 1024) {
      pthread_mutex_lock(&q_mu);
      void* m = q_head < q_tail ? q_buf[q_head++ % q_cap] : 0;
      pthread_mutex_unlock(&q_mu);
      if (!m) {
        due = 0;
        break;
      }
      free(m);
    }
    nap(0.1);
  }
  return 0;
}
static void m_queue(long in, long out) {
  q_cap = 1 << 22;  // 4 M messages: 4 GiB of backlog, more than any window here
  q_buf = malloc(q_cap * sizeof *q_buf);
  q_out = (double)out;
  q_end = now() + T;
  pthread_t c;
  if (pthread_create(&c, 0, q_consumer, 0)) abort();
  double due = 0;
  while (now() < q_end) {
    for (due += in / 10.0; due >= 1024; due -= 1024) {
      void* m = malloc(1024);
      memset(m, 8, 1024);
      pthread_mutex_lock(&q_mu);
      if (q_tail - q_head < q_cap) q_buf[q_tail++ % q_cap] = m;
      pthread_mutex_unlock(&q_mu);
    }
    nap(0.1);
  }
  pthread_join(c, 0);
}
// streams opened and never closed: every 50 ms a temp file fopen'd, written (its 4 KiB stdio
// buffer malloc'd), unlinked, never fclose'd: the FILE and its buffer leak (~90 KiB/s, up to
// the descriptor limit)
static void m_fopenleak(void) {
  double end = now() + T;
  char path[64];
  int k = 0;
  while (now() < end) {
    snprintf(path, sizeof path, "/tmp/probe-fopen-%d-%d", (int)getpid(), k++);
    FILE* f = fopen(path, "w+");
    if (f) {
      fputs("probe\n", f);
      unlink(path);
    }
    churn(50);
    nap(0.05);
  }
}
// survivors kept for good: every 0.5 s a burst of SIZE MiB (default 8) of 512 B blocks, all
// freed but 64 picked at random, which are kept to the end (never freed): the books grow 64 KiB/s
// while each survivor pins its page among the freed ones (leak; RSS grows faster than the books)
static void m_fragleak(long size_mib) {
  if (size_mib <= 0) size_mib = 8;
  size_t nb = (size_t)size_mib * 2048;
  void** v = malloc(nb * sizeof *v);
  double end = now() + T;
  while (now() < end) {
    for (size_t i = 0; i < nb; i++) memset(v[i] = malloc(512), 4, 512);
    for (int k = 0; k < 64; k++) v[(size_t)rand() % nb] = 0;  // kept: only the list forgets them
    for (size_t i = 0; i < nb; i++) free(v[i]);
    nap(0.5);
  }
}
// a backlog drained: SIZE MiB (default 200) of 1 KiB messages queued in the first 2 s, then the
// oldest freed at SIZE / (1.25 T) MiB/s, so 80 % of it is gone at the window's end (what the
// program holds falls; the allocator may keep what it freed: retention, never growth)
static void m_drain(long size_mib) {
  if (size_mib <= 0) size_mib = 200;
  size_t nb = (size_t)size_mib * 1024, head = 0;
  void** v = malloc(nb * sizeof *v);
  double start = now(), end = start + T;
  for (size_t i = 0; i < nb; i++) {
    memset(v[i] = malloc(1024), 3, 1024);
    if (i % 16384 == 0 && now() < start + 2.0 * i / nb) nap(start + 2.0 * i / nb - now());
  }
  double due = 0;
  while (now() < end) {
    for (due += (double)nb / (1.25 * T) / 10; due >= 1 && head < nb; due -= 1) free(v[head++]);
    churn(100);
    nap(0.1);
  }
}
// a daemon: the target forks, its parent exits after 1 s, the child (setsid) runs bigslow(LEVEL
// MiB, RATE B/s) for the window: the process a user starts is gone, the leak goes on
static void m_daemon(long level_mib, long rate) {
  pid_t c = fork();
  if (c == 0) {
    setsid();
    m_bigslow(level_mib, rate);
    _exit(0);
  }
  nap(1);
}
int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: probe MODE SECONDS [ARG]\n");
    return 2;
  }
  const char* m = argv[1];
  T = atof(argv[2]);
  long a = argc > 3 ? atol(argv[3]) : 0;
  long b = argc > 4 ? atol(argv[4]) : 0;
  if (!strcmp(m, "realloc"))
    m_realloc(a);
  else if (!strcmp(m, "aligned"))
    m_aligned(a);
  else if (!strcmp(m, "hash"))
    m_hash((int)a);
  else if (!strcmp(m, "memfd"))
    m_memfd(a);
  else if (!strcmp(m, "lazy"))
    m_lazy(a << 20, (int)b);
  else if (!strcmp(m, "cache"))
    m_cache(a);
  else if (!strcmp(m, "trim"))
    m_trim((int)a);
  else if (!strcmp(m, "threads"))
    m_threads((int)a);
  else if (!strcmp(m, "detached"))
    m_detached();
  else if (!strcmp(m, "bigslow"))
    m_bigslow(a, b);
  else if (!strcmp(m, "filemap"))
    m_filemap(a);
  else if (!strcmp(m, "mapleak"))
    m_mapleak(a);
  else if (!strcmp(m, "onethread"))
    m_onethread((int)a, b);
  else if (!strcmp(m, "vecdouble"))
    m_vecdouble(a);
  else if (!strcmp(m, "kbuf"))
    m_kbuf((int)a);
  else if (!strcmp(m, "tlcache"))
    m_tlcache((int)a);
  else if (!strcmp(m, "lrulate"))
    m_lrulate(a, b);
  else if (!strcmp(m, "sparse"))
    m_sparse(a);
  else if (!strcmp(m, "shortthreads"))
    m_shortthreads(a);
  else if (!strcmp(m, "burstleak"))
    m_burstleak(a, b);
  else if (!strcmp(m, "forkleak"))
    m_forkleak(a, b);
  else if (!strcmp(m, "free90"))
    m_free90(a);
  else if (!strcmp(m, "logkeys"))
    m_logkeys(a);
  else if (!strcmp(m, "threadleak"))
    m_threadleak((int)a);
  else if (!strcmp(m, "fragramp"))
    m_fragramp(a);
  else if (!strcmp(m, "sineleak"))
    m_sineleak(a, b);
  else if (!strcmp(m, "warmleak"))
    m_warmleak(a, b, argc > 5 && atoi(argv[5]));
  else if (!strcmp(m, "arenaramp"))
    m_arenaramp(a, b);
  else if (!strcmp(m, "rawgrow"))
    m_rawgrow(a, b);
  else if (!strcmp(m, "sinecache"))
    m_sinecache(a, b);
  else if (!strcmp(m, "lateleak"))
    m_window_leak(a, 0.6, 1.01);
  else if (!strcmp(m, "stopleak"))
    m_window_leak(a, 0, 0.4);
  else if (!strcmp(m, "stairs"))
    m_stairs(a, b, argc > 5 ? atol(argv[5]) : 0);
  else if (!strcmp(m, "forkreq"))
    m_forkreq(a, b);
  else if (!strcmp(m, "shmgrow"))
    m_shmgrow(a);
  else if (!strcmp(m, "filegrow"))
    m_filegrow(a);
  else if (!strcmp(m, "tlsleak"))
    m_tlsleak(a, b);
  else if (!strcmp(m, "stepdown"))
    m_stepdown(a, b);
  else if (!strcmp(m, "setenv"))
    m_setenv();
  else if (!strcmp(m, "untouched"))
    m_untouched(a);
  else if (!strcmp(m, "freelist"))
    m_freelist(a);
  else if (!strcmp(m, "workerleak"))
    m_workerleak(a, b);
  else if (!strcmp(m, "exitfree"))
    m_exitfree(a);
  else if (!strcmp(m, "spike"))
    m_spike(a, b);
  else if (!strcmp(m, "alias"))
    m_alias(a, b);
  else if (!strcmp(m, "queue"))
    m_queue(a, b);
  else if (!strcmp(m, "fopenleak"))
    m_fopenleak();
  else if (!strcmp(m, "fragleak"))
    m_fragleak(a);
  else if (!strcmp(m, "drain"))
    m_drain(a);
  else if (!strcmp(m, "daemon"))
    m_daemon(a, b);
  else {
    fprintf(stderr, "probe: unknown mode %s\n", m);
    return 2;
  }
  printf("probe %s done\n", m);
  return 0;
}
