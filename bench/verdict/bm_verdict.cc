// SPDX-License-Identifier: Apache-2.0
// bm_verdict: time to verdict. For each class (leaks at several rates and levels, sawtooth, warm
// cache, saturation, retention, stable, the program's own mmap pool) it generates series sampled
// every 100 ms, classifies growing prefixes (every 0.5 s of data) and prints, per class, the
// median and worst seconds of data until the verdict is right and stays right to the horizon.
// --smoke: 2 series per class, 40 s horizon. --series N, --horizon S override. --recorded DIR
// does the same on the recorded corpus (LABEL__NAME__ALLOCATOR.jsonl.zst, read through zstd).
// --live [--every S] [--warmup S] FILE...: watch's live line replayed on saved timelines
// (timeline.jsonl, decompressed): one row per line, FILE, age (s), the classification's verdict,
// the growth span it rests on (s), what the line shows, the classification's reason (--warmup 0:
// the line before the warm-up rule, a growth claimed once settled).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/live.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/timeline.h"

namespace {

using arenalab::analysis::classify;
using arenalab::analysis::Signals;
using arenalab::analysis::Verdict;
using arenalab::analysis::verdict_name;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kKiB = 1024.0;
constexpr double kDtMs = 100;  // sampling interval

// One class: what the program holds (live bytes), RSS and its own mmap as functions of time in
// seconds, and the verdicts that count as right.
struct Class {
  std::string name;
  std::function<double(double)> live, rss, mmap;  // bytes; mmap may be null
  std::vector<Verdict> right;
};

double frac(double x) { return x - std::floor(x); }

std::vector<Class> classes() {
  const auto leak = [](double level, double rate) {
    return Class{"leak " +
                     std::string(rate >= kMiB ? std::to_string(int(rate / kMiB)) + " MiB/s"
                                              : std::to_string(int(rate / kKiB)) + " KiB/s") +
                     " on " +
                     (level >= 1024 * kMiB ? std::to_string(int(level / 1024 / kMiB)) + " GiB"
                                           : std::to_string(int(level / kMiB)) + " MiB"),
                 [=](double t) { return level + rate * t; },
                 [=](double t) { return level * 1.1 + 8 * kMiB + rate * t; },
                 nullptr,
                 {Verdict::kLeak}};
  };
  std::vector<Class> out = {
      leak(64 * kMiB, 1 * kMiB),     leak(1024 * kMiB, 1 * kMiB), leak(64 * kMiB, 256 * kKiB),
      leak(1024 * kMiB, 256 * kKiB), leak(16 * kMiB, 64 * kKiB),  leak(1024 * kMiB, 64 * kKiB),
  };
  // A sawtooth: grows 48 MiB over a 6 s period on 64 MiB, frees it, repeats.
  out.push_back({"sawtooth 6 s period",
                 [](double t) { return 64 * kMiB + 48 * kMiB * frac(t / 6); },
                 [](double t) { return 80 * kMiB + 48 * kMiB * frac(t / 6); },
                 nullptr,
                 {Verdict::kBounded, Verdict::kStable}});
  // A warm cache: 16 MiB of program, a cache filling at 8 MiB/s up to 128 MiB, then evicting.
  out.push_back({"warm cache (ramp to 128 MiB)",
                 [](double t) { return 16 * kMiB + std::min(128 * kMiB, 8 * kMiB * t); },
                 [](double t) { return 24 * kMiB + std::min(128 * kMiB, 8 * kMiB * t); },
                 nullptr,
                 {Verdict::kBounded, Verdict::kStable}});
  // Saturation: an exponential approach to +256 MiB with a 5 s time constant.
  out.push_back({"saturation (tau 5 s)",
                 [](double t) { return 32 * kMiB + 256 * kMiB * (1 - std::exp(-t / 5)); },
                 [](double t) { return 40 * kMiB + 256 * kMiB * (1 - std::exp(-t / 5)); },
                 nullptr,
                 {Verdict::kBounded, Verdict::kStable}});
  // Retention: a burst of 256 MiB from 2 s to 6 s, freed by 8 s; RSS keeps it.
  out.push_back(
      {"retention (burst, RSS keeps it)",
       [](double t) {
         const double up = std::clamp((t - 2) / 2, 0.0, 1.0);
         const double down = std::clamp((t - 6) / 2, 0.0, 1.0);
         return 8 * kMiB + 256 * kMiB * (up - down);
       },
       [](double t) { return 16 * kMiB + 256 * kMiB * std::clamp((t - 2) / 2, 0.0, 1.0); },
       nullptr,
       {Verdict::kRetention}});
  out.push_back({"stable 64 MiB",
                 [](double) { return 64 * kMiB; },
                 [](double) { return 72 * kMiB; },
                 nullptr,
                 {Verdict::kStable}});
  // The program's own mmap ring: fills 256 MiB over 10 s, then recycles; live bytes flat.
  const auto ring = [](double t) { return 256 * kMiB * std::min(1.0, t / 10); };
  out.push_back({"own-mmap pool (fills in 10 s)",
                 [](double) { return 8 * kMiB; },
                 [=](double t) { return 16 * kMiB + ring(t); },
                 [=](double t) { return 1 * kMiB + ring(t); },
                 {Verdict::kBounded, Verdict::kStable}});
  return out;
}

// One series of a class: noise of 0.1 % of the level plus 64 KiB, AR(1) with phi 0.5 (churn),
// independent per signal; sampling jitter +-5 ms.
Signals make(const Class& c, double horizon_s, std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 1);
  std::uniform_real_distribution<double> jitter(-5, 5);
  Signals s;
  const int n = static_cast<int>(horizon_s * 1000 / kDtMs) + 1;
  double el = 0, er = 0;
  const double phi = 0.5;
  for (int i = 0; i < n; ++i) {
    const double t = i * kDtMs / 1000;
    const double live = c.live(t), rss = c.rss(t);
    const double sl = 0.001 * live + 64 * kKiB, sr = 0.001 * rss + 64 * kKiB;
    el = phi * el + std::sqrt(1 - phi * phi) * z(rng);
    er = phi * er + std::sqrt(1 - phi * phi) * z(rng);
    const double tm = i * kDtMs + jitter(rng);
    s.live_bytes.t_ms.push_back(tm);
    s.live_bytes.value.push_back(live + sl * el);
    s.rss.t_ms.push_back(tm);
    s.rss.value.push_back(rss + sr * er);
    if (c.mmap) {
      s.mmap_bytes.t_ms.push_back(tm);
      s.mmap_bytes.value.push_back(c.mmap(t));
    }
  }
  return s;
}

