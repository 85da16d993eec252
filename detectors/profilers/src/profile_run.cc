// SPDX-License-Identifier: Apache-2.0
// `arenalab profile`: validates the options, dispatches to the profiler's adapter
// (profiler_<name>.cc), classifies and ranks the call sites it collected, explains what grows
// outside the profile, and renders the report as profile.json or text.
#include "arenalab/profilers/profile_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>

#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/profilers/flamegraph.h"
#include "profilers_internal.h"

namespace arenalab::profilers {

namespace fs = std::filesystem;
using analysis::Verdict;
using analysis::verdict_name;
using detail::join_command;
using detail::mtime_ns;

namespace {

// One name per profiler: the CLI, the report and profile.json use these.
constexpr const char* kProfilerNames[] = {"jemalloc", "tcmalloc", "heaptrack", "interposer"};

std::string fmt_ms(double ms) { return fmt::format("{:.1f} s", ms / 1000.0); }

std::string frame_text(const CallsiteSeries& s) {
  if (const Frame* f = s.site_frame()) return f->display();
  // Allocated by the runtime itself (e.g. libstdc++'s start-up pool): the outermost frame.
  return s.frames.empty() ? "(no frames)" : "(allocator/runtime only) " + s.frames.back().display();
}

// As listed: mmap sites are marked, heap sites are the default.
std::string site_text(const CallsiteSeries& s) {
  return s.source == SiteSource::kHeap
             ? frame_text(s)
             : "[" + std::string(source_name(s.source)) + "] " + frame_text(s);
}

// Anonymous RSS against what the profile accounts for. Memory grows outside the profiler's books
// when RSS grows (verdict leak, by 1 MiB or more) while the call sites' live bytes grew by less
// than a quarter of that. A large rise that levels off (retention) gets a softer note.
void assess_outside_growth(ProfileReport& r, const std::string& signal,
                           const timeline::Series& rss) {
  auto& out = r.outside;
  if (rss.value.size() < 2) return;
  out.measured = true;
  out.signal = signal;
  out.verdict = classify_series(rss.t_ms, rss.value);
  out.grew_bytes = rss.value.back() - rss.value.front();
  for (const auto& site : r.callsites)
    if (site.live_bytes.size() >= 2)
      out.accounted_grew_bytes += site.live_bytes.back() - site.live_bytes.front();
  const bool has_mmap = r.profiler == Profiler::kInterposer;
  const std::string books =
      has_mmap ? "the interposer's call sites (heap and mmap)"
               : "the " + std::string(profiler_name(r.profiler)) + " heap profile's call sites";
  const std::string what = signal == "rss_anon" ? "anonymous memory (RssAnon)" : "RSS";
  const double mib = 1024.0 * 1024.0;
  const bool little_accounted = out.accounted_grew_bytes < 0.25 * out.grew_bytes;
  if (out.verdict.is_leak() && out.grew_bytes >= 1 * mib && little_accounted) {
    out.outside = true;
    out.explanation = fmt::format(
        "{} grows outside the allocator's books: it grew by {} ({}, {}/s) while {} grew by "
        "{}, so a heap dump does not reveal this growth (memory mapped with mmap(2) directly, "
        "thread stacks, or allocator retention){}",
        what, format_bytes(out.grew_bytes), verdict_name(out.verdict.verdict),
        format_bytes(out.verdict.slope_bytes_per_s), books, format_bytes(out.accounted_grew_bytes),
        has_mmap ? "" : "; run --profiler interposer to name the mmap call site");
  } else if (out.grew_bytes > 8 * mib && little_accounted) {
    out.outside = true;
    out.explanation = fmt::format(
        "{} rose by {} ({}) while {} grew by {}: that memory is outside the allocator's books "
        "(retention, or mmap(2) called directly) and a heap dump does not reveal it{}",
        what, format_bytes(out.grew_bytes), verdict_name(out.verdict.verdict), books,
        format_bytes(out.accounted_grew_bytes),
        has_mmap ? "" : "; --profiler interposer measures and names the program's own mmap");
  }
}

// Flame graphs of every profiler's series, with no external tool: the live bytes at the last
// dump, the growth from the first dump to the last, and (at_s) the live bytes at the dump
// nearest to a chosen time, as folded stacks and SVG, listed with the tools.
void write_flamegraphs(ProfileReport& r, const OutputDir& out, std::optional<double> at_s) {
  if (r.dump_t_ms.empty()) return;
  std::vector<std::string> hot;
  for (const auto& s : r.callsites)
    if (const Frame* f = s.site_frame(); f != nullptr && s.verdict.is_leak())
      hot.push_back(folded_frame_name(*f));
  struct Graph {
    std::string stem, title, folded;
  };
  const std::string span =
      fmt::format("{} .. {}", fmt_ms(r.dump_t_ms.front()), fmt_ms(r.dump_t_ms.back()));
  std::vector<Graph> graphs = {
      {"growth", "Growth of live bytes from the first to the last dump (" + span + ")",
       folded_stacks(r.callsites, 0, std::nullopt)},
      {"live", "Live bytes at the last dump (" + fmt_ms(r.dump_t_ms.back()) + ")",
       folded_stacks(r.callsites, std::nullopt, std::nullopt)},
  };
  if (at_s) {
    // The regular dump nearest to the time asked for: what was live then.
    const double want_ms = *at_s * 1000;
    const double t = *std::min_element(
        r.dump_t_ms.begin(), r.dump_t_ms.end(),
        [&](double a, double b) { return std::fabs(a - want_ms) < std::fabs(b - want_ms); });
    graphs.push_back(
        {"live-at",
         fmt::format("Live bytes at {} (the dump nearest to {:.1f} s)", fmt_ms(t), *at_s),
         folded_stacks_at(r.callsites, t)});
  }
  for (const auto& g : graphs) {
    ToolCommand t;
    t.purpose = g.stem +
                " flame graph (folded stacks for flamegraph.pl/speedscope, "
                "and SVG; leaking sites in red, click a frame to zoom)";
    const std::string folded_path = out.path() + "/" + g.stem + ".folded";
    const std::string svg_path = out.path() + "/" + g.stem + ".svg";
    t.command = "(built in) " + folded_path + " -> " + svg_path;
    auto st = out.write_file(g.stem + ".folded", g.folded);
    if (st) st = out.write_file(g.stem + ".svg", flamegraph_svg(g.folded, g.title, hot));
    t.ran = true;
    t.status = st ? 0 : 1;
    if (st)
      t.output_path = svg_path;
    else
      t.error = st.error().message;
    r.tools.push_back(std::move(t));
  }
}

}  // namespace

Result<std::vector<TimedDump>> load_dumps(const std::vector<std::string>& paths, long long t0_ns) {
  std::vector<TimedDump> out;
  for (const auto& p : paths) {
    auto dump = read_heap_dump(p);
    if (!dump) return dump.error();
    const long long t = mtime_ns(p);
    if (t0_ns == 0) t0_ns = t;
    out.push_back({static_cast<double>(t - t0_ns) / 1e6, std::move(*dump)});
  }
  return out;
}

const char* profiler_name(Profiler p) { return kProfilerNames[static_cast<int>(p)]; }

std::optional<Profiler> parse_profiler(std::string_view name) {
  for (Profiler p : kAllProfilers)
    if (name == profiler_name(p)) return p;
  return std::nullopt;
}

namespace {
// The output directory (created) and the --skip filter, as every front end needs them.
Status prepare_run(const ProfileOptions& o, ProfileReport& report, detail::ProfileRun& run) {
  // Everything that can be refused is checked before the directory exists: a refused run
  // leaves nothing behind in --out.
  if (run.binary.empty()) return make_error("cannot find program '" + o.command[0] + "'");
  for (const auto& pattern : o.skip) {
    try {
      run.filter.skip.emplace_back(pattern);
    } catch (const std::regex_error& e) {
      return make_error("--skip: '" + pattern + "' is not a regular expression: " + e.what());
    }
  }
  std::string dir =
      o.out_dir.empty() ? "arenalab-profile-" + std::to_string(::getpid()) : o.out_dir;
  // Made, or an existing directory checked (a real directory, ours, not writable by others):
  // the profilers write into it by path, so a link or another user's directory is refused;
  // arenalab's own outputs are written relative to the directory opened here (run.out).
  auto d = OutputDir::open(dir, ExistingDir::kAccept);
  if (!d) return d.error();
  run.out = std::move(*d);
  report.out_dir = run.out.path();
  return Ok{};
}
}  // namespace

Result<FullProfile> run_full_profile(const ProfileOptions& o, double temporary_ms) {
  if (o.command.empty()) return make_error("no command to profile (give it after --)");
  ProfileReport report;
  report.profiler = Profiler::kInterposer;
  report.command = o.command;
  detail::ProfileRun run{o, report, detail::which(o.command[0])};
  if (auto st = prepare_run(o, report, run); !st) return st.error();
  runner::RunOptions ro;
  ro.mode = preload::protocol::Mode::kFull;
  ro.max_output = o.max_output;
  auto ran = detail::run_with_runner(run, ro);
  if (!ran) return ran.error();
  FullProfile out;
  out.command = o.command;
  out.out_dir = report.out_dir;
  out.exit = report.exit;
  out.notes = report.notes;
  // The same path as `arenalab analyze DIR`.
  std::optional<double> at_ms;
  if (o.at_s) at_ms = *o.at_s * 1000;
  auto views = analyze_full_log(report.out_dir, temporary_ms, run.filter, at_ms);
  if (!views) return views.error();
  out.views = std::move(*views);
  auto graphs = write_full_log_graphs(out.views, run.out);
  if (!graphs) return graphs.error();
  out.graphs = std::move(*graphs);
  return out;
}

std::string full_profile_text(const FullProfile& p, int top) {
  std::string out = fmt::format("profile: {} under interposer, full mode ({})\n",
                                join_command(p.command), p.exit.describe());
  out += full_log_text(p.views, top);
  out += "\n" + p.graphs;
  if (!p.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& note : p.notes) out += "  - " + note + "\n";
  }
  return out;
}

