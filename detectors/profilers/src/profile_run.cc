// SPDX-License-Identifier: Apache-2.0
// Runs a command under jemalloc's profiler, gperftools' heap profiler, heaptrack or arenalab's
// interposer, collects the time-ordered dumps, builds and classifies per-call-site series, and
// runs the profiler's own tools on the first and last dumps.
#include "arenalab/profilers/profile_run.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "arenalab/allocators/registry.h"
#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/profilers/heaptrack_trace.h"
#include "arenalab/formats/timeline.h"

#if __has_include("arenalab/runner/runner.h")
#include "arenalab/runner/runner.h"
#define ARENALAB_PROFILERS_HAVE_RUNNER 1
#endif

namespace arenalab::profilers {

namespace fs = std::filesystem;

namespace {

// File times come from the kernel's coarse clock, which may lag CLOCK_REALTIME by a tick.
constexpr long long kMtimeSlackNs = 50'000'000;

long long realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

long long mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

// Files in `dir` whose names start with `prefix` and end with `suffix`, in write order.
// Only files written since `since_ns` count: a reused --out DIR keeps older runs' dumps.
// numbered_only: the middle must be one number (the interposer's heap.<seq>.heap, not a traced
// child's heap.<pid>.<seq>.heap).
std::vector<std::string> dump_files(const std::string& dir, const std::string& prefix,
                                    const std::string& suffix, long long since_ns,
                                    bool numbered_only = false) {
  std::vector<std::pair<long long, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        (!numbered_only ||
         name.find_first_not_of("0123456789", prefix.size()) == name.size() - suffix.size()))
      if (const long long t = mtime_ns(entry.path().string()); t >= since_ns)
        found.emplace_back(t, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-./=:,+@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
  return s;
}

// Absolute path of a program as exec would find it ("" if not found).
std::string which(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    std::error_code ec;
    auto p = fs::canonical(program, ec);
    return ec ? "" : p.string();
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

Result<Configuration> configuration(const ProfileOptions& o, const std::string& name) {
  auto configs = load_configurations(o.allocators_file.empty() ? default_configurations_path()
                                                               : o.allocators_file);
  if (!configs) return configs.error();
  auto config = find_configuration(*configs, name);
  if (!config) return config.error();
  if (!config->available())
    return make_error("configuration " + name + ": " + config->unavailable_reason());
  return config;
}

// Runs one tool command; stdout goes to `output_path` (written atomically).
void run_tool(ToolCommand& tool, const std::vector<std::string>& argv,
              const std::string& output_path) {
  tool.command = join_command(argv) + " > " + shell_quote(output_path);
  if (which(argv[0]).empty()) return;
  SpawnSpec spec;
  spec.argv = argv;
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  spec.capture_limit = 16 << 20;
  auto exit = run_process(spec);
  if (!exit) return;
  tool.ran = true;
  tool.status = exit->shell_status();
  if (write_file_atomic(output_path, exit->out)) tool.output_path = output_path;
}

// jeprof / google-pprof on the first and last dumps: of the heap, or (what = "mmap") of the
// interposer's mmap.<seq>.heap dumps, written to <tool>.mmap-*.
void pprof_tools(ProfileReport& report, const std::string& tool, const std::string& binary,
                 const std::vector<std::string>& dumps, const std::string& what = "heap") {
  if (dumps.empty()) return;
  const std::string& first = dumps.front();
  const std::string& last = dumps.back();
  const std::string stem = report.out_dir + "/" + tool + (what == "heap" ? "" : "." + what);
  struct Spec {
    std::string purpose;
    std::vector<std::string> args;
    const char* suffix;
  };
  const std::string of = what == "heap" ? "" : " (the program's own " + what + ")";
  const std::vector<Spec> specs = {
      {"live " + what + " at the last dump" + of, {"--text", binary, last}, ".text.txt"},
      {"growth from the first to the last dump" + of,
       {"--text", "--base=" + first, binary, last},
       ".growth.txt"},
      {"growth as a call graph" + of, {"--svg", "--base=" + first, binary, last}, ".growth.svg"},
  };
  for (const auto& spec : specs) {
    ToolCommand t;
    t.purpose = spec.purpose;
    std::vector<std::string> argv = {tool};
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
    run_tool(t, argv, stem + spec.suffix);
    report.tools.push_back(std::move(t));
  }
}

std::string fmt_ms(double ms) { return fmt::format("{:.1f} s", ms / 1000.0); }

std::string frame_text(const CallsiteSeries& s) {
  if (const Frame* f = s.site_frame()) return f->describe();
  // Allocated by the runtime itself (e.g. libstdc++'s start-up pool): the outermost frame.
  return s.frames.empty() ? "(no frames)"
                          : "(allocator/runtime only) " + s.frames.back().describe();
}

// As listed: mmap sites are marked, heap sites are the default.
std::string site_text(const CallsiteSeries& s) {
  return s.source == "heap" ? frame_text(s) : "[" + s.source + "] " + frame_text(s);
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
  const bool has_mmap = r.profiler == "interposer";
  const std::string books = has_mmap ? "the interposer's call sites (heap and mmap)"
                                     : "the " + r.profiler + " heap profile's call sites";
  const std::string what = signal == "rss_anon" ? "anonymous memory (RssAnon)" : "RSS";
  const double mib = 1024.0 * 1024.0;
  const bool little_accounted = out.accounted_grew_bytes < 0.25 * out.grew_bytes;
  if (out.verdict.verdict == "leak" && out.grew_bytes >= 1 * mib && little_accounted) {
    out.outside = true;
    out.explanation = fmt::format(
        "{} grows outside the allocator's books: it grew by {} ({}, {}/s) while {} grew by "
        "{}, so a heap dump does not reveal this growth (memory mapped with mmap(2) directly, "
        "thread stacks, or allocator retention){}",
        what, format_bytes(out.grew_bytes), out.verdict.verdict,
        format_bytes(out.verdict.slope_bytes_per_s), books, format_bytes(out.accounted_grew_bytes),
        has_mmap ? "" : "; run --profiler interposer to name the mmap call site");
  } else if (out.grew_bytes > 8 * mib && little_accounted) {
    out.outside = true;
    out.explanation = fmt::format(
        "{} rose by {} ({}) while {} grew by {}: that memory is outside the allocator's books "
        "(retention, or mmap(2) called directly) and a heap dump does not reveal it{}",
        what, format_bytes(out.grew_bytes), out.verdict.verdict, books,
        format_bytes(out.accounted_grew_bytes),
        has_mmap ? "" : "; --profiler interposer measures and names the program's own mmap");
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

Result<ProfileReport> run_profile(const ProfileOptions& o) {
  static const std::vector<std::string> kProfilers = {"jemalloc", "tcmalloc", "heaptrack",
                                                      "interposer"};
  if (std::find(kProfilers.begin(), kProfilers.end(), o.profiler) == kProfilers.end())
    return make_error("unknown profiler '" + o.profiler +
                      "' (expected jemalloc, tcmalloc, heaptrack or interposer)");
  if (o.command.empty()) return make_error("no command to profile (give it after --)");
  if (!(o.interval_s > 0)) return make_error("--interval must be > 0 seconds");
  if (o.lg_sample < 0 || o.lg_sample > 40) return make_error("--lg-sample must be in 0..40");

  ProfileReport report;
  report.profiler = o.profiler;
  report.command = o.command;
  std::string dir =
      o.out_dir.empty() ? "arenalab-profile-" + std::to_string(::getpid()) : o.out_dir;
  if (auto st = make_directories(dir); !st) return st.error();
  report.out_dir = fs::absolute(dir).lexically_normal().string();
  if (!report.out_dir.empty() && report.out_dir.back() == '/') report.out_dir.pop_back();
  const std::string binary = which(o.command[0]);
  if (binary.empty()) return make_error("cannot find program '" + o.command[0] + "'");

#ifdef ARENALAB_PROFILERS_HAVE_RUNNER
  const bool runner_based = o.profiler == "interposer" || o.profiler == "jemalloc";
#else
  const bool runner_based = false;
#endif
  SpawnSpec spec;
  spec.argv = o.command;
  spec.capture_stdout = o.target_stdout_to_stderr;
  std::string dump_prefix, dump_suffix = ".heap";
  bool sample_rss = true;
  bool signal_dumps = false;  // tcmalloc: send SIGUSR2 every interval
  if (o.profiler == "jemalloc") {
    auto config = configuration(o, "jemalloc");
    if (!config) return config.error();
    const std::string conf = fmt::format(
        "prof:true,prof_active:true,lg_prof_sample:{},prof_final:true,prof_prefix:{}/jeprof",
        o.lg_sample, report.out_dir);
#ifdef ARENALAB_PROFILERS_HAVE_RUNNER
    // Time cadence: the interposer's sampler calls mallctl("prof.dump") every interval,
    // writing DIR/jeprof.<seq>.heap; prof_final adds DIR/jeprof.<pid>.<n>.f.heap at exit.
    spec.set_env.emplace_back("MALLOC_CONF", conf);
    report.cadence = fmt::format(
        "jemalloc prof.dump every {} s (arenalab sampler) + prof_final; lg_prof_sample:{}",
        o.interval_s, o.lg_sample);
#else
    // Stopgap without the runner: jemalloc's own lg_prof_interval dumps after every 2^24 bytes
    // (16 MiB) of allocation, which follows the allocation volume, not the clock.
    const int lg_interval = 24;
    spec.set_env.emplace_back("LD_PRELOAD", config->preload_path());
    spec.set_env.emplace_back("MALLOC_CONF",
                              conf + fmt::format(",lg_prof_interval:{}", lg_interval));
    report.cadence = fmt::format(
        "STOPGAP: jemalloc lg_prof_interval:{} (a dump per 16 MiB allocated, not per {} s; the "
        "runner's time cadence replaces it once merged) + prof_final; lg_prof_sample:{}",
        lg_interval, o.interval_s, o.lg_sample);
#endif
    dump_prefix = "jeprof.";
  } else if (o.profiler == "tcmalloc") {
    auto config = configuration(o, "tcmalloc");
    if (!config) return config.error();
    if (config->preload_path().find("minimal") != std::string::npos)
      return make_error("the tcmalloc configuration preloads " + config->preload_path() +
                        ", which has no heap profiler (need the full libtcmalloc)");
    // Time cadence: gperftools 2.10's HEAP_PROFILE_TIME_INTERVAL takes whole seconds only, so
    // arenalab sends the HEAPPROFILESIGNAL signal (SIGUSR2) every interval instead, once
    // libtcmalloc is mapped in the target (before that the signal would kill it). The
    // volume-based triggers are switched off (0); a last dump is written at exit.
    spec.set_env.emplace_back("LD_PRELOAD", config->preload_path());
    spec.set_env.emplace_back("HEAPPROFILE", report.out_dir + "/gperftools");
    spec.set_env.emplace_back("HEAPPROFILESIGNAL", std::to_string(SIGUSR2));
    spec.set_env.emplace_back("HEAP_PROFILE_ALLOCATION_INTERVAL", "0");
    spec.set_env.emplace_back("HEAP_PROFILE_INUSE_INTERVAL", "0");
    report.cadence = fmt::format(
        "gperftools heap profiler, a dump per SIGUSR2 (HEAPPROFILESIGNAL) sent every {} s "
        "(written at the target's next allocation) + a dump at exit",
        o.interval_s);
    report.notes.push_back(
        "tcmalloc: dumps are requested with SIGUSR2; a target that handles SIGUSR2 itself "
        "gets fewer dumps");
    signal_dumps = true;
    dump_prefix = "gperftools.";
  } else if (o.profiler == "heaptrack") {
    if (which("heaptrack").empty()) return make_error("heaptrack not found in PATH");
    spec.argv = {"heaptrack", "-o", report.out_dir + "/heaptrack"};
    spec.argv.insert(spec.argv.end(), o.command.begin(), o.command.end());
    report.cadence =
        fmt::format("heaptrack records every event; live bytes replayed from its trace every {} s",
                    o.interval_s);
    sample_rss = false;  // the pid is heaptrack's script, not the target
  } else {
#ifdef ARENALAB_PROFILERS_HAVE_RUNNER
    // handled below
#else
    return make_error(
        "--profiler interposer needs arenalab_runner (the interposer and its sample mode), "
        "which is not built in this tree");
#endif
  }

  std::uint64_t& rss_first = report.rss_first;
  std::uint64_t& rss_last = report.rss_last;
  // Anonymous RSS over the run (ms since the target started): what grows outside the profile.
  timeline::Series rss_series;
  std::string rss_signal;
  if (!runner_based) {
    const long long t0 = realtime_ns();
    auto child = spawn(spec);
    if (!child) return child.error();
    const pid_t pid = child->pid();
    const double start_ms = monotonic_ms();
    double last_signal_ms = monotonic_ms();
    bool tcmalloc_mapped = false;
    auto exit = child->wait(
        [&] {
          if (signal_dumps && monotonic_ms() - last_signal_ms >= o.interval_s * 1000.0) {
            if (!tcmalloc_mapped) {
              auto maps = read_file("/proc/" + std::to_string(pid) + "/maps");
              tcmalloc_mapped = maps && maps->find("libtcmalloc") != std::string::npos;
            }
            if (tcmalloc_mapped) {
              ::kill(pid, SIGUSR2);
              last_signal_ms = monotonic_ms();
            }
          }
          if (!sample_rss) return;
          if (auto st = procfs::read_status(pid); st) {
            if (rss_first == 0) rss_first = st->vm_rss;
            rss_last = st->vm_rss;
            if (rss_signal.empty()) rss_signal = st->rss_anon ? "rss_anon" : "rss";
            rss_series.t_ms.push_back(monotonic_ms() - start_ms);
            rss_series.value.push_back(static_cast<double>(
                rss_signal == "rss_anon" ? st->rss_anon.value_or(0) : st->vm_rss));
          }
        },
        static_cast<int>(std::clamp(o.interval_s * 100.0, 10.0, 250.0)));
    if (!exit) return exit.error();
    report.exit = *exit;
    if (o.target_stdout_to_stderr && !exit->out.empty())
      std::fwrite(exit->out.data(), 1, exit->out.size(), stderr);
    if (o.profiler == "heaptrack") {
      const std::string trace_path = report.out_dir + "/heaptrack.zst";
      if (!fs::exists(trace_path))
        return make_error("heaptrack wrote no trace at " + trace_path + " (" +
                          report.exit.describe() + ")");
      auto trace = read_heaptrack_trace(trace_path, o.interval_s * 1000.0);
      if (!trace) return trace.error();
      report.dumps.push_back(trace_path);
      for (const auto& snap : trace->snapshots) report.dump_t_ms.push_back(snap.t_ms);
      report.callsites = callsites_from_heaptrack(*trace);
      if (o.run_tools) {
        ToolCommand t;
        t.purpose = "heaptrack's leaks and peak consumers";
        run_tool(t,
                 {"heaptrack_print", "-f", trace_path, "--print-leaks", "1", "--print-peaks", "1",
                  "--print-allocators", "0", "--print-temporary", "0", "-n", "10"},
                 report.out_dir + "/heaptrack_print.txt");
        report.tools.push_back(std::move(t));
      }
    } else {
      report.dumps = dump_files(report.out_dir, dump_prefix, dump_suffix, t0 - kMtimeSlackNs);
      auto dumps = load_dumps(report.dumps, t0);
      if (!dumps) return dumps.error();
      for (const auto& d : *dumps) report.dump_t_ms.push_back(d.t_ms);
      Symbolizer symbolizer;
      report.callsites = callsites_from_dumps(*dumps, symbolizer);
      if (o.run_tools)
        pprof_tools(report, o.profiler == "jemalloc" ? "jeprof" : "google-pprof", binary,
                    report.dumps);
    }
  }
#ifdef ARENALAB_PROFILERS_HAVE_RUNNER
  if (runner_based) {
    runner::RunOptions ro;
    ro.command = o.command;
    if (!o.allocators_file.empty()) ro.allocators_file = o.allocators_file;
    ro.out_dir = report.out_dir;
    ro.capture_output = o.target_stdout_to_stderr;
    if (o.profiler == "interposer") {
      // Sample mode: a heap_v2 dump every heap_dump_every samples; the sampler ticks at most
      // every 100 ms so the timeline stays fine-grained, and the tick divides the dump interval
      // exactly (0.15 s = 2 ticks of 75 ms), so dumps come every --interval, not a rounding of it.
      ro.mode = "sample";
      const double dump_ms = o.interval_s * 1000.0;
      ro.heap_dump_every = std::max(1, static_cast<int>(std::ceil(dump_ms / 100.0)));
      ro.interval_ms = dump_ms / ro.heap_dump_every;
      ro.sample_bytes = std::uint64_t{1} << o.lg_sample;
      report.cadence = fmt::format(
          "arenalab interposer, sample mode (mean {} between samples), a heap_v2 dump every {} s",
          format_bytes(static_cast<double>(ro.sample_bytes)),
          ro.heap_dump_every * ro.interval_ms / 1000.0);
      dump_prefix = "heap.";
    } else {  // jemalloc
      ro.allocator = "jemalloc";
      ro.mode = "stats";
      ro.interval_ms = o.interval_s * 1000.0;
      ro.jemalloc_prof_dump_every = 1;
      ro.extra_env = spec.set_env;  // MALLOC_CONF (appended to the configuration's)
    }
    ro.tick_ms = 100;
    ro.on_tick = [&](const runner::RunProgress& p) {
      if (auto st = procfs::read_status(p.pid); st) {
        if (report.rss_first == 0) report.rss_first = st->vm_rss;
        report.rss_last = st->vm_rss;
      }
    };
    const long long t0 = realtime_ns();
    auto run = runner::run(ro);
    if (!run) return run.error();
    report.exit = run->exit;
    if (o.target_stdout_to_stderr && !run->exit.out.empty())
      std::fwrite(run->exit.out.data(), 1, run->exit.out.size(), stderr);
    for (const auto& w : run->warnings) report.notes.push_back(w);
    if (auto tl = timeline::read_timeline(run->timeline_path); tl) {
      const auto mmap = timeline::series(*tl, "mmap_bytes");
      if (!mmap.empty()) {
        report.mmap_measured = true;
        report.mmap_verdict = classify_series(mmap.t_ms, mmap.value);
        report.mmap_bytes_now = mmap.value.back();
      }
      for (const char* signal : {"rss_anon", "rss"}) {
        rss_series = timeline::series(*tl, signal);
        if (!rss_series.empty()) {
          rss_signal = signal;
          break;
        }
      }
    }
    if (!run->verified && !run->mismatch.empty()) report.notes.push_back(run->mismatch);
    report.dumps = dump_files(report.out_dir, dump_prefix, dump_suffix, t0 - kMtimeSlackNs,
                              o.profiler == "interposer");
    auto dumps = load_dumps(report.dumps, t0);
    if (!dumps) return dumps.error();
    for (const auto& d : *dumps) report.dump_t_ms.push_back(d.t_ms);
    Symbolizer symbolizer;
    report.callsites = callsites_from_dumps(*dumps, symbolizer);
    if (o.profiler == "interposer") {
      // The call stacks of the program's own anonymous mmap, dumped beside the heap profile.
      report.mmap_dumps = dump_files(report.out_dir, "mmap.", ".heap", t0 - kMtimeSlackNs, true);
      auto mmap_dumps = load_dumps(report.mmap_dumps, t0);
      if (!mmap_dumps) return mmap_dumps.error();
      for (auto& site : callsites_from_dumps(*mmap_dumps, symbolizer)) {
        site.source = "mmap";
        report.callsites.push_back(std::move(site));
      }
    }
    if (o.run_tools) {
      pprof_tools(report, "jeprof", binary, report.dumps);
      pprof_tools(report, "jeprof", binary, report.mmap_dumps, "mmap");
    }
  }
#endif

  classify_and_rank(report.callsites);
  if (report.dumps.empty())
    report.notes.push_back("no dump was written (" + report.exit.describe() + ")");
  if (o.profiler == "interposer" && report.mmap_measured && report.mmap_verdict.verdict == "leak") {
    const CallsiteSeries* top = nullptr;
    for (const auto& site : report.callsites)
      if (site.source == "mmap" && site.verdict.verdict == "leak") {
        top = &site;
        break;
      }
    report.notes.push_back(fmt::format(
        "anonymous mmap(2) made by the program itself grows: {} now, {}/s ({}); {}; a heap "
        "profiler (jemalloc, tcmalloc, heaptrack) never sees these bytes",
        format_bytes(report.mmap_bytes_now), format_bytes(report.mmap_verdict.slope_bytes_per_s),
        report.mmap_verdict.verdict,
        top != nullptr
            ? fmt::format("the growing mmap call site is {} ({}, {}/s)", frame_text(*top),
                          top->verdict.verdict, format_bytes(top->verdict.slope_bytes_per_s))
        : report.mmap_dumps.empty()
            ? std::string("no mmap.<seq>.heap dump was written, so no mmap call site is named")
            : std::string("no single mmap call site is classified leak (see the [mmap] rows)")));
  }
  if (o.profiler != "interposer")
    report.notes.push_back(
        "a heap profiler sees only memory obtained through malloc/new; mmap(2) called directly "
        "(and allocator retention) never appears in its dumps: use --profiler interposer");
  assess_outside_growth(report, rss_signal, rss_series);
  return report;
}

namespace {
int growing_count(const ProfileReport& r) {
  return static_cast<int>(std::count_if(r.callsites.begin(), r.callsites.end(),
                                        [](const auto& s) { return s.verdict.verdict == "leak"; }));
}
}  // namespace

std::string report_json(const ProfileReport& r, int top) {
  nlohmann::json j;
  j["schema"] = "arenalab.profile/1";
  j["profiler"] = r.profiler;
  j["command"] = r.command;
  j["out_dir"] = r.out_dir;
  j["cadence"] = r.cadence;
  j["exit"] = r.exit.describe();
  j["dumps"] = nlohmann::json::array();
  for (std::size_t i = 0; i < r.dumps.size(); ++i) j["dumps"].push_back(r.dumps[i]);
  j["dump_t_ms"] = r.dump_t_ms;
  if (!r.mmap_dumps.empty()) j["mmap_dumps"] = r.mmap_dumps;
  j["growing_callsites"] = growing_count(r);
  j["callsites"] = nlohmann::json::array();
  int n = 0;
  for (const auto& s : r.callsites) {
    if (n++ >= top) break;
    nlohmann::json c;
    c["source"] = s.source;
    c["verdict"] = s.verdict.verdict;
    if (s.verdict.verdict != "unresolved" && std::isfinite(s.verdict.slope_bytes_per_s))
      c["slope_bytes_per_s"] = s.verdict.slope_bytes_per_s;
    c["bytes_now"] = s.bytes_now();
    c["method"] = s.verdict.method;
    c["reason"] = s.verdict.reason;
    if (const Frame* f = s.site_frame()) {
      c["site"] = {{"function", f->function},
                   {"file", f->file},
                   {"line", f->line},
                   {"module", f->module},
                   {"address", fmt::format("0x{:x}", f->address)}};
    }
    c["stack"] = nlohmann::json::array();
    for (const auto& f : s.frames) c["stack"].push_back(f.describe());
    c["t_ms"] = s.t_ms;
    c["live_bytes"] = s.live_bytes;
    j["callsites"].push_back(std::move(c));
  }
  j["tools"] = nlohmann::json::array();
  for (const auto& t : r.tools) {
    nlohmann::json c = {{"purpose", t.purpose}, {"command", t.command}, {"ran", t.ran}};
    if (t.ran) c["status"] = t.status;
    if (!t.output_path.empty()) c["output"] = t.output_path;
    j["tools"].push_back(std::move(c));
  }
  if (r.mmap_measured) {
    j["mmap"] = {{"verdict", r.mmap_verdict.verdict},
                 {"bytes_now", r.mmap_bytes_now},
                 {"reason", r.mmap_verdict.reason}};
    if (r.mmap_verdict.verdict != "unresolved" && std::isfinite(r.mmap_verdict.slope_bytes_per_s))
      j["mmap"]["slope_bytes_per_s"] = r.mmap_verdict.slope_bytes_per_s;
  }
  if (r.rss_first > 0) {
    j["rss_first"] = r.rss_first;
    j["rss_last"] = r.rss_last;
  }
  if (r.outside.measured) {
    const auto& g = r.outside;
    nlohmann::json o = {{"signal", g.signal},
                        {"verdict", g.verdict.verdict},
                        {"grew_bytes", g.grew_bytes},
                        {"accounted_grew_bytes", g.accounted_grew_bytes},
                        {"outside", g.outside}};
    if (g.verdict.verdict != "unresolved" && std::isfinite(g.verdict.slope_bytes_per_s))
      o["slope_bytes_per_s"] = g.verdict.slope_bytes_per_s;
    if (g.outside) o["explanation"] = g.explanation;
    j["outside_heap"] = std::move(o);
  }
  j["notes"] = r.notes;
  return j.dump(2) + "\n";
}

std::string report_text(const ProfileReport& r, int top) {
  std::string out;
  out += fmt::format("profile: {} under {} ({})\n", join_command(r.command), r.profiler,
                     r.exit.describe());
  out += fmt::format("cadence: {}\n", r.cadence);
  out += r.profiler == "heaptrack"
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
  int n = 0;
  for (const auto& s : r.callsites) {
    if (n++ >= top) break;
    const double b = s.verdict.slope_bytes_per_s;
    std::string slope = "-";  // unresolved, or no finite slope
    if (s.verdict.verdict != "unresolved" && std::isfinite(b))
      slope = (b < 0 ? "-" : "") + format_bytes(std::fabs(b)) + "/s";
    out += fmt::format("  {:<10} {:>14} {:>12}  {}\n", s.verdict.verdict, slope,
                       format_bytes(s.bytes_now()), site_text(s));
  }
  if (!r.callsites.empty())
    out += fmt::format("  (classifier: {})\n", r.callsites.front().verdict.method);
  if (growing_count(r) == 0)
    out += fmt::format("  nothing growing: no call site is classified leak ({} in the profile)\n",
                       r.callsites.size());
  if (r.outside.outside) out += "\noutside the profile:\n  " + r.outside.explanation + "\n";
  if (!r.tools.empty()) {
    out += "\ndig further:\n";
    for (const auto& t : r.tools) {
      out +=
          fmt::format("  # {}{}\n  {}\n", t.purpose,
                      t.ran ? fmt::format(" (ran, exit {})", t.status) : " (not run)", t.command);
    }
  }
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& note : r.notes) out += "  - " + note + "\n";
  }
  return out;
}

}  // namespace arenalab::profilers
