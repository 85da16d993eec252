// SPDX-License-Identifier: Apache-2.0
// The program the interposer survival tests run under `arenalab run`: one scenario per
// argument (entry points, threads, fork, exec, dlopen, signals, _exit, abort, deepbind, ...).
// Where the interposer counts (arenalab_preload_counters), it checks that live bytes return
// exactly to the baseline. Prints "ok <scenario>" and exits 0, or names the failure, exit 1.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/gauge.h"

namespace {

extern "C" void* early_block(int i);  // early_lib.c
extern "C" void early_release();

using CountersFn = int (*)(long long*);
CountersFn counters_fn() {
  return reinterpret_cast<CountersFn>(dlsym(RTLD_DEFAULT, "arenalab_preload_counters"));
}

struct Snapshot {
  int mode = -2;  // -2: no interposer, -1: passive, 0: stats, else mode bits
  long long bytes = 0, allocs = 0, mmap = 0;
};

Snapshot snap() {
  Snapshot s;
  if (auto fn = counters_fn()) {
    long long v[3] = {0, 0, 0};
    s.mode = fn(v);
    s.bytes = v[0];
    s.allocs = v[1];
    s.mmap = v[2];
  }
  return s;
}

bool counting(const Snapshot& s) { return s.mode > 0 && (s.mode & 1); }
bool mmap_counting(const Snapshot& s) { return s.mode > 0 && (s.mode & 8); }

int failures = 0;
void check(bool ok, const char* what, long long a = 0, long long b = 0) {
  if (!ok) {
    std::fprintf(stderr, "FAIL %s (%lld vs %lld)\n", what, a, b);
    ++failures;
  }
}

// Balance check: live bytes and allocation count back to the baseline, exactly.
void check_balanced(const Snapshot& before, const char* what) {
  const Snapshot after = snap();
  if (counting(before)) {
    check(after.bytes == before.bytes, what, after.bytes, before.bytes);
    check(after.allocs == before.allocs, what, after.allocs, before.allocs);
  }
  if (mmap_counting(before)) check(after.mmap == before.mmap, what, after.mmap, before.mmap);
}

// Whether `name` resolves into the same object as the malloc that is called.
bool defined_beside_malloc(const char* name) {
  Dl_info m{}, n{};
  void* fm = dlsym(RTLD_DEFAULT, "malloc");
  void* fn = dlsym(RTLD_DEFAULT, name);
  return fm && fn && dladdr(fm, &m) && dladdr(fn, &n) && m.dli_fbase == n.dli_fbase;
}

void scenario_entry() {
  // Warm up anything lazily allocated by the checks themselves (dlsym, stdio).
  std::fprintf(stderr, "%s", "");
  snap();
  const Snapshot base = snap();
  void* a = std::malloc(1000);
  const Snapshot grown = snap();
  if (counting(base)) {
    check(grown.bytes >= base.bytes + 1000, "malloc counted", grown.bytes, base.bytes);
    check(grown.allocs == base.allocs + 1, "malloc counted once", grown.allocs, base.allocs);
  }
  void* b = std::calloc(10, 100);
  a = std::realloc(a, 5000);
  a = std::realloc(a, 10);
  // jemalloc 5.3 defines no reallocarray or pvalloc: glibc's then return glibc blocks that
  // jemalloc's free cannot take, and the bare program crashes. The interposer rebuilds them on
  // the allocator's own entry points; without it (stats mode preloads no hook) they are only
  // called where the malloc that is called defines them too.
  const bool has_reallocarray = defined_beside_malloc("reallocarray");
  const bool has_pvalloc = defined_beside_malloc("pvalloc");
  void* c = has_reallocarray ? reallocarray(nullptr, 16, 64) : std::malloc(16 * 64);
  if (has_reallocarray) c = reallocarray(c, 32, 64);
  void* d = nullptr;
  check(posix_memalign(&d, 64, 300) == 0, "posix_memalign");
  void* e = aligned_alloc(4096, 8192);
  void* f = memalign(256, 777);
  void* g = valloc(100);
  void* h = has_pvalloc ? pvalloc(100) : valloc(4096);
  check(malloc_usable_size(a) >= 10, "malloc_usable_size",
        static_cast<long long>(malloc_usable_size(a)), 10);
  check(malloc_usable_size(e) >= 8192, "malloc_usable_size aligned");
  check(reinterpret_cast<uintptr_t>(e) % 4096 == 0, "aligned_alloc alignment");
  check(reinterpret_cast<uintptr_t>(f) % 256 == 0, "memalign alignment");
  void* big = std::malloc(64 << 20);  // an mmapped chunk in glibc
  std::memset(big, 1, 4096);
  std::free(big);
  auto* n1 = new int(5);
  auto* n2 = new int[100];
  auto* n3 = new (std::nothrow) char[300];
  struct alignas(128) Wide {
    char x[200];
  };
  auto* n4 = new Wide;
  auto* n5 = new Wide[3];
  auto* n6 = new (std::nothrow) Wide;
  std::string s(1000, 'x');
  std::vector<int> v(5000, 1);
  delete n1;
  delete[] n2;
  delete[] n3;
  delete n4;
  delete[] n5;
  delete n6;
  ::operator delete(::operator new(64), static_cast<std::size_t>(64));  // sized delete
  ::operator delete (::operator new (64, std::align_val_t{64}), std::align_val_t{64});
  using FreeSized = void (*)(void*, size_t);
  if (auto fs = reinterpret_cast<FreeSized>(dlsym(RTLD_DEFAULT, "free_sized")))
    fs(std::malloc(40), 40);
  using FreeAlignedSized = void (*)(void*, size_t, size_t);
  if (auto fas = reinterpret_cast<FreeAlignedSized>(dlsym(RTLD_DEFAULT, "free_aligned_sized")))
    fas(aligned_alloc(64, 128), 64, 128);
  std::free(a);
  std::free(b);
  std::free(c);
  std::free(d);
  std::free(e);
  std::free(f);
  std::free(g);
  std::free(h);
  std::free(nullptr);
  std::free(std::realloc(nullptr, 50));
  std::free(std::malloc(0));
  s.clear();
  s.shrink_to_fit();
  v.clear();
  v.shrink_to_fit();
  check_balanced(base, "malloc family back to baseline");

  // Anonymous mappings the program makes itself.
  const Snapshot mbase = snap();
  const size_t mib = 1 << 20;
  char* m = static_cast<char*>(
      mmap(nullptr, 4 * mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  check(m != MAP_FAILED, "mmap");
  char* const orig = m;
  const Snapshot mapped = snap();
  if (mmap_counting(mbase))
    check(mapped.mmap == mbase.mmap + 4 * static_cast<long long>(mib), "mmap counted", mapped.mmap,
          mbase.mmap);
  munmap(m + mib, mib);  // a hole
  m = static_cast<char*>(mremap(m, mib, 3 * mib, MREMAP_MAYMOVE));
  check(m != MAP_FAILED, "mremap");
  void* m64 = mmap64(nullptr, mib, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(m64, mib);
  FILE* self = std::fopen("/proc/self/exe", "rb");
  void* filemap = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fileno(self), 0);
  munmap(filemap, 4096);  // not anonymous: never counted
  std::fclose(self);
  munmap(m, 3 * mib);
  munmap(orig + 2 * mib, 2 * mib);  // the tail of the first mapping
  check_balanced(mbase, "after unmapping the moved part");

  // The program's own break (sbrk, brk): memory it takes outside malloc, counted with its
  // mappings, and returned. Shrunk only when nothing else moved the break meanwhile (glibc's
  // malloc extends it through its internal __sbrk, which these entry points never see).
  const Snapshot bbase = snap();
  char* const b0 = static_cast<char*>(sbrk(0));
  check(sbrk(2 * static_cast<intptr_t>(mib)) == b0, "sbrk");
  const Snapshot bgrown = snap();
  if (mmap_counting(bbase))
    check(bgrown.mmap == bbase.mmap + 2 * static_cast<long long>(mib), "sbrk counted", bgrown.mmap,
          bbase.mmap);
  if (sbrk(0) == b0 + 2 * mib) {
    check(brk(b0 + 3 * mib) == 0, "brk up");
    const Snapshot up = snap();
    if (mmap_counting(bbase))
      check(up.mmap == bbase.mmap + 3 * static_cast<long long>(mib), "brk counted", up.mmap,
            bbase.mmap);
    check(sbrk(-static_cast<intptr_t>(mib)) == b0 + 3 * mib, "sbrk down");
    check(brk(b0) == 0, "brk down");
    check_balanced(bbase, "after the break came back");
  }
}

void threads_round(int kThreads, int kBlocks, const Snapshot* base);

void scenario_threads() {
  // 64 threads; each frees the blocks its neighbour allocated (cross-thread frees). A first
  // round fills glibc's cache of thread stacks (whose TLS vectors stay allocated: live
  // blocks, rightly counted); the second must return exactly to the baseline. Stacks of
  // 256 KiB, so all 64 fit glibc's 40 MiB stack cache: with 8 MiB stacks only a few were
  // cached, and how many new stacks (each with its own TLS allocation) the second round
  // needed depended on scheduling.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
  threads_round(64, 2000, nullptr);
  snap();
  const Snapshot base = snap();
  threads_round(64, 2000, &base);
}

void threads_round(int kThreads, int kBlocks, const Snapshot* base) {
  std::vector<std::vector<void*>> blocks(kThreads, std::vector<void*>(kBlocks));
  std::atomic<int> phase{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      thread_local std::string tl_first_use(100, 't');  // thread_local first use allocates
      for (int i = 0; i < kBlocks; ++i) blocks[t][i] = std::malloc(16 + (i * 37 + t) % 1000);
      phase.fetch_add(1);
      while (phase.load() < kThreads) std::this_thread::yield();
      auto& other = blocks[(t + 1) % kThreads];
      for (int i = 0; i < kBlocks; ++i) std::free(other[i]);
      for (int i = 0; i < 500; ++i) delete[] new char[i + 1];
    });
  for (auto& th : threads) th.join();
  threads.clear();
  threads.shrink_to_fit();
  for (auto& b : blocks) {
    b.clear();
    b.shrink_to_fit();
  }
  blocks.clear();
  blocks.shrink_to_fit();
  // Thread stacks and TLS are freed by glibc when the threads are reaped; thread_local
  // destructors ran at thread exit. In full mode each thread's first unwind made glibc
  // allocate libunwind's TLS block, which outlives the thread until its cached stack is reused:
  // the interposer serves it from its own arena, uncounted, so the bytes too return exactly.
  if (base) check_balanced(*base, "64 threads back to baseline");
}

// child_exit: the child ends with exit(0) (its final sample and heap dump are written) instead
// of _exit(0).
void scenario_fork(bool child_exit = false) {
  std::vector<void*> keep;
  for (int i = 0; i < 1000; ++i) keep.push_back(std::malloc(100));
  const pid_t pid = fork();
  if (pid == 0) {
    // The child keeps working: allocates, frees, starts a thread.
    std::vector<std::string> v;
    for (int i = 0; i < 10000; ++i) v.emplace_back(200, 'c');
    std::thread([] { std::free(std::malloc(1000)); }).join();
    for (void* p : keep) std::free(p);
    std::printf("child ok\n");
    std::fflush(stdout);
    if (child_exit) std::exit(0);
    _exit(0);
  }
  // A failed fork (pid -1) used to pass unseen: waitpid(-1) failed, status stayed 0 ("exit 0").
  if (pid < 0) std::perror("fork");
  int status = 0;
  const pid_t waited = waitpid(pid, &status, 0);
  check(pid > 0 && waited == pid, "fork child started and reaped", pid, waited);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child exit 0");
  for (void* p : keep) std::free(p);
  // The parent keeps allocating after the fork.
  for (int i = 0; i < 10000; ++i) std::free(std::malloc(i % 500 + 1));
  usleep(150 * 1000);  // at least one sample after the fork
}

void scenario_child_report() {
  // Run (via exec) as a child of a traced program: says whether the interposer traces it.
  const Snapshot s = snap();
  std::printf("child mode %d\n", s.mode);
}

void scenario_exec(const char* self) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, "child_report", static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) std::perror("fork");
  int status = 0;
  const pid_t waited = waitpid(pid, &status, 0);
  check(pid > 0 && waited == pid, "exec child started and reaped", pid, waited);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec child exit 0");
}