namespace {
// A sampled site that grew but rests on few samples (one per 2^lg_sample bytes on average: ~28
// for redis's 14 MB of keys at the default 512 KiB) moves in steps, whose flat stretches the
// slope analysis may read as a knee or as no trend (one run in ten there).
constexpr std::uint64_t kFewSamples = 64;    // below this, a series is step-shaped
constexpr double kWantedSamples = 200;       // what the suggested sampling aims at
constexpr double kMaterialGrowth = 1 << 20;  // bytes: smaller growth is not worth a rerun
}  // namespace

std::string few_samples_note(const ProfileReport& r, int lg_sample) {
  const CallsiteSeries* worst = nullptr;
  double worst_growth = 0;
  for (const auto& s : r.callsites) {
    // A period of 0 or 1 byte records every allocation (the interposer's mmap.<seq>.heap are
    // heap_v2/1): the steps are the program's own (pymalloc's 1 MiB arenas), and no
    // --lg-sample changes them.
    if (s.sample_period <= 1 || s.samples.empty() || s.live_bytes.size() < 2) continue;
    const double growth = s.bytes_now() - s.live_bytes.front();
    if (growth >= kMaterialGrowth && s.samples_now() < kFewSamples && growth > worst_growth) {
      worst = &s;
      worst_growth = growth;
    }
  }
  if (worst == nullptr) return "";
  // The largest power of two that still gives kWantedSamples samples of what the site holds.
  const int lg = std::clamp(
      static_cast<int>(std::floor(std::log2(std::max(1.0, worst->bytes_now() / kWantedSamples)))),
      0, std::max(0, lg_sample - 1));
  return fmt::format(
      "too few samples: {} grew by {} but its series rests on {} sampled allocation(s) (one per "
      "{} on average), so it moves in steps that the slope analysis can read as a knee or as no "
      "trend (called {} here); for a smoother series give --lg-sample {} (one per {}: about "
      "{:.0f} samples here)",
      site_text(*worst), format_bytes(worst_growth), worst->samples_now(),
      format_bytes(static_cast<double>(worst->sample_period)), verdict_name(worst->verdict.verdict),
      lg, format_bytes(std::ldexp(1.0, lg)), worst->bytes_now() / std::ldexp(1.0, lg));
}

