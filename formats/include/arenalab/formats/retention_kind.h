// SPDX-License-Identifier: Apache-2.0
// Why an allocator keeps memory, the kind of a retention verdict: the closed set the classifier
// gives (detectors/analysis, analysis::RetentionKind is this type) and verdict.json's
// `retention.kind` carries by name. Owned here, header only (formats_names), like
// growth_verdict.h, so that the classifier includes it without linking the formats library.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace arenalab::formats {

enum class RetentionKind {
  kPurgeable,      // free pages the allocator keeps (decay, arenas, caches): a purge returns them
  kFragmentation,  // live blocks scattered over active pages: no purge returns them
  kUnknown,        // neither the books nor a purge probe tell (glibc, mimalloc without one)
};

inline constexpr std::array<RetentionKind, 3> kAllRetentionKinds = {
    RetentionKind::kPurgeable, RetentionKind::kFragmentation, RetentionKind::kUnknown};

// The name written in files: "purgeable", "fragmentation", "unknown".
constexpr const char* retention_kind_name(RetentionKind k) {
  switch (k) {
    case RetentionKind::kPurgeable:
      return "purgeable";
    case RetentionKind::kFragmentation:
      return "fragmentation";
    case RetentionKind::kUnknown:
      break;
  }
  return "unknown";
}

// The kind of a name, or nullopt for any other text.
constexpr std::optional<RetentionKind> parse_retention_kind(std::string_view name) {
  for (RetentionKind k : kAllRetentionKinds)
    if (name == retention_kind_name(k)) return k;
  return std::nullopt;
}

}  // namespace arenalab::formats
