// SPDX-License-Identifier: Apache-2.0
// Anonymous mmap from named functions, then munmap of parts, mremap, MAP_FIXED over a mapping
// and a file mapping, so that the interposer's mmap.<seq>.heap can be checked call site by call
// site (mmap_sites_test.py). What stays mapped, by the function that mapped it:
//   map_kept     4 x 1 MiB, minus a 256 KiB hole, a 128 KiB head and a 64 KiB tail = 3648 KiB
//   map_freed    2 MiB, all unmapped again                                          = 0
//   map_moved    512 KiB, then grown by grow_moved (mremap, may move)               = 0
//   grow_moved   the mremap result                                                  = 1536 KiB
//   map_covered  1 MiB; its second half replaced by cover_fixed; then a 256 KiB munmap
//                across both (128 KiB from each)                                    = 384 KiB
//   cover_fixed  512 KiB with MAP_FIXED, less 128 KiB                               = 384 KiB
//   map_file     4 KiB of this program's file (not anonymous: not counted)          = 0
// Total 5952 KiB. Between the calls, use_allocator() makes the allocator map memory of its own
// (large blocks kept and freed, small ones on two threads): under jemalloc, mimalloc, tcmalloc
// or tbbmalloc those maps go through the same exported mmap and must not be counted as the
// program's. Prints nothing; exit 0, or 1 with a line on stderr if a call failed.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kKiB = 1024;

void* check(void* p, const char* what) {
  if (p == MAP_FAILED) {
    std::perror(what);
    std::exit(1);
  }
  return p;
}

void check_rc(int rc, const char* what) {
  if (rc != 0) {
    std::perror(what);
    std::exit(1);
  }
}

// A macro, not a function: the mmap call must be in the named function itself, whatever the
// compiler inlines.
#define ANON(len)           \
  static_cast<char*>(check( \
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), "mmap"))

// noipa: each is a frame of its own (not inlined, cloned or folded with its twin), the call
// site the dump must name.
__attribute__((noipa)) char* map_kept() { return ANON(1024 * kKiB); }
__attribute__((noipa)) char* map_freed() { return ANON(2048 * kKiB); }
__attribute__((noipa)) char* map_moved() { return ANON(512 * kKiB); }
__attribute__((noipa)) char* grow_moved(char* p) {
  return static_cast<char*>(check(mremap(p, 512 * kKiB, 1536 * kKiB, MREMAP_MAYMOVE), "mremap"));
}
__attribute__((noipa)) char* map_covered() { return ANON(1024 * kKiB); }
__attribute__((noipa)) char* cover_fixed(char* at) {
  return static_cast<char*>(check(
      mmap(at, 512 * kKiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
      "mmap MAP_FIXED"));
}
__attribute__((noipa)) void* map_file(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(path);
    std::exit(1);
  }
  void* p = check(mmap(nullptr, 4 * kKiB, PROT_READ, MAP_PRIVATE, fd, 0), "mmap file");
  close(fd);
  return p;
}

// Large blocks (each allocator maps these from the system) and small ones from two threads
// (each thread's first allocation makes mimalloc and tbbmalloc map a heap for it); a few
// stay allocated to the end.
__attribute__((noipa)) void use_allocator(std::vector<void*>& keep) {
  auto churn = [](unsigned seed) {
    std::vector<void*> v;
    for (unsigned i = 0; i < 20000; ++i) {
      v.push_back(std::malloc(16 + (i * 2654435761u + seed) % 2000));
      if (v.size() > 512) {
        std::free(v[(i * 40503u) % v.size()]);
        v[(i * 40503u) % v.size()] = v.back();
        v.pop_back();
      }
    }
    for (void* p : v) std::free(p);
  };
  std::thread a(churn, 1), b(churn, 2);
  a.join();
  b.join();
  for (std::size_t mib : {1, 3, 8, 33}) {
    void* p = std::malloc(mib << 20);
    if (!p) {
      std::fprintf(stderr, "malloc %zu MiB failed\n", mib);
      std::exit(1);
    }
    std::memset(p, 1, 4096);
    if (mib == 3 || mib == 33)
      keep.push_back(p);
    else
      std::free(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  std::vector<void*> keep;
  use_allocator(keep);
  char* kept[4];
  for (auto& k : kept) k = map_kept();
  check_rc(munmap(kept[0] + 384 * kKiB, 256 * kKiB), "munmap hole");
  check_rc(munmap(kept[1], 128 * kKiB), "munmap head");
  check_rc(munmap(kept[2] + 960 * kKiB, 64 * kKiB), "munmap tail");

  char* freed = map_freed();
  freed[0] = 1;
  check_rc(munmap(freed, 2048 * kKiB), "munmap all");

  char* moved = grow_moved(map_moved());
  moved[0] = 1;

  char* covered = map_covered();
  cover_fixed(covered + 512 * kKiB);
  check_rc(munmap(covered + 384 * kKiB, 256 * kKiB), "munmap across");

  map_file(argv[0]);
  use_allocator(keep);
  // Stay a little, so that the sampler writes a dump or two before the one at exit.
  usleep(300 * 1000);
  for (void* p : keep) std::free(p);
  return 0;
}