void scenario_dlopen() {
  // Failed lookups allocate dlerror state and free the previous one. The interposer's own
  // lookups (glibc before 2.40 has no free_sized) allocate theirs from its static bootstrap arena
  // while it resolves; a free of such a block must never reach the allocator.
  for (int i = 0; i < 3; ++i) {
    check(dlsym(RTLD_DEFAULT, "arenalab_no_such_symbol") == nullptr, "dlsym of a missing symbol");
    check(dlerror() != nullptr, "dlerror after a failed dlsym");
  }
  // Had one reached it, the allocator would hand that static memory out again.
  std::vector<void*> blocks;
  for (std::size_t n = 8; n <= 256; n += 8)
    for (int i = 0; i < 8; ++i) blocks.push_back(std::malloc(n));
  for (void* b : blocks) {
    Dl_info info;
    check(dladdr(b, &info) == 0, "a malloc'd block lies inside a loaded object");
  }
  for (void* b : blocks) std::free(b);
  for (int i = 0; i < 200; ++i) {
    void* h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    check(h != nullptr, "dlopen");
    if (!h) return;
    check(dlsym(h, "zlibVersion") != nullptr || dlsym(h, "cos") != nullptr, "dlsym");
    std::free(std::malloc(100));
    dlclose(h);
  }
}

