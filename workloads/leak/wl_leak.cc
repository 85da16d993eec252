// SPDX-License-Identifier: Apache-2.0
// wl_leak: a program that leaks at a known rate from one named function, leak_into_registry,
// amid churn from other named functions that free what they allocate. The leak is malloc, new
// or an anonymous mmap (growth outside malloc); steady, after an onset delay, or in steps.
#include <sys/mman.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"

namespace wl = arenalab::workload;
using arenalab::format_bytes;

namespace {

// Never freed: what leak_into_registry adds stays reachable here, as in a cache that forgets
// to evict or a registry nobody unregisters from.
std::vector<void*>* g_registry = new std::vector<void*>();
std::uint64_t g_leaked = 0;

enum class Kind { kMalloc, kNew, kMmap };

// The leak. noinline keeps it a frame of its own in every profile.
__attribute__((noinline)) bool leak_into_registry(Kind kind, std::size_t bytes) {
  void* p = nullptr;
  switch (kind) {
    case Kind::kMalloc:
      p = std::malloc(bytes);
      break;
    case Kind::kNew:
      p = new char[bytes];
      break;
    case Kind::kMmap: {
      void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      p = m == MAP_FAILED ? nullptr : m;
      break;
    }
  }
  if (!p) return false;
  std::memset(p, 0xA5, bytes);  // resident, so RSS sees it
  g_registry->push_back(p);
  g_leaked += bytes;
  return true;
}

// Churn that frees everything it allocates: parse a "request" into small pieces.
__attribute__((noinline)) std::uint64_t churn_parse_request(std::mt19937_64& rng) {
  std::vector<char*> parts;
  std::uint64_t sum = 0;
  const int n = 8 + static_cast<int>(rng() % 24);
  for (int i = 0; i < n; ++i) {
    const std::size_t sz = 16 + rng() % 2048;
    char* p = static_cast<char*>(std::malloc(sz));
    if (!p) continue;
    std::memset(p, i, sz);
    sum += static_cast<unsigned char>(p[sz / 2]);
    parts.push_back(p);
  }
  for (char* p : parts) std::free(p);
  return sum;
}

// Churn with larger, shorter-lived buffers (a "response" built and sent).
__attribute__((noinline)) std::uint64_t churn_build_response(std::mt19937_64& rng) {
  const std::size_t sz = 4096 + rng() % (96 * 1024);
  std::string* s = new std::string(sz, 'x');
  const std::uint64_t v = static_cast<unsigned char>((*s)[sz - 1]) + s->size();
  delete s;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("leak", "leak at a set rate from leak_into_registry amid churn that frees");
  std::uint64_t rate = 4ULL << 20;
  std::uint64_t chunk = 64 * 1024;
  std::string kind_name = "malloc";
  double onset = 0, step = 0, duration = 60;
  h.size_flag("rate", &rate, 4ULL << 20, "bytes leaked per second");
  h.size_flag("chunk", &chunk, 64 * 1024, "size of each leaked allocation");
  h.string_flag("kind", &kind_name, "malloc | new | mmap (default malloc)");
  h.double_flag("onset", &onset, 0, "seconds before the leak starts");
  h.double_flag("step", &step, 0, "leak in steps every this many seconds (0: continuously)");
  h.double_flag("duration", &duration, 8, "seconds to run");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  Kind kind;
  if (kind_name == "malloc") {
    kind = Kind::kMalloc;
  } else if (kind_name == "new") {
    kind = Kind::kNew;
  } else if (kind_name == "mmap") {
    kind = Kind::kMmap;
  } else {
    std::fprintf(stderr, "wl_leak: --kind must be malloc, new or mmap, not '%s'\n",
                 kind_name.c_str());
    return 2;
  }
  if (chunk == 0 || duration <= 0 || onset < 0 || step < 0) {
    std::fprintf(stderr, "wl_leak: --chunk, --duration must be > 0; --onset, --step >= 0\n");
    return 2;
  }

  std::mt19937_64 rng(42);
  std::uint64_t sink = 0;
  const std::uint64_t rss0 = wl::current_rss();
  const auto t0 = std::chrono::steady_clock::now();
  char what[96];
  std::snprintf(what, sizeof what, "leaking %s/s (%s) for %.1f s",
                format_bytes(static_cast<double>(rate)).c_str(), kind_name.c_str(), duration);
  h.progress(what);
  for (;;) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= duration) break;
    for (int i = 0; i < 20; ++i) sink += churn_parse_request(rng) + churn_build_response(rng);
    // What should have leaked by now: rate x time since the onset, or whole steps of it.
    const double since = s - onset;
    const double due = since <= 0 ? 0
                       : step > 0 ? static_cast<double>(rate) * step * std::floor(since / step)
                                  : static_cast<double>(rate) * since;
    while (static_cast<double>(g_leaked + chunk) <= due) {
      if (!leak_into_registry(kind, chunk)) {
        std::fprintf(stderr, "wl_leak: out of memory after leaking %llu bytes\n",
                     static_cast<unsigned long long>(g_leaked));
        return 1;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  wl::keep(sink);
  const std::uint64_t rss1 = wl::current_rss();
  const double active = std::max(0.0, duration - onset);
  const double expected =
      static_cast<double>(rate) * (step > 0 ? std::floor(active / step) * step : active);
  h.measure("leaked_bytes", g_leaked);
  h.measure("rss_growth_bytes", static_cast<double>(rss1) - static_cast<double>(rss0));
  h.row("leaked (" + kind_name + ")", format_bytes(static_cast<double>(g_leaked)));
  h.row("RSS growth", format_bytes(static_cast<double>(rss1) - static_cast<double>(rss0)));
  h.check("leaked_as_asked",
          static_cast<double>(g_leaked) >= 0.8 * expected - static_cast<double>(chunk),
          "leaked " + format_bytes(static_cast<double>(g_leaked)) + " (expected about " +
              format_bytes(expected) + ")");
  h.note("leak_into_registry leaked " + format_bytes(static_cast<double>(g_leaked)) +
         " that nothing frees; churn_parse_request and churn_build_response freed all they took.");
  return h.finish();
}
