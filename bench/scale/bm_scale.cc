// SPDX-License-Identifier: Apache-2.0
// bm_scale: analysis that scales with the run (issue 25 part 3). Prints four tables: classify of
// a timeline of N samples (the whole-file path of before against the streaming one, and the
// same run's file as the runner rolls it: seconds, peak memory, verdict), the verdicts of the
// full series against the thinned one and against the rolled file on long series of every
// class, watch's live-verdict cost per tick (CPU share of a core at a 3 s live line), the
// timeline's bytes per sample as written, compressed and rolled (formats/timeline_roll.h), and
// the knee bootstrap's worst case (one series' classification when all 499 replicates run). Medians
// of --repeats runs, each in a child process (its own peak RSS); the load average is printed beside
// each table.
// --smoke: small sizes, one repeat. --samples LIST (classify), --before-max N (the largest run
// the whole-file path is measured on), --dir DIR (where the timelines are written), --only T
// (one table: classify, agree, watch, size or knee).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/thin.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/quantile.h"
#include "arenalab/formats/timeline.h"

namespace {

namespace an = arenalab::analysis;
namespace tl = arenalab::timeline;
using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kKiB = 1024.0;
constexpr double kDtMs = 100;  // sampling interval

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// NaN for no sample: printed as "nan", never as a measured 0.
double median(std::vector<double> v) { return v.empty() ? NAN : arenalab::median_of(std::move(v)); }

// ---- Series of each class at any length: time scales are shares of the window. ----

struct Class {
  std::string name;
  // live, rss, own mmap (may be null) at x = t / window in [0, 1], bytes
  std::function<double(double)> live, rss, mmap;
};

double frac(double x) { return x - std::floor(x); }

std::vector<Class> classes() {
  std::vector<Class> out;
  // 256 MiB over the window on 1 GiB (a week: 440 B/s; 6 h: 12 KiB/s).
  out.push_back({"leak +25 % on 1 GiB", [](double x) { return 1024 * kMiB + 256 * kMiB * x; },
                 [](double x) { return 1150 * kMiB + 256 * kMiB * x; }, nullptr});
  out.push_back({"leak +3 % on 1 GiB", [](double x) { return 1024 * kMiB + 32 * kMiB * x; },
                 [](double x) { return 1150 * kMiB + 32 * kMiB * x; }, nullptr});
  out.push_back({"sawtooth, 40 cycles",
                 [](double x) { return 64 * kMiB + 48 * kMiB * frac(x * 40); },
                 [](double x) { return 80 * kMiB + 48 * kMiB * frac(x * 40); }, nullptr});
  out.push_back({"sawtooth, 6 cycles", [](double x) { return 64 * kMiB + 48 * kMiB * frac(x * 6); },
                 [](double x) { return 80 * kMiB + 48 * kMiB * frac(x * 6); }, nullptr});
  out.push_back({"leak under a sawtooth",
                 [](double x) { return 64 * kMiB + 48 * kMiB * frac(x * 40) + 64 * kMiB * x; },
                 [](double x) { return 80 * kMiB + 48 * kMiB * frac(x * 40) + 64 * kMiB * x; },
                 nullptr});
  out.push_back({"warm cache (ramp 20 %)",
                 [](double x) { return 16 * kMiB + 128 * kMiB * std::min(1.0, x / 0.2); },
                 [](double x) { return 24 * kMiB + 128 * kMiB * std::min(1.0, x / 0.2); },
                 nullptr});
  out.push_back({"saturation (tau 8 %)",
                 [](double x) { return 32 * kMiB + 256 * kMiB * (1 - std::exp(-x / 0.08)); },
                 [](double x) { return 40 * kMiB + 256 * kMiB * (1 - std::exp(-x / 0.08)); },
                 nullptr});
  out.push_back(
      {"retention (burst, RSS keeps it)",
       [](double x) {
         const double up = std::clamp((x - 0.1) / 0.1, 0.0, 1.0);
         const double down = std::clamp((x - 0.3) / 0.1, 0.0, 1.0);
         return 8 * kMiB + 256 * kMiB * (up - down);
       },
       [](double x) { return 16 * kMiB + 256 * kMiB * std::clamp((x - 0.1) / 0.1, 0.0, 1.0); },
       nullptr});
  out.push_back({"stable 64 MiB", [](double) { return 64 * kMiB; },
                 [](double) { return 72 * kMiB; }, nullptr});
  const auto ring = [](double x) { return 256 * kMiB * std::min(1.0, x / 0.2); };
  out.push_back({"own-mmap pool (fills in 20 %)", [](double) { return 8 * kMiB; },
                 [=](double x) { return 16 * kMiB + ring(x); },
                 [=](double x) { return 1 * kMiB + ring(x); }});
  return out;
}

// Sample i of n of a class: noise of 0.1 % of the level plus 64 KiB, AR(1) with phi 0.5,
// independent per signal; sampling jitter +-5 ms; values whole bytes (as the interposer writes).
struct Gen {
  const Class& c;
  std::size_t n;
  std::mt19937_64 rng;
  double el = 0, er = 0;
  std::normal_distribution<double> z{0, 1};
  std::uniform_real_distribution<double> jitter{-5, 5};
  Gen(const Class& cl, std::size_t count, std::uint64_t seed) : c(cl), n(count), rng(seed) {}
  tl::Sample next(std::size_t i) {
    const double x = static_cast<double>(i) / static_cast<double>(n);
    const double live = c.live(x), rss = c.rss(x);
    const double phi = 0.5;
    el = phi * el + std::sqrt(1 - phi * phi) * z(rng);
    er = phi * er + std::sqrt(1 - phi * phi) * z(rng);
    tl::Sample s;
    s.t_ms = std::round((static_cast<double>(i) * kDtMs + 10 + jitter(rng)) * 1000) / 1000;
    s.rss = std::round(rss + (0.001 * rss + 64 * kKiB) * er);
    s.rss_anon = std::round(*s.rss - 4 * kMiB);
    s.live_bytes = std::round(live + (0.001 * live + 64 * kKiB) * el);
    s.live_allocs = std::round(*s.live_bytes / 96);
    if (c.mmap) s.mmap_bytes = std::round(c.mmap(x));
    s.allocated = *s.live_bytes;
    s.mapped = std::round(*s.live_bytes * 1.05 + 2 * kMiB);
    s.retained = std::round(*s.live_bytes * 0.01);
    return s;
  }
};

// The line the interposer writes (timeline_writer.cc), for files the size of a long run.
std::string line_of(const tl::Sample& s) {
  char buf[512];
  int k = std::snprintf(buf, sizeof buf, "{\"t_ms\":%.3f,\"rss\":%.0f,\"rss_anon\":%.0f", s.t_ms,
                        *s.rss, *s.rss_anon);
  k += std::snprintf(buf + k, sizeof buf - k, ",\"live_bytes\":%.0f,\"live_allocs\":%.0f",
                     *s.live_bytes, *s.live_allocs);
  if (s.mmap_bytes)
    k += std::snprintf(buf + k, sizeof buf - k, ",\"mmap_bytes\":%.0f,\"mmap_reserved_bytes\":0",
                       *s.mmap_bytes);
  k += std::snprintf(buf + k, sizeof buf - k,
                     ",\"alloc\":{\"allocated\":%.0f,\"mapped\":%.0f,\"retained\":%.0f}}\n",
                     *s.allocated, *s.mapped, *s.retained);
  return std::string(buf, static_cast<std::size_t>(k));
}

std::string header_text() {
  tl::Header h;
  h.pid = 4242;
  h.command = {"/usr/bin/service"};
  h.allocator = {"glibc", arenalab::formats::Backend::kGlibc, "/lib/x86_64-linux-gnu/libc.so.6",
                 "2.36", true};
  h.mode = "count";
  h.interval_ms = kDtMs;
  return tl::header_line(h) + "\n";
}

// Writes a timeline of n samples of class c; its size in bytes.
std::uintmax_t write_timeline(const std::string& path, const Class& c, std::size_t n) {
  if (std::filesystem::exists(path)) return std::filesystem::file_size(path);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << header_text();
    Gen g(c, n, 42);
    std::string chunk;
    for (std::size_t i = 0; i < n; ++i) {
      chunk += line_of(g.next(i));
      if (chunk.size() > (1 << 20)) out << chunk, chunk.clear();
    }
    out << chunk;
  }
  std::filesystem::rename(tmp, path);
  return std::filesystem::file_size(path);
}