Signals prefix(const Signals& s, std::size_t n) {
  auto cut = [n](const arenalab::analysis::Series& x) {
    arenalab::analysis::Series y;
    const std::size_t k = std::min(n, x.value.size());
    y.t_ms.assign(x.t_ms.begin(), x.t_ms.begin() + static_cast<std::ptrdiff_t>(k));
    y.value.assign(x.value.begin(), x.value.begin() + static_cast<std::ptrdiff_t>(k));
    return y;
  };
  Signals p;
  p.live_bytes = cut(s.live_bytes);
  p.rss = cut(s.rss);
  p.mmap_bytes = cut(s.mmap_bytes);
  return p;
}

// Seconds of data after which every longer prefix (in steps of step_s) is right; -1: never
// (not right at the horizon). Walks back from the horizon: the first wrong prefix ends it.
double time_to_verdict(const Class& c, const Signals& s, double horizon_s, double step_s,
                       std::string* last) {
  double since = -1;
  for (double t = horizon_s; t >= 1.5 - 1e-9; t -= step_s) {
    const auto n = static_cast<std::size_t>(std::lround(t * 1000 / kDtMs)) + 1;
    const Verdict v = classify(prefix(s, n)).verdict;
    if (t == horizon_s) *last = verdict_name(v);
    if (std::find(c.right.begin(), c.right.end(), v) == c.right.end()) break;
    since = t;
  }
  return since;
}

