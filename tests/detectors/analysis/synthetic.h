// SPDX-License-Identifier: Apache-2.0
// A generator of labelled synthetic memory timelines for measuring the classifier: every class,
// leak rates 0.5-20 % of level per window (steady, late onset, steps, over warm-up or sawtooth),
// plateaus with knees at 10-90 % of the window, sawtooth, retention, growth outside malloc,
// AR(1) noise (phi 0-0.95, sigma 0.1-2 % of level), spikes and missing samples. Issue 19's
// classes: small leaks (1-5 % of level) on big levels (256 MiB-2 GiB) with churn of fixed size,
// long-period sawtooths (2.5-8 cycles), the program's own bounded mmap pools, and exponential
// approaches that end within 5 % of their bound.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis::synthetic {

enum class Kind {
  kStable,
  kLeak,
  kPlateau,
  kSawtooth,
  kRetention,
  kNonHeap,
  kBigLevelLeak,  // issue 19: a leak of 1-5 % of a big level, after a start-up rise
  kLongSawtooth,  // issue 19: 2.5-8 cycles in the window
  kOwnMmapPool,   // issue 19: the program's own mmap ring, filled then recycled
  kSaturation,    // issue 19: exponential approach, within 5 % of its bound at the end
};
const char* kind_name(Kind k);

struct Case {
  Kind kind;
  std::string shape;  // e.g. "leak/steps+warmup"
  Signals signals;
  double leak_growth_pct = 0;  // leak: growth the leak adds inside the window, % of base level
  double tail_fraction = -1;   // plateau: share of the window after the knee
  double headroom_pct = -1;    // saturation: bound - value at the end, % of the level
  double phi = 0, sigma_pct = 0;
  // leak: the oracle's signal-to-noise, z = growth / its standard error for a test that knows
  // the leak's shape, the AR(1) noise (phi, sd) and everything else in the series, on the samples
  // kept, in held and RSS together (generalized least squares after exact AR(1) prewhitening).
  // No level-alpha test does better: with z < z_alpha (2.33 at one-sided 0.01) even it misses
  // more often than it finds; 99 % power needs z >= 4.65.
  double oracle_z = 0;
  // leak: a weaker oracle that knows the shapes but not how big the rest of held is: the warm-up,
  // the sawtooth or the start-up rise enter the regression with an unknown amplitude (their
  // timing and form known), and only held is used. What that costs the oracle is what
  // telling the leak from the rest costs any test.
  double oracle_z_shape = 0;
  // The same series (the same shapes, the same noise and spikes, the same gap) sampled at other
  // instants: times in ms from the window's start (0 .. (n - 1) x 100 ms; later ones dropped).
  // The noise is the AR(1) process on its 100 ms grid, read at the nearest step; an instant in
  // the gap gives no sample. For the classifier's sampling-invariance test (uneven sampling).
  std::function<Signals(const std::vector<double>& t_ms)> sample_at;
  double window_ms = 0;  // (n - 1) x 100 ms
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}
  Case make(Kind kind);

 private:
  double uni(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  double loguni(double a, double b);
  bool chance(double p) { return uni(0, 1) < p; }
  double normal() { return std::normal_distribution<double>(0, 1)(rng_); }
  std::mt19937_64 rng_;
};

// The corpus test's draw number `index` (counted from 1) of `seed` among its first two kinds,
// 500 stable series then the leaks, as ClassifierCorpus draws them: the tests that pin one
// series of the corpus take it from here.
inline Case corpus_leak_draw(std::uint64_t seed, int index) {
  Generator gen(seed);
  for (int i = 1; i < index; ++i) gen.make(i <= 500 ? Kind::kStable : Kind::kLeak);
  return gen.make(index <= 500 ? Kind::kStable : Kind::kLeak);
}

// The corpus test's draw number `index` (counted from 1) of `seed` over its whole plan (500
// stable, 1500 leaks, 1000 plateaus, then the rest, ClassifierCorpus's order): the line number
// of the series in ARENALAB_CORPUS_DUMP.
inline Case corpus_draw(std::uint64_t seed, int index) {
  const std::pair<Kind, int> plan[] = {{Kind::kStable, 500},       {Kind::kLeak, 1500},
                                       {Kind::kPlateau, 1000},     {Kind::kSawtooth, 500},
                                       {Kind::kRetention, 500},    {Kind::kNonHeap, 500},
                                       {Kind::kBigLevelLeak, 300}, {Kind::kLongSawtooth, 300},
                                       {Kind::kOwnMmapPool, 200},  {Kind::kSaturation, 200}};
  Generator gen(seed);
  int drawn = 0;
  for (const auto& [k, count] : plan)
    for (int i = 0; i < count; ++i)
      if (++drawn == index)
        return gen.make(k);
      else
        gen.make(k);
  return gen.make(Kind::kStable);  // past the plan: not a corpus draw
}

}  // namespace arenalab::analysis::synthetic