// What a run under the runner leaves (RunOptions::roll_every_bytes, roll): the same lines,
// rolled each time the file has grown by roll_every bytes since the last roll.
struct RolledRun {
  std::uintmax_t bytes = 0;             // at the end
  std::uintmax_t max_bytes = 0;         // the largest it was
  std::vector<std::uintmax_t> at_mark;  // its size after `marks` samples
  std::vector<double> roll_ms, roll_cpu_ms;
  std::size_t rolls = 0;
};

double cpu_ms_self() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

RolledRun write_rolled(const std::string& path, const Class& c, std::size_t n,
                       const tl::RollOptions& ro, std::uint64_t roll_every,
                       const std::vector<std::size_t>& marks = {}, std::uint64_t seed = 42) {
  RolledRun out;
  std::filesystem::remove(path);
  { std::ofstream(path, std::ios::binary) << header_text(); }
  Gen g(c, n, seed);
  std::string chunk;
  std::uintmax_t size = std::filesystem::file_size(path), roll_at = roll_every;
  std::size_t mark = 0;
  auto flush = [&] {
    std::ofstream(path, std::ios::binary | std::ios::app) << chunk;
    size += chunk.size();
    chunk.clear();
    out.max_bytes = std::max(out.max_bytes, size);
    if (size >= roll_at) {
      const auto t0 = Clock::now();
      const double c0 = cpu_ms_self();
      auto r = an::roll_timeline(path, ro);
      if (r && r->rolled) {
        out.roll_ms.push_back(ms_since(t0));
        out.roll_cpu_ms.push_back(cpu_ms_self() - c0);
        ++out.rolls;
        size = r->bytes_after;
      }
      roll_at = size + roll_every;
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    chunk += line_of(g.next(i));
    if (chunk.size() >= (64 << 10)) flush();
    while (mark < marks.size() && marks[mark] == i + 1) {
      flush();
      out.at_mark.push_back(size);
      ++mark;
    }
  }
  flush();
  out.bytes = size;
  return out;
}

// The runner's defaults (runner.h).
tl::RollOptions default_roll() { return tl::RollOptions{}; }
constexpr std::uint64_t kRollEvery = 8u << 20;

// ---- Runs in a child: its wall time, CPU and peak RSS. ----

struct Measured {
  double wall_ms = NAN, cpu_ms = NAN, peak_mb = NAN;
  double read_ms = NAN, classify_ms = NAN;
  std::string verdict;
  std::size_t kept = 0;
};

Measured in_child(const std::function<Measured()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const Measured m = body();
    char buf[256];
    const int k = std::snprintf(buf, sizeof buf, "%.3f %.3f %zu %s", m.read_ms, m.classify_ms,
                                m.kept, m.verdict.c_str());
    if (::write(fds[1], buf, static_cast<std::size_t>(k)) < 0) _exit(1);
    _exit(0);
  }
  ::close(fds[1]);
  char buf[256] = {};
  std::size_t got = 0;
  for (ssize_t r; (r = ::read(fds[0], buf + got, sizeof buf - 1 - got)) > 0;)
    got += static_cast<std::size_t>(r);
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  Measured m;
  m.wall_ms = ms_since(t0);
  m.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
             (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  m.peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  char verdict[64] = {};
  std::sscanf(buf, "%lf %lf %zu %63s", &m.read_ms, &m.classify_ms, &m.kept, verdict);
  m.verdict = verdict;
  return m;
}

Measured before_path(const std::string& path) {
  Measured m;
  const auto t0 = Clock::now();
  auto t = tl::read_timeline(path);
  if (!t) return m;
  const an::Signals sig = an::signals_from_timeline(*t);
  m.read_ms = ms_since(t0);
  const auto t1 = Clock::now();
  m.verdict = an::verdict_name(an::classify(sig).verdict);
  m.classify_ms = ms_since(t1);
  m.kept = t->samples.size();
  return m;
}

Measured after_path(const std::string& path) {
  Measured m;
  const auto t0 = Clock::now();
  auto t = an::read_signals(path);
  if (!t) return m;
  m.read_ms = ms_since(t0);
  const auto t1 = Clock::now();
  m.verdict = an::verdict_name(an::classify(t->signals).verdict);
  m.classify_ms = ms_since(t1);
  m.kept = t->kept;
  return m;
}

void classify_table(const std::string& dir, const std::vector<std::size_t>& sizes,
                    std::size_t before_max, int repeats) {
  const Class leak = classes()[0];
  std::printf("\n## classify: a timeline of N samples (class '%s'; load %s)\n", leak.name.c_str(),
              loadavg().c_str());
  std::printf("goal: 6 M samples in <= 5 s and <= 150 MB\n\n");
  std::printf(
      "| samples | run at 100 ms | file MB | path | read s | classify s | total s | "
      "CPU s | peak MB | rows classified | verdict |\n|---|---|---|---|---|---|---|---|"
      "---|---|---|\n");
  // The goal's figures: the streamed path on the largest run measured.
  std::size_t goal_n = 0;
  double goal_cpu = NAN, goal_wall = NAN, goal_peak = NAN;
  for (const std::size_t n : sizes) {
    const std::string path = dir + "/leak-" + std::to_string(n) + ".jsonl";
    const double mb = static_cast<double>(write_timeline(path, leak, n)) / 1e6;
    for (int which = 0; which < 2; ++which) {
      if (which == 0 && n > before_max) continue;
      std::vector<double> rd, cl, wall, cpu, peak;
      Measured last;
      for (int r = 0; r < repeats; ++r) {
        last = in_child([&] { return which == 0 ? before_path(path) : after_path(path); });
        rd.push_back(last.read_ms), cl.push_back(last.classify_ms), wall.push_back(last.wall_ms);
        cpu.push_back(last.cpu_ms), peak.push_back(last.peak_mb);
      }
      std::printf(
          "| %zu | %.1f h | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %zu | %s |\n", n,
          static_cast<double>(n) * kDtMs / 3.6e6, mb,
          which == 0 ? "before: read whole, classify all" : "stream, thin (file as written)",
          median(rd) / 1e3, median(cl) / 1e3, median(wall) / 1e3, median(cpu) / 1e3, median(peak),
          last.kept, last.verdict.c_str());
      std::fflush(stdout);
      if (which == 1 && n >= goal_n)
        goal_n = n, goal_cpu = median(cpu) / 1e3, goal_wall = median(wall) / 1e3,
        goal_peak = median(peak);
    }
    // The same run as the runner leaves it: rolled as it was written.
    const std::string rolled = dir + "/leak-" + std::to_string(n) + ".rolled.jsonl";
    const RolledRun rr = write_rolled(rolled, leak, n, default_roll(), kRollEvery);
    std::vector<double> rd, cl, wall, cpu, peak;
    Measured last;
    for (int r = 0; r < repeats; ++r) {
      last = in_child([&] { return after_path(rolled); });
      rd.push_back(last.read_ms), cl.push_back(last.classify_ms), wall.push_back(last.wall_ms);
      cpu.push_back(last.cpu_ms), peak.push_back(last.peak_mb);
    }
    std::printf("| %zu | %.1f h | %.1f | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %zu | %s |\n", n,
                static_cast<double>(n) * kDtMs / 3.6e6, static_cast<double>(rr.bytes) / 1e6,
                "rolled file (runner's roll), stream, thin", median(rd) / 1e3, median(cl) / 1e3,
                median(wall) / 1e3, median(cpu) / 1e3, median(peak), last.kept,
                last.verdict.c_str());
    std::fflush(stdout);
  }
  // The verdict on the goal, from the streamed file as written (the rolled one is smaller).
  // Judged on CPU: on a shared machine wall time is the other processes' as much as ours.
  if (goal_n < 6000000) {
    std::printf(
        "\ngoal not measured: classify of 6 M samples <= 5 s and <= 150 MB (largest run "
        "here %zu samples)\n",
        goal_n);
  } else {
    const bool met = goal_cpu <= 5 && goal_peak <= 150;
    std::printf(
        "\ngoal %s: classify of 6 M samples <= 5 s and <= 150 MB: %zu samples streamed "
        "in %.2f s of CPU (%.2f s wall), peak %.0f MB\n",
        met ? "met" : "NOT met", goal_n, goal_cpu, goal_wall, goal_peak);
  }
}

// ---- The thinned series decides as the full one. ----

void agreement_table(const std::string& dir, std::size_t n, int seeds) {
  std::printf(
      "\n## verdict on the full series vs the thinned one (%zu samples each, %d seeds; "
      "load %s)\n\n",
      n, seeds, loadavg().c_str());
  std::printf(
      "rolled: the lines written to a file rolled as it grew with the runner's roll scaled to the "
      "run (its recent window 1/168 of it, as an hour of a week; 512 blocks; a roll every "
      "1/40 of the run)\n\n"
      "| class | full verdict(s) | thinned verdict(s) | agree | rows classified | "
      "full classify s | thinned classify s | rolled file verdict(s) | agree | rolled file rows "
      "|\n|---|---|---|---|---|---|---|---|---|---|\n");
  int agree_all = 0, total = 0, agree_rolled = 0;
  for (const auto& c : classes()) {
    std::string fv, tv, rv;
    int agree = 0, agree_r = 0;
    std::size_t kept = 0, rolled_lines = 0;
    std::vector<double> tf, tt;
    for (int seed = 0; seed < seeds; ++seed) {
      Gen g(c, n, 1000 + static_cast<std::uint64_t>(seed));
      an::Signals full;
      an::SignalThinner thin;
      an::Series* const dst[] = {&full.rss,       &full.rss_anon,  &full.live_bytes,
                                 &full.allocated, &full.active,    &full.resident,
                                 &full.mapped,    &full.retained,  &full.mmap_bytes,
                                 &full.rss_file,  &full.rss_shmem, &full.vm_size};
      for (std::size_t i = 0; i < n; ++i) {
        const tl::Sample s = g.next(i);
        const an::SignalRow row = an::signal_row(s);
        thin.add(row);
        for (std::size_t j = 0; j < an::kSignalCount; ++j)
          if (std::isfinite(row.v[j]))
            dst[j]->t_ms.push_back(row.t_ms), dst[j]->value.push_back(row.v[j]);
      }
      auto t0 = Clock::now();
      const auto a = an::classify(full);
      tf.push_back(ms_since(t0));
      t0 = Clock::now();
      const auto b = an::classify(thin.signals());
      tt.push_back(ms_since(t0));
      kept = thin.rows_kept();
      fv += std::string(fv.empty() ? "" : ", ") + an::verdict_name(a.verdict);
      tv += std::string(tv.empty() ? "" : ", ") + an::verdict_name(b.verdict);
      agree += a.verdict == b.verdict;
      // The same samples (same seed) written and rolled as they grew.
      tl::RollOptions ro;
      ro.recent_ms = static_cast<double>(n) * kDtMs / 168;
      ro.min_block_ms = 100;
      const std::string path = dir + "/agree.jsonl";
      {  // rolled every 1/40 of the run
        std::filesystem::remove(path);
        { std::ofstream(path, std::ios::binary) << header_text(); }
        Gen g2(c, n, 1000 + static_cast<std::uint64_t>(seed));
        std::string chunk;
        for (std::size_t i = 0; i < n; ++i) {
          chunk += line_of(g2.next(i));
          if ((i + 1) % (n / 40) == 0 || i + 1 == n) {
            std::ofstream(path, std::ios::binary | std::ios::app) << chunk;
            chunk.clear();
            (void)an::roll_timeline(path, ro);
          }
        }
      }
      auto rs = an::read_signals(path);
      const auto rc = rs ? an::classify(rs->signals) : an::Classification{};
      rolled_lines = rs ? rs->lines : 0;
      rv += std::string(rv.empty() ? "" : ", ") + (rs ? an::verdict_name(rc.verdict) : "error");
      agree_r += rs && rc.verdict == a.verdict;
    }
    agree_all += agree, total += seeds, agree_rolled += agree_r;
    std::printf("| %s | %s | %s | %d/%d | %zu | %.2f | %.2f | %s | %d/%d | %zu |\n", c.name.c_str(),
                fv.c_str(), tv.c_str(), agree, seeds, kept, median(tf) / 1e3, median(tt) / 1e3,
                rv.c_str(), agree_r, seeds, rolled_lines);
    std::fflush(stdout);
  }
  std::printf("\nagree: thinned %d of %d, rolled file %d of %d\n", agree_all, total, agree_rolled,
              total);
}

// ---- watch's live verdict: the cost of one live line at each run length. ----

void watch_table(const std::string& dir, const std::vector<std::size_t>& sizes,
                 std::size_t before_max, int ticks) {
  const Class leak = classes()[0];
  std::printf(
      "\n## watch: one live line (every 3 s = 30 new samples at 100 ms) after N samples "
      "(load %s)\ngoal: watch's own CPU under 1 %% of a core however long it runs\n\n",
      loadavg().c_str());
  std::printf(
      "| samples so far | run at 100 ms | path | CPU ms per live line (median) | "
      "share of a core | peak MB |\n|---|---|---|---|---|---|\n");
  std::size_t goal_n = 0;
  double goal_share = NAN;  // % of a core, the live path on the longest run measured
  for (const std::size_t n : sizes) {
    const std::string path = dir + "/leak-" + std::to_string(n) + ".jsonl";
    write_timeline(path, leak, n);
    for (int which = 0; which < 2; ++which) {
      if (which == 0 && n > before_max) continue;
      // In a child: catch up once (a watch that has been running), then append 30 samples and
      // show a live line, `ticks` times; the median CPU of one line.
      std::vector<double> per_tick;
      const Measured m = in_child([&] {
        const std::string live = path + ".live";
        std::filesystem::copy_file(path, live, std::filesystem::copy_options::overwrite_existing);
        an::LiveSignals tail(live);
        if (which == 1) tail.poll();
        Gen g(leak, n + 30 * static_cast<std::size_t>(ticks) + 1, 7);
        std::ofstream out(live, std::ios::app);
        std::vector<double> cpu;
        std::string verdict;
        for (int k = 0; k < ticks; ++k) {
          for (int i = 0; i < 30; ++i)
            out << line_of(
                g.next(n + static_cast<std::size_t>(k) * 30 + static_cast<std::size_t>(i)));
          out.flush();
          struct rusage a {
          }, b{};
          ::getrusage(RUSAGE_SELF, &a);
          if (which == 0) {
            auto t = tl::read_timeline(live);
            verdict = an::verdict_name(an::classify(an::signals_from_timeline(*t)).verdict);
          } else {
            tail.poll();
            verdict = an::verdict_name(an::classify(tail.signals()).verdict);
          }
          ::getrusage(RUSAGE_SELF, &b);
          cpu.push_back(
              (b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec - a.ru_stime.tv_sec) *
                  1e3 +
              (b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec - a.ru_stime.tv_usec) /
                  1e3);
        }
        std::filesystem::remove(live);
        Measured r;
        r.read_ms = median(cpu);
        r.classify_ms = 0;
        r.verdict = verdict;
        return r;
      });
      std::printf("| %zu | %.1f h | %s | %.1f | %.2f %% | %.0f |\n", n,
                  static_cast<double>(n) * kDtMs / 3.6e6,
                  which == 0 ? "before: re-read, classify all" : "after: tail, thinned rows",
                  m.read_ms, m.read_ms / 3000 * 100, m.peak_mb);
      std::fflush(stdout);
      if (which == 1 && n >= goal_n) goal_n = n, goal_share = m.read_ms / 3000 * 100;
    }
  }
  // "However long it runs": judged on the longest run measured; a cost that grew with the run
  // would show there first.
  std::printf(
      "\ngoal %s: watch's own CPU under 1 %% of a core: %.2f %% after %zu samples "
      "(%.1f h at 100 ms)\n",
      !(goal_share < 1) ? "NOT met" : "met", goal_share, goal_n,
      static_cast<double>(goal_n) * kDtMs / 3.6e6);
}

// ---- The timeline's size. ----

void size_table(const std::string& dir, std::size_t n) {
  const Class leak = classes()[0];
  const std::string path = dir + "/leak-" + std::to_string(n) + ".jsonl";
  const double bytes = static_cast<double>(write_timeline(path, leak, n));
  std::printf("\n## timeline size (%zu samples of the interposer's count-mode line; load %s)\n\n",
              n, loadavg().c_str());
  std::printf(
      "| form | bytes per sample | a day at 100 ms | a week at 100 ms |\n|---|---|---|---|\n");
  auto row = [&](const char* form, double per) {
    std::printf("| %s | %.1f | %.0f MB | %.0f MB |\n", form, per, per * 864000 / 1e6,
                per * 6048000 / 1e6);
  };
  const double per = bytes / static_cast<double>(n);
  row("timeline.jsonl as written", per);
  // zstd on the first 100000 samples (a level-19 pass over a week of lines takes minutes).
  const std::size_t prefix = std::min<std::size_t>(n, 100000);
  for (const char* level : {"1", "3", "19"}) {
    const std::string cmd = "head -n " + std::to_string(prefix + 1) + " '" + path +
                            "' | zstd -q -c -" + std::string(level) + " | wc -c";
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      double z = 0;
      if (std::fscanf(p, "%lf", &z) == 1 && z > 0)
        row((std::string("zstd -") + level + " of it").c_str(), z / static_cast<double>(prefix));
      ::pclose(p);
    }
  }
  // After: the same run as the runner leaves it (rolled every 8 MiB of growth, its last hour
  // whole, a history of at most 512 blocks), measured at a day and at a week of samples.
  const std::size_t day = 864000, week = 6048000;
  std::vector<std::size_t> marks;
  for (std::size_t m : {day, std::min(week, n)})
    if (m <= n && (marks.empty() || m > marks.back())) marks.push_back(m);
  const std::string rolled = dir + "/size.rolled.jsonl";
  const RolledRun rr = write_rolled(rolled, leak, n, default_roll(), kRollEvery, marks);
  const double per_after = static_cast<double>(rr.bytes) / static_cast<double>(n);
  // Measured, not projected: the file's size after a day's samples and at the end.
  auto at = [&](std::size_t k) {
    if (k >= marks.size()) return std::string("-");
    char b[96];
    std::snprintf(b, sizeof b, "%.1f MB (measured after %zu samples)",
                  static_cast<double>(rr.at_mark[k]) / 1e6, marks[k]);
    return std::string(b);
  };
  std::printf(
      "| rolled by the runner (last hour whole, <= 512 history blocks, every 8 MiB) | %.2f "
      "| %s | %s |\n",
      per_after, at(0).c_str(), at(1).c_str());
  std::printf(
      "\nrolled: %zu rolls over %zu samples (%.1f h); the file at the end %.1f MB, at most "
      "%.1f MB at any time (bounded: it does not grow with the run)\n",
      rr.rolls, n, static_cast<double>(n) * kDtMs / 3.6e6, static_cast<double>(rr.bytes) / 1e6,
      static_cast<double>(rr.max_bytes) / 1e6);
  // Small = bounded: the rolled file does not grow with the run. Judged on its measured size
  // after a day's samples against the end of a run several times longer: a file that grew
  // with the run would grow by the same factor as the run.
  if (marks.size() == 2 && rr.at_mark[0] > 0) {
    const double run_x = static_cast<double>(marks[1]) / static_cast<double>(marks[0]);
    const double file_x = static_cast<double>(rr.at_mark[1]) / static_cast<double>(rr.at_mark[0]);
    std::printf(
        "\ngoal %s: a timeline that stays small: rolled, %.1f MB after %zu samples and %.1f MB "
        "after %zu (the run x%.1f, the file x%.2f; at most %.1f MB at any time); as written "
        "%.0f MB\n",
        file_x <= 2 ? "met" : "NOT met", static_cast<double>(rr.at_mark[0]) / 1e6, marks[0],
        static_cast<double>(rr.at_mark[1]) / 1e6, marks[1], run_x, file_x,
        static_cast<double>(rr.max_bytes) / 1e6, bytes * static_cast<double>(marks[1]) / n / 1e6);
  } else {
    std::printf(
        "\ngoal not measured: a timeline that stays small (a run of %zu samples: a day "
        "is 864000 and a longer run is needed beside it)\n",
        n);
  }
  if (!rr.roll_ms.empty()) {
    const double every_s = static_cast<double>(n) * kDtMs / 1e3 / static_cast<double>(rr.rolls);
    std::printf(
        "roll cost (arenalab's process, not the target): median %.0f ms wall, %.0f ms CPU, max "
        "%.0f ms CPU; one every %.0f s of the run at 100 ms: %.4f %% of a core\n",
        median(rr.roll_ms), median(rr.roll_cpu_ms),
        *std::max_element(rr.roll_cpu_ms.begin(), rr.roll_cpu_ms.end()), every_s,
        median(rr.roll_cpu_ms) / (every_s * 1e3) * 100);
  }
  // watch's live state follows the rolled file from its start after each roll (a file replaced
  // under the name): that re-read, once per roll.
  {
    std::vector<double> cpu;
    for (int r = 0; r < 3; ++r) {
      const double c0 = cpu_ms_self();
      an::LiveSignals live(rolled);
      live.poll();
      (void)an::classify(live.signals());
      cpu.push_back(cpu_ms_self() - c0);
    }
    std::printf("watch after a roll: re-reads the rolled file once, %.0f ms CPU (median of 3)\n",
                median(cpu));
  }
}

