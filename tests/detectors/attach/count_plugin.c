// SPDX-License-Identifier: Apache-2.0
// A library stats_target dlopens after level count has attached (stats_test.py count_dlopen):
// its calls to malloc go through its own GOT, which only a patch of objects loaded later sees.
#include <stdlib.h>
#include <string.h>

// Keeps a block of n bytes (never freed): the leak is in this library, not in the program.
void* count_plugin_keep(size_t n) {
  void* p = malloc(n);
  if (p) memset(p, 1, n);
  return p;
}
