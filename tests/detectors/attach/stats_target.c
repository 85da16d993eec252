// SPDX-License-Identifier: Apache-2.0
// The target of the level stats tests (stats_test.py): ticks every 50 ms, each printing one line
// "<i> <f(i)>" that a test can check for gaps and for being the same as a run never attached,
// and reporting any failed or interrupted syscall ("ERROR ...", exit 1): a restart that went
// wrong after the injection shows as EINTR or errno 514 here.
// usage: stats_target leak|bounded [--ring N] [--threads N [--spin]] [--read] [--churn N]
//                     [--dlopen LIB [--dlopen-after FILE]] [--dlopen-loop LIB] [--maps N]
//                     [--relro-writable]
//   leak: keeps a 64 KiB block per tick, allocated in stats_target_leaky_keep (the call site
//   level sample must name; the books grow); bounded: frees it again after 64 ticks
//   (--ring N: after N ticks, 1 <= N <= 64); every tick also allocates and frees small blocks
//   through calloc, realloc, reallocarray and posix_memalign (level count's hooks see each).
//   --threads N: N more threads, each a short burst of user code and one malloc/free every
//   50 ms, asleep in nanosleep otherwise (64 of them use about a tenth of a core, so a ctest
//   case does not starve the machine); --spin: they spin instead, in user code and the
//   allocator, never sleeping (the worst case, for a run by hand: N spinners take every core).
//   --read: between ticks the main thread blocks in read(2) on stdin, one byte per tick.
//   --churn N: N more threads that never sleep, each cycling 64 blocks through malloc, calloc,
//   realloc, posix_memalign and free as fast as it can (level count's table under contention;
//   at most 64 blocks of at most 8 KiB live per thread).
//   --dlopen LIB: at tick 40 (2 s) dlopens LIB and from then on calls its count_plugin_keep
//   (64 KiB kept per tick, by the library's own malloc call); --dlopen-after FILE: at the first
//   tick at which FILE exists instead (a test creates it once the attach is in).
//   --dlopen-loop LIB: one more thread that never sleeps, each turn dlopening LIB (RTLD_NOW,
//   a library with full RELRO: relro_plugin.c), calling its relro_plugin_churn (a malloc and a
//   free through its own GOT) and dlclosing it: the loader making fresh RELRO pages read-only
//   all the time while an attach patches (count_relro). A failed turn prints ERROR, exit 1.
//   --maps N: before the first tick, N more mappings, one page each, alternately read-only and
//   read-write (one region mprotected page by page, so the kernel cannot merge them): a
//   /proc/self/maps of about 48 bytes a line, over 256 KiB from N = 5500 (count_bigmaps).
//   --relro-writable: before the first tick, the program makes its own PT_GNU_RELRO pages
//   writable again and keeps them so (built with -z now, its malloc and free slots are there:
//   attach_stats_target_now, count_relro_writable). Prints ERROR and exits 1 if it cannot.
#define _GNU_SOURCE  // reallocarray
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long g_spin;

// The leak's own call site (leak mode): level sample's profile names this function.
__attribute__((noinline)) char* stats_target_leaky_keep(size_t n) {
  char* p = malloc(n);
  __asm__ volatile("" ::: "memory");  // no tail call: this frame is the caller of malloc
  return p;
}

// arg non-NULL: spin; NULL: a burst of about 20,000 additions (tens of us), one malloc/free, then
// 50 ms in nanosleep. The threads wake at different times, so an attach finds some in user code,
// now and then one in the allocator, most asleep.
static void* worker(void* arg) {
  const int spin = arg != NULL;
  const struct timespec nap = {0, 50 * 1000 * 1000};
  for (;;) {
    const int burst = spin ? 1000000 : 20000;
    for (int i = 0; i < burst; ++i) g_spin += (unsigned long)i;  // user code only
    void* p = malloc(256);                                       // and the allocator now and then
    free(p);
    if (!spin) nanosleep(&nap, NULL);
  }
  return NULL;
}

// --churn: a tight loop through the malloc family, 64 blocks held at a time.
static void* churner(void* arg) {
  unsigned s = (unsigned)(unsigned long)arg * 7919u + 1u;
  void* slot[64] = {0};
  for (;;) {
    s = s * 1103515245u + 12345u;
    const unsigned k = (s >> 8) & 63;
    free(slot[k]);
    switch ((s >> 16) & 3) {
      case 0:
        slot[k] = malloc((s >> 4) & 4095);
        break;
      case 1:
        slot[k] = calloc(1, (s >> 4) & 1023);
        break;
      case 2:
        slot[k] = realloc(malloc(32), (s >> 6) & 8191);
        break;
      default:
        if (posix_memalign(&slot[k], 64, 100) != 0) slot[k] = NULL;
    }
  }
  return NULL;
}

// --dlopen-loop: dlopen, one call, dlclose, for ever.
static void* dlopen_loop(void* arg) {
  const char* lib = arg;
  for (;;) {
    void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    int (*churn)(int) = h ? (int (*)(int))dlsym(h, "relro_plugin_churn") : NULL;
    if (!churn || churn(100) <= 0) {
      printf("ERROR dlopen-loop %s: %s\n", lib, h ? "no relro_plugin_churn" : dlerror());
      fflush(stdout);
      exit(1);
    }
    dlclose(h);
  }
  return NULL;
}

