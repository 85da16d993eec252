// SPDX-License-Identifier: Apache-2.0
// The check rules (see check.h) and their three renderings: terminal table, JUnit XML (the
// de-facto schema read by GitHub/GitLab/Jenkins test reporters) and Markdown.
#include <fmt/format.h>
#include "arenalab/core/text.h"

#include <algorithm>
#include <map>
#include <set>

#include "arenalab/check/check.h"
#include "arenalab/core/sizes.h"
#include "arenalab/formats/growth_verdict.h"

namespace arenalab::check {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "PASS";
    case Outcome::kRegression:
      return "FAIL";
    case Outcome::kImprovement:
      return "IMPROVED";
    case Outcome::kChanged:
      return "CHANGED";
    case Outcome::kMissing:
      return "MISSING";
  }
  return "?";
}

bool latency_metric(const std::string& name) {
  return name.ends_with("_ns") || name.ends_with("_ms");
}

bool CheckReport::failed() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.fails; });
}

namespace {

using Verdict = std::optional<formats::GrowthVerdict>;

bool bad_verdict(const Verdict& v) { return v && formats::creeping(*v); }
// The verdict's name, "" for a cell that was not classified.
std::string name_of(const Verdict& v) { return v ? formats::verdict_name(*v) : ""; }

// In the metric's unit: bytes, or a latency in ns or ms (named by its suffix).
std::string fmt_value(const std::string& name, double v) {
  if (name.ends_with("_ns")) return fmt::format("{:.0f} ns", v);
  if (name.ends_with("_ms")) return fmt::format("{:.3g} ms", v);
  return format_bytes(v);
}

std::string fmt_metric(const std::string& name, const Metric& m) {
  std::string s = fmt_value(name, m.value);
  if (m.lo && m.hi) s += " [" + fmt_value(name, *m.lo) + " – " + fmt_value(name, *m.hi) + "]";
  return s;
}

const char* metric_label(const std::string& m) {
  if (m == kPlateauRss) return "plateau RSS";
  if (m == kRssAfterFrees) return "RSS after frees";
  if (m == kPeakRss) return "peak RSS";
  if (m == "malloc_p99_ns") return "malloc p99";
  if (m == "free_p99_ns") return "free p99";
  if (m == "request_p99_ms") return "request p99";
  return m.c_str();
}

Finding base_finding(const Cell& c, const std::string& metric) {
  Finding f;
  f.key = c.key();
  f.workload = c.workload;
  f.configuration = c.configuration;
  f.kind = kind_name(c.kind);
  f.metric = metric;
  return f;
}

}  // namespace