std::atomic<long> g_signals{0};
void on_signal(int) {
  g_signals.fetch_add(1);
  int saved = errno;
  // write(2) only: async-signal-safe.
  (void)!write(-1, "", 0);
  errno = saved;
}

void scenario_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGALRM, &sa, nullptr);
  itimerval tv{{0, 200}, {0, 200}};  // every 200 us while allocating
  setitimer(ITIMER_REAL, &tv, nullptr);
  std::vector<void*> v(1000);
  for (int round = 0; round < 300; ++round) {
    for (auto& p : v) p = std::malloc(64 + round);
    for (auto& p : v) std::free(p);
  }
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  std::printf("signals delivered: %s\n", g_signals.load() > 0 ? "yes" : "no");
}

void scenario_sleep_alloc(int ms) {
  // Allocates steadily for `ms` ms (the SIGKILL test kills it midway).
  std::vector<void*> keep;
  for (int i = 0; i < ms / 5; ++i) {
    for (int j = 0; j < 100; ++j) keep.push_back(std::malloc(1024));
    usleep(5000);
  }
}

void scenario_gauge() {
  // Looked up by name, not through gauge.h's weak declaration: this checks the export.
  auto gauge =
      reinterpret_cast<arenalab_gauge_set_fn>(dlsym(RTLD_DEFAULT, ARENALAB_GAUGE_SET_SYMBOL));
  check(gauge != nullptr, "arenalab_gauge_set exported");
  if (!gauge) return;
  gauge("store.bytes", 12345);
  gauge("queue \"depth\"", 2.5);
  usleep(250 * 1000);
}

