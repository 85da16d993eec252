// SPDX-License-Identifier: Apache-2.0
// wl_lazy_paging (seed task 5): maps a sparse file larger than RAM (default 2 x MemTotal; no
// disk used), touches one page near each end and reads that mapping's Rss in
// /proc/self/smaps; scans a working-set prefix with MADV_NORMAL and with MADV_SEQUENTIAL
// (madvise(2)), then drops it with MADV_DONTNEED.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "arenalab/core/sizes.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/temp_file.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;
namespace procfs = arenalab::procfs;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// Reads one byte per page of [p, p + bytes); returns the time taken in ms.
double scan(const unsigned char* p, std::uint64_t bytes, std::uint64_t page) {
  const double t0 = now_ms();
  std::uint64_t sum = 0;
  for (std::uint64_t off = 0; off < bytes; off += page)
    sum += static_cast<const volatile unsigned char*>(p)[off];
  wl::keep(sum);
  return now_ms() - t0;
}
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("lazy_paging", "map a sparse file larger than RAM and watch Rss page by page");
  const auto mem = procfs::mem_total();
  std::uint64_t file_size = mem ? 2 * *mem : (8ULL << 30);
  std::uint64_t prefix = 1ULL << 30;
  std::string dir = wl::temp_dir();
  h.size_flag("file-size", &file_size, 1ULL << 30, "sparse file size (default 2 x MemTotal)");
  h.size_flag("prefix", &prefix, 32ULL << 20, "working-set prefix scanned");
  h.string_flag("dir", &dir, "directory for the sparse file (must support sparse files)");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  const std::uint64_t page = procfs::page_size();
  if (file_size < 4 * page || prefix == 0 || prefix > file_size) {
    std::fprintf(stderr,
                 "wl_lazy_paging: need --file-size >= 4 pages and 0 < --prefix <= "
                 "--file-size\n");
    return 2;
  }
  prefix -= prefix % page;

  wl::TempFile file(dir, "lazy-paging");
  if (file.fd() < 0) {
    std::fprintf(stderr, "wl_lazy_paging: %s\n", file.error().c_str());
    return 1;
  }
  if (::ftruncate(file.fd(), static_cast<off_t>(file_size)) != 0) {
    std::fprintf(stderr, "wl_lazy_paging: cannot size %s to %llu bytes: %s\n", file.path().c_str(),
                 static_cast<unsigned long long>(file_size), std::strerror(errno));
    return 1;
  }
  void* m = ::mmap(nullptr, file_size, PROT_READ, MAP_SHARED, file.fd(), 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "wl_lazy_paging: mmap of %s (%llu bytes) failed: %s\n",
                 file.path().c_str(), static_cast<unsigned long long>(file_size),
                 std::strerror(errno));
    return 1;
  }
  auto* base = static_cast<const unsigned char*>(m);
  const auto addr = reinterpret_cast<std::uintptr_t>(m);
  std::string smaps_error;  // reported after cleanup, so the file is still removed
  auto rss = [&]() -> std::uint64_t {
    auto mp = procfs::mapping_containing(addr);
    if (!mp) {
      if (smaps_error.empty()) smaps_error = mp.error().message;
      return 0;
    }
    return mp->rss;
  };
  // Purge the page cache of the (empty) file and disable read-ahead for the two touches:
  // each touch then faults in exactly the page it reads.
  ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
  ::madvise(m, file_size, MADV_RANDOM);

  const std::uint64_t rss0 = rss();
  wl::keep(static_cast<const volatile unsigned char*>(base)[page]);  // near the start
  const std::uint64_t rss1 = rss();
  wl::keep(static_cast<const volatile unsigned char*>(base)[file_size - 2 * page]);  // near the end
  const std::uint64_t rss2 = rss();
  struct stat st {};
  ::fstat(file.fd(), &st);
  const std::uint64_t disk = static_cast<std::uint64_t>(st.st_blocks) * 512;

  // Working-set scans: default advice, then evict (DONTNEED + fadvise) and MADV_SEQUENTIAL.
  h.progress("scanning a " + format_bytes(static_cast<double>(prefix)) + " prefix");
  ::madvise(m, file_size, MADV_NORMAL);
  const double normal_ms = scan(base, prefix, page);
  const std::uint64_t rss_normal = rss();
  ::madvise(m, file_size, MADV_DONTNEED);
  ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
  const std::uint64_t rss_evicted = rss();
  ::madvise(m, prefix, MADV_SEQUENTIAL);
  const double seq_ms = scan(base, prefix, page);
  const std::uint64_t rss_seq = rss();
  ::madvise(m, file_size, MADV_DONTNEED);
  const std::uint64_t rss_end = rss();
  ::munmap(m, file_size);
  file.remove();
  if (!smaps_error.empty()) {
    std::fprintf(stderr, "wl_lazy_paging: %s\n", smaps_error.c_str());
    return 1;
  }

  const double grew = static_cast<double>(rss2) - static_cast<double>(rss0);
  const double mb = static_cast<double>(prefix) / 1e6;
  h.measure("file_bytes", file_size);
  if (mem) h.measure("mem_total_bytes", *mem);
  h.measure("file_disk_bytes", disk);
  h.measure("rss_mapped_bytes", rss0);
  h.measure("rss_after_first_touch_bytes", rss1);
  h.measure("rss_after_second_touch_bytes", rss2);
  h.measure("touch_growth_pages", grew / static_cast<double>(page));
  h.measure("prefix_bytes", prefix);
  h.measure("rss_after_scan_normal_bytes", rss_normal);
  h.measure("rss_after_evict_bytes", rss_evicted);
  h.measure("rss_after_scan_sequential_bytes", rss_seq);
  h.measure("rss_after_dontneed_bytes", rss_end);
  h.measure("scan_normal_mb_per_s", mb / (normal_ms / 1000));
  h.measure("scan_sequential_mb_per_s", mb / (seq_ms / 1000));
  h.throughput(mb / (seq_ms / 1000), "MB/s");

  h.row("file (sparse)",
        format_bytes(static_cast<double>(file_size)) +
            (mem ? " = " +
                       std::to_string(static_cast<double>(file_size) / static_cast<double>(*mem))
                           .substr(0, 4) +
                       " x MemTotal"
                 : "") +
            ", " + format_bytes(static_cast<double>(disk)) + " on disk");
  h.row("mapping Rss: mapped / 1 touch / 2 touches",
        format_bytes(static_cast<double>(rss0)) + " / " + format_bytes(static_cast<double>(rss1)) +
            " / " + format_bytes(static_cast<double>(rss2)));
  h.row("scan " + format_bytes(static_cast<double>(prefix)) + " MADV_NORMAL",
        format_bytes(static_cast<double>(rss_normal)) + " Rss, " +
            std::to_string(static_cast<long long>(mb / (normal_ms / 1000))) + " MB/s");
  h.row("scan " + format_bytes(static_cast<double>(prefix)) + " MADV_SEQUENTIAL",
        format_bytes(static_cast<double>(rss_seq)) + " Rss, " +
            std::to_string(static_cast<long long>(mb / (seq_ms / 1000))) + " MB/s");
  h.row("after MADV_DONTNEED", format_bytes(static_cast<double>(rss_end)) + " Rss");

  // Two touches: about two pages. Fault-around may map up to 16 neighbours of a page that is
  // already cached (fault_around_bytes, 64 KiB), so allow up to 16 pages per touch.
  const double pages = grew / static_cast<double>(page);
  h.check("two_touches_two_pages", pages >= 2 && pages <= 32,
          "mapping Rss grew by " + std::to_string(static_cast<long long>(pages)) +
              " pages for two touches of a " + format_bytes(static_cast<double>(file_size)) +
              " mapping (need 2..32)");
  h.check("sparse", disk < (1ULL << 20),
          format_bytes(static_cast<double>(disk)) + " of disk used by the file");
  const double need = static_cast<double>(prefix) * 0.9;
  h.check("scan_resident",
          static_cast<double>(rss_normal) >= need && static_cast<double>(rss_seq) >= need,
          "Rss after scanning the prefix: " + format_bytes(static_cast<double>(rss_normal)) +
              " and " + format_bytes(static_cast<double>(rss_seq)) + " (need >= 90% of " +
              format_bytes(static_cast<double>(prefix)) + ")");
  h.check("dontneed_dropped",
          rss_end <= prefix / 50 + 2 * page && rss_evicted <= prefix / 50 + 2 * page,
          "Rss after MADV_DONTNEED: " + format_bytes(static_cast<double>(rss_end)) +
              " (need <= 2% of the prefix)");
  h.note(
      "Why mapping more than RAM is fine: mmap only reserves address space; a page costs "
      "memory when it is first touched, and clean file pages can be dropped and re-read.");
  return h.finish();
}