// ---- The knee's bootstrap: its worst case on a long run. ----

// A rise after an onset that fails Davies' bound is settled by a parametric bootstrap of the
// knee search (README "The knee's selection"): up to 499 simulated series the length of the run.
// Its worst case is a borderline onset under persistent AR(1) noise, where no replicate reaches
// the observed p, so all 499 run. Each row's series was checked to be one (instrumented when the
// table was added): flat AR(1) noise about 100 MiB plus a rise from `at` of the window, 100 ms
// samples. The generator is the table's own, seeded, so a row always gets the same series.
struct KneeCase {
  std::size_t n;
  double phi, sd_pct, grow_pct, at;
  std::uint64_t seed;
};

an::Series knee_series(const KneeCase& k) {
  std::mt19937_64 rng(100 + k.seed);
  std::normal_distribution<double> z(0, 1);
  const double sd = k.sd_pct / 100 * 100 * kMiB;
  an::Series s;
  double e = sd * z(rng);
  for (std::size_t i = 0; i < k.n; ++i) {
    if (i > 0) e = k.phi * e + sd * std::sqrt(1 - k.phi * k.phi) * z(rng);
    const double x = static_cast<double>(i) / static_cast<double>(k.n);
    const double g = x > k.at ? k.grow_pct / 100 * 100 * kMiB * (x - k.at) / (1 - k.at) : 0;
    s.t_ms.push_back(static_cast<double>(i) * kDtMs);
    s.value.push_back(100 * kMiB + g + e);
  }
  return s;
}

