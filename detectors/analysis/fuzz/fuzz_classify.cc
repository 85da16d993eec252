// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the pure classifier (scripts/fuzz): the input's bytes become the times
// and values of every signal, including non-finite, repeated, reversed and tiny times. classify
// must return for any of them (libFuzzer's -timeout catches a hang) with a verdict whose
// confidence is a number in [0, 1].
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "arenalab/analysis/analysis.h"

namespace {

using arenalab::analysis::Series;

// Reads the next double from the input, or 0 when it is used up.
double take(const std::uint8_t*& p, const std::uint8_t* end) {
  double d = 0;
  if (end - p >= static_cast<std::ptrdiff_t>(sizeof d)) {
    std::memcpy(&d, p, sizeof d);
    p += sizeof d;
  } else {
    p = end;
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: which signals carry data; second: whether times are taken from the input or
  // spaced evenly (the common case, which lets the values alone steer the classifier).
  const unsigned mask = data[0];
  const bool raw_times = data[1] & 1;
  const std::uint8_t* p = data + 2;
  const std::uint8_t* end = data + size;
  arenalab::analysis::Signals s;
  Series* all[] = {&s.rss,      &s.rss_anon, &s.live_bytes, &s.allocated,
                   &s.resident, &s.mapped,   &s.retained,   &s.mmap_bytes};
  const std::size_t n = static_cast<std::size_t>((end - p) / (raw_times ? 16 : 8));
  for (std::size_t i = 0; i < n && p < end; ++i) {
    const double t = raw_times ? take(p, end) : 100.0 * static_cast<double>(i);
    const double v = take(p, end);
    for (unsigned k = 0; k < 8; ++k) {
      if (!(mask & (1u << k))) continue;
      all[k]->t_ms.push_back(t);
      all[k]->value.push_back(v * (1 + k));  // signals differ but move together
    }
  }
  arenalab::analysis::Options options;
  if (data[1] & 2) options.limit_bytes = 1e9;
  const auto c = arenalab::analysis::classify(s, options);
  if (!(c.confidence >= 0 && c.confidence <= 1)) std::abort();
  for (const auto& e : c.evidence)
    if (!(e.v.confidence >= 0 && e.v.confidence <= 1)) std::abort();
  return 0;
}