void scenario_deepbind(const char* lib) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  check(h != nullptr, "dlopen RTLD_DEEPBIND");
  if (!h) return;
  using Fn = long (*)(int);
  auto fn = reinterpret_cast<Fn>(dlsym(h, "deepbind_churn"));
  check(fn && fn(1000) > 0, "deepbind library works");
  dlclose(h);
}

// Many threads warn at once (issue 21, note_warning): each thread dlopens a missing library of
// its own with RTLD_DEEPBIND, which the interposer notes in preload-warnings.txt on every call,
// all threads released together. warnings_test.py checks every line is whole and counts them.
void scenario_warn_threads() {
  constexpr int kThreads = 16, kCalls = 100;
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([t, &ready] {
      // A long name (300 bytes) so two lines formatted at once overlap in any shared buffer.
      const std::string name =
          "/nonexistent/arenalab-warn-" + std::to_string(t) + "-" + std::string(300, 'a' + t);
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int i = 0; i < kCalls; ++i)
        check(dlopen(name.c_str(), RTLD_NOW | RTLD_DEEPBIND) == nullptr, "missing library");
    });
  for (auto& th : ts) th.join();
}

// Count mode's page table (count_tables.h) under page reuse: each round fills pages with one size
// class through malloc, frees them all, then fills the same memory with other kinds of block
// (calloc, realloc, aligned, large, and mallocs of another class between aligned ones, so an
// aligned block can share a page with plain ones) and frees those, from the front and from the
// back. Live bytes must return exactly to the baseline after every round; survival_test.py
// also checks that the tables' own checks found nothing wrong (no run.json warning).
void scenario_pages() {
  constexpr int kBlocks = 20000;
  std::vector<void*> v(kBlocks);
  std::fprintf(stderr, "%s", "");
  snap();
  const Snapshot base = snap();
  for (int round = 0; round < 6; ++round) {
    const size_t a = 16 + 40 * static_cast<size_t>(round),
                 b = 700 - 90 * static_cast<size_t>(round);
    for (auto& p : v) {
      p = std::malloc(a);
      std::memset(p, 1, a);
    }
    for (auto* p : v) std::free(p);
    for (int i = 0; i < kBlocks; ++i) {
      switch (i % 8) {
        case 0:
          v[i] = std::calloc(1, b);
          break;
        case 1:
          v[i] = std::realloc(std::malloc(8), b);
          break;
        case 2:
          v[i] = memalign(64, b);
          break;
        case 3:
          v[i] = std::malloc(b);
          break;
        case 4:
          v[i] = aligned_alloc(256, 512);
          break;
        // An alignment above the size: mimalloc then serves the block from inside a larger one
        // (100 + 1023 B), in the pages of the class malloc(1123) also uses.
        case 5:
          v[i] = memalign(1024, 100);
          break;
        case 6:
          v[i] = std::malloc(1123);
          break;
        default:
          v[i] = std::malloc(b + 5000 * static_cast<size_t>(i % 7 == 0));
          break;
      }
      check(v[i] != nullptr, "pages: allocation");
    }
    for (int i = 0; i < kBlocks; i += 2) std::free(v[i]);
    for (int i = kBlocks - 1; i > 0; i -= 2) std::free(v[i]);
    check_balanced(base, "pages: back to baseline after a round");
  }
}

