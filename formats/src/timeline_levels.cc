// SPDX-License-Identifier: Apache-2.0
// Peak, final and plateau RSS of a timeline (timeline_levels.h).
#include "arenalab/formats/timeline_levels.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "arenalab/core/quantile.h"

namespace arenalab::timeline {

Levels rss_levels(const std::vector<double>& t_ms, const std::vector<double>& rss,
                  std::optional<double> knee_ms, bool ends_with_teardown) {
  Levels m;
  if (rss.empty() || t_ms.size() != rss.size()) return m;
  m.samples = rss.size();
  m.duration_ms = t_ms.back() - t_ms.front();
  const double peak = *std::max_element(rss.begin(), rss.end());
  m.peak = Level{peak, peak, peak};
  // The program's own series: without the teardown sample, unless it is all there is.
  const std::size_t n = ends_with_teardown && rss.size() > 1 ? rss.size() - 1 : rss.size();
  const auto last = rss.begin() + static_cast<std::ptrdiff_t>(n);
  const auto tail = last - static_cast<std::ptrdiff_t>(std::min<std::size_t>(3, n));
  m.final = Level{rss[n - 1], *std::min_element(tail, last), *std::max_element(tail, last)};
  std::vector<double> window;
  if (knee_ms)
    for (std::size_t i = 0; i < n; ++i)
      if (t_ms[i] >= *knee_ms) window.push_back(rss[i]);
  if (window.size() < 3) window.assign(rss.begin() + static_cast<std::ptrdiff_t>(n / 2), last);
  std::sort(window.begin(), window.end());
  m.plateau = Level{quantile_sorted(window, 0.5), quantile_sorted(window, 0.1),
                    quantile_sorted(window, 0.9)};
  return m;
}

Levels rss_levels(const Timeline& tl, std::optional<double> knee_ms, bool ends_with_teardown) {
  std::vector<double> t, rss;
  bool last_has_rss = false;
  for (const auto& s : tl.samples) {
    last_has_rss = s.rss.has_value();
    if (!s.rss) continue;
    t.push_back(s.t_ms);
    rss.push_back(*s.rss);
  }
  return rss_levels(t, rss, knee_ms, ends_with_teardown && last_has_rss);
}

bool ends_with_teardown(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  // The last 16 KiB hold the last lines (a sample line is well under 2 KiB).
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - (16 << 10));
  in.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  std::vector<std::string> lines;
  std::size_t begin = 0;
  for (std::size_t nl; (nl = tail.find('\n', begin)) != std::string::npos; begin = nl + 1)
    lines.push_back(tail.substr(begin, nl - begin));
  if (begin < tail.size()) return false;  // a cut last line: the target was killed mid-write
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->empty()) continue;
    const auto j = nlohmann::json::parse(*it, nullptr, false);
    if (!j.is_object()) return false;
    auto flag = [&j](const char* key) {
      const auto it = j.find(key);
      return it != j.end() && it->is_boolean() && it->get<bool>();
    };
    if (flag("after_purge")) continue;  // the purge probe comes after the teardown
    return flag("final");
  }
  return false;
}

}  // namespace arenalab::timeline