Result<ProfileReport> profile_attached_dumps(const std::string& dir,
                                             const std::vector<std::string>& command,
                                             const std::string& attached, long long since_ns,
                                             const std::vector<std::string>& skip) {
  ProfileOptions o;
  o.profiler = Profiler::kInterposer;
  o.command = command;
  o.run_tools = false;
  ProfileReport report;
  report.profiler = Profiler::kInterposer;
  report.command = command;
  report.out_dir = fs::absolute(dir).lexically_normal().string();
  if (!report.out_dir.empty() && report.out_dir.back() == '/') report.out_dir.pop_back();
  report.attached = attached;
  detail::ProfileRun run{o, report, std::string()};
  for (const auto& pattern : skip) {
    try {
      run.filter.skip.emplace_back(pattern);
    } catch (const std::regex_error& e) {
      return make_error("--skip: '" + pattern + "' is not a regular expression: " + e.what());
    }
  }
  run.since_ns = since_ns;
  report.dumps =
      detail::dump_files(report.out_dir, "heap.", ".heap", since_ns - detail::kMtimeSlackNs, true);
  if (auto st = detail::add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st)
    return st.error();
  classify_and_rank(report.callsites);
  if (report.dumps.empty()) report.notes.push_back("no heap dump was written");
  if (const std::size_t n = report.dump_t_ms.size(); n < kDumpsNeeded)
    report.notes.insert(report.notes.begin(),
                        fmt::format("too little data: {} dump(s), and the slope analysis needs {} "
                                    "or more to call a call site leak; attach for longer, or "
                                    "give a smaller --heap-dump-every",
                                    n, kDumpsNeeded));
  return report;
}

