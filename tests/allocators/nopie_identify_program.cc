// SPDX-License-Identifier: Apache-2.0
// A program linked without PIE that takes malloc's address (as Debian's python3 does), so the
// dynamic linker makes a PLT stub in it the canonical malloc: dlsym(RTLD_DEFAULT, "malloc")
// lands in the program, not in the allocator. identify_current must still name the allocator
// behind the stub. Prints the backend; exit 3 when the build did not produce that situation.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "arenalab/allocators/backend.h"

void* (*volatile g_malloc)(std::size_t) = nullptr;

int main() {
  // Taken in non-PIE code: an absolute address of malloc in the instruction, which the linker
  // can only satisfy with a canonical PLT entry in the executable.
  g_malloc = &malloc;
  Dl_info called{}, program{};
  if (dladdr(dlsym(RTLD_DEFAULT, "malloc"), &called) == 0 ||
      dladdr(reinterpret_cast<void*>(&main), &program) == 0 ||
      called.dli_fbase != program.dli_fbase) {
    std::fprintf(stderr, "malloc does not resolve into the program: not the case under test\n");
    return 3;
  }
  arenalab::Identification id;
  if (!arenalab::identify_current(&id)) return 2;
  std::printf("%s %s\n", arenalab::backend_name(id.backend), id.library);
  return g_malloc != nullptr ? 0 : 1;
}
