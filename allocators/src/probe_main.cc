// SPDX-License-Identifier: Apache-2.0
// arenalab-probe: prints which object defines the malloc this process calls, as JSON.
// Run by `arenalab allocators` under each configuration's environment to verify it.
#include <cstdio>

#include "arenalab/allocators/backend.h"

namespace {
// Escapes a string for JSON (paths and version strings: quotes, backslashes, controls).
void print_json_string(const char* s) {
  std::putchar('"');
  for (; *s; ++s) {
    const unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\')
      std::printf("\\%c", c);
    else if (c < 0x20)
      std::printf("\\u%04x", c);
    else
      std::putchar(c);
  }
  std::putchar('"');
}
}  // namespace

int main() {
  arenalab::Identification id;
  if (!arenalab::identify_current(&id)) {
    std::fputs("arenalab-probe: cannot find the object that defines malloc\n", stderr);
    return 1;
  }
  arenalab::AllocatorStats stats;
  const bool has_stats = arenalab::read_allocator_stats(id.backend, &stats);
  std::printf("{\"backend\":");
  print_json_string(arenalab::backend_name(id.backend));
  std::printf(",\"library\":");
  print_json_string(id.library);
  std::printf(",\"version\":");
  print_json_string(id.version);
  std::printf(",\"stats_interface\":%s}\n", has_stats ? "true" : "false");
  return 0;
}
