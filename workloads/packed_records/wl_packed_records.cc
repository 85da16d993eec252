// SPDX-License-Identifier: Apache-2.0
// wl_packed_records (seed task 6): --records records {int32 id; int64 timestamp; int32 score}
// (a) as individually allocated objects (operator new, so the allocator's size classes and
// headers show), (b) packed in one anonymous mapping with a 16-byte stride, fields read in
// place with memcpy (the int64 sits at offset 4, unaligned). RSS and allocator bytes for each.
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/sampler.h"

using arenalab::format_bytes;
namespace wl = arenalab::workload;

namespace {
struct Record {  // natural layout: 4 + 4 (padding) + 8 + 4 + 4 (padding) = 24 bytes
  std::int32_t id;
  std::int64_t timestamp;
  std::int32_t score;
};
constexpr std::size_t kStride = 16;  // packed: id @0, timestamp @4, score @12
constexpr std::int64_t kEpochMs = 1700000000000;

// The values record i must hold; every read is compared against these.
inline std::int32_t id_of(std::uint64_t i) { return static_cast<std::int32_t>(i); }
inline std::int64_t ts_of(std::uint64_t i) { return kEpochMs + static_cast<std::int64_t>(i) * 7; }
inline std::int32_t score_of(std::uint64_t i) {
  return static_cast<std::int32_t>((i * 2654435761u) % 1000003);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
double per(double bytes, std::uint64_t n) { return bytes / static_cast<double>(n); }
std::string fixed(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("packed_records", "records as objects and packed off-heap: footprint and time");
  std::int64_t records = 10'000'000;
  h.int_flag("records", &records, 1'000'000, "number of records");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (records < 1 || records > (1LL << 31) - 1) {
    std::fprintf(stderr, "wl_packed_records: --records must be in 1..2^31-1\n");
    return 2;
  }
  const auto n = static_cast<std::uint64_t>(records);
  const double packed_bytes = static_cast<double>(n * kStride);

  // (b) packed, first: the mapping's pages are fresh whatever the allocator did before.
  h.progress("packed: " + std::to_string(n) + " records in one mapping");
  const std::uint64_t p0 = wl::current_rss();
  const auto pb0 = wl::heap_books(h.allocator_stats());
  const double tp0 = now_ms();
  void* region =
      ::mmap(nullptr, n * kStride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    std::fprintf(stderr, "wl_packed_records: mmap of %llu bytes failed\n",
                 static_cast<unsigned long long>(n * kStride));
    return 1;
  }
  auto* base = static_cast<unsigned char*>(region);
  for (std::uint64_t i = 0; i < n; ++i) {
    unsigned char* r = base + i * kStride;
    const std::int32_t id = id_of(i), score = score_of(i);
    const std::int64_t ts = ts_of(i);
    std::memcpy(r, &id, 4);
    std::memcpy(r + 4, &ts, 8);
    std::memcpy(r + 12, &score, 4);
  }
  const double tp1 = now_ms();
  const std::uint64_t p1 = wl::current_rss();
  const auto pb1 = wl::heap_books(h.allocator_stats());
  std::uint64_t packed_bad = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const unsigned char* r = base + i * kStride;
    std::int32_t id, score;
    std::int64_t ts;
    std::memcpy(&id, r, 4);
    std::memcpy(&ts, r + 4, 8);
    std::memcpy(&score, r + 12, 4);
    packed_bad += id != id_of(i) || ts != ts_of(i) || score != score_of(i);
  }
  const double tp2 = now_ms();
  ::munmap(region, n * kStride);
  const double tp3 = now_ms();

  // (a) one object per record; the pointer array is measured on its own.
  h.purge();
  h.progress("objects: " + std::to_string(n) + " allocations");
  const std::uint64_t o0 = wl::current_rss();
  std::vector<Record*> ptrs(n);  // value-initialised: its pages are touched here
  const std::uint64_t o_vec = wl::current_rss();
  const auto ob0 = wl::heap_books(h.allocator_stats());
  const double to0 = now_ms();
  for (std::uint64_t i = 0; i < n; ++i) ptrs[i] = new Record{id_of(i), ts_of(i), score_of(i)};
  const double to1 = now_ms();
  const std::uint64_t o1 = wl::current_rss();
  const auto ob1 = wl::heap_books(h.allocator_stats());
  std::uint64_t objects_bad = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Record* r = ptrs[i];
    objects_bad += r->id != id_of(i) || r->timestamp != ts_of(i) || r->score != score_of(i);
  }
  const double to2 = now_ms();
  for (std::uint64_t i = 0; i < n; ++i) delete ptrs[i];
  const double to3 = now_ms();
  ptrs.clear();
  ptrs.shrink_to_fit();

