// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for both heap-profile parsers (scripts/fuzz builds it twice): with
// FUZZ_GPERFTOOLS the gperftools heap-profile parser, else the jemalloc heap_v2 one. Either must
// accept or reject any input without crashing, and an accepted dump must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arenalab/profilers/heap_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
#ifdef FUZZ_GPERFTOOLS
  auto dump = arenalab::profilers::parse_gperftools_heap(text, "fuzz.heap");
#else
  auto dump = arenalab::profilers::parse_jemalloc_heap(text, "fuzz.heap");
#endif
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
