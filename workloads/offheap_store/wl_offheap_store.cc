// SPDX-License-Identifier: Apache-2.0
// wl_offheap_store: exercises arenalab::offheap::Store from several threads (put, get and
// verify, erase half, put again into the freed slots), optionally holds it open so `arenalab
// watch` samples the "offheap.*" gauges beside RSS, then closes it and checks that the gauges
// and the process's mapped bytes (VmSize) are back at the baseline.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/offheap/store.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/workload/harness.h"

using arenalab::format_bytes;
using arenalab::offheap::Store;
namespace wl = arenalab::workload;

namespace {

std::uint64_t vm_size() {
  auto s = arenalab::procfs::read_status();
  return s.ok() && s->vm_size ? *s->vm_size : 0;
}

// Payload of key k: its 8-byte index, then a byte pattern.
void fill(std::vector<std::byte>& buf, std::uint64_t k) {
  for (std::size_t b = 0; b < buf.size(); ++b) buf[b] = static_cast<std::byte>((k + b) & 0xff);
  std::memcpy(buf.data(), &k, std::min(buf.size(), sizeof k));
}

// Runs fn(thread, first_key, end_key) on `threads` threads over [0, count).
template <typename Fn>
void parallel(std::int64_t threads, std::uint64_t count, Fn fn) {
  std::vector<std::thread> pool;
  const auto t = static_cast<std::uint64_t>(threads);
  for (std::uint64_t i = 0; i < t; ++i) {
    pool.emplace_back([&, i] { fn(count * i / t, count * (i + 1) / t); });
  }
  for (auto& th : pool) th.join();
}

// How many of `regions` still overlap a mapping in /proc/self/maps (proc(5)).
std::size_t still_mapped(const std::vector<arenalab::offheap::RegionInfo>& regions) {
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return regions.size();
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> maps;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line, "%llx-%llx", &lo, &hi) == 2) maps.emplace_back(lo, hi);
  }
  std::fclose(f);
  std::size_t n = 0;
  for (const auto& r : regions) {
    const auto lo = reinterpret_cast<std::uintptr_t>(r.base);
    const auto hi = lo + r.bytes;
    for (const auto& [a, b] : maps) {
      if (a < hi && lo < b) {
        ++n;
        break;
      }
    }
  }
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("offheap_store",
                "off-heap key->bytes store: concurrent put/get/erase, slot reuse, gauges, "
                "deterministic unmap on close");
  std::int64_t count = 1000000;
  std::uint64_t payload = 64;
  std::int64_t threads = 4;
  double hold_ms = 0;
  h.int_flag("count", &count, 20000, "keys to put");
  h.size_flag("payload", &payload, 64, "bytes per payload (<= 4096)");
  h.int_flag("threads", &threads, 2, "threads doing the puts and gets");
  h.double_flag("hold-ms", &hold_ms, 0,
                "keep the filled store open this long, publishing its gauges every 100 ms");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (count <= 0 || threads <= 0 || threads > 256 || payload == 0 || payload > 4096) {
    std::fprintf(stderr,
                 "wl_offheap_store: need --count > 0, 1 <= --threads <= 256, "
                 "1 <= --payload <= 4096\n");
    return 2;
  }
  const auto n = static_cast<std::uint64_t>(count);

  // Warm-up: thread stacks and per-thread malloc arenas stay cached after the threads exit,
  // so create them before the baseline; the measured phases reuse them.
  parallel(threads, n, [](std::uint64_t, std::uint64_t) {
    std::vector<char> v(4096);
    wl::keep(static_cast<std::uint64_t>(v.size()));
  });
  const bool sink = Store::gauge_sink_present();
  const std::uint64_t vm0 = vm_size();

  auto opened = Store::open({.max_payload = 4096});
  if (!opened.ok()) {
    std::fprintf(stderr, "wl_offheap_store: cannot open the store: %s\n",
                 arenalab::offheap::error_name(opened.error()));
    return 1;
  }
  Store store = std::move(opened).value();

  std::atomic<std::uint64_t> failures{0}, mismatches{0};
  h.progress("put " + std::to_string(n) + " payloads");
  auto t0 = std::chrono::steady_clock::now();
  parallel(threads, n, [&](std::uint64_t lo, std::uint64_t hi) {
    std::vector<std::byte> buf(payload);
    for (std::uint64_t k = lo; k < hi; ++k) {
      fill(buf, k);
      if (!store.put(k, buf).ok()) failures.fetch_add(1);
    }
  });
  const double put_s = seconds_since(t0);
  const std::uint64_t mapped_full = store.bytes_mapped();
  const std::uint64_t in_use_full = store.bytes_in_use();
  const auto resident = store.resident_bytes();

  h.progress("get and verify");
  t0 = std::chrono::steady_clock::now();
  parallel(threads, n, [&](std::uint64_t lo, std::uint64_t hi) {
    std::vector<std::byte> buf(payload), want(payload);
    for (std::uint64_t k = lo; k < hi; ++k) {
      auto got = store.get(k, buf);
      fill(want, k);
      if (!got.ok()) {
        failures.fetch_add(1);
      } else if (got.value() != payload || std::memcmp(buf.data(), want.data(), payload) != 0) {
        mismatches.fetch_add(1);
      }
    }
  });
  const double get_s = seconds_since(t0);

  h.progress("erase half, put again into the freed slots");
  parallel(threads, n, [&](std::uint64_t lo, std::uint64_t hi) {
    for (std::uint64_t k = lo + (lo % 2); k < hi; k += 2) {
      if (!store.erase(k).ok()) failures.fetch_add(1);
    }
  });
  const std::uint64_t in_use_half = store.bytes_in_use();
  parallel(threads, n, [&](std::uint64_t lo, std::uint64_t hi) {
    std::vector<std::byte> buf(payload);
    for (std::uint64_t k = lo + (lo % 2); k < hi; k += 2) {
      fill(buf, k + n);
      if (!store.put(k + n, buf).ok()) failures.fetch_add(1);
    }
  });
  const std::uint64_t mapped_reput = store.bytes_mapped();

  if (hold_ms > 0) {
    h.progress("holding the store open for " + std::to_string(hold_ms) + " ms");
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::microseconds(static_cast<std::int64_t>(hold_ms * 1000));
    while (std::chrono::steady_clock::now() < until) {
      Store::publish_gauges();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const auto regions = store.regions();
  const std::uint64_t vm_full = vm_size();
  store.close();
  const std::uint64_t vm1 = vm_size();
  const std::size_t left = still_mapped(regions);
  const double vm_delta = static_cast<double>(vm1) - static_cast<double>(vm0);

  h.measure("put_ops_per_s", static_cast<double>(n) / put_s);
  h.measure("get_ops_per_s", static_cast<double>(n) / get_s);
  h.measure("bytes_mapped_full", mapped_full);
  h.measure("bytes_in_use_full", in_use_full);
  if (resident.ok()) h.measure("region_resident_bytes_full", resident.value());
  h.measure("bytes_mapped_after_reput", mapped_reput);
  h.measure("vm_size_delta_filled_bytes", static_cast<double>(vm_full) - static_cast<double>(vm0));
  h.measure("vm_size_delta_after_close_bytes", vm_delta);
  h.throughput(static_cast<double>(n) / put_s, "puts/s");
  h.row("threads", std::to_string(threads));
  h.row("put", std::to_string(static_cast<long long>(static_cast<double>(n) / put_s)) + " ops/s");
  h.row("get + verify",
        std::to_string(static_cast<long long>(static_cast<double>(n) / get_s)) + " ops/s");
  h.row("payload bytes in use", format_bytes(static_cast<double>(in_use_full)));
  h.row("regions mapped", format_bytes(static_cast<double>(mapped_full)));
  if (resident.ok()) {
    h.row("regions resident", format_bytes(static_cast<double>(resident.value())));
  }
  h.row("gauge sink (arenalab_gauge_set)", sink ? "present: gauges published" : "absent");
  h.row("VmSize filled / after close vs baseline",
        "+" + format_bytes(static_cast<double>(vm_full) - static_cast<double>(vm0)) + " / " +
            (vm_delta >= 0 ? "+" : "-") + format_bytes(vm_delta >= 0 ? vm_delta : -vm_delta));

  h.check("no_errors", failures.load() == 0,
          std::to_string(failures.load()) + " put/get/erase calls failed");
  h.check("round_trip", mismatches.load() == 0,
          std::to_string(mismatches.load()) + " payloads read back wrong");
  h.check("in_use_exact", in_use_full == n * payload && in_use_half == (n - n / 2) * payload,
          "bytes_in_use " + std::to_string(in_use_full) + " after the puts (expected " +
              std::to_string(n * payload) + "), " + std::to_string(in_use_half) +
              " after erasing half");
  h.check("slots_reused", mapped_reput == mapped_full,
          "bytes_mapped " + std::to_string(mapped_full) + " before and " +
              std::to_string(mapped_reput) + " after refilling the erased slots");
  h.check("payload_off_heap", resident.ok() && resident.value() >= n * payload,
          "regions resident " + std::to_string(resident.ok() ? resident.value() : 0) +
              " bytes for " + std::to_string(n * payload) + " payload bytes");
  h.check(
      "gauges_zero_after_close",
      store.bytes_mapped() == 0 && store.bytes_in_use() == 0 && Store::process_bytes_mapped() == 0,
      "bytes_mapped " + std::to_string(store.bytes_mapped()) + ", bytes_in_use " +
          std::to_string(store.bytes_in_use()));
  // Checked per region: VmSize also holds what malloc keeps of the (heap) index after it is
  // freed, e.g. glibc's per-thread arena heaps, which is allocator retention, not the store's.
  h.check("regions_unmapped_after_close", left == 0,
          std::to_string(left) + " of " + std::to_string(regions.size()) +
              " regions still mapped after close (VmSize " + std::to_string(vm0) +
              " at baseline, " + std::to_string(vm1) + " after close)");
  h.note(
      "Payloads live in mmap'd regions owned by one Store: close() unmapped every one of them "
      "before returning (checked region by region in /proc/self/maps); what VmSize still "
      "holds after close is malloc's own reservation (e.g. glibc per-thread arena heaps) "
      "left from the heap-side index, not payload.");
  return h.finish();
}
