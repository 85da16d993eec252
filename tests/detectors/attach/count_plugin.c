// SPDX-License-Identifier: Apache-2.0
// A library stats_target dlopens after level count has attached (stats_test.py count_dlopen):
// its calls to malloc go through its own GOT, which only a patch of objects loaded later sees.
#include <stdlib.h>
#include <string.h>

// The first call's marker block (kept for good): allocated microseconds after dlopen returned,
// so it is counted only when the library was patched before dlopen returned (the agent's
// dlopen hook), not at a later tick.
enum { kMarker = (7 << 20) + 4096 };
static void* g_marker;

// Keeps a block of n bytes (never freed): the leak is in this library, not in the program.
void* count_plugin_keep(size_t n) {
  if (!g_marker) {
    g_marker = malloc(kMarker);
    if (g_marker) memset(g_marker, 2, kMarker);
  }
  void* p = malloc(n);
  if (p) memset(p, 1, n);
  return p;
}