// The page table's marks for aligned blocks (count_tables.cc) when the heap outgrows the table
// (pages 128 MiB apart share an entry): 160 MiB of 1123-byte blocks (the class memalign(1024, 100)
// takes its blocks from under mimalloc), with one aligned block made first and freed last
// (`interleaved` false: its page's mark must outlive the pages that share its entry), or an
// aligned block every third (`interleaved` true: every page is marked, so two marked pages
// share an entry, and the tables go off, which survival_test.py expects in run.json). Half the
// blocks are freed and made again in between, so the aligned blocks' pages get plain blocks noted
// after the heap wrapped. Live bytes must return exactly to the baseline either way.
void scenario_pages_alias(bool interleaved) {
  constexpr std::size_t kHeap = 160u << 20, kSize = 1123;
  std::vector<void*> v;
  v.reserve(kHeap / kSize + 1);
  std::fprintf(stderr, "%s", "");
  snap();
  const Snapshot base = snap();
  void* first = memalign(1024, 100);
  for (std::size_t i = 0; i * kSize < kHeap; ++i) {
    v.push_back(interleaved && i % 3 == 0 ? memalign(1024, 100) : std::malloc(kSize));
    check(v.back() != nullptr, "pages_alias: allocation");
  }
  for (std::size_t i = 0; i < v.size(); i += 2) std::free(v[i]);
  for (std::size_t i = 0; i < v.size(); i += 2) v[i] = std::malloc(kSize);
  for (auto* p : v) std::free(p);
  std::free(first);
  check_balanced(base, "pages_alias: back to baseline");
}