void knee_table(int repeats) {
  std::printf(
      "\n## the knee's bootstrap, worst case: a borderline onset under AR(1) noise, all 499 "
      "replicates run (classify_series on one series; load %s)\n"
      "4096 rows: what watch's live line classifies (LiveSignals) every 3 s; 32768: the "
      "thinner's rows (classify of any longer run)\n\n",
      loadavg().c_str());
  std::printf(
      "| samples | phi | noise sd %% of level | onset at | growth after it %% | CPU ms "
      "(median of %d) | share of a core at a 3 s live line | verdict |\n"
      "|---|---|---|---|---|---|---|---|\n",
      repeats);
  const KneeCase cases[] = {
      {4096, 0.97, 0.6, 4, 0.65, 0}, {10000, 0.8, 3, 4, 0.6, 0}, {32768, 0.8, 2, 2, 0.5, 3}};
  for (const KneeCase& k : cases) {
    const an::Series s = knee_series(k);
    std::vector<double> cpu;
    std::string verdict;
    for (int r = 0; r < repeats; ++r) {
      const double c0 = cpu_ms_self();
      verdict = an::verdict_name(an::classify_series(s).verdict);
      cpu.push_back(cpu_ms_self() - c0);
    }
    // watch classifies at most LiveSignals' rows: a share of a core only where it would.
    char share[32] = "-";
    if (k.n <= an::LiveSignals::kDefaultMaxRows)
      std::snprintf(share, sizeof share, "%.1f %%", median(cpu) / 3000 * 100);
    std::printf("| %zu | %.2f | %.2f | %.2f | %.1f | %.0f | %s | %s |\n", k.n, k.phi, k.sd_pct,
                k.at, k.grow_pct, median(cpu), share, verdict.c_str());
    std::fflush(stdout);
  }
}