  const double packed_rss = static_cast<double>(p1) - static_cast<double>(p0);
  const double objects_rss = static_cast<double>(o1) - static_cast<double>(o_vec);
  const double vector_rss = static_cast<double>(o_vec) - static_cast<double>(o0);
  h.measure("records", n);
  h.measure("packed_rss_bytes", packed_rss);
  h.measure("packed_bytes_per_record", per(packed_rss, n));
  h.measure("packed_alloc_ms", tp1 - tp0);
  h.measure("packed_read_ms", tp2 - tp1);
  h.measure("packed_free_ms", tp3 - tp2);
  h.measure("objects_rss_bytes", objects_rss);
  h.measure("objects_bytes_per_record", per(objects_rss, n));
  h.measure("pointer_array_rss_bytes", vector_rss);
  h.measure("objects_alloc_ms", to1 - to0);
  h.measure("objects_read_ms", to2 - to1);
  h.measure("objects_free_ms", to3 - to2);
  h.throughput(static_cast<double>(n) / ((to1 - to0) / 1000.0), "objects/s");
  std::string objects_books = "not reported", packed_books = "not reported";
  if (ob0 && ob1) {
    const double d = static_cast<double>(ob1->bytes) - static_cast<double>(ob0->bytes);
    h.measure("objects_books_bytes", d);
    h.measure("objects_books_bytes_per_record", per(d, n));
    h.measure("books_field", ob0->field);
    objects_books = format_bytes(d) + " (" + ob0->field + ", " + fixed(per(d, n)) + " B/record)";
  }
  if (pb0 && pb1) {
    const double d = static_cast<double>(pb1->bytes) - static_cast<double>(pb0->bytes);
    h.measure("packed_books_bytes", d);
    packed_books = format_bytes(d) + " (" + pb0->field + ")";
  }

  h.row("form", "RSS / bytes per record / allocator's books / alloc ms / free ms");
  h.row("objects (" + std::to_string(sizeof(Record)) + "-byte struct)",
        format_bytes(objects_rss) + " / " + fixed(per(objects_rss, n)) + " / " + objects_books +
            " / " + fixed(to1 - to0, 0) + " / " + fixed(to3 - to2, 0));
  h.row("  + pointer array", format_bytes(vector_rss) + " / " + fixed(per(vector_rss, n)));
  h.row("packed (16-byte stride)", format_bytes(packed_rss) + " / " + fixed(per(packed_rss, n)) +
                                       " / " + packed_books + " / " + fixed(tp1 - tp0, 0) + " / " +
                                       fixed(tp3 - tp2, 0));

  const double limit = 1.05 * packed_bytes;
  h.check("packed_footprint", packed_rss <= limit,
          "packed form took " + format_bytes(packed_rss) + " of RSS (limit 1.05 x " +
              format_bytes(packed_bytes) + " = " + format_bytes(limit) + ")");
  h.check("packed_footprint_resident", packed_rss >= 0.95 * packed_bytes,
          "packed form made " + format_bytes(packed_rss) + " resident (the pages were written)");
  h.check("packed_reads_match", packed_bad == 0,
          std::to_string(packed_bad) + " of " + std::to_string(n) +
              " records read in place differ from what was written");
  h.check("objects_reads_match", objects_bad == 0,
          std::to_string(objects_bad) + " of " + std::to_string(n) + " objects differ");
  h.check("packed_smaller", packed_rss < objects_rss,
          "packed " + fixed(per(packed_rss, n)) + " B/record vs objects " +
              fixed(per(objects_rss, n)) + " B/record (without the pointer array)");
  h.note(
      "No per-object header, padding or size-class rounding: 16 bytes per record is the "
      "data itself.");
  return h.finish();
}