Result<ProfileReport> run_profile(const ProfileOptions& o) {
  if (o.command.empty()) return make_error("no command to profile (give it after --)");
  if (!(o.interval_s >= 0)) return make_error("--interval must be > 0 seconds");
  if (o.lg_sample < 0 || o.lg_sample > 40) return make_error("--lg-sample must be in 0..40");

  ProfileReport report;
  report.profiler = o.profiler;
  report.command = o.command;
  detail::ProfileRun run{o, report, detail::which(o.command[0])};
  if (auto st = prepare_run(o, report, run); !st) return st.error();
  run.adaptive = o.interval_s == 0;
  run.interval_s = run.adaptive ? kAdaptiveBaseS : o.interval_s;

  Status ran = Ok{};
  switch (o.profiler) {
    case Profiler::kJemalloc:
      ran = detail::run_jemalloc(run);
      break;
    case Profiler::kTcmalloc:
      ran = detail::run_tcmalloc(run);
      break;
    case Profiler::kHeaptrack:
      ran = detail::run_heaptrack(run);
      break;
    case Profiler::kInterposer:
      ran = detail::run_interposer(run);
      break;
  }
  if (!ran) return ran.error();

  classify_and_rank(report.callsites);
  write_flamegraphs(report, run.out, o.at_s);
  const StopInfo& stop = report.exit.stop;
  if (report.dumps.empty())
    report.notes.push_back(report.exit_dump.empty()
                               ? "no dump was written (" + report.exit.describe() + ")"
                               : "no dump was written while the program ran (" +
                                     report.exit.describe() +
                                     "), only the one at exit: the 'unfreed at exit' line");
  if (const std::size_t n = report.dump_t_ms.size(); n < kDumpsNeeded) {
    const double span_s = (n > 0 ? report.dump_t_ms.back() : report.exit.wall_ms) / 1000.0;
    report.notes.insert(
        report.notes.begin(),
        fmt::format("too little data: {} dump(s) over {:.1f} s, and the slope analysis needs {} "
                    "or more to call a call site leak; {}",
                    n, span_s, kDumpsNeeded,
                    run.adaptive
                        ? fmt::format("run the program longer (dumps come every {} s at the "
                                      "most: {:.1f} s or more)",
                                      kAdaptiveBaseS, kDumpsNeeded * kAdaptiveBaseS * 1.2)
                        : fmt::format("run the program longer, or give --interval {:.2g} (or no "
                                      "--interval: adaptive)",
                                      std::max(0.01, span_s / (kDumpsNeeded + 8)))));
  }
  if (std::string note = few_samples_note(report, o.lg_sample); !note.empty())
    report.notes.insert(report.notes.begin(), std::move(note));
  if (o.profiler == Profiler::kInterposer && report.mmap_measured &&
      report.mmap_verdict.is_leak()) {
    const CallsiteSeries* top = nullptr;
    for (const auto& site : report.callsites)
      if (site.source == SiteSource::kMmap && site.verdict.is_leak()) {
        top = &site;
        break;
      }
    report.notes.push_back(fmt::format(
        "anonymous mmap(2) made by the program itself grows: {} now, {}/s ({}); {}; a heap "
        "profiler (jemalloc, tcmalloc, heaptrack) never sees these bytes",
        format_bytes(report.mmap_bytes_now), format_bytes(report.mmap_verdict.slope_bytes_per_s),
        verdict_name(report.mmap_verdict.verdict),
        top != nullptr ? fmt::format("the growing mmap call site is {} ({}, {}/s)",
                                     frame_text(*top), verdict_name(top->verdict.verdict),
                                     format_bytes(top->verdict.slope_bytes_per_s))
        : report.mmap_dumps.empty()
            ? std::string("no mmap.<seq>.heap dump was written, so no mmap call site is named")
            : std::string("no single mmap call site is classified leak (see the [mmap] rows)")));
  }
  if (o.profiler != Profiler::kInterposer)
    report.notes.push_back(
        "a heap profiler sees only memory obtained through malloc/new; mmap(2) called directly "
        "(and allocator retention) never appears in its dumps: use --profiler interposer");
  assess_outside_growth(report, run.rss_signal, run.rss);
  if (stop.received_signal)
    report.notes.insert(
        report.notes.begin(),
        fmt::format(
            "stopped by {} to arenalab{}: passed on to the target ({}); this profile is "
            "made of the {} {} taken until then",
            signal_name(*stop.received_signal),
            stop.stop_ms ? fmt::format(" after {:.1f} s", *stop.stop_ms / 1000) : std::string(),
            report.exit.describe(), report.dump_t_ms.size(),
            o.profiler == Profiler::kHeaptrack ? "snapshot(s) of heaptrack's trace" : "dump(s)"));
  return report;
}

