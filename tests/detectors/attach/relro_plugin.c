// SPDX-License-Identifier: Apache-2.0
// The library stats_target --dlopen-loop loads and unloads in a loop (attach.stats.count_relro):
// linked with full RELRO (-z relro -z now), so its GOT, malloc's slot included, is made
// read-only by the loader at the end of each dlopen, and with 2000 symbol relocations (a
// read-only table of its own interposable functions' addresses, each looked up through the
// global scope) so that each dlopen spends a while relocating before that mprotect: the window
// in which an attach's patch pass sees its RELRO pages still writable.
#include <stdlib.h>

// The repetition macros are laid out by hand: clang-format does not settle on them.
// clang-format off
#define F(n) \
  void relro_plugin_f##n(void) {}
#define R10(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define R100(m, p)                                                                           \
  R10(m, p##0)                                                                               \
  R10(m, p##1) R10(m, p##2) R10(m, p##3) R10(m, p##4) R10(m, p##5) R10(m, p##6) R10(m, p##7) \
      R10(m, p##8) R10(m, p##9)
#define R1000(m, p)                                                                   \
  R100(m, p##0)                                                                       \
  R100(m, p##1) R100(m, p##2) R100(m, p##3) R100(m, p##4) R100(m, p##5) R100(m, p##6) \
      R100(m, p##7) R100(m, p##8) R100(m, p##9)
R1000(F, 1)
R1000(F, 2)
#define A(n) relro_plugin_f##n,
// clang-format on
void (*const relro_plugin_table[])(void) = {R1000(A, 1) R1000(A, 2)};

// One allocation and free through the library's own malloc and free slots (in its RELRO GOT).
int relro_plugin_churn(int n) {
  volatile char* p = malloc((size_t)n);
  if (!p) return -1;
  p[0] = 1;
  free((void*)p);
  return (int)(sizeof relro_plugin_table / sizeof relro_plugin_table[0]);
}
