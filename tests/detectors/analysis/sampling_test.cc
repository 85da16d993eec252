// SPDX-License-Identifier: Apache-2.0
// The verdict reads the series in time, not in sample index (README "Per series", step 0): the
// same shapes and noise sampled unevenly - intervals of 100-350 ms, as a loaded sampler delivers
// them, or every 100 ms with stalls of 0.5-2 s each followed by a burst of catch-up samples a
// few ms apart - get the verdict they get on the regular 100 ms grid. Every class of the
// synthetic generator (synthetic.h); no schedule may call leak what does not leak where the
// regular grid did not. A control prints what fewer samples alone cost: the same series on a
// regular grid at the uneven schedule's mean interval.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "synthetic.h"

namespace arenalab::analysis {
namespace {

using synthetic::Kind;

bool negative(Kind k) {
  return k != Kind::kLeak && k != Kind::kBigLevelLeak && k != Kind::kNonHeap;
}

// Intervals uniform in [lo, hi] ms from a random start in the first interval.
std::vector<double> uneven(double window_ms, double lo, double hi, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> step(lo, hi);
  std::vector<double> t;
  for (double x = std::uniform_real_distribution<double>(0, lo)(rng); x <= window_ms;
       x += step(rng))
    t.push_back(x);
  return t;
}

// Every 100 ms (+-5 ms); 1 % of the time the sampler stalls 0.5-2 s and then delivers 2-8
// samples 1-20 ms apart (what it had queued), then keeps its schedule.
std::vector<double> bursts(double window_ms, std::mt19937_64& rng) {
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  std::vector<double> t;
  double x = uni(0, 100);
  while (x <= window_ms) {
    t.push_back(x);
    if (uni(0, 1) < 0.01) {
      x += uni(500, 2000);
      const int burst = static_cast<int>(uni(2, 9));
      for (int k = 0; k < burst && x <= window_ms; ++k, x += uni(1, 20)) t.push_back(x);
    } else {
      x += uni(95, 105);
    }
  }
  return t;
}

TEST(ClassifierSampling, UnevenSamplingKeepsTheVerdict) {
  // ARENALAB_SAMPLING_SEED=N draws other series (the lines are asserted on the default).
  const char* seed_env = std::getenv("ARENALAB_SAMPLING_SEED");
  const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 20260704;
  synthetic::Generator gen(seed);
  std::mt19937_64 rng(seed + 1);
  const Kind kinds[] = {Kind::kStable,       Kind::kLeak,         Kind::kPlateau,
                        Kind::kSawtooth,     Kind::kRetention,    Kind::kNonHeap,
                        Kind::kBigLevelLeak, Kind::kLongSawtooth, Kind::kOwnMmapPool,
                        Kind::kSaturation};
  const int per_kind = 100;
  // Per schedule: agreement with the regular grid, and the false leaks that spacing alone
  // causes - called leak on the schedule, but neither on the regular grid nor on its control,
  // a regular grid (+-5 ms) with as many samples as the schedule took (fewer samples read
  // different noise: near a line their verdicts differ whatever the spacing).
  struct Tally {
    int cases = 0, agree = 0, control_agree = 0, spacing_false_leak = 0, lost_leak = 0;
  };
  Tally uneven_t, bursts_t;
  int shown = 0;
  const bool show_all = std::getenv("SAMPLING_SHOW") != nullptr;
  auto tally = [&](Tally& t, const char* what, const synthetic::Case& c, Verdict regular,
                   const std::vector<double>& times) {
    const Classification cv = classify(c.sample_at(times));
    const Verdict v = cv.verdict;
    const double mean =
        c.window_ms / static_cast<double>(std::max<std::size_t>(times.size(), 2) - 1);
    const Verdict control =
        classify(c.sample_at(uneven(c.window_ms, mean - 5, mean + 5, rng))).verdict;
    ++t.cases;
    t.agree += v == regular;
    t.control_agree += control == regular;
    const bool spacing_false = negative(c.kind) && v == Verdict::kLeak &&
                               regular != Verdict::kLeak && control != Verdict::kLeak;
    t.spacing_false_leak += spacing_false;
    t.lost_leak += regular == Verdict::kLeak && v != Verdict::kLeak;
    if ((spacing_false || (show_all && v != regular)) && shown++ < (show_all ? 1 << 30 : 40))
      std::printf("  %-7s %-26s regular %-15s control %-15s -> %s: %s\n", what, c.shape.c_str(),
                  verdict_name(regular), verdict_name(control), verdict_name(v),
                  cv.reason.substr(0, 200).c_str());
  };
  for (Kind k : kinds)
    for (int i = 0; i < per_kind; ++i) {
      const auto c = gen.make(k);
      const Verdict regular = classify(c.signals).verdict;
      tally(uneven_t, "uneven", c, regular, uneven(c.window_ms, 100, 350, rng));
      tally(bursts_t, "bursts", c, regular, bursts(c.window_ms, rng));
    }
  auto line = [](const char* name, const Tally& t) {
    std::printf(
        "%-52s agree %5.1f %% (%d/%d; control %5.1f %%), false leaks from spacing %d, leaks lost "
        "%d\n",
        name, 100.0 * t.agree / t.cases, t.agree, t.cases, 100.0 * t.control_agree / t.cases,
        t.spacing_false_leak, t.lost_leak);
  };
  std::printf("\nverdicts against the regular 100 ms grid, %d series per class:\n", per_kind);
  line("intervals uniform in 100-350 ms", uneven_t);
  line("100 ms with stalls of 0.5-2 s and bursts after them", bursts_t);
  // Agreement: 96-98 % on five seeds, as for the controls (the rest are series near a line,
  // which any other draw of samples moves). False leaks that spacing alone causes: held to the
  // false-leak line of every label that does not leak (0.5 %; README "Measured": 0-2 of 700 on
  // five seeds, all sawtooths sampled too sparsely for their drops).
  EXPECT_GE(100.0 * uneven_t.agree / uneven_t.cases, 95.0);
  EXPECT_GE(100.0 * bursts_t.agree / bursts_t.cases, 95.0);
  const int negatives = 7 * per_kind;
  EXPECT_LE(100.0 * uneven_t.spacing_false_leak / negatives, 0.5);
  EXPECT_LE(100.0 * bursts_t.spacing_false_leak / negatives, 0.5);
}

// The case that made attach.sawtooth flaky (docs/attach.md): RSS only, a 2 s cycle of 15 ticks
// of 100 ms each mapping 1 MiB more, then 5 ticks low, watched for 20 s. Sampled every 100 ms
// and every 200-345 ms (a loaded sampler), it reads bounded every time. Before the sampling alias
// bounded the knees and trends of a deseasonalized series, 1.8 % of the 100 ms windows and 3.6 %
// of the uneven ones read unresolved ("rose until a knee") or leak.
TEST(ClassifierSampling, SawtoothReadsBoundedWhateverTheSpacing) {
  constexpr double kMiB = 1024.0 * 1024.0;
  const auto tooth = [&](double t_ms) {
    const int tick = static_cast<int>(std::fmod(t_ms, 2000.0) / 100);
    return 30 * kMiB + (tick < 15 ? (tick + 1) * kMiB : 0.0);
  };
  std::mt19937_64 rng(19);
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  for (const auto& [lo, hi] : {std::pair{95.0, 105.0}, std::pair{200.0, 345.0}}) {
    int bounded = 0;
    const int runs = 300;
    for (int r = 0; r < runs; ++r) {
      Signals s;
      const double t0 = uni(0, 2000);
      for (double t = t0; t - t0 <= 20000; t += uni(lo, hi)) {
        const double v = tooth(t) + std::normal_distribution<double>(0, 20e3)(rng);
        s.rss.t_ms.push_back(t - t0), s.rss.value.push_back(v);
        s.rss_anon.t_ms.push_back(t - t0), s.rss_anon.value.push_back(v - 5 * kMiB);
      }
      const Classification c = classify(s);
      bounded += c.verdict == Verdict::kBounded;
      if (c.verdict != Verdict::kBounded)
        std::printf("  %.0f-%.0f ms: %s: %s\n", lo, hi, verdict_name(c.verdict), c.reason.c_str());
    }
    std::printf("sampled every %.0f-%.0f ms: %d of %d bounded\n", lo, hi, bounded, runs);
    EXPECT_EQ(bounded, runs);
  }
}

}  // namespace
}  // namespace arenalab::analysis
