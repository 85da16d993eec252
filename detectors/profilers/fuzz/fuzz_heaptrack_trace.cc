// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the heaptrack trace replayer must accept or reject any (decompressed)
// input without crashing; rejections name the input and line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arenalab/profilers/heaptrack_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto trace = arenalab::profilers::parse_heaptrack_trace(text, "fuzz.trace", 10.0);
  if (trace.ok()) {
    if (trace->snapshots.empty()) std::abort();  // the final state is always a snapshot
  } else if (trace.error().message.find("fuzz.trace:") != 0) {
    std::abort();
  }
  return 0;
}