CheckReport compare(const CellSet& baseline, const CellSet& results, const CheckOptions& opt) {
  CheckReport rep;
  rep.options = opt;
  std::map<std::string, const Cell*> base, res;
  std::vector<std::string> order;
  for (const Cell& c : baseline.cells) {
    base[c.key()] = &c;
    order.push_back(c.key());
  }
  for (const Cell& c : results.cells) {
    if (!base.count(c.key())) order.push_back(c.key());
    res[c.key()] = &c;
  }
  auto add = [&](Finding f) {
    switch (f.outcome) {
      case Outcome::kRegression:
        ++rep.regressions;
        break;
      case Outcome::kImprovement:
        ++rep.improvements;
        break;
      case Outcome::kMissing:
        ++rep.missing;
        break;
      case Outcome::kChanged:
        ++rep.changed;
        break;
      case Outcome::kPass:
        ++rep.passed;
        break;
    }
    if (f.outcome == Outcome::kRegression || (f.outcome == Outcome::kMissing && opt.strict))
      f.fails = true;
    rep.findings.push_back(std::move(f));
  };
  for (const std::string& key : order) {
    const Cell* b = base.count(key) ? base[key] : nullptr;
    const Cell* r = res.count(key) ? res[key] : nullptr;
    if (!b && bad_verdict(r->verdict)) {
      // A new cell gets no pass for growing without bound: "not in the baseline" would let a
      // leak in through a rename or a new workload.
      Finding f = base_finding(*r, "verdict");
      f.outcome = Outcome::kRegression;
      f.result = name_of(r->verdict);
      f.change = "new: " + f.result;
      f.message =
          "not in the baseline, and its verdict is " + f.result + ": memory grows without bound";
      add(f);
      continue;
    }
    if (!b || !r) {
      Finding f = base_finding(b ? *b : *r, "cell");
      f.outcome = Outcome::kMissing;
      f.baseline = b ? "present" : "";
      f.result = r ? "present" : "";
      f.message = b ? "in the baseline but not in the results (did the cell stop running?)"
                    : "in the results but not in the baseline (run with --update-baseline to "
                      "record it)";
      add(f);
      continue;
    }
    if (r->status != Status::kOk) {
      Finding f = base_finding(*r, "cell");
      f.outcome = Outcome::kMissing;
      f.baseline = status_name(b->status);
      f.result = status_name(r->status);
      f.message = std::string("result cell ") + status_name(r->status) +
                  (r->status_detail.empty() ? "" : " (" + r->status_detail + ")") +
                  ": its figures cannot be compared";
      add(f);
      continue;
    }
    // Verdict.
    if (b->verdict || r->verdict) {
      Finding f = base_finding(*r, "verdict");
      f.baseline = name_of(b->verdict);
      f.result = name_of(r->verdict);
      if (!b->verdict || !r->verdict) {
        f.outcome = Outcome::kMissing;
        f.message = std::string("verdict only in the ") + (!b->verdict ? "results" : "baseline");
      } else if (*b->verdict == *r->verdict) {
        f.outcome = Outcome::kPass;
        f.message =
            bad_verdict(r->verdict) ? "still " + f.result + " (as in the baseline)" : "unchanged";
      } else {
        f.change = f.baseline + " -> " + f.result;
        if (bad_verdict(r->verdict)) {
          f.outcome = Outcome::kRegression;
          f.message = "verdict changed from " + f.baseline + " to " + f.result +
                      ": memory now grows without bound";
        } else if (bad_verdict(b->verdict)) {
          f.outcome = Outcome::kImprovement;
          f.message = "verdict changed from " + f.baseline + " to " + f.result;
        } else {
          f.outcome = Outcome::kChanged;
          f.message = "verdict changed from " + f.baseline + " to " + f.result + " (not a leak)";
        }
      }
      add(f);
    }
    // Metrics, in a fixed order.
    std::set<std::string> names;
    for (const auto& [n, m] : b->metrics) names.insert(n);
    for (const auto& [n, m] : r->metrics) names.insert(n);
    std::vector<std::string> ordered;
    for (const char* n : {kPlateauRss, kRssAfterFrees, kPeakRss})
      if (names.erase(n)) ordered.push_back(n);
    ordered.insert(ordered.end(), names.begin(), names.end());
    for (const std::string& name : ordered) {
      Finding f = base_finding(*r, name);
      auto bi = b->metrics.find(name);
      auto ri = r->metrics.find(name);
      if (bi != b->metrics.end()) f.baseline = fmt_metric(name, bi->second);
      if (ri != r->metrics.end()) f.result = fmt_metric(name, ri->second);
      if (bi == b->metrics.end() || ri == r->metrics.end()) {
        f.outcome = Outcome::kMissing;
        f.message = std::string(metric_label(name)) + " not measured in the " +
                    (bi == b->metrics.end() ? "baseline" : "results");
        add(f);
        continue;
      }
      const Metric& bm = bi->second;
      const Metric& rm = ri->second;
      const double tol_pct = latency_metric(name) ? opt.latency_tolerance_pct : opt.tolerance_pct;
      const double tol = tol_pct / 100.0;
      const double b_lo = bm.lo.value_or(bm.value), b_hi = bm.hi.value_or(bm.value);
      const double r_lo = rm.lo.value_or(rm.value), r_hi = rm.hi.value_or(rm.value);
      if (bm.value > 0) f.change = fmt::format("{:+.1f}%", 100.0 * (rm.value / bm.value - 1.0));
      const bool past_up = rm.value > bm.value * (1.0 + tol);
      const bool past_down = rm.value < bm.value * (1.0 - tol);
      const bool outside_up = rm.value > b_hi && bm.value < r_lo;
      const bool outside_down = rm.value < b_lo && bm.value > r_hi;
      if (past_up && outside_up) {
        f.outcome = Outcome::kRegression;
        f.message =
            fmt::format("{} rose {} beyond the {:.0f}% tolerance and outside both intervals",
                        metric_label(name), f.change, tol_pct);
      } else if (past_down && outside_down) {
        f.outcome = Outcome::kImprovement;
        f.message = fmt::format("{} fell {} beyond the tolerance and outside both intervals",
                                metric_label(name), f.change);
      } else if (past_up || past_down) {
        f.outcome = Outcome::kPass;
        f.message = fmt::format("{} moved {} but the intervals overlap: within noise",
                                metric_label(name), f.change);
      } else {
        f.outcome = Outcome::kPass;
        f.message = fmt::format("within the {:.0f}% tolerance", tol_pct);
      }
      add(f);
    }
  }
  return rep;
}

