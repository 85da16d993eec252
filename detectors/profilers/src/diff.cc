// SPDX-License-Identifier: Apache-2.0
// Two dumps compared by call site: both parsed and symbolized, stacks from the site outward
// matched by their described frames (function, file:line or module), growth = after - before.
#include "arenalab/profilers/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "arenalab/core/sizes.h"
#include "arenalab/formats/profile.h"
#include "arenalab/profilers/profile_run.h"
#include "profilers_internal.h"

namespace arenalab::profilers {

namespace fs = std::filesystem;

Result<std::string> resolve_dump(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return make_error(path + ": no such file or directory");
  if (!fs::is_directory(path, ec)) return path;
  const std::string profile = path + "/profile.json";
  if (fs::exists(profile, ec)) {
    auto p = profile_file::read_profile(profile);
    if (!p) return p.error();
    if (parse_profiler(p->profiler) == Profiler::kHeaptrack)
      return make_error(path + ": a heaptrack trace, not heap dumps (use heaptrack --diff)");
    if (p->dumps.empty()) return make_error(profile + ": lists no dump");
    return p->dumps.back();
  }
  std::vector<std::string> found;
  for (const char* prefix : {"heap.", "jeprof.", "gperftools."})
    for (auto& f : detail::dump_files(path, prefix, ".heap", 0, true)) found.push_back(f);
  if (found.empty())
    return make_error(path +
                      ": no heap dump (heap.<n>.heap, jeprof.<n>.heap, "
                      "gperftools.<n>.heap) and no profile.json");
  return *std::max_element(found.begin(), found.end(), [](const auto& x, const auto& y) {
    return detail::mtime_ns(x) < detail::mtime_ns(y);
  });
}

Result<DumpDiff> diff_dumps(const std::string& a, const std::string& b, const SiteFilter& filter) {
  DumpDiff diff;
  auto before = resolve_dump(a);
  if (!before) return before.error();
  auto after = resolve_dump(b);
  if (!after) return after.error();
  diff.before = *before;
  diff.after = *after;
  auto da = read_heap_dump(diff.before);
  if (!da) return da.error();
  auto db = read_heap_dump(diff.after);
  if (!db) return db.error();
  Symbolizer symbolizer;
  // Each dump on its own (their load addresses may differ), then matched by described stack.
  std::map<std::vector<std::string>, CallsiteSeries> by_stack;
  const TimedDump dumps[] = {{0, std::move(*da)}, {1, std::move(*db)}};
  for (int k = 0; k < 2; ++k)
    for (auto& s : callsites_from_dumps({dumps[k]}, symbolizer, filter)) {
      std::vector<std::string> key;
      for (std::size_t i = s.site; i < s.frames.size(); ++i) key.push_back(s.frames[i].describe());
      auto [it, inserted] = by_stack.try_emplace(key);
      CallsiteSeries& d = it->second;
      if (inserted) {
        d.frames = s.frames;
        d.site = s.site;
        d.t_ms = {0, 1};
        d.live_bytes = {0, 0};
      }
      d.live_bytes[k] += s.live_bytes[0];
    }
  for (auto& [key, s] : by_stack) diff.sites.push_back(std::move(s));
  auto growth = [](const CallsiteSeries& s) { return s.live_bytes[1] - s.live_bytes[0]; };
  std::stable_sort(diff.sites.begin(), diff.sites.end(),
                   [&](const auto& x, const auto& y) { return growth(x) > growth(y); });
  return diff;
}

std::string diff_text(const DumpDiff& diff, int top) {
  std::string out = fmt::format("diff: {}\n  -> {}\n\n", diff.before, diff.after);
  double total = 0;
  for (const auto& s : diff.sites) total += s.live_bytes[1] - s.live_bytes[0];
  out += fmt::format("growth by call site, largest first ({} of {}; total {}{}):\n",
                     std::min<std::size_t>(top, diff.sites.size()), diff.sites.size(),
                     total < 0 ? "-" : "", format_bytes(std::fabs(total)));
  out += fmt::format("  {:>12} {:>12} {:>12}  {}\n", "growth", "before", "after",
                     "first frame outside the allocator");
  int n = 0;
  for (const auto& s : diff.sites) {
    if (n++ >= top) break;
    const double g = s.live_bytes[1] - s.live_bytes[0];
    const Frame* f = s.site_frame();
    out += fmt::format(
        "  {:>12} {:>12} {:>12}  {}\n", (g < 0 ? "-" : "") + format_bytes(std::fabs(g)),
        format_bytes(s.live_bytes[0]), format_bytes(s.live_bytes[1]),
        f != nullptr ? f->display()
                     : "(allocator/runtime only) " +
                           (s.frames.empty() ? std::string("-") : s.frames.back().display()));
  }
  return out;
}

}  // namespace arenalab::profilers
