// SPDX-License-Identifier: Apache-2.0
// The allocator's own code: its mmap calls are not the program's. Found once by an ELF scan of
// the loaded objects (allocator_text.cc); the mmap hooks test their return address against it.
#pragma once

#include <cstdint>

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// ---- the allocator's own code: its mmap calls are not the program's ----
// An allocator other than glibc maps its memory through the exported mmap, so those calls
// reach our hook. They were told apart by marking the thread busy around every malloc and
// free; that costs about 10 % of a malloc-heavy run under mimalloc or tcmalloc (a store before
// and after the call, and no tail call). Instead the mmap hooks look at their return address:
// a call from the text of the object that defines the next malloc, or of one of the objects
// it needs (libtbbmalloc_proxy's malloc runs in libtbbmalloc), is the allocator's. The C and
// C++ runtime it needs (libc, ld.so, libstdc++, libgcc_s, libm) is not the allocator.
struct TextRange {
  std::uintptr_t lo, hi;
};
inline constexpr int kMaxAllocTexts = 8;
extern TextRange g_alloc_text[kMaxAllocTexts];
extern int g_alloc_texts;  // -1: not found (the fast paths then mark busy)

inline int alloc_texts() { return g_alloc_texts; }

// Once, from the constructor (allocator_text.cc).
void find_allocator_text();

inline bool from_allocator(const void* ret) {
  const auto a = reinterpret_cast<std::uintptr_t>(ret);
  for (int i = 0; i < g_alloc_texts; ++i)
    if (a >= g_alloc_text[i].lo && a < g_alloc_text[i].hi) return true;
  return false;
}

}  // namespace arenalab::preload

#pragma GCC visibility pop
