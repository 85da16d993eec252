// SPDX-License-Identifier: Apache-2.0
// What the profiler adapters share: finding dump files in write order, running the profilers'
// own tools, and the two ways a target is started (by itself, or through arenalab's runner).
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "arenalab/core/files.h"
#include "arenalab/procfs/procfs.h"
#include "profilers_internal.h"

namespace arenalab::profilers::detail {

namespace fs = std::filesystem;

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

std::vector<std::string> dump_files(const std::string& dir, const std::string& prefix,
                                    const std::string& suffix, long long since_ns,
                                    bool numbered_only) {
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

std::string which(const std::string& program) {
  const std::string found = find_program(program);
  if (found.empty()) return "";
  std::error_code ec;
  auto p = fs::canonical(found, ec);
  return ec ? "" : p.string();
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

void run_tool(ToolCommand& tool, const std::vector<std::string>& argv, const OutputDir& out,
              const std::string& name) {
  const std::string output_path = out.path() + "/" + name;
  tool.command = join_command(argv) + " > " + shell_quote(output_path);
  if (which(argv[0]).empty()) {
    tool.error = argv[0] + " is not installed";
    return;
  }
  SpawnSpec spec;
  spec.argv = argv;
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  spec.capture_limit = 16 << 20;
  auto exit = run_process(spec);
  if (!exit) {
    tool.error = exit.error().message;
    return;
  }
  tool.ran = true;
  tool.status = exit->shell_status();
  if (out.write_file(name, exit->out)) tool.output_path = output_path;
  if (tool.status == 0 && !exit->out.empty()) return;
  // The tool's own words: the last lines of its stderr (jeprof --svg without graphviz exits 0
  // having written nothing, and says "sh: 1: dot: not found").
  std::string err = exit->err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (err.size() > 300) err = "..." + err.substr(err.size() - 300);
  for (char& c : err)
    if (c == '\n') c = ' ';
  tool.error =
      (exit->out.empty() ? std::string("wrote nothing") : "exit " + std::to_string(tool.status)) +
      (err.empty() ? std::string() : ": " + err);
}

void pprof_tools(ProfileReport& report, const OutputDir& out, const std::string& tool,
                 const std::string& binary, const std::vector<std::string>& dumps,
                 SiteSource source) {
  const std::string what = source_name(source);
  if (dumps.empty()) return;
  const std::string& first = dumps.front();
  const std::string& last = dumps.back();
  const bool heap = source == SiteSource::kHeap;
  const std::string stem = tool + (heap ? "" : "." + what);
  struct Spec {
    std::string purpose;
    std::vector<std::string> args;
    const char* suffix;
  };
  const std::string of = heap ? "" : " (the program's own " + what + ")";
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
    run_tool(t, argv, out, stem + spec.suffix);
    report.tools.push_back(std::move(t));
  }
}

DumpThinner::DumpThinner(std::string dir, std::vector<std::string> prefixes, long long since_ns,
                         bool thin)
    : dir_(std::move(dir)), prefixes_(std::move(prefixes)), since_ns_(since_ns), thin_(thin) {}

std::size_t DumpThinner::poll() {
  // Sequence numbers of the series' dumps (the first prefix), written by this run.
  std::vector<long long> seqs;
  const std::string& series = prefixes_.front();
  for (const auto& path : dump_files(dir_, series, ".heap", since_ns_, true)) {
    const std::string name = fs::path(path).filename().string();
    seqs.push_back(std::stoll(name.substr(series.size(), name.size() - series.size() - 5)));
  }
  if (seqs.empty() || !thin_) return seqs.size();
  const long long newest = *std::max_element(seqs.begin(), seqs.end());
  auto kept = [&](long long seq) { return seq % stride_ == 0 || seq == newest; };
  auto count = [&] { return std::count_if(seqs.begin(), seqs.end(), kept); };
  while (count() > kAdaptiveMaxDumps) stride_ *= 2;
  for (const auto& prefix : prefixes_)
    for (const auto& path : dump_files(dir_, prefix, ".heap", since_ns_, true)) {
      const std::string name = fs::path(path).filename().string();
      if (!kept(std::stoll(name.substr(prefix.size(), name.size() - prefix.size() - 5)))) {
        std::error_code ec;
        fs::remove(path, ec);
      }
    }
  return static_cast<std::size_t>(count());
}

void poll_progress(ProfileRun& run, double elapsed_ms, std::uint64_t rss) {
  ProfileProgress p;
  p.elapsed_ms = elapsed_ms;
  p.rss = rss;
  p.interval_s = run.interval_s;
  if (run.thinner != nullptr) {
    p.dumps = run.thinner->poll();
    p.interval_s *= run.thinner->stride();
  }
  if (run.options.on_progress) run.options.on_progress(p);
}

std::string cadence_text(const ProfileRun& run) {
  if (!run.adaptive) return fmt::format("every {} s", run.interval_s);
  const int stride = run.thinner != nullptr ? run.thinner->stride() : 1;
  if (stride == 1)
    return fmt::format("every {} s (adaptive: thinned once more than {} are kept; not needed)",
                       run.interval_s, kAdaptiveMaxDumps);
  return fmt::format("every {} s, thinned as the run went to every {} s (at most {} kept)",
                     run.interval_s, run.interval_s * stride, kAdaptiveMaxDumps);
}

namespace {

void copy_stdout_to_stderr(const ProfileOptions& o, const ExitInfo& exit) {
  if (o.target_stdout_to_stderr && !exit.out.empty())
    std::fwrite(exit.out.data(), 1, exit.out.size(), stderr);
}

}  // namespace

Result<ExitInfo> spawn_and_poll(ProfileRun& run, const SpawnSpec& spec, bool sample_rss,
                                const std::function<void(pid_t)>& on_poll,
                                std::function<std::vector<pid_t>(pid_t)> signal_targets) {
  ProfileReport& report = run.report;
  run.since_ns = realtime_ns();
  // Ctrl-C or `timeout` stops the target, not arenalab: the report is made from what was dumped.
  TerminationSignals forward;
  StopPolicy stop;
  stop.forward_signals = true;
  stop.signal_targets = std::move(signal_targets);
  auto child = spawn(spec);
  if (!child) return child.error();
  const pid_t pid = child->pid();
  const double start_ms = monotonic_ms();
  auto exit = child->wait(
      [&] {
        if (on_poll) on_poll(pid);
        std::uint64_t rss = 0;
        if (sample_rss)
          if (auto st = procfs::read_status(pid); st) {
            rss = st->vm_rss;
            if (report.rss_first == 0) report.rss_first = st->vm_rss;
            report.rss_last = st->vm_rss;
            if (run.rss_signal.empty()) run.rss_signal = st->rss_anon ? "rss_anon" : "rss";
            run.rss.t_ms.push_back(monotonic_ms() - start_ms);
            run.rss.value.push_back(static_cast<double>(
                run.rss_signal == "rss_anon" ? st->rss_anon.value_or(0) : st->vm_rss));
          }
        poll_progress(run, monotonic_ms() - start_ms, rss);
      },
      static_cast<int>(std::clamp(run.interval_s * 100.0, 10.0, 250.0)), stop);
  if (!exit) return exit.error();
  copy_stdout_to_stderr(run.options, *exit);
  return exit;
}

Result<runner::RunResult> run_with_runner(ProfileRun& run, runner::RunOptions& ro) {
  ProfileReport& report = run.report;
  const ProfileOptions& o = run.options;
  ro.command = o.command;
  if (!o.allocators_file.empty()) ro.allocators_file = o.allocators_file;
  ro.out_dir = report.out_dir;
  ro.capture_output = o.target_stdout_to_stderr;
  ro.tick_ms = 100;
  // Ctrl-C or `timeout` stops the target, not arenalab: the report is made from what was dumped.
  ro.stop.forward_signals = true;
  ro.on_tick = [&](const runner::RunProgress& p) {
    std::uint64_t rss = 0;
    if (auto st = procfs::read_status(p.pid); st) {
      if (report.rss_first == 0) report.rss_first = st->vm_rss;
      report.rss_last = rss = st->vm_rss;
    }
    poll_progress(run, p.elapsed_ms, rss);
  };
  run.since_ns = realtime_ns();
  auto result = runner::run(ro);
  if (!result) return result.error();
  report.exit = result->exit;
  copy_stdout_to_stderr(o, result->exit);
  for (const auto& w : result->warnings) report.notes.push_back(w);
  if (auto tl = timeline::read_timeline(result->timeline_path); tl) {
    const auto mmap = timeline::series(*tl, "mmap_bytes");
    if (!mmap.empty()) {
      report.mmap_measured = true;
      report.mmap_verdict = classify_series(mmap.t_ms, mmap.value);
      report.mmap_bytes_now = mmap.value.back();
    }
    for (const char* signal : {"rss_anon", "rss"}) {
      run.rss = timeline::series(*tl, signal);
      if (!run.rss.empty()) {
        run.rss_signal = signal;
        break;
      }
    }
  }
  if (!result->verified && !result->mismatch.empty()) report.notes.push_back(result->mismatch);
  return result;
}

Status add_dump_callsites(ProfileRun& run, std::vector<std::string>& paths, SiteSource source) {
  auto dumps = load_dumps(paths, run.since_ns);
  // A target ended by a signal can die in the middle of writing its last dump (jemalloc's
  // prof.dump and gperftools write in place): that one is left out, and said so.
  if (!dumps && run.report.exit.signal && !paths.empty() && !load_dumps({paths.back()}, 0)) {
    const std::string bad = paths.back();
    const std::string why = dumps.error().message;
    paths.pop_back();
    dumps = load_dumps(paths, run.since_ns);
    if (dumps)
      run.report.notes.push_back(
          fmt::format("the last dump was cut short when {} ended the target, and is left out: {}",
                      signal_name(*run.report.exit.signal), why));
  }
  if (!dumps) return dumps.error();
  if (source == SiteSource::kHeap)
    for (const auto& d : *dumps) run.report.dump_t_ms.push_back(d.t_ms);
  for (auto& site : callsites_from_dumps(*dumps, run.symbolizer, run.filter)) {
    site.source = source;
    run.report.callsites.push_back(std::move(site));
  }
  return Ok{};
}

void split_exit_dump(ProfileRun& run, const std::string& exit_dump, bool mmap_at_exit) {
  ProfileReport& r = run.report;
  r.exit_dump = exit_dump;
  // heaptrack: one trace file holds every snapshot; dump files otherwise, one per time.
  if (!r.dumps.empty() && r.dumps.size() == r.dump_t_ms.size()) r.dumps.pop_back();
  if (!r.dump_t_ms.empty()) r.dump_t_ms.pop_back();
  if (mmap_at_exit && !r.mmap_dumps.empty()) r.mmap_dumps.pop_back();
  for (auto& s : r.callsites) {
    if (s.live_bytes.empty() || (s.source == SiteSource::kMmap && !mmap_at_exit)) continue;
    s.bytes_at_exit = s.live_bytes.back();
    s.live_bytes.pop_back();
    s.t_ms.pop_back();
    if (!s.samples.empty()) s.samples.pop_back();
  }
}

}  // namespace arenalab::profilers::detail