// --relro-writable: the first object dl_iterate_phdr gives is the program; its PT_GNU_RELRO, as
// glibc rounds it (start and end down to a page), made writable. 0 done, -1 nothing to do or
// failed.
static int relro_writable(struct dl_phdr_info* info, size_t size, void* rc) {
  (void)size;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_GNU_RELRO) continue;
    const uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
    const uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
    if (hi > lo && mprotect((void*)lo, hi - lo, PROT_READ | PROT_WRITE) == 0) *(int*)rc = 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || (strcmp(argv[1], "leak") != 0 && strcmp(argv[1], "bounded") != 0)) {
    fprintf(stderr,
            "usage: stats_target leak|bounded [--ring N] [--threads N [--spin]] [--read] "
            "[--churn N] [--dlopen LIB [--dlopen-after FILE]] [--dlopen-loop LIB] [--maps N] "
            "[--relro-writable]\n");
    return 2;
  }
  const int leak = strcmp(argv[1], "leak") == 0;
  int threads = 0, use_read = 0, spin = 0, ring_n = 64, churn = 0;
  long maps = 0;
  const char* plugin_path = NULL;
  const char* trigger = NULL;
  const char* loop_lib = NULL;
  void* (*plugin_keep)(size_t) = NULL;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
    if (strcmp(argv[i], "--read") == 0) use_read = 1;
    if (strcmp(argv[i], "--spin") == 0) spin = 1;
    if (strcmp(argv[i], "--ring") == 0 && i + 1 < argc) ring_n = atoi(argv[++i]);
    if (strcmp(argv[i], "--dlopen") == 0 && i + 1 < argc) plugin_path = argv[++i];
    if (strcmp(argv[i], "--dlopen-after") == 0 && i + 1 < argc) trigger = argv[++i];
    if (strcmp(argv[i], "--churn") == 0 && i + 1 < argc) churn = atoi(argv[++i]);
    if (strcmp(argv[i], "--dlopen-loop") == 0 && i + 1 < argc) loop_lib = argv[++i];
    if (strcmp(argv[i], "--maps") == 0 && i + 1 < argc) maps = atol(argv[++i]);
    if (strcmp(argv[i], "--relro-writable") == 0) {
      int rc = -1;
      dl_iterate_phdr(relro_writable, &rc);
      if (rc != 0) {
        printf("ERROR --relro-writable: no RELRO page made writable (errno %d)\n", errno);
        return 1;
      }
    }
  }
  if (maps > 0) {
    const long page = sysconf(_SC_PAGESIZE);
    char* region = mmap(NULL, (size_t)(maps * page), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
      printf("ERROR mmap of %ld pages errno %d\n", maps, errno);
      return 1;
    }
    for (long k = 1; k < maps; k += 2)
      if (mprotect(region + k * page, (size_t)page, PROT_READ | PROT_WRITE) != 0) {
        printf("ERROR mprotect errno %d (vm.max_map_count?)\n", errno);
        return 1;
      }
  }
  if (ring_n < 1 || ring_n > 64) ring_n = 64;
  for (int t = 0; t < threads; ++t) {
    pthread_t th;
    if (pthread_create(&th, NULL, worker, spin ? &spin : NULL) != 0) {
      printf("ERROR pthread_create\n");
      return 1;
    }
  }
  for (int t = 0; t < churn; ++t) {
    pthread_t th;
    if (pthread_create(&th, NULL, churner, (void*)(unsigned long)t) != 0) {
      printf("ERROR pthread_create\n");
      return 1;
    }
  }
  if (loop_lib) {
    pthread_t th;
    if (pthread_create(&th, NULL, dlopen_loop, (void*)loop_lib) != 0) {
      printf("ERROR pthread_create\n");
      return 1;
    }
  }
  enum { kRing = 64, kBlock = 64 << 10 };
  char* ring[kRing] = {0};
  for (unsigned long i = 0;; ++i) {
    char* p = leak ? stats_target_leaky_keep(kBlock) : malloc(kBlock);
    memset(p, (int)(i & 0xff), kBlock);
    if (!leak) {
      free(ring[i % ring_n]);
      ring[i % ring_n] = p;
    }
    if (plugin_path && !plugin_keep && (trigger ? access(trigger, F_OK) == 0 : i == 40)) {
      void* h = dlopen(plugin_path, RTLD_NOW);
      plugin_keep = h ? (void* (*)(size_t))dlsym(h, "count_plugin_keep") : NULL;
      if (!plugin_keep) {
        printf("ERROR dlopen %s: %s\n", plugin_path, dlerror());
        fflush(stdout);
        return 1;
      }
    }
    if (plugin_keep) plugin_keep(kBlock);
    // Small blocks in and out through the rest of the family: nothing kept.
    char* c = calloc(16, 8);
    c = realloc(c, 512);
    c = reallocarray(c, 64, 16);
    void* a = NULL;
    if (posix_memalign(&a, 64, 256) == 0) free(a);
    free(c);
    printf("%lu %lu\n", i, (i * i) % 9973);
    fflush(stdout);
    if (use_read) {
      char c;
      const ssize_t n = read(0, &c, 1);
      if (n == 0) return 0;  // the test closed the pipe
      if (n != 1) {
        printf("ERROR read returned %zd errno %d\n", n, errno);
        fflush(stdout);
        return 1;
      }
    } else {
      const struct timespec tick = {0, 50 * 1000 * 1000};
      if (nanosleep(&tick, NULL) != 0) {
        printf("ERROR nanosleep errno %d\n", errno);
        fflush(stdout);
        return 1;
      }
    }
  }
}
