// SPDX-License-Identifier: Apache-2.0
// wl_sawtooth: batches that grow to --peak over --period seconds and are then freed at once
// (bounded: no trend), with an optional leak underneath (--leak-rate bytes/s, from
// leak_under_sawtooth) that a trend test must still find.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"

namespace wl = arenalab::workload;
using arenalab::format_bytes;

namespace {

std::vector<void*>* g_leaked_blocks = new std::vector<void*>();  // never freed
std::uint64_t g_leaked = 0;

__attribute__((noinline)) void* batch_allocate(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p) std::memset(p, 1, bytes);
  return p;
}

__attribute__((noinline)) void batch_release(std::vector<void*>& batch) {
  for (void* p : batch) std::free(p);
  batch.clear();
}

__attribute__((noinline)) void leak_under_sawtooth(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (!p) return;
  std::memset(p, 2, bytes);
  g_leaked_blocks->push_back(p);
  g_leaked += bytes;
}

}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("sawtooth", "grow to a peak and drop every period; optional leak underneath");
  std::uint64_t peak = 128ULL << 20, block = 32 * 1024, leak_rate = 0;
  double period = 4, duration = 60;
  h.size_flag("peak", &peak, 48ULL << 20, "bytes a batch reaches before it is freed");
  h.size_flag("block", &block, 32 * 1024, "allocation size within a batch");
  h.size_flag("leak-rate", &leak_rate, 0, "bytes per second leaked underneath (0: none)");
  h.double_flag("period", &period, 1.5, "seconds per tooth");
  h.double_flag("duration", &duration, 12, "seconds to run");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (peak == 0 || block == 0 || period <= 0 || duration <= 0) {
    std::fprintf(stderr, "wl_sawtooth: --peak, --block, --period, --duration must be > 0\n");
    return 2;
  }
  std::vector<void*> batch;
  std::uint64_t in_batch = 0, teeth = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= duration) break;
    const double phase = std::fmod(s, period) / period;
    const auto target = static_cast<std::uint64_t>(phase * static_cast<double>(peak));
    if (target < in_batch) {  // a new tooth: drop the batch
      batch_release(batch);
      in_batch = 0;
      ++teeth;
    }
    while (in_batch + block <= target) {
      void* p = batch_allocate(block);
      if (!p) break;
      batch.push_back(p);
      in_batch += block;
    }
    while (leak_rate > 0 &&
           static_cast<double>(g_leaked + 4096) <= static_cast<double>(leak_rate) * s)
      leak_under_sawtooth(4096);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  batch_release(batch);
  h.measure("teeth", teeth);
  h.measure("leaked_bytes", g_leaked);
  h.row("teeth", std::to_string(teeth));
  h.row("leaked underneath", format_bytes(static_cast<double>(g_leaked)));
  h.check("teeth_completed", teeth >= 2, std::to_string(teeth) + " teeth (need >= 2)");
  h.note(leak_rate > 0 ? "Each tooth was freed, but leak_under_sawtooth kept what it took."
                       : "Each tooth was freed in full: bounded, no trend.");
  return h.finish();
}
