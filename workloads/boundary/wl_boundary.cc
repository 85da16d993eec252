// SPDX-License-Identifier: Apache-2.0
// wl_boundary (seed task 1, "see the boundary"): --heap bytes through malloc, then --offheap
// bytes with mmap(2); every page touched; RSS and the allocator's books after each step.
#include <sys/mman.h>

#include <cstdlib>
#include <string>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/sampler.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;

namespace {
double delta(std::uint64_t after, std::uint64_t before) {
  return static_cast<double>(after) - static_cast<double>(before);
}
std::string fmt(double bytes) {
  return bytes < 0 ? "-" + format_bytes(-bytes) : "+" + format_bytes(bytes);
}
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("boundary",
                "allocate through the allocator, then with mmap; compare RSS with "
                "the allocator's books");
  std::uint64_t heap = 512ULL << 20, offheap = 512ULL << 20;
  h.size_flag("heap", &heap, 32ULL << 20, "bytes allocated with malloc (one block)");
  h.size_flag("offheap", &offheap, 32ULL << 20, "bytes mapped with mmap (anonymous, private)");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (heap == 0 || offheap == 0) {
    std::fprintf(stderr, "wl_boundary: --heap and --offheap must be > 0\n");
    return 2;
  }

  h.purge();  // a settled start (flushes caches that would blur the deltas)
  const std::uint64_t rss0 = wl::current_rss();
  const auto b0 = wl::heap_books(h.allocator_stats());

  h.progress("allocating and touching " + format_bytes(static_cast<double>(heap)) +
             " through malloc");
  void* p = std::malloc(heap);
  if (!p) {
    std::fprintf(stderr, "wl_boundary: malloc(%llu) failed\n",
                 static_cast<unsigned long long>(heap));
    return 1;
  }
  wl::touch_pages(p, heap);
  const std::uint64_t rss1 = wl::current_rss();
  const auto b1 = wl::heap_books(h.allocator_stats());

  h.progress("mapping and touching " + format_bytes(static_cast<double>(offheap)) + " with mmap");
  void* m = ::mmap(nullptr, offheap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "wl_boundary: mmap(%llu) failed\n",
                 static_cast<unsigned long long>(offheap));
    std::free(p);
    return 1;
  }
  wl::touch_pages(m, offheap);
  const std::uint64_t rss2 = wl::current_rss();
  const auto b2 = wl::heap_books(h.allocator_stats());

  const double rss_heap = delta(rss1, rss0), rss_off = delta(rss2, rss1);
  h.measure("rss_start_bytes", rss0);
  h.measure("rss_after_heap_bytes", rss1);
  h.measure("rss_after_offheap_bytes", rss2);
  h.measure("rss_growth_heap_bytes", rss_heap);
  h.measure("rss_growth_offheap_bytes", rss_off);
  h.row("step", "RSS growth / allocator's books growth");
  std::string books_heap = "not reported", books_off = "not reported";
  if (b0 && b1 && b2) {
    const double dh = delta(b1->bytes, b0->bytes), doff = delta(b2->bytes, b1->bytes);
    h.measure("books_field", b0->field);
    h.measure("books_start_bytes", b0->bytes);
    h.measure("books_after_heap_bytes", b1->bytes);
    h.measure("books_after_offheap_bytes", b2->bytes);
    h.measure("books_growth_heap_bytes", dh);
    h.measure("books_growth_offheap_bytes", doff);
    books_heap = fmt(dh) + " (" + b0->field + ")";
    books_off = fmt(doff) + " (" + b0->field + ")";
    // The allocator must have seen the heap part (most of it; some allocators count
    // committed pages, which may round).
    const double need_heap = static_cast<double>(heap) * 15.0 / 16.0;
    h.check("books_saw_heap", dh >= need_heap,
            std::string("allocator's ") + b0->field + " grew by " + format_bytes(dh) +
                " for the malloc part (need >= " + format_bytes(need_heap) + ")");
    // ... and not the mmap part: < 16 MiB at the seed's size, proportionally less when smaller.
    const double limit = std::min(16.0 * 1048576.0, static_cast<double>(offheap) / 32.0);
    h.check("books_ignored_offheap", doff < limit,
            std::string("allocator's ") + b0->field + " grew by " + format_bytes(doff) +
                " for the mmap part (need < " + format_bytes(limit) + ")");
  } else {
    const std::string why = std::string(arenalab::backend_name(h.allocator().backend)) +
                            " reports neither allocated nor mapped bytes";
    h.skip_check("books_saw_heap", why);
    h.skip_check("books_ignored_offheap", why);
  }
  h.row("malloc " + format_bytes(static_cast<double>(heap)), fmt(rss_heap) + " / " + books_heap);
  h.row("mmap " + format_bytes(static_cast<double>(offheap)), fmt(rss_off) + " / " + books_off);
  const double need_rss_off = static_cast<double>(offheap) * 15.0 / 16.0;  // 480 of 512 MiB
  h.check("rss_saw_offheap", rss_off >= need_rss_off,
          "RSS grew by " + format_bytes(rss_off) +
              " for the mmap part (need >= " + format_bytes(need_rss_off) + ")");
  h.check("rss_saw_heap", rss_heap >= static_cast<double>(heap) * 15.0 / 16.0,
          "RSS grew by " + format_bytes(rss_heap) + " for the malloc part (need >= " +
              format_bytes(static_cast<double>(heap) * 15.0 / 16.0) + ")");
  h.note(
      "Why: the allocator's books count only what passed through malloc; an mmap the program "
      "makes itself goes straight to the kernel, so only RSS (the kernel's count of resident "
      "pages) sees it.");

  ::munmap(m, offheap);
  std::free(p);
  return h.finish();
}
