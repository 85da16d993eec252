// SPDX-License-Identifier: Apache-2.0
// The closed set of growth verdicts the slope classifier gives (detectors/analysis) and every
// file that carries one writes by name (verdict.json, matrix.json, profile.json's sites, the
// reports): owned here, in the formats layer, so the readers below the classifier compare the
// enum, never the text. analysis::Verdict is this type.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace arenalab::formats {

enum class GrowthVerdict {
  kLeak,           // what the program holds grows without bound
  kRetention,      // RSS rose and plateaus while what the program holds returned near baseline
  kBounded,        // what the program holds rose and levelled off, or oscillates, no trend
  kNonHeapGrowth,  // RSS grows while the allocator's books are flat (mmap, stacks)
  kStable,         // nothing grows
  kUnresolved,     // growing, but too little data after the rise to tell: never a guess
};

// Every verdict, in the order tables list them.
inline constexpr std::array<GrowthVerdict, 6> kAllGrowthVerdicts = {
    GrowthVerdict::kLeak,          GrowthVerdict::kRetention, GrowthVerdict::kBounded,
    GrowthVerdict::kNonHeapGrowth, GrowthVerdict::kStable,    GrowthVerdict::kUnresolved};

// The name written in files: "leak", "retention", "bounded", "non-heap-growth", "stable",
// "unresolved".
constexpr const char* verdict_name(GrowthVerdict v) {
  switch (v) {
    case GrowthVerdict::kLeak:
      return "leak";
    case GrowthVerdict::kRetention:
      return "retention";
    case GrowthVerdict::kBounded:
      return "bounded";
    case GrowthVerdict::kNonHeapGrowth:
      return "non-heap-growth";
    case GrowthVerdict::kStable:
      return "stable";
    case GrowthVerdict::kUnresolved:
      return "unresolved";
  }
  return "unresolved";
}

// The verdict of a name, or nullopt for any other text (an empty field, "allocator-growth").
constexpr std::optional<GrowthVerdict> parse_verdict(std::string_view name) {
  for (GrowthVerdict v : kAllGrowthVerdicts)
    if (name == verdict_name(v)) return v;
  return std::nullopt;
}

// leak or non-heap-growth: RSS that keeps growing under the run.
constexpr bool creeping(GrowthVerdict v) {
  return v == GrowthVerdict::kLeak || v == GrowthVerdict::kNonHeapGrowth;
}
// The same of a verdict's name; false for any text outside the set.
constexpr bool creeping(std::string_view name) {
  const auto v = parse_verdict(name);
  return v && creeping(*v);
}

}  // namespace arenalab::formats
