// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the jemalloc heap_v2 parser must accept or reject any input without
// crashing, and an accepted dump must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arenalab/profilers/heap_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto dump = arenalab::profilers::parse_jemalloc_heap(text, "fuzz.heap");
  if (dump.ok()) {
    if (dump->mappings.empty()) std::abort();  // accepted dumps always carry their mappings
    for (const auto& s : dump->stacks) {
      if (s.addresses.empty()) std::abort();
      (void)arenalab::profilers::estimated_live_bytes(s, dump->sample_period);
    }
  } else if (dump.error().message.find("fuzz.heap:") != 0) {
    std::abort();  // every rejection names the file and line
  }
  return 0;
}
