// SPDX-License-Identifier: Apache-2.0
// Measures the classifier on the labelled synthetic corpus (fixed seed), prints the confusion
// matrix and fails below the acceptance lines of issue 5: leak recall >= 95 % once the leak
// adds >= 5 % of level; false "leak" <= 1 % on stable, retention and bounded series; no "leak"
// on a plateau with >= 30 % of the window after its knee.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <map>

#include "arenalab/analysis/analysis.h"
#include "synthetic.h"

namespace arenalab::analysis {
namespace {

using synthetic::Kind;

constexpr Verdict kVerdicts[] = {Verdict::kLeak,    Verdict::kRetention,
                                 Verdict::kBounded, Verdict::kNonHeapGrowth,
                                 Verdict::kStable,  Verdict::kUnresolved};

std::string row_name(const synthetic::Case& c) {
  switch (c.kind) {
    case Kind::kLeak:
      return c.leak_growth_pct >= 5 ? "leak >=5%" : "leak <5%";
    case Kind::kPlateau:
      return c.tail_fraction >= 0.3 ? "plateau tail>=30%" : "plateau tail<30%";
    default:
      return synthetic::kind_name(c.kind);
  }
}

TEST(ClassifierCorpus, ConfusionMatrixMeetsAcceptance) {
  synthetic::Generator gen(20260505);
  const int per_kind = 500;
  const std::vector<std::string> rows = {
      "stable",           "leak >=5%", "leak <5%",  "plateau tail>=30%",
      "plateau tail<30%", "sawtooth",  "retention", "non-heap"};
  std::map<std::string, std::array<int, 6>> m;
  for (const auto& r : rows) m[r] = {};
  int shown = 0;
  for (Kind k : {Kind::kStable, Kind::kLeak, Kind::kPlateau, Kind::kSawtooth, Kind::kRetention,
                 Kind::kNonHeap}) {
    const int count = k == Kind::kLeak      ? 3 * per_kind
                      : k == Kind::kPlateau ? 2 * per_kind
                                            : per_kind;
    for (int i = 0; i < count; ++i) {
      const auto c = gen.make(k);
      const auto v = classify(c.signals);
      m[row_name(c)][static_cast<std::size_t>(v.verdict)]++;
      const bool missed = k == Kind::kLeak && c.leak_growth_pct >= 5 && v.verdict != Verdict::kLeak;
      const bool false_leak =
          k != Kind::kLeak && k != Kind::kNonHeap && v.verdict == Verdict::kLeak;
      if ((missed || false_leak) && shown++ < 25)
        std::printf("  %s %s growth=%.1f%% tail=%.2f phi=%.2f sigma=%.2f%% -> %s: %s\n",
                    missed ? "MISSED" : "FALSE ", c.shape.c_str(), c.leak_growth_pct,
                    c.tail_fraction, c.phi, c.sigma_pct, verdict_name(v.verdict), v.reason.c_str());
    }
  }
  std::printf("\n%-18s", "label \\ verdict");
  for (Verdict v : kVerdicts) std::printf(" %11s", verdict_name(v));
  std::printf(" %7s\n", "total");
  for (const auto& r : rows) {
    int total = 0;
    for (int x : m[r]) total += x;
    std::printf("%-18s", r.c_str());
    for (Verdict v : kVerdicts) std::printf(" %11d", m[r][static_cast<std::size_t>(v)]);
    std::printf(" %7d\n", total);
  }
  auto total = [&](const std::string& r) {
    int t = 0;
    for (int x : m[r]) t += x;
    return t;
  };
  auto leaks = [&](const std::string& r) { return m[r][static_cast<std::size_t>(Verdict::kLeak)]; };
  const double recall = 100.0 * leaks("leak >=5%") / total("leak >=5%");
  int neg = 0, neg_leak = 0;
  for (const char* r :
       {"stable", "plateau tail>=30%", "plateau tail<30%", "sawtooth", "retention"}) {
    neg += total(r);
    neg_leak += leaks(r);
  }
  const double false_rate = 100.0 * neg_leak / neg;
  std::printf("\nleak recall (leak adds >= 5 %% of level): %.1f %% (%d/%d; need >= 95 %%)\n",
              recall, leaks("leak >=5%"), total("leak >=5%"));
  std::printf("false leak on stable, plateau, sawtooth, retention: %.2f %% (%d/%d; need <= 1 %%)\n",
              false_rate, neg_leak, neg);
  std::printf("leak on plateaus with >= 30 %% after the knee: %d of %d (need 0)\n",
              leaks("plateau tail>=30%"), total("plateau tail>=30%"));
  EXPECT_GE(recall, 95.0);
  EXPECT_LE(false_rate, 1.0);
  EXPECT_EQ(leaks("plateau tail>=30%"), 0);
}

}  // namespace
}  // namespace arenalab::analysis
