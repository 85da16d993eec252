// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Prometheus range-query reader (scripts/fuzz), seeded with the real
// answers of tests/data/prometheus. Any input must come back as a value or an error; a value
// keeps the reader's promises: times finite and strictly increasing, as many values as times,
// non_finite counting the NaN / Inf values; on a counter (values >= 0) the reset correction
// leaves no reset behind.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arenalab/formats/prometheus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arenalab::prometheus;
  auto r =
      parse_range_response(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& s : r->series) {
    if (s.t_s.size() != s.value.size()) std::abort();
    std::size_t non_finite = 0;
    for (std::size_t i = 0; i < s.t_s.size(); ++i) {
      if (!std::isfinite(s.t_s[i])) std::abort();
      if (i > 0 && !(s.t_s[i] > s.t_s[i - 1])) std::abort();
      if (!std::isfinite(s.value[i])) ++non_finite;
    }
    if (non_finite != s.non_finite) std::abort();
    (void)missing_points(s, 15);
    const auto m = without_counter_resets(s);
    if (m.value.size() != s.value.size()) std::abort();
    // A counter is never negative; on one (and while the offsets stay finite) the correction
    // leaves no reset behind.
    bool counter = non_finite == 0;
    for (double v : s.value) counter = counter && v >= 0;
    for (double v : m.value) counter = counter && std::isfinite(v);
    if (counter && !counter_resets(m).empty()) std::abort();
  }
  return 0;
}
