// SPDX-License-Identifier: Apache-2.0
// wl_mmap_scan (seed task 4, zero-copy reads): writes a --size file of pseudo-random bytes in
// a temp dir (removed on every exit path, SIGINT included), checksums it by indexing a
// read-only MAP_SHARED mapping and again with buffered read(2); counts the read syscalls of
// each pass with /proc/self/io syscr (proc(5)) instead of strace.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/temp_file.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;
namespace procfs = arenalab::procfs;

namespace {
struct Sum {
  std::uint64_t sum = 0;    // sum of all bytes
  std::uint64_t count = 0;  // occurrences of 0xAB
  bool operator==(const Sum&) const = default;
};
inline void add(Sum* s, const unsigned char* p, std::size_t n) {
  std::uint64_t sum = 0, count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += p[i];
    count += p[i] == 0xAB;
  }
  s->sum += sum;
  s->count += count;
}
double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// syscr now, or nullopt when /proc/self/io is unreadable (some hardened kernels).
std::optional<std::uint64_t> syscr() {
  auto io = procfs::read_io();
  if (!io) return std::nullopt;
  return io->syscr;
}
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("mmap_scan", "checksum a file through a read-only mapping and with read()");
  std::uint64_t size = 512ULL << 20, buffer = 64ULL << 10;
  std::string dir = wl::temp_dir();
  bool cold = false;
  h.size_flag("size", &size, 16ULL << 20, "file size");
  h.size_flag("buffer", &buffer, 64ULL << 10, "read() buffer size for the buffered pass");
  h.string_flag("dir", &dir, "directory for the temporary file");
  h.bool_flag("cold", &cold, "drop the file from the page cache before each pass (fadvise)");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (size == 0 || buffer == 0) {
    std::fprintf(stderr, "wl_mmap_scan: --size and --buffer must be > 0\n");
    return 2;
  }

  wl::TempFile file(dir, "mmap-scan");
  if (file.fd() < 0) {
    std::fprintf(stderr, "wl_mmap_scan: %s\n", file.error().c_str());
    return 1;
  }
  h.progress("writing " + format_bytes(static_cast<double>(size)) + " to " + file.path());
  {
    std::vector<unsigned char> chunk(1 << 20);
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;  // xorshift64: cheap, deterministic content
    for (std::uint64_t done = 0; done < size;) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done));
      for (std::size_t i = 0; i < n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(chunk.data() + i, &x, std::min<std::size_t>(8, n - i));
      }
      if (::write(file.fd(), chunk.data(), n) != static_cast<ssize_t>(n)) {
        std::fprintf(stderr, "wl_mmap_scan: writing %s failed: %s\n", file.path().c_str(),
                     std::strerror(errno));
        return 1;  // the TempFile destructor removes the file
      }
      done += n;
    }
  }
  auto drop_cache = [&] {
    if (!cold) return;
    ::fdatasync(file.fd());
    ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
  };

  // What reading /proc/self/io itself costs in read syscalls, so it can be subtracted.
  const auto c0 = syscr(), c1 = syscr();
  const bool io_ok = c0 && c1;
  const std::uint64_t probe_cost = io_ok ? *c1 - *c0 : 0;

  // Pass 1: index a read-only mapping.
  drop_cache();
  h.progress("checksum through the mapping");
  const auto r0 = syscr();
  const double t0 = now_ms();
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd(), 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "wl_mmap_scan: mmap of %s failed: %s\n", file.path().c_str(),
                 std::strerror(errno));
    return 1;
  }
  Sum by_map;
  add(&by_map, static_cast<const unsigned char*>(m), size);
  const double t1 = now_ms();
  const auto r1 = syscr();
  const auto mapped_at = reinterpret_cast<std::uintptr_t>(m);
  const bool was_mapped = static_cast<bool>(procfs::mapping_containing(mapped_at));
  ::munmap(m, size);
  const bool still_mapped = static_cast<bool>(procfs::mapping_containing(mapped_at));

  // Pass 2: buffered read().
  drop_cache();
  h.progress("checksum with read()");
  std::vector<unsigned char> buf(buffer);
  Sum by_read;
  const auto r2 = syscr();
  const double t2 = now_ms();
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(file.fd(), buf.data(), buf.size(), off);
    if (n < 0) {
      std::fprintf(stderr, "wl_mmap_scan: reading %s failed: %s\n", file.path().c_str(),
                   std::strerror(errno));
      return 1;
    }
    if (n == 0) break;
    add(&by_read, buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  const double t3 = now_ms();
  const auto r3 = syscr();
  const std::string path = file.path();
  file.remove();
  struct stat st {};
  const bool removed = ::stat(path.c_str(), &st) != 0 && errno == ENOENT;

  const double mb = static_cast<double>(size) / 1e6;
  const double map_mbs = mb / ((t1 - t0) / 1000.0), read_mbs = mb / ((t3 - t2) / 1000.0);
  h.measure("file_bytes", size);
  h.measure("checksum_sum", by_map.sum);
  h.measure("checksum_count_ab", by_map.count);
  h.measure("mmap_ms", t1 - t0);
  h.measure("read_ms", t3 - t2);
  h.measure("mmap_mb_per_s", map_mbs);
  h.measure("read_mb_per_s", read_mbs);
  h.throughput(map_mbs, "MB/s");
  h.row("file",
        format_bytes(static_cast<double>(size)) + (cold ? " (cold cache)" : " (page cache warm)"));
  h.row("mmap pass", std::to_string(static_cast<long long>(map_mbs)) + " MB/s");
  h.row("read() pass", std::to_string(static_cast<long long>(read_mbs)) + " MB/s (" +
                           format_bytes(static_cast<double>(buffer)) + " buffer)");
  h.check("checksums_equal", by_map == by_read,
          "mapping: sum " + std::to_string(by_map.sum) + ", 0xAB x" + std::to_string(by_map.count) +
              "; read(): sum " + std::to_string(by_read.sum) + ", 0xAB x" +
              std::to_string(by_read.count));
  if (io_ok && r0 && r1 && r2 && r3) {
    const std::int64_t map_reads =
        static_cast<std::int64_t>(*r1 - *r0) - static_cast<std::int64_t>(probe_cost);
    const std::int64_t read_reads =
        static_cast<std::int64_t>(*r3 - *r2) - static_cast<std::int64_t>(probe_cost);
    h.measure("mmap_read_syscalls", map_reads);
    h.measure("read_read_syscalls", read_reads);
    h.row("read syscalls: mmap / read()",
          std::to_string(map_reads) + " / " + std::to_string(read_reads));
    h.check("mmap_zero_reads", map_reads == 0,
            std::to_string(map_reads) + " read syscalls during the mmap pass (syscr delta minus " +
                std::to_string(probe_cost) + " for reading /proc/self/io)");
    h.check("read_pass_counted", read_reads >= static_cast<std::int64_t>(size / buffer),
            std::to_string(read_reads) + " read syscalls for the read() pass (the counter works)");
  } else {
    h.skip_check("mmap_zero_reads", "/proc/self/io is not readable here");
  }
  h.check("unmapped", was_mapped && !still_mapped,
          std::string("mapping ") + (was_mapped ? "listed" : "NOT listed") +
              " in /proc/self/smaps while mapped and " + (still_mapped ? "still" : "no longer") +
              " listed after munmap");
  h.check("temp_removed", removed, path + (removed ? " removed" : " still exists"));
  h.note(
      "The mapping's pages are the page cache's own pages: page faults, not read() copies, "
      "bring them in.");
  return h.finish();
}
