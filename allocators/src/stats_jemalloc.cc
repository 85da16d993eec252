// SPDX-License-Identifier: Apache-2.0
// jemalloc adapter: stats.* after an "epoch" refresh; purge of every arena
// (jemalloc(3): "arena.<i>.purge", MALLCTL_ARENAS_ALL = 4096).
#include <cstdint>

#include "backend_internal.h"

namespace arenalab::detail {
namespace {

std::optional<std::uint64_t> read_size(MallctlFn mallctl, const char* name) {
  std::size_t value = 0;
  std::size_t len = sizeof value;
  if (mallctl(name, &value, &len, nullptr, 0) != 0) return std::nullopt;
  return value;
}

}  // namespace

bool jemalloc_stats(AllocatorStats* out) {
  auto mallctl = lookup<MallctlFn>("mallctl");
  if (!mallctl) return false;
  std::uint64_t epoch = 1;
  std::size_t len = sizeof epoch;
  mallctl("epoch", &epoch, &len, &epoch, len);  // refresh the cached statistics
  out->allocated = read_size(mallctl, "stats.allocated");
  out->active = read_size(mallctl, "stats.active");
  out->resident = read_size(mallctl, "stats.resident");
  out->mapped = read_size(mallctl, "stats.mapped");
  out->retained = read_size(mallctl, "stats.retained");
  return true;
}

bool jemalloc_purge() {
  auto mallctl = lookup<MallctlFn>("mallctl");
  if (!mallctl) return false;
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);  // fails harmlessly without tcache
  return mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) == 0;
}

}  // namespace arenalab::detail