// Every signal cut at t_ms <= t_end.
Signals cut_at(const Signals& s, double t_end) {
  auto cut = [t_end](const arenalab::analysis::Series& x) {
    arenalab::analysis::Series y;
    for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
      if (x.t_ms[i] <= t_end) y.t_ms.push_back(x.t_ms[i]), y.value.push_back(x.value[i]);
    return y;
  };
  Signals p;
  p.rss = cut(s.rss), p.rss_anon = cut(s.rss_anon), p.live_bytes = cut(s.live_bytes);
  p.allocated = cut(s.allocated), p.resident = cut(s.resident), p.mapped = cut(s.mapped);
  p.retained = cut(s.retained), p.mmap_bytes = cut(s.mmap_bytes);
  p.rss_file = cut(s.rss_file), p.rss_shmem = cut(s.rss_shmem), p.vm_size = cut(s.vm_size);
  return p;
}

// The recorded corpus: per label, the median and worst seconds of data until right for good.
int recorded(const std::string& dir, double step) {
  namespace fs = std::filesystem;
  const std::map<std::string, std::vector<Verdict>> right = {
      {"leak", {Verdict::kLeak}},
      {"non-heap", {Verdict::kNonHeapGrowth}},
      {"bounded", {Verdict::kBounded, Verdict::kStable}},
      {"retention", {Verdict::kRetention}},
      {"stable", {Verdict::kStable}}};
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().string().ends_with(".jsonl.zst")) files.push_back(e.path());
  if (ec || files.empty()) {
    std::fprintf(stderr, "bm_verdict: no *.jsonl.zst timelines in %s\n", dir.c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  const fs::path tmp = fs::temp_directory_path() / ("bm_verdict." + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::map<std::string, std::vector<double>> ttv;  // label -> seconds (-1: never)
  std::map<std::string, double> window;            // label -> longest window, s
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    const std::string label = name.substr(0, name.find("__"));
    if (!right.count(label)) continue;
    const fs::path out = tmp / f.stem();
    const std::string cmd = "zstd -q -dc '" + f.string() + "' > '" + out.string() + "'";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "bm_verdict: cannot decompress %s (zstd)\n", f.c_str());
      continue;
    }
    auto tl = arenalab::timeline::read_timeline(out.string());
    fs::remove(out);
    if (!tl) {
      std::fprintf(stderr, "bm_verdict: %s: %s\n", f.c_str(), tl.error().message.c_str());
      continue;
    }
    const Signals s = arenalab::analysis::signals_from_timeline(*tl);
    const auto& ref = !s.rss.t_ms.empty() ? s.rss.t_ms : s.live_bytes.t_ms;
    if (ref.size() < 2) continue;
    const double t0 = ref.front(), w = (ref.back() - t0) / 1000;
    window[label] = std::max(window[label], w);
    const auto& ok = right.at(label);
    double since = -1;
    for (double t = w; t >= 1.5 - 1e-9; t -= step) {
      const Verdict v = classify(cut_at(s, t0 + t * 1000)).verdict;
      if (std::find(ok.begin(), ok.end(), v) == ok.end()) break;
      since = t;
    }
    ttv[label].push_back(since);
  }
  fs::remove_all(tmp, ec);
  std::printf("\nrecorded corpus (%s): seconds of data until right for good, per label\n\n",
              dir.c_str());
  std::printf("%-12s %8s %8s %8s %8s\n", "label", "median", "worst", "right", "window");
  for (auto& [label, v] : ttv) {
    std::vector<double> good;
    for (double x : v)
      if (x >= 0) good.push_back(x);
    std::sort(good.begin(), good.end());
    char med[16] = "-", worst[16] = "-";
    if (good.size() * 2 > v.size())
      std::snprintf(med, sizeof med, "%.1f", good[std::min(v.size() / 2, good.size() - 1)]);
    if (good.size() == v.size() && !good.empty())
      std::snprintf(worst, sizeof worst, "%.1f", good.back());
    std::printf("%-12s %8s %8s %5zu/%-2zu %7.0f s\n", label.c_str(), med, worst, good.size(),
                v.size(), window[label]);
  }
  return 0;
}

