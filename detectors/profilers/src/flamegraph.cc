// SPDX-License-Identifier: Apache-2.0
// Folded stacks from call-site series, and an SVG flame graph drawn from folded stacks (after
// Brendan Gregg's flamegraph.pl: one rectangle per frame, width proportional to bytes, callers
// below their callees).
#include "arenalab/profilers/flamegraph.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"

namespace arenalab::profilers {

namespace {

// Click-to-zoom, inline (no external file): a click on a frame widens it to the full width, its
// callees scaled with it, its callers drawn full width below, every other frame hidden; "Reset
// zoom" (or a click on the background) restores. After flamegraph.pl's zoom. Works in a
// standalone SVG and inline in HTML (each copy finds its own <svg> through currentScript). The
// CDATA keeps '<' and '&' literal in XML and in HTML's foreign content alike.
constexpr const char* kZoomScript = R"js(<script type="text/javascript"><![CDATA[
(function () {
  var me = document.currentScript;
  var svg = me && me.closest ? me.closest('svg') : document.documentElement;
  if (!svg || !svg.querySelectorAll) return;
  var W = +svg.getAttribute('data-fw'), P = +svg.getAttribute('data-fp');
  var frames = svg.querySelectorAll('g.fg'), reset = svg.querySelector('.fg-reset');
  function num(g, a) { return +g.getAttribute(a); }
  function place(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(1));
    r.setAttribute('width', w.toFixed(1));
    if (!t) return;
    var n = g.getAttribute('data-n'), fit = Math.floor((w - 6) / 6.5);
    t.setAttribute('x', (x + 3).toFixed(1));
    t.textContent = fit < 3 ? '' : n.length <= fit ? n : n.slice(0, fit - 2) + '..';
  }
  function zoom(z) {
    var x0 = num(z, 'data-x'), w0 = num(z, 'data-w'), l0 = num(z, 'data-l');
    var k = (W - 2 * P) / w0, e = 1e-3;
    for (var i = 0; i < frames.length; i++) {
      var g = frames[i], x = num(g, 'data-x'), w = num(g, 'data-w'), l = num(g, 'data-l');
      var inside = l >= l0 && x >= x0 - e && x + w <= x0 + w0 + e;
      var caller = l < l0 && x <= x0 + e && x + w >= x0 + w0 - e;
      g.style.display = inside || caller ? '' : 'none';
      g.style.opacity = caller ? '0.6' : '';
      if (inside) place(g, P + (x - x0) * k, w * k);
      else if (caller) place(g, P, W - 2 * P);
    }
    svg.setAttribute('data-zoomed', z.getAttribute('data-n'));
    if (reset) reset.style.display = '';
  }
  function unzoom() {
    for (var i = 0; i < frames.length; i++) {
      var g = frames[i];
      g.style.display = '';
      g.style.opacity = '';
      place(g, num(g, 'data-x'), num(g, 'data-w'));
    }
    svg.removeAttribute('data-zoomed');
    if (reset) reset.style.display = 'none';
  }
  svg.addEventListener('click', function (ev) {
    var g = ev.target.closest ? ev.target.closest('g.fg') : null;
    if (g && svg.contains(g)) zoom(g); else unzoom();
  });
  for (var i = 0; i < frames.length; i++) frames[i].style.cursor = 'pointer';
  svg.setAttribute('data-zoom', 'ready');
})();
]]></script>
)js";

struct Node {
  std::string name;
  double value = 0;
  std::map<std::string, std::unique_ptr<Node>> children;
};

}  // namespace

std::string folded_frame_name(const Frame& f) {
  std::string name = f.function.empty() ? f.describe() : f.function;
  for (char& c : name)
    if (c == ';' || c == '\n') c = ',';
  return name;
}

std::string folded_stacks(const std::vector<CallsiteSeries>& sites, std::optional<std::size_t> from,
                          std::optional<std::size_t> to) {
  // Identical folded stacks (sites that differ only in addresses) are summed.
  std::map<std::string, double> lines;
  for (const auto& s : sites) {
    if (s.live_bytes.empty()) continue;
    const std::size_t last = to.value_or(s.live_bytes.size() - 1);
    if (last >= s.live_bytes.size() || (from && *from >= s.live_bytes.size())) continue;
    const double bytes = s.live_bytes[last] - (from ? s.live_bytes[*from] : 0.0);
    if (!(bytes >= 1) || s.site >= s.frames.size()) continue;
    std::string stack;
    for (std::size_t i = s.frames.size(); i-- > s.site;)
      stack += (stack.empty() ? "" : ";") + folded_frame_name(s.frames[i]);
    if (s.source == SiteSource::kMmap) stack = "[mmap];" + stack;
    lines[stack] += bytes;
  }
  std::string out;
  for (const auto& [stack, bytes] : lines) out += fmt::format("{} {:.0f}\n", stack, bytes);
  return out;
}