namespace {

std::string summary_line(const CheckReport& r) {
  // The latency tolerance is named when a latency figure was compared.
  const bool latency = std::any_of(r.findings.begin(), r.findings.end(),
                                   [](const Finding& f) { return latency_metric(f.metric); });
  return fmt::format(
      "{}: {} regression(s), {} improvement(s), {} missing, {} changed, {} passed (tolerance "
      "{:.0f}%{}{})",
      r.failed() ? "FAILED" : "OK", r.regressions, r.improvements, r.missing, r.changed, r.passed,
      r.options.tolerance_pct,
      latency ? fmt::format(", latency {:.0f}%", r.options.latency_tolerance_pct) : "",
      r.options.strict ? ", strict" : "");
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out.empty() ? "—" : out;
}

}  // namespace

std::string terminal_table(const CheckReport& r) {
  std::size_t wkey = 4, wmetric = 6;
  for (const auto& f : r.findings) {
    wkey = std::max(wkey, f.key.size());
    wmetric = std::max(wmetric, f.metric.size());
  }
  std::string out = fmt::format("{:<9} {:<{}} {:<{}} {:<34} {:<34} {:<9} {}\n", "result", "cell",
                                wkey, "metric", wmetric, "baseline", "result", "change", "why");
  for (const auto& f : r.findings)
    out += fmt::format("{:<9} {:<{}} {:<{}} {:<34} {:<34} {:<9} {}\n",
                       f.fails ? "FAIL" : outcome_name(f.outcome), f.key, wkey, f.metric, wmetric,
                       f.baseline.empty() ? "—" : f.baseline, f.result.empty() ? "—" : f.result,
                       f.change.empty() ? "" : f.change, f.message);
  return out + summary_line(r) + "\n";
}

std::string junit_xml(const CheckReport& r) {
  int failures = 0, skipped = 0;
  for (const auto& f : r.findings) {
    if (f.fails)
      ++failures;
    else if (f.outcome == Outcome::kMissing)
      ++skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"arenalab check\" tests=\"{0}\" failures=\"{1}\" errors=\"0\" "
      "skipped=\"{2}\">\n  <testsuite name=\"arenalab check\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"0\" skipped=\"{2}\">\n",
      r.findings.size(), failures, skipped);
  for (const auto& f : r.findings) {
    out += fmt::format("    <testcase classname=\"arenalab.{}\" name=\"{}\">\n",
                       markup_escape(f.key), markup_escape(f.metric));
    const std::string detail = fmt::format("baseline: {}\nresult: {}\nchange: {}\n{}",
                                           f.baseline.empty() ? "—" : f.baseline,
                                           f.result.empty() ? "—" : f.result, f.change, f.message);
    if (f.fails)
      out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                         markup_escape(f.message), outcome_name(f.outcome), markup_escape(detail));
    else if (f.outcome == Outcome::kMissing)
      out += fmt::format("      <skipped message=\"{}\"/>\n", markup_escape(f.message));
    else
      out += fmt::format("      <system-out>{}: {}</system-out>\n", outcome_name(f.outcome),
                         markup_escape(detail));
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string markdown(const CheckReport& r) {
  std::string out =
      fmt::format("## arenalab check: {}\n\n{}\n\n",
                  r.failed() ? "memory regression" : "no memory regression", summary_line(r));
  out +=
      "| result | cell | metric | baseline | result | change | why "
      "|\n|---|---|---|---:|---:|---:|---|\n";
  // Failures first, then what else deserves a look, then passes.
  auto rank = [](const Finding& f) {
    if (f.fails) return 0;
    if (f.outcome == Outcome::kMissing) return 1;
    if (f.outcome == Outcome::kImprovement || f.outcome == Outcome::kChanged) return 2;
    return 3;
  };
  std::vector<const Finding*> sorted;
  for (const auto& f : r.findings) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Finding* a, const Finding* b) { return rank(*a) < rank(*b); });
  for (const Finding* f : sorted)
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n",
                       f->fails ? "**FAIL**" : outcome_name(f->outcome), md_cell(f->key),
                       md_cell(f->metric), md_cell(f->baseline), md_cell(f->result),
                       md_cell(f->change), md_cell(f->message));
  return out;
}

}  // namespace arenalab::check
