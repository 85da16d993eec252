// SPDX-License-Identifier: Apache-2.0
// The closed set of allocator backends arenalab knows, and the names every file writes for them
// (allocators.json, timeline.jsonl's header, run.json, results.json). Owned here, in the formats
// layer, so the layers that read those files (detectors/analysis, which includes no other part)
// compare the enum, never the text; allocators/backend.h uses this type (arenalab::Backend).
// Header only and constexpr: the interposer (no allocation, no exceptions) includes it.
#pragma once

#include <cstdint>
#include <string_view>

namespace arenalab::formats {

enum class Backend : std::uint8_t { kUnknown, kGlibc, kJemalloc, kMimalloc, kTcmalloc, kTbbmalloc };

inline constexpr Backend kAllBackends[] = {Backend::kGlibc, Backend::kJemalloc, Backend::kMimalloc,
                                           Backend::kTcmalloc, Backend::kTbbmalloc};

// "glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc", "unknown".
constexpr const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kGlibc:
      return "glibc";
    case Backend::kJemalloc:
      return "jemalloc";
    case Backend::kMimalloc:
      return "mimalloc";
    case Backend::kTcmalloc:
      return "tcmalloc";
    case Backend::kTbbmalloc:
      return "tbbmalloc";
    case Backend::kUnknown:
      break;
  }
  return "unknown";
}

// The inverse of backend_name; kUnknown for anything else.
constexpr Backend backend_from_name(std::string_view name) {
  for (Backend b : kAllBackends)
    if (name == backend_name(b)) return b;
  return Backend::kUnknown;
}

}  // namespace arenalab::formats
