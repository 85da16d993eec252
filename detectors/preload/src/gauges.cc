// SPDX-License-Identifier: Apache-2.0
// The gauges a program publishes (arenalab/gauge.h): a fixed table of named values, set from any
// thread, written into every sample line by the timeline writer.
#include <atomic>
#include <cstring>

#include "arenalab/preload/format.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

// Gauges published by the program (arenalab_gauge_set).
constexpr int kMaxGauges = 64;
struct Gauge {
  char name[64];
  std::atomic<double> value;
  std::atomic<int> ready;
};
Gauge g_gauges[kMaxGauges];
std::atomic<int> g_gauge_count{0};
SpinLock g_gauge_lock;

}  // namespace

// A program publishes a named figure (e.g. the off-heap store's bytes in use); it appears in
// every later sample's "gauges" object. Names longer than 63 bytes are cut; at most 64 gauges.
void gauge_set(const char* name, double value) {
  if (!name) return;
  const int n = g_gauge_count.load(std::memory_order_acquire);
  for (int i = 0; i < n && i < kMaxGauges; ++i)
    if (g_gauges[i].ready.load(std::memory_order_acquire) &&
        std::strncmp(g_gauges[i].name, name, sizeof g_gauges[i].name - 1) == 0) {
      g_gauges[i].value.store(value, std::memory_order_relaxed);
      return;
    }
  g_gauge_lock.lock();
  const int m = g_gauge_count.load(std::memory_order_relaxed);
  for (int i = 0; i < m; ++i)
    if (std::strncmp(g_gauges[i].name, name, sizeof g_gauges[i].name - 1) == 0) {
      g_gauges[i].value.store(value, std::memory_order_relaxed);
      g_gauge_lock.unlock();
      return;
    }
  if (m < kMaxGauges) {
    Gauge& g = g_gauges[m];
    std::size_t len = str_len(name);
    if (len > sizeof g.name - 1) len = sizeof g.name - 1;
    std::memcpy(g.name, name, len);
    g.name[len] = 0;
    g.value.store(value, std::memory_order_relaxed);
    g.ready.store(1, std::memory_order_release);
    g_gauge_count.store(m + 1, std::memory_order_release);
  }
  g_gauge_lock.unlock();
}

void gauges_append(Buf& b) {
  const int ng = g_gauge_count.load(std::memory_order_acquire);
  bool any_gauge = false;
  for (int i = 0; i < ng && i < kMaxGauges; ++i) {
    if (!g_gauges[i].ready.load(std::memory_order_acquire)) continue;
    b.str(any_gauge ? "," : ",\"gauges\":{");
    any_gauge = true;
    b.json_str(g_gauges[i].name).ch(':').dbl(g_gauges[i].value.load(std::memory_order_relaxed));
  }
  if (any_gauge) b.ch('}');
}

void gauges_atfork_child() { g_gauge_lock.v.store(0); }

}  // namespace arenalab::preload
