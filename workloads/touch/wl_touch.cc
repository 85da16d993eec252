// SPDX-License-Identifier: Apache-2.0
// wl_touch: the override check every backend must pass. Allocates --total in --block blocks,
// touches every page, frees and purges, and checks that the allocator that served it is the
// expected one, that its books and RSS saw the memory, and that purge gave it back.
#include <cstdlib>
#include <string>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;

int main(int argc, char** argv) {
  wl::Harness h("touch",
                "allocate, touch, free and purge blocks; verify which allocator served them");
  std::uint64_t total = 64ULL << 20;
  std::uint64_t block = 1ULL << 20;
  std::string expect;
  h.size_flag("total", &total, 64ULL << 20, "bytes to allocate");
  h.size_flag("block", &block, 1ULL << 20, "size of each allocation");
  h.string_flag("expect-backend", &expect, "fail unless this backend serves malloc");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (block == 0 || total < block) {
    std::fprintf(stderr, "wl_touch: --block must be > 0 and <= --total\n");
    return 2;
  }

  const auto& id = h.allocator();
  if (!expect.empty()) {
    h.check("identified", arenalab::backend_name(id.backend) == expect,
            std::string("malloc is ") + arenalab::backend_name(id.backend) + " from " + id.library +
                " (expected " + expect + ")");
  }

  // Start from a settled allocator: purge also flushes jemalloc's thread cache, whose
  // cached small blocks count as allocated until a later cache GC returns them.
  h.purge();
  const std::uint64_t rss0 = wl::current_rss();
  const auto s0 = h.allocator_stats();
  std::vector<void*> blocks;
  for (std::uint64_t done = 0; done + block <= total; done += block) {
    void* p = std::malloc(block);
    if (!p) {
      std::fprintf(stderr, "wl_touch: malloc(%llu) failed\n",
                   static_cast<unsigned long long>(block));
      return 1;
    }
    wl::touch_pages(p, block);
    blocks.push_back(p);
  }
  const std::uint64_t rss1 = wl::current_rss();
  const auto s1 = h.allocator_stats();
  for (void* p : blocks) std::free(p);
  blocks.clear();
  blocks.shrink_to_fit();
  const std::uint64_t rss_freed = wl::current_rss();
  const bool purged = h.purge();
  const std::uint64_t rss2 = wl::current_rss();
  const auto s2 = h.allocator_stats();

  const double grew = static_cast<double>(rss1) - static_cast<double>(rss0);
  const double dropped = static_cast<double>(rss1) - static_cast<double>(rss2);
  h.measure("rss_before_bytes", rss0);
  h.measure("rss_allocated_bytes", rss1);
  h.measure("rss_after_free_bytes", rss_freed);
  h.measure("rss_after_purge_bytes", rss2);
  h.row("RSS before", format_bytes(static_cast<double>(rss0)));
  h.row("RSS after touching",
        format_bytes(static_cast<double>(rss1)) + " (+" + format_bytes(grew) + ")");
  h.row("RSS after free", format_bytes(static_cast<double>(rss_freed)));
  h.row("RSS after purge",
        format_bytes(static_cast<double>(rss2)) + " (-" + format_bytes(dropped) + ")");
  if (s0.allocated && s1.allocated) {
    const double d = static_cast<double>(*s1.allocated) - static_cast<double>(*s0.allocated);
    h.measure("allocated_growth_bytes", d);
    h.row("allocator allocated", "+" + format_bytes(d));
    h.check("allocated_grew", d >= static_cast<double>(total),
            "allocator's allocated bytes grew by " + format_bytes(d) +
                " (need >= " + format_bytes(static_cast<double>(total)) + ")");
  } else {
    h.skip_check("allocated_grew", std::string(arenalab::backend_name(id.backend)) +
                                       " does not report allocated bytes");
  }
  if (s2.mapped) h.measure("allocator_mapped_after_purge_bytes", *s2.mapped);
  const double need = static_cast<double>(total) * 60.0 / 64.0;
  h.check("rss_grew", grew >= need,
          "RSS grew by " + format_bytes(grew) + " (need >= " + format_bytes(need) + ")");
  h.check("purge_available", purged,
          purged ? "purge call found" : "no purge interface in this process");
  h.check("purge_lowered_rss", dropped >= static_cast<double>(total) / 2,
          "RSS fell by " + format_bytes(dropped) +
              " after free + purge (need >= " + format_bytes(static_cast<double>(total) / 2) + ")");
  return h.finish();
}
