/* SPDX-License-Identifier: Apache-2.0 */
/* The gauge API: a program publishes named figures (an off-heap store's bytes in use, a queue's
   depth) that the interposer writes into every later timeline sample's "gauges" object. A C
   header usable from C and C++, like heaptrack's heaptrack_api.h: the symbol is declared weak,
   so a program built against it runs unchanged without the interposer (the call is skipped). */
#ifndef ARENALAB_GAUGE_H
#define ARENALAB_GAUGE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The exported name, for dlsym and for telling the interposer's object apart. */
#define ARENALAB_GAUGE_SET_SYMBOL "arenalab_gauge_set"

typedef void (*arenalab_gauge_set_fn)(const char* name, double value);

#ifdef ARENALAB_GAUGE_PROVIDER
/* The definition's translation unit (the interposer, a test's own sink): a strong symbol. */
void arenalab_gauge_set(const char* name, double value);
#else
/* Sets gauge `name` (at most 63 bytes are kept; at most 64 gauges per process) to `value`.
   Defined by libarenalab_preload.so and libarenalab_preload_stats.so (every mode); null here
   when neither is loaded: call it through arenalab_gauge() or test it first. */
__attribute__((weak)) void arenalab_gauge_set(const char* name, double value);

/* Nonzero when an interposer (or another definition) is present in the process. */
static inline int arenalab_gauge_available(void) { return arenalab_gauge_set != 0; }

/* arenalab_gauge_set when present, else nothing. */
static inline void arenalab_gauge(const char* name, double value) {
  if (arenalab_gauge_set) arenalab_gauge_set(name, value);
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* ARENALAB_GAUGE_H */
