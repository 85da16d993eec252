// SPDX-License-Identifier: Apache-2.0
// wl_service: a service with a managed heap cap (like -Xmx or GOMEMLIMIT: the data it keeps
// through malloc stays under --heap-cap, it evicts to stay under) that also keeps an off-heap
// buffer (mmap) per request, growing. Seed task 9: a memory limit equal to the heap cap kills
// it although the heap was never above its cap; budget the process, not the heap.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/gauge.h"
#include "arenalab/workload/harness.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;

namespace {

// EX_TEMPFAIL (sysexits.h): refused new work at the off-heap cap, a clean, managed stop.
constexpr int kExitRefused = 75;

// The interposer's gauge hook (libarenalab_preload.so), present only when run under it.

struct HeapObject {
  void* p;
  std::size_t n;
};

}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("service",
                "a service with a managed heap cap that also keeps off-heap (mmap) buffers per "
                "request");
  std::uint64_t heap_cap = 256ULL << 20;
  std::uint64_t request_heap = 1ULL << 20;
  std::uint64_t request_offheap = 256ULL << 10;
  std::uint64_t offheap_cap = 0;
  std::int64_t requests = 4000;
  std::int64_t pause_us = 10000;
  std::int64_t report_every = 50;
  std::string report_path;
  h.size_flag("heap-cap", &heap_cap, 32ULL << 20,
              "managed heap cap: bytes kept through malloc stay under it (oldest evicted)");
  h.size_flag("request-heap", &request_heap, 256ULL << 10, "heap bytes each request keeps");
  h.size_flag("request-offheap", &request_offheap, 64ULL << 10,
              "off-heap (mmap) bytes each request keeps");
  h.size_flag("offheap-cap", &offheap_cap, 0,
              "refuse new work (exit 75) rather than exceed this off-heap total; 0: no cap");
  h.int_flag("requests", &requests, 1500, "requests to serve");
  h.int_flag("pause-us", &pause_us, 5000, "pause after each request, microseconds");
  h.int_flag("report-every", &report_every, 20, "write a heap report line every N requests");
  h.string_flag("report", &report_path,
                "append the JSON report lines to this file (default: stdout, stderr with --json)");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (request_heap == 0 || request_heap > heap_cap || requests < 0 || report_every <= 0 ||
      pause_us < 0) {
    std::fprintf(stderr,
                 "wl_service: need 0 < --request-heap <= --heap-cap, --requests >= 0, "
                 "--report-every > 0, --pause-us >= 0\n");
    return 2;
  }
  // The report is unbuffered into the file (append, one write per line via fflush), so a
  // SIGKILL leaves every line written so far.
  // With --json, stdout carries only the harness's one JSON object: reports go to stderr.
  std::FILE* report = h.json() ? stderr : stdout;
  if (!report_path.empty()) {
    report = std::fopen(report_path.c_str(), "a");
    if (!report) {
      std::fprintf(stderr, "wl_service: cannot open --report %s: %s\n", report_path.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  const arenalab_gauge_set_fn gauge_set = arenalab_gauge_set;  // null without the interposer

  std::deque<HeapObject> heap;  // the managed heap: FIFO eviction keeps it under the cap
  std::uint64_t heap_bytes = 0, heap_peak = 0, evictions = 0;
  std::vector<std::pair<void*, std::size_t>> offheap;  // buffers never returned (growing)
  std::uint64_t offheap_bytes = 0;
  std::int64_t served = 0;

  auto write_report = [&](const char* event) {
    nlohmann::json j = {{"event", event},
                        {"requests", served},
                        {"heap_bytes", heap_bytes},
                        {"heap_peak_bytes", heap_peak},
                        {"heap_cap_bytes", heap_cap},
                        {"heap_objects", heap.size()},
                        {"evictions", evictions},
                        {"offheap_bytes", offheap_bytes},
                        {"offheap_buffers", offheap.size()},
                        {"rss_bytes", wl::current_rss()}};
    if (offheap_cap) j["offheap_cap_bytes"] = offheap_cap;
    // The allocator's own books where the backend reports them (absent otherwise).
    const auto s = h.allocator_stats();
    if (s.allocated) j["allocator_allocated_bytes"] = *s.allocated;
    const std::string line = j.dump() + "\n";
    std::fputs(line.c_str(), report);
    std::fflush(report);
  };

  write_report("start");
  for (served = 0; served < requests;) {
    // Off-heap first, as a service allocates its I/O buffer before it handles the request.
    if (offheap_cap && offheap_bytes + request_offheap > offheap_cap) {
      write_report("refused");
      std::fprintf(stderr,
                   "wl_service: off-heap cap reached (%s in use + %s requested > cap %s): "
                   "refusing new work\n",
                   format_bytes(static_cast<double>(offheap_bytes)).c_str(),
                   format_bytes(static_cast<double>(request_offheap)).c_str(),
                   format_bytes(static_cast<double>(offheap_cap)).c_str());
      return kExitRefused;
    }
    if (request_offheap) {
      void* b = ::mmap(nullptr, request_offheap, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (b == MAP_FAILED) {
        std::fprintf(stderr, "wl_service: mmap(%llu) failed: %s\n",
                     static_cast<unsigned long long>(request_offheap), std::strerror(errno));
        return 1;
      }
      wl::touch_pages(b, request_offheap, static_cast<unsigned char>(served));
      offheap.emplace_back(b, request_offheap);
      offheap_bytes += request_offheap;
    }
    // The managed heap: evict the oldest until the new object fits under the cap.
    while (!heap.empty() && heap_bytes + request_heap > heap_cap) {
      std::free(heap.front().p);
      heap_bytes -= heap.front().n;
      heap.pop_front();
      ++evictions;
    }
    void* p = std::malloc(request_heap);
    if (!p) {
      std::fprintf(stderr, "wl_service: malloc(%llu) failed\n",
                   static_cast<unsigned long long>(request_heap));
      return 1;
    }
    std::memset(p, static_cast<int>(served & 0xff), request_heap);  // every byte resident
    heap.push_back({p, request_heap});
    heap_bytes += request_heap;
    heap_peak = std::max(heap_peak, heap_bytes);
    ++served;
    if (gauge_set) {
      gauge_set("heap_bytes", static_cast<double>(heap_bytes));
      gauge_set("offheap_bytes", static_cast<double>(offheap_bytes));
    }
    if (served % report_every == 0) write_report("progress");
    if (pause_us) ::usleep(static_cast<useconds_t>(pause_us));
  }
  write_report("done");

  h.measure("requests", served);
  h.measure("heap_cap_bytes", heap_cap);
  h.measure("heap_peak_bytes", heap_peak);
  h.measure("offheap_bytes", offheap_bytes);
  h.measure("evictions", evictions);
  h.measure("rss_bytes", wl::current_rss());
  h.row("requests served", std::to_string(served));
  h.row("heap peak / cap", format_bytes(static_cast<double>(heap_peak)) + " / " +
                               format_bytes(static_cast<double>(heap_cap)));
  h.row("off-heap kept", format_bytes(static_cast<double>(offheap_bytes)) + " in " +
                             std::to_string(offheap.size()) + " buffers");
  h.row("RSS", format_bytes(static_cast<double>(wl::current_rss())));
  h.check("heap_within_cap", heap_peak <= heap_cap,
          "managed heap peaked at " + format_bytes(static_cast<double>(heap_peak)) + " (cap " +
              format_bytes(static_cast<double>(heap_cap)) + ")");
  for (const auto& [b, n] : offheap) ::munmap(b, n);
  for (const auto& o : heap) std::free(o.p);
  if (!report_path.empty()) std::fclose(report);
  return h.finish();
}