// The live line replayed on each file: one tab-separated row per line.
int live(const std::vector<std::string>& files, double every_s, double warmup_s) {
  int bad = 0;
  for (const auto& f : files) {
    auto lines = arenalab::analysis::replay_live(f, every_s * 1000, {}, warmup_s * 1000);
    if (!lines) {
      std::fprintf(stderr, "bm_verdict: %s: %s\n", f.c_str(), lines.error().message.c_str());
      bad = 1;
      continue;
    }
    for (const auto& l : *lines)
      std::printf("%s\t%.1f\t%s\t%.1f\t%s\t%s\n", f.c_str(), l.t_ms / 1000,
                  std::string(verdict_name(l.verdict)).c_str(), l.growth_span_ms / 1000,
                  l.shown.c_str(), l.reason.c_str());
  }
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 10;
  double horizon = 60, step = 0.5;
  std::string recorded_dir;
  if (argc > 1 && !std::strcmp(argv[1], "--live")) {
    double every = 3, warmup = arenalab::analysis::LiveVerdict::kWarmupMs / 1000;
    std::vector<std::string> files;
    for (int i = 2; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--every") && i + 1 < argc)
        every = std::atof(argv[++i]);
      else if (!std::strcmp(argv[i], "--warmup") && i + 1 < argc)
        warmup = std::atof(argv[++i]);
      else
        files.emplace_back(argv[i]);
    }
    if (files.empty() || !(every > 0) || !(warmup >= 0)) {
      std::fprintf(stderr, "usage: bm_verdict --live [--every S] [--warmup S] FILE...\n");
      return 2;
    }
    return live(files, every, warmup);
  }
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) {
      series = 2, horizon = 40;
    } else if (!std::strcmp(argv[i], "--series") && i + 1 < argc) {
      series = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--horizon") && i + 1 < argc) {
      horizon = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--recorded") && i + 1 < argc) {
      recorded_dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: bm_verdict [--smoke] [--series N] [--horizon S] [--recorded DIR]\n");
      return 2;
    }
  }
  if (series < 1 || !(horizon >= 5)) {
    std::fprintf(stderr, "bm_verdict: --series must be >= 1 and --horizon >= 5 s\n");
    return 2;
  }
  std::printf(
      "time to verdict: seconds of data (100 ms sampling) until the verdict is right and stays "
      "right to %.0f s;\n%d series per class, prefixes every %.1f s; '-' = not right at the "
      "end\n\n",
      horizon, series, step);
  std::printf("%-34s %8s %8s %6s  %s\n", "class", "median", "worst", "right", "verdict at end");
  std::mt19937_64 rng(20260619);
  for (const auto& c : classes()) {
    std::vector<double> ttv;
    int never = 0;
    std::string last;
    for (int k = 0; k < series; ++k) {
      const Signals s = make(c, horizon, rng);
      const double t = time_to_verdict(c, s, horizon, step, &last);
      if (t < 0)
        ++never;
      else
        ttv.push_back(t);
    }
    std::sort(ttv.begin(), ttv.end());
    char med[16] = "-", worst[16] = "-";
    // The median counts a series never right as later than any: it exists while half are right.
    if (static_cast<int>(ttv.size()) * 2 > series) {
      const std::size_t mid = static_cast<std::size_t>(series) / 2;  // upper median
      std::snprintf(med, sizeof med, "%.1f", ttv[std::min(mid, ttv.size() - 1)]);
    }
    if (never == 0) std::snprintf(worst, sizeof worst, "%.1f", ttv.back());
    std::printf("%-34s %8s %8s %3zu/%-2d  %s\n", c.name.c_str(), med, worst, ttv.size(), series,
                last.c_str());
  }
  return recorded_dir.empty() ? 0 : recorded(recorded_dir, step);
}
