// SPDX-License-Identifier: Apache-2.0
// A generator of labelled synthetic memory timelines for measuring the classifier: every class,
// leak rates 0.5-20 % of level per window (steady, late onset, steps, over warm-up or sawtooth),
// plateaus with knees at 10-90 % of the window, sawtooth, retention, growth outside malloc,
// AR(1) noise (phi 0-0.95, sigma 0.1-2 % of level), spikes and missing samples.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis::synthetic {

enum class Kind { kStable, kLeak, kPlateau, kSawtooth, kRetention, kNonHeap };
const char* kind_name(Kind k);

struct Case {
  Kind kind;
  std::string shape;  // e.g. "leak/steps+warmup"
  Signals signals;
  double leak_growth_pct = 0;  // leak: growth the leak adds inside the window, % of base level
  double tail_fraction = -1;   // plateau: share of the window after the knee
  double phi = 0, sigma_pct = 0;
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

}  // namespace arenalab::analysis::synthetic
