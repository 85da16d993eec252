// SPDX-License-Identifier: Apache-2.0
// libarenalab_preload_stats.so: stats mode without a single hook on the allocation path. The
// sampler, timeline, gauges and fork handling are the same sources as libarenalab_preload.so;
// only the malloc family is absent, so the program calls its allocator directly and pays for
// nothing but the sampler thread's wake-ups. The runner preloads this library for
// `--mode stats`.
#include <dlfcn.h>

#include "state.h"

namespace arenalab::preload {

const bool kHooksAllocation = false;

unsigned hook_flags(unsigned mode_flags) { return mode_flags; }
void tables_published() {}
bool filter_static(std::size_t) { return false; }
void fast_publish() {}
void publish_passive() {}

// Only malloc is looked up: identification (backend.h) starts from the malloc that is called.
void ensure_resolved() {
  if (!g_real.malloc)
    g_real.malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(RTLD_DEFAULT, "malloc"));
}

}  // namespace arenalab::preload
