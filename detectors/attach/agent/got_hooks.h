// SPDX-License-Identifier: Apache-2.0
// Level count of an attach (docs/attach.md): the agent's hooks on the GOT of every loaded object
// for the malloc family, operator new/delete and mmap/munmap, counting what is live since the
// attach point (hooks.cc, got_patch.cc; their shared internals: agent_internal.h). Private to
// libarenalab_agent.so.
#pragma once

#include <cstddef>

namespace arenalab::agent {

// What is live since count_start(): bytes and blocks of the malloc family and operator new
// (requested sizes), the program's own anonymous mappings, and what the counts could not see.
struct CountTotals {
  long long live_bytes = 0;
  long long live_allocs = 0;
  long long mmap_bytes = 0;     // anonymous, not PROT_NONE, made through a hooked mmap
  long long unknown_frees = 0;  // frees of blocks not allocated through a hook since the attach
  long long untracked = 0;      // allocations the pointer table had no room for (not counted)
  long long slots = 0;          // GOT / data slots currently pointing at a hook
  long long objects = 0;        // loaded objects with at least one slot patched
  long long table_bytes = 0;    // address space of the pointer table's levels mapped so far
  long long relro_pending = 0;  // slot writes left for a later pass: on a RELRO page seen
                                // writable, an object a dlopen was still relocating
  long long relro_kept_writable = 0;  // slots written on RELRO pages the program keeps writable
                                      // (the loader done with their object)
  long long passes = 0;               // patch passes over every loaded object since count_start
  long long maps_unread = 0;  // passes that could not read /proc/self/maps whole (their RELRO
                              // slots made writable blind: the racy fallback)
  long long maps_bytes = 0;   // the size of /proc/self/maps at the last pass
};

// Resolves the real functions, clears the counts and the pointer table, starts counting and
// patches every loaded object; with sample_bytes > 0 (level sample) also samples allocations
// with that mean period (sampling.h). 0 ok; else a short reason written to `why` (nothing
// patched).
int count_start(char* why, std::size_t why_size, unsigned long long sample_bytes = 0);
// Patches objects loaded since the last pass (cheap when none was: one dl_iterate_phdr).
void count_rescan();
// Puts every slot still pointing at a hook back to what it held, then stops counting. The hooks
// stay in the library (never unloaded): a pointer to one copied meanwhile still works.
void count_stop();
CountTotals count_read();

}  // namespace arenalab::agent
