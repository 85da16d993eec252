// SPDX-License-Identifier: Apache-2.0
// tcmalloc (gperftools) adapter: MallocExtension numeric properties (gperftools
// malloc_extension.h); MallocExtension_ReleaseFreeMemory purges.
#include <cstdint>

#include "backend_internal.h"

namespace arenalab::detail {
namespace {

using PropertyFn = int (*)(const char*, std::size_t*);

std::optional<std::uint64_t> property(PropertyFn get, const char* name) {
  std::size_t value = 0;
  if (!get(name, &value)) return std::nullopt;
  return value;
}

}  // namespace

bool tcmalloc_stats(AllocatorStats* out) {
  auto get = lookup<PropertyFn>("MallocExtension_GetNumericProperty");
  if (!get) return false;
  out->allocated = property(get, "generic.current_allocated_bytes");
  const auto heap = property(get, "generic.heap_size");
  const auto unmapped = property(get, "tcmalloc.pageheap_unmapped_bytes");
  out->mapped = heap;
  if (heap && unmapped) out->resident = *heap - *unmapped;
  // Freed but kept: page heap free spans plus the central, transfer and thread caches.
  const char* kFree[] = {"tcmalloc.pageheap_free_bytes", "tcmalloc.central_cache_free_bytes",
                         "tcmalloc.transfer_cache_free_bytes", "tcmalloc.thread_cache_free_bytes"};
  std::uint64_t retained = 0;
  bool all = true;
  for (const char* name : kFree) {
    const auto v = property(get, name);
    if (!v)
      all = false;
    else
      retained += *v;
  }
  if (all) out->retained = retained;
  return true;
}

bool tcmalloc_purge() {
  using ReleaseFn = void (*)();
  auto release = lookup<ReleaseFn>("MallocExtension_ReleaseFreeMemory");
  if (!release) return false;
  release();
  return true;
}

}  // namespace arenalab::detail