// Aligned blocks made before the interposer's constructor (early_lib.c) and freed after count
// mode's tables came on, with plain blocks of their classes noted in their pages meanwhile:
// live bytes must drop by exactly their usable sizes.
void scenario_early() {
  std::vector<void*> v;
  v.reserve(4000);
  std::fprintf(stderr, "%s", "");
  snap();
  const Snapshot base = snap();
  void* a = early_block(0);
  void* b = early_block(1);
  check(a != nullptr && b != nullptr, "early: blocks from the library's constructor");
  const long long ua = static_cast<long long>(malloc_usable_size(a));
  const long long ub = static_cast<long long>(malloc_usable_size(b));
  for (int i = 0; i < 2000; ++i) {
    v.push_back(std::malloc(100 + 255));
    v.push_back(std::malloc(100 + 1023));
  }
  for (auto* p : v) std::free(p);
  early_release();
  const Snapshot after = snap();
  if (counting(base)) {
    check(after.bytes == base.bytes - ua - ub, "early: live bytes", after.bytes,
          base.bytes - ua - ub);
    check(after.allocs == base.allocs - 2, "early: live count", after.allocs, base.allocs - 2);
  }
}

// Allocations from one call site the heap profile must show (sample-mode test).
__attribute__((noinline)) void* hot_site_allocate(size_t n) {
  void* p = std::malloc(n);
  std::memset(p, 0, 64);
  return p;
}
void scenario_hot(int mib) {
  std::vector<void*> keep;
  for (int i = 0; i < mib * 16; ++i) keep.push_back(hot_site_allocate(64 * 1024));
  for (int i = 0; i < 20000; ++i) std::free(std::malloc(100));  // noise, all freed
  usleep(120 * 1000);
  std::printf("hot site holds %d MiB\n", mib);
}

// The same through operator new: libstdc++'s calls malloc inside our hook, and the profile must
// count each block once.
__attribute__((noinline)) void* hot_site_new(size_t n) {
  void* p = ::operator new(n);
  std::memset(p, 0, 64);
  return p;
}
void scenario_hot_new(int mib) {
  std::vector<void*> keep;
  for (int i = 0; i < mib * 16; ++i) keep.push_back(hot_site_new(64 * 1024));
  usleep(120 * 1000);
  std::printf("hot new site holds %d MiB\n", mib);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SCENARIO [ARG]\n", argv[0]);
    return 2;
  }
  const std::string s = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";
  struct Scenario {
    const char* name;
    void (*run)(const char* arg, const char* self);
  };
  static const Scenario kScenarios[] = {
      {"entry", [](const char*, const char*) { scenario_entry(); }},
      {"threads", [](const char*, const char*) { scenario_threads(); }},
      {"fork", [](const char*, const char*) { scenario_fork(); }},
      {"fork_exit", [](const char*, const char*) { scenario_fork(true); }},
      {"exec", [](const char*, const char* self) { scenario_exec(self); }},
      {"child_report", [](const char*, const char*) { scenario_child_report(); }},
      {"dlopen", [](const char*, const char*) { scenario_dlopen(); }},
      {"signals", [](const char*, const char*) { scenario_signals(); }},
      {"exit",
       [](const char*, const char*) {
         std::malloc(1000);
         std::printf("before _exit\n");
         std::fflush(stdout);
         usleep(150 * 1000);
         _exit(3);
       }},
      {"abort",
       [](const char*, const char*) {
         std::malloc(1000);
         usleep(150 * 1000);
         std::abort();
       }},
      {"alloc_for", [](const char* a, const char*) { scenario_sleep_alloc(std::atoi(a)); }},
      {"gauge", [](const char*, const char*) { scenario_gauge(); }},
      {"deepbind", [](const char* a, const char*) { scenario_deepbind(a); }},
      {"warn_threads", [](const char*, const char*) { scenario_warn_threads(); }},
      {"pages", [](const char*, const char*) { scenario_pages(); }},
      {"early", [](const char*, const char*) { scenario_early(); }},
      {"pages_alias", [](const char*, const char*) { scenario_pages_alias(false); }},
      {"pages_alias_marks", [](const char*, const char*) { scenario_pages_alias(true); }},
      {"hot", [](const char* a, const char*) { scenario_hot(std::atoi(a)); }},
      {"hot_new", [](const char* a, const char*) { scenario_hot_new(std::atoi(a)); }},
  };
  const Scenario* chosen = nullptr;
  for (const Scenario& c : kScenarios)
    if (s == c.name) chosen = &c;
  if (!chosen) {
    std::fprintf(stderr, "unknown scenario %s\n", s.c_str());
    return 2;
  }
  chosen->run(arg, argv[0]);
  if (failures) return 1;
  std::printf("ok %s\n", s.c_str());
  return 0;
}
