/* SPDX-License-Identifier: Apache-2.0 */
/* A library preload_survivor links. A program's libraries are initialised before the preloaded
   ones, so this constructor runs before the interposer's: it makes two aligned blocks (under
   mimalloc both start inside larger blocks) that are still live when count mode's tables come
   on. Scenario "early" fills their pages with plain blocks and frees everything. */
#include <malloc.h>
#include <stdlib.h>

static void* g_early[2];
static void* g_pad[2];

/* Each aligned block follows a plain one of the class it is carved from, so the next free block
   of that class is not aligned and mimalloc serves the alignment from inside a larger block. */
__attribute__((constructor)) static void early_init(void) {
  g_pad[0] = malloc(100 + 255);
  if (posix_memalign(&g_early[0], 256, 100) != 0) g_early[0] = NULL;
  g_pad[1] = malloc(100 + 1023);
  g_early[1] = memalign(1024, 100);
}

void* early_block(int i) { return g_early[i]; }

/* The aligned blocks (the pads stay: they were counted before the scenario's baseline). */
void early_release(void) {
  free(g_early[0]);
  free(g_early[1]);
  g_early[0] = g_early[1] = NULL;
}