std::string folded_stacks_at(const std::vector<CallsiteSeries>& sites, double t_ms) {
  // Series at time t: a one-point copy of each, then the usual folding.
  std::vector<CallsiteSeries> at;
  for (const auto& s : sites) {
    std::optional<std::size_t> k;
    for (std::size_t i = 0; i < s.t_ms.size() && i < s.live_bytes.size(); ++i)
      if (s.t_ms[i] <= t_ms + 1e-6) k = i;
    if (!k) continue;
    CallsiteSeries one;
    one.frames = s.frames;
    one.site = s.site;
    one.source = s.source;
    one.t_ms = {s.t_ms[*k]};
    one.live_bytes = {s.live_bytes[*k]};
    at.push_back(std::move(one));
  }
  return folded_stacks(at, std::nullopt, std::nullopt);
}

std::string flamegraph_svg(const std::string& folded, const std::string& title,
                           const std::vector<std::string>& highlight) {
  Node root;
  root.name = "all";
  std::istringstream in(folded);
  std::string line;
  std::size_t depth = 0;
  while (std::getline(in, line)) {
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    double value = 0;
    try {
      value = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
      continue;
    }
    if (!(value > 0)) continue;
    root.value += value;
    Node* node = &root;
    std::size_t level = 0, start = 0;
    const std::string stack = line.substr(0, space);
    while (start <= stack.size()) {
      std::size_t end = stack.find(';', start);
      if (end == std::string::npos) end = stack.size();
      const std::string name = stack.substr(start, end - start);
      auto& child = node->children[name];
      if (!child) {
        child = std::make_unique<Node>();
        child->name = name;
      }
      child->value += value;
      node = child.get();
      ++level;
      start = end + 1;
    }
    depth = std::max(depth, level);
  }
  constexpr double kWidth = 1200, kPad = 10, kRow = 17, kTop = 40;
  const double height = kTop + (depth + 1) * kRow + kPad;
  // data-fw / data-fp: the width and side padding the zoom script scales to.
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Verdana, sans-serif\" font-size=\"11\" "
      "class=\"arenalab-flamegraph\" data-fw=\"{0}\" data-fp=\"{4}\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#fdfdf6\"/>\n"
      "<text x=\"{2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
      kWidth, height, kWidth / 2, markup_escape(title), kPad);
  if (root.value <= 0)
    return svg + fmt::format(
                     "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no bytes to "
                     "show</text>\n</svg>\n",
                     kWidth / 2, kTop + kRow);
  svg += fmt::format(
      "<text class=\"fg-reset\" x=\"{}\" y=\"24\" fill=\"#1a5fb4\" style=\"display:none;"
      "cursor:pointer\">Reset zoom</text>\n",
      kPad);
  const double scale = (kWidth - 2 * kPad) / root.value;
  auto is_hot = [&](const std::string& name) {
    return std::find(highlight.begin(), highlight.end(), name) != highlight.end();
  };
  // Callers at the bottom (level 0 = "all"), callees above, as flamegraph.pl draws. Each frame
  // carries its unzoomed place (data-x, data-w, data-l: px and level) and full name (data-n)
  // for the zoom script; a <text> is always there, empty when the label does not fit.
  std::function<void(const Node&, double, std::size_t)> draw = [&](const Node& n, double x,
                                                                   std::size_t level) {
    const double w = n.value * scale;
    if (w < 0.1) return;
    const double y = height - kPad - (level + 1) * kRow;
    const std::size_t h = std::hash<std::string>{}(n.name);
    const std::string fill = is_hot(n.name) ? "rgb(220,40,30)"
                                            : fmt::format("rgb({},{},{})", 205 + h % 50,
                                                          90 + (h >> 8) % 110, (h >> 16) % 55);
    std::string label;
    // About 6.5 px per character at 11 px Verdana: the label is cut to what fits.
    if (const auto fits = static_cast<std::size_t>(std::max(0.0, (w - 6) / 6.5)); fits >= 3)
      label = n.name.size() <= fits ? n.name : n.name.substr(0, fits - 2) + "..";
    svg += fmt::format(
        "<g class=\"fg\" data-x=\"{:.3f}\" data-w=\"{:.3f}\" data-l=\"{}\" data-n=\"{}\">"
        "<title>{} ({}, {:.1f}%)</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
        "height=\"{}\" fill=\"{}\" rx=\"2\"/><text x=\"{:.1f}\" y=\"{:.1f}\">{}</text></g>\n",
        x, w, level, markup_escape(n.name), markup_escape(n.name), format_bytes(n.value),
        100.0 * n.value / root.value, x, y, w, kRow - 1, fill, x + 3, y + kRow - 5,
        markup_escape(label));
    // Widest child first, so the big towers sit to the left.
    std::vector<const Node*> kids;
    for (const auto& [name, child] : n.children) kids.push_back(child.get());
    std::sort(kids.begin(), kids.end(),
              [](const Node* a, const Node* b) { return a->value > b->value; });
    double cx = x;
    for (const Node* k : kids) {
      draw(*k, cx, level + 1);
      cx += k->value * scale;
    }
  };
  draw(root, kPad, 0);
  return svg + kZoomScript + "</svg>\n";
}

}  // namespace arenalab::profilers