namespace {
int growing_count(const ProfileReport& r) {
  return static_cast<int>(std::count_if(r.callsites.begin(), r.callsites.end(),
                                        [](const auto& s) { return s.verdict.is_leak(); }));
}

std::optional<double> slope_of(const SeriesVerdict& v) {
  if (!v.has_slope()) return std::nullopt;
  return v.slope_bytes_per_s;
}
}  // namespace

profile_file::Profile to_profile_file(const ProfileReport& r, int top) {
  profile_file::Profile p;
  p.profiler = profiler_name(r.profiler);
  p.command = r.command;
  p.out_dir = r.out_dir;
  p.cadence = r.cadence;
  p.exit = r.attached.empty() ? r.exit.describe() : r.attached;
  p.dumps = r.dumps;
  p.dump_t_ms = r.dump_t_ms;
  p.mmap_dumps = r.mmap_dumps;
  p.exit_dump = r.exit_dump;
  p.growing_callsites = growing_count(r);
  int n = 0;
  for (const auto& s : r.callsites) {
    if (n++ >= top) break;
    profile_file::Callsite c;
    c.source = s.source;
    c.verdict = s.verdict.verdict;
    c.slope_bytes_per_s = slope_of(s.verdict);
    c.bytes_now = s.bytes_now();
    c.method = s.verdict.method;
    c.reason = s.verdict.reason;
    if (const Frame* f = s.site_frame())
      c.site = profile_file::Frame{f->function, f->file, f->line, f->module, f->address};
    c.bytes_at_exit = s.bytes_at_exit;
    for (const auto& f : s.frames) c.stack.push_back(f.describe());
    c.t_ms = s.t_ms;
    c.live_bytes = s.live_bytes;
    p.callsites.push_back(std::move(c));
  }
  for (const auto& t : r.tools) {
    profile_file::Tool c{t.purpose, t.command, t.ran, std::nullopt, t.output_path, t.error};
    if (t.ran) c.status = t.status;
    p.tools.push_back(std::move(c));
  }
  if (r.mmap_measured)
    p.mmap = profile_file::MmapSummary{r.mmap_verdict.verdict, slope_of(r.mmap_verdict),
                                       r.mmap_bytes_now, r.mmap_verdict.reason};
  if (r.rss_first > 0) {
    p.rss_first = r.rss_first;
    p.rss_last = r.rss_last;
  }
  if (r.outside.measured) {
    const auto& g = r.outside;
    p.outside_heap = profile_file::OutsideHeap{g.signal,
                                               g.verdict.verdict,
                                               slope_of(g.verdict),
                                               g.grew_bytes,
                                               g.accounted_grew_bytes,
                                               g.outside,
                                               g.outside ? g.explanation : std::string()};
  }
  p.notes = r.notes;
  return p;
}

