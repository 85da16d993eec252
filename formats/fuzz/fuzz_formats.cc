// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for every reader of formats/ (scripts/fuzz fuzz_formats): the first byte picks
// the reader (mod 16), the rest is the file. Built with -DFUZZ_READER=N it feeds reader N only
// (fuzz_formats_<name>). Any input must come back as a value or as an error (no exception
// escapes, no crash, no hang); an error is one printable line naming the file; a timeline's
// samples keep the reader's promises (times finite, in order, byte counts in [0, 2^64]).
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "arenalab/core/text.h"
#include "arenalab/formats/attach.h"
#include "arenalab/formats/baseline.h"
#include "arenalab/formats/budget.h"
#include "arenalab/formats/configurations.h"
#include "arenalab/formats/fleet.h"
#include "arenalab/formats/heap_sites.h"
#include "arenalab/formats/matrix.h"
#include "arenalab/formats/profile.h"
#include "arenalab/formats/prometheus.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/verdict.h"
#include "arenalab/formats/workload.h"
#include "arenalab/formats/workloads.h"

namespace {

using nlohmann::json;

// An error must be one line a terminal shows as it is, and name the file.
void check_error(const arenalab::Error& e) {
  if (e.message.empty() || arenalab::printable(e.message) != e.message) std::abort();
  if (e.message.find("fuzz") == std::string::npos) std::abort();
}

template <typename R>
void check(const R& r) {
  if (!r) check_error(r.error());
}

// The readers of parsed documents get what read_json_document gives them: an object.
template <typename F>
void with_document(std::string_view text, F&& read) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return;
  read(doc);
}

bool bytes_ok(const std::optional<double>& v) {
  return !v || (*v >= 0 && *v <= 18446744073709551616.0);
}

// Readers that take a path get the input as an in-memory file; returns its descriptor.
int memfd_of(std::string_view text) {
  const int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) std::abort();
    off += static_cast<std::size_t>(n);
  }
  return fd;
}

// A path reader's error must name the file it was given, as every other reader's does.
template <typename F>
void from_file(std::string_view text, F&& read) {
  const int fd = memfd_of(text);
  const auto r = read("/proc/self/fd/" + std::to_string(fd));
  ::close(fd);
  if (!r) {
    const std::string& m = r.error().message;
    if (m.find("/proc/self/fd/") == std::string::npos || arenalab::printable(m) != m) std::abort();
  }
}

void timeline(std::string_view text) {
  const int fd = memfd_of(text);
  auto tl = arenalab::timeline::read_timeline("/proc/self/fd/" + std::to_string(fd));
  ::close(fd);
  if (!tl) {  // names /proc/self/fd/N
    const std::string& m = tl.error().message;
    if (m.find("/proc/self/fd/") != 0 || arenalab::printable(m) != m) std::abort();
    return;
  }
  double prev = 0;
  for (const auto& s : tl->samples) {
    if (!std::isfinite(s.t_ms) || s.t_ms < prev) std::abort();
    if (s.t_ms > prev && s.t_ms - prev < 1e-6 && prev != 0) std::abort();
    prev = s.t_ms;
    for (const auto* v :
         {&s.rss, &s.rss_anon, &s.live_bytes, &s.live_allocs, &s.mmap_bytes, &s.allocated,
          &s.active, &s.resident, &s.mapped, &s.retained, &s.rss_file, &s.rss_shmem, &s.vm_size})
      if (!bytes_ok(*v)) std::abort();
  }
}

void read(unsigned which, std::string_view text) {
  switch (which % 16) {
    case 0:
      with_document(text, [](const json& d) { check(arenalab::check::parse_baseline(d, "fuzz")); });
      break;
    case 1:
      with_document(text,
                    [](const json& d) { check(arenalab::budget::budget_from_json(d, "fuzz")); });
      break;
    case 2:
      with_document(text,
                    [](const json& d) { check(arenalab::matrix::results_from_json(d, "fuzz")); });
      break;
    case 3:
      with_document(text,
                    [](const json& d) { check(arenalab::matrix::cell_from_json(d, "fuzz")); });
      break;
    case 4:
      check(arenalab::profile_file::parse_profile(text, "fuzz"));
      break;
    case 5:
      with_document(text, [](const json& d) { check(arenalab::runner::run_from_json(d, "fuzz")); });
      break;
    case 6:
      timeline(text);
      break;
    case 7:
      with_document(text,
                    [](const json& d) { check(arenalab::verdict_file::parse_verdict(d, "fuzz")); });
      break;
    case 8:
      check(arenalab::workload::find_workload_report(std::string(text), "fuzz"));
      break;
    case 9:
      check(arenalab::prometheus::parse_range_response(text, "fuzz"));
      break;
    case 10:
      with_document(text,
                    [](const json& d) { check(arenalab::attach_file::parse_attach(d, "fuzz")); });
      break;
    case 11:
      from_file(text,
                [](const std::string& path) { return arenalab::fleet_file::read_fleet(path); });
      break;
    case 12:
      from_file(text, [](const std::string& path) {
        return arenalab::heap_sites::read_heap_sites(path);
      });
      break;
    case 13:
      with_document(
          text, [](const json& d) { check(arenalab::workloads_file::parse_workloads(d, "fuzz")); });
      break;
    case 14:
      with_document(text, [](const json& d) {
        check(arenalab::configurations_file::parse_configurations(d, "fuzz"));
      });
      break;
    case 15:
      check(arenalab::configurations_file::parse_probe_line(text, "fuzz"));
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#ifdef FUZZ_READER
  read(FUZZ_READER, std::string_view(reinterpret_cast<const char*>(data), size));
#else
  if (size < 1) return 0;
  read(data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
#endif
  return 0;
}