std::vector<std::size_t> parse_list(const char* s) {
  std::vector<std::size_t> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) break;
    if (*end == 'k') v *= 1e3, ++end;
    if (*end == 'M') v *= 1e6, ++end;
    out.push_back(static_cast<std::size_t>(v));
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = {100000, 1000000, 6000000};
  std::vector<std::size_t> watch_sizes = {10000, 100000, 1000000, 6000000};
  std::size_t before_max = 1000000, agree_n = 200000;
  int repeats = 3, seeds = 3, ticks = 5;
  std::string dir, only;  // only: classify | agree | watch | size | knee (one table)
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) {
      sizes = {2000, 50000};
      watch_sizes = {2000, 50000};
      before_max = 50000, agree_n = 50000;
      repeats = 1, seeds = 1, ticks = 2;
    } else if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) {
      sizes = watch_sizes = parse_list(argv[++i]);
    } else if (!std::strcmp(argv[i], "--before-max") && i + 1 < argc) {
      before_max = parse_list(argv[++i]).at(0);
    } else if (!std::strcmp(argv[i], "--agree-samples") && i + 1 < argc) {
      agree_n = parse_list(argv[++i]).at(0);
    } else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: bm_scale [--smoke] [--samples LIST] [--before-max N] "
                   "[--agree-samples N] [--repeats N] [--dir DIR] "
                   "[--only classify|agree|watch|size|knee]\n");
      return 2;
    }
  }
  if (!only.empty() && only != "classify" && only != "agree" && only != "watch" && only != "size" &&
      only != "knee") {
    std::fprintf(stderr, "bm_scale: --only: %s not in {classify,agree,watch,size,knee}\n",
                 only.c_str());
    return 2;
  }
  bool own_dir = false;
  if (dir.empty()) {
    char tmpl[] = "/tmp/arenalab-bm-scale-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    dir = tmpl, own_dir = true;
  }
  std::filesystem::create_directories(dir);
  std::printf("bm_scale: %ld cores online, load %s\n", ::sysconf(_SC_NPROCESSORS_ONLN),
              loadavg().c_str());
  auto want = [&](const char* t) { return only.empty() || only == t; };
  if (want("classify")) classify_table(dir, sizes, before_max, repeats);
  if (want("agree") && agree_n > 0) agreement_table(dir, agree_n, seeds);
  if (want("watch")) watch_table(dir, watch_sizes, before_max, ticks);
  if (want("size")) size_table(dir, sizes.back());
  if (want("knee")) knee_table(repeats);
  std::printf("\nload at the end: %s\n", loadavg().c_str());
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