std::string report_json(const ProfileReport& r, int top) {
  return profile_file::to_json(to_profile_file(r, top));
}

std::string report_text(const ProfileReport& r, int top, int frames) {
  std::string out;
  if (r.attached.empty())
    out += fmt::format("profile: {} under {} ({})\n", join_command(r.command),
                       profiler_name(r.profiler), r.exit.describe());
  else
    out += fmt::format("profile: {} ({})\n", join_command(r.command), r.attached);
  out += fmt::format("cadence: {}\n", r.cadence);
  out += r.profiler == Profiler::kHeaptrack
             ? fmt::format("trace:   {} ({} snapshots)", r.dumps.empty() ? "-" : r.dumps[0],
                           r.dump_t_ms.size())
             : fmt::format("dumps:   {} in {}", r.dumps.size(), r.out_dir);
  if (!r.dump_t_ms.empty())
    out += fmt::format(" ({} .. {})", fmt_ms(r.dump_t_ms.front()), fmt_ms(r.dump_t_ms.back()));
  out += "\n";
  if (r.rss_first > 0)
    out += fmt::format("rss:     {} -> {} while it ran\n",
                       format_bytes(static_cast<double>(r.rss_first)),
                       format_bytes(static_cast<double>(r.rss_last)));
  out += "\n";
  out += fmt::format("top growing call sites ({} of {}):\n",
                     std::min<std::size_t>(top, r.callsites.size()), r.callsites.size());
  out += fmt::format("  {:<10} {:>14} {:>12}  {}\n", "verdict", "slope", "bytes now",
                     "first frame outside the allocator");
  // Rows whose sites read alike (the same function reached from different callers) also show
  // the next frame, so that they can be told apart.
  std::map<std::string, int> alike;
  for (std::size_t i = 0; i < r.callsites.size() && i < static_cast<std::size_t>(top); ++i)
    ++alike[site_text(r.callsites[i])];
  // A listing that ends in many stable rows (start-up buffers, flag parsing) shows the first
  // few and counts the rest in one line; profile.json keeps every row.
  constexpr std::size_t kStableShown = 3;
  const std::size_t listed = std::min<std::size_t>(top, r.callsites.size());
  std::size_t stable_from = listed;
  while (stable_from > 0 &&
         r.callsites[stable_from - 1].verdict.verdict == analysis::Verdict::kStable)
    --stable_from;
  const std::size_t cut =
      listed - stable_from > kStableShown + 1 ? stable_from + kStableShown : listed;
  int n = 0;
  for (const auto& s : r.callsites) {
    if (static_cast<std::size_t>(n) == cut && cut < listed) {
      out += fmt::format("  ({} more stable rows of {} .. {} left out)\n", listed - cut,
                         format_bytes(r.callsites[cut].bytes_now()),
                         format_bytes(r.callsites[listed - 1].bytes_now()));
      break;
    }
    if (n++ >= top) break;
    const double b = s.verdict.slope_bytes_per_s;
    std::string slope = "-";  // unresolved, or no finite slope
    if (s.verdict.has_slope()) slope = (b < 0 ? "-" : "") + format_bytes(std::fabs(b)) + "/s";
    std::string site = site_text(s);
    const int shown = std::max(frames, alike[site] > 1 ? 2 : 1);
    out += fmt::format("  {:<10} {:>14} {:>12}  {}\n", verdict_name(s.verdict.verdict), slope,
                       format_bytes(s.bytes_now()), site);
    for (std::size_t k = s.site + 1; k < s.frames.size() && k < s.site + shown; ++k)
      out += fmt::format("  {:<10} {:>14} {:>12}    < {}\n", "", "", "", s.frames[k].display());
  }
  if (!r.callsites.empty())
    out += fmt::format("  (classifier: {})\n", r.callsites.front().verdict.method);
  if (growing_count(r) == 0)
    out += fmt::format("  nothing growing: no call site is classified leak ({} in the profile)\n",
                       r.callsites.size());
  if (!r.exit_dump.empty()) {
    // What teardown left behind: from the dump taken at exit, not part of the series.
    double unfreed = 0;
    int sites = 0;
    const CallsiteSeries* most = nullptr;
    for (const auto& s : r.callsites)
      if (s.bytes_at_exit && *s.bytes_at_exit > 0) {
        unfreed += *s.bytes_at_exit;
        ++sites;
        if (most == nullptr || *s.bytes_at_exit > *most->bytes_at_exit) most = &s;
      }
    out += fmt::format(
        "\nunfreed at exit (after teardown; not in the series): {} in {} call site(s){}\n  ({})\n",
        format_bytes(unfreed), sites,
        most != nullptr ? fmt::format(", most from {} ({})", site_text(*most),
                                      format_bytes(*most->bytes_at_exit))
                        : std::string(),
        r.exit_dump);
  }
  if (r.outside.outside) out += "\noutside the profile:\n  " + r.outside.explanation + "\n";
  if (!r.tools.empty()) {
    out += "\ndig further:\n";
    for (const auto& t : r.tools) {
      const std::string how = !t.error.empty() ? fmt::format(" (FAILED: {})", t.error)
                              : t.ran          ? fmt::format(" (ran, exit {})", t.status)
                                               : std::string(" (not run)");
      out += fmt::format("  # {}{}\n  {}\n", t.purpose, how, t.command);
    }
  }
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& note : r.notes) out += "  - " + note + "\n";
  }
  return out;
}

}  // namespace arenalab::profilers
