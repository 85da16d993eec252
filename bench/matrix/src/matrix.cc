// SPDX-License-Identifier: Apache-2.0
// Plan resolution, the interleaved run loop with progress and resume, and the environment.
#include "arenalab/matrix/matrix.h"

#include <fmt/format.h>
#include <gnu/libc-version.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/workloads.h"
#include "arenalab/matrix/memory.h"
#include "arenalab/matrix/recommend.h"
#include "arenalab/matrix/record.h"
#include "arenalab/runner/runner.h"

namespace arenalab::matrix {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

namespace {

// Whether the program documents a --threads flag in its --help.
bool accepts_threads(const std::string& program) {
  SpawnSpec spec;
  spec.argv = {program, "--help"};
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  auto r = run_process(spec);
  return r && r->shell_status() == 0 && r->out.find("--threads") != std::string::npos;
}

}  // namespace

Result<std::vector<WorkloadInfo>> load_workloads(const std::string& path_in) {
  const std::string path = path_in.empty() ? share_dir() + "/workloads.json" : path_in;
  auto entries = workloads_file::read_workloads(path);
  if (!entries) return entries.error();
  // A command line the file gave as one string is split here, as --command's is.
  auto words_of = [&](const workloads_file::CommandLine& c, const std::string& name,
                      const char* key) -> Result<std::vector<std::string>> {
    if (!c.is_text) return c.words;
    auto words = split_command(c.text);
    if (!words)
      return make_error(path + ": workload '" + name + "': " + key + ": " + words.error().message);
    return words;
  };
  std::vector<WorkloadInfo> out;
  for (const auto& w : *entries) {
    WorkloadInfo info;
    info.name = w.name;
    info.category = w.category.value_or(w.command ? "command" : "misc");
    info.description = w.description;
    info.takes_duration = w.takes_duration;
    if (w.command) {
      auto command = words_of(*w.command, w.name, "command");
      if (!command) return command.error();
      info.command = std::move(*command);
      info.program = info.command[0];  // looked up in PATH by select_workloads
      if (w.driver) {
        auto driver = words_of(*w.driver, w.name, "driver");
        if (!driver) return driver.error();
        info.driver = std::move(*driver);
        info.ready = w.ready;
      }
      out.push_back(std::move(info));
      continue;
    }
    const std::string program = w.program.empty() ? "wl_" + w.name : w.program;
    info.program = program.find('/') == std::string::npos ? bin_dir() + "/" + program : program;
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<std::string>> split_command(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const std::size_t end = text.find('\'', i + 1);
      if (end == std::string::npos) return make_error("unterminated ' in: " + text);
      word += text.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        // In double quotes a backslash escapes only what the shell lets it escape.
        if (text[j] == '\\' && j + 1 < text.size() && std::strchr("\"\\$`", text[j + 1]) != nullptr)
          ++j;
        word += text[j];
      }
      if (j >= text.size()) return make_error("unterminated \" in: " + text);
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty() || words[0].empty()) return make_error("no command given");
  return words;
}

Result<WorkloadInfo> parse_command_workload(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    return make_error("--command '" + spec + "': expected NAME='CMD ARGS'");
  WorkloadInfo w;
  w.name = spec.substr(0, eq);
  for (char c : w.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return make_error("--command: name '" + w.name +
                        "' may hold only letters, digits, '_', '-' and '.'");
  if (w.name == "." || w.name == "..") return make_error("--command: name '" + w.name + "'");
  auto words = split_command(spec.substr(eq + 1));
  if (!words) return make_error("--command " + w.name + ": " + words.error().message);
  w.command = std::move(*words);
  w.program = w.command[0];
  w.category = "command";
  w.description = spec.substr(eq + 1);
  return w;
}

Status check_ready(const std::string& ready) { return workloads_file::check_ready(ready); }

Status add_server_part(std::vector<WorkloadInfo>& workloads, const std::string& spec,
                       bool is_driver) {
  const char* flag = is_driver ? "--driver" : "--ready";
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    return make_error(std::string(flag) + " '" + spec +
                      "': expected NAME=" + (is_driver ? "'CMD ARGS'" : "tcp:HOST:PORT"));
  const std::string name = spec.substr(0, eq);
  WorkloadInfo* w = nullptr;
  for (auto& x : workloads)
    if (x.name == name && !x.command.empty()) w = &x;
  if (!w) return make_error(std::string(flag) + " " + name + ": no --command " + name);
  if (is_driver) {
    auto words = split_command(spec.substr(eq + 1));
    if (!words) return make_error("--driver " + name + ": " + words.error().message);
    w->driver = std::move(*words);
  } else {
    if (auto st = check_ready(spec.substr(eq + 1)); !st)
      return make_error("--ready " + name + ": " + st.error().message);
    w->ready = spec.substr(eq + 1);
  }
  return Ok{};
}

Result<std::vector<WorkloadInfo>> select_workloads(const std::vector<WorkloadInfo>& known,
                                                   const std::vector<std::string>& wanted) {
  static const std::set<std::string> kAllCategories = {"stress", "seed", "real"};
  std::vector<WorkloadInfo> out;
  auto add = [&out](const WorkloadInfo& w) {
    for (const auto& o : out)
      if (o.name == w.name) return;
    out.push_back(w);
  };
  for (const auto& name : wanted) {
    bool found = false;
    for (const auto& w : known) {
      if (w.name == name || w.category == name ||
          (name == "all" && kAllCategories.count(w.category))) {
        add(w);
        found = true;
      }
    }
    if (!found) {
      // The categories as the index has them (longrun, probe, command, ... as well), in order.
      std::string names, categories;
      std::set<std::string> seen_categories;
      for (const auto& w : known) {
        names += (names.empty() ? "" : ", ") + w.name;
        if (seen_categories.insert(w.category).second)
          categories += (categories.empty() ? "" : ", ") + w.category;
      }
      return make_error("unknown workload '" + name + "' (known: " + names + "; categories " +
                        categories + "; or all: stress, seed and real)");
    }
  }
  if (out.empty()) return make_error("no workload selected");
  for (auto& w : out) {
    if (!w.command.empty()) {
      const std::string found = find_program(w.command[0]);
      if (found.empty() || ::access(found.c_str(), X_OK) != 0)
        return make_error("workload '" + w.name + "': command '" + w.command[0] +
                          "' is not an executable program (looked up in PATH)");
      w.program = found;
      w.threads_flag = false;  // run as given: never asked for --help, never given --threads
      if (!w.driver.empty()) {
        if (w.ready.empty())
          return make_error("workload '" + w.name +
                            "': a server needs ready (tcp:HOST:PORT or unix:PATH: when to start "
                            "its driver)");
        const std::string d = find_program(w.driver[0]);
        if (d.empty() || ::access(d.c_str(), X_OK) != 0)
          return make_error("workload '" + w.name + "': driver '" + w.driver[0] +
                            "' is not an executable program (looked up in PATH)");
        w.driver[0] = d;
      }
      continue;
    }
    if (::access(w.program.c_str(), X_OK) != 0)
      return make_error("workload '" + w.name + "': program " + w.program +
                        " is missing or not executable (build it with scripts/build)");
    w.threads_flag = accepts_threads(w.program);
  }
  return out;
}

Result<std::vector<Configuration>> select_configurations(const std::vector<Configuration>& known,
                                                         const std::vector<std::string>& wanted) {
  std::vector<Configuration> out;
  for (const auto& name : wanted) {
    if (name == "all") {
      for (const auto& c : known)
        if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.name == c.name; }))
          out.push_back(c);
      continue;
    }
    auto c = find_configuration(known, name);
    if (!c) return c.error();
    if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.name == name; }))
      out.push_back(*c);
  }
  if (out.empty()) return make_error("no allocator configuration selected");
  for (const auto& c : out)
    if (const auto why = c.unavailable_reason(); !why.empty())
      return make_error("configuration '" + c.name + "': " + why);
  return out;
}

Environment capture_environment(const std::vector<Configuration>& configurations) {
  Environment env;
  if (auto cpu = read_file("/proc/cpuinfo")) {
    std::istringstream in(*cpu);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0 && env.cpu_model.empty())
        env.cpu_model = line.substr(line.find(':') + 2);
      if (line.rfind("processor", 0) == 0) ++env.cpus;
    }
  }
  utsname u{};
  if (::uname(&u) == 0) {
    env.kernel = std::string(u.sysname) + " " + u.release + " " + u.version;
    env.hostname = u.nodename;
  }
  env.glibc = gnu_get_libc_version();
  auto first_line = [](const std::string& path) {
    auto t = read_file(path);
    if (!t) return std::string();
    std::string s = *t;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  };
  env.thp_enabled = first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  env.thp_defrag = first_line("/sys/kernel/mm/transparent_hugepage/defrag");
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  env.started_at = buf;
  env.arenalab_version = "0.1.0";
  for (const auto& c : configurations) {
    auto probe = probe_configuration(c);
    if (probe) {
      env.allocator_versions[c.name] = probe->id.version;
      env.allocator_libraries[c.name] = probe->id.library;
    } else {
      env.allocator_versions[c.name] = "";
      env.allocator_libraries[c.name] = "probe failed: " + probe.error().message;
    }
  }
  return env;
}

namespace {

std::string clock_text(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

Status write_outputs(const OutputDir& dir, Results& results) {
  judge_across_configurations(results.cells);
  results.summaries = summarize(results.cells, results.plan);
  results.recommendation = recommend(results);
  return write_results(dir, results);
}

}  // namespace

namespace {

// The finished cells of a matrix directory: those of its results.json (written by the last
// merge, or by an arenalab that kept no records) overlaid by its cell records, which are never
// older. Problems with records go to `notes`.
std::vector<Cell> recorded_cells(const std::string& out_dir, std::vector<Cell> from_results,
                                 std::vector<std::string>& notes) {
  Merged merged = merge_cell_records(out_dir);
  notes = std::move(merged.notes);
  if (from_results.empty()) return std::move(merged.cells);
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < from_results.size(); ++i) index[from_results[i].key()] = i;
  for (auto& c : merged.cells) {
    auto it = index.find(c.key());
    if (it != index.end())
      from_results[it->second] = std::move(c);
    else
      from_results.push_back(std::move(c));
  }
  std::stable_sort(from_results.begin(), from_results.end(),
                   [](const Cell& a, const Cell& b) { return a.sequence < b.sequence; });
  return from_results;
}

}  // namespace

void resolve_identification(const MatrixOptions& opt, Plan& plan, const OutputDir& out) {
  plan.identification =
      opt.identify == "harness" ? CellIdentification::kHarness : CellIdentification::kRunner;
  if (opt.identify != "auto") return;
  const WorkloadInfo* w = nullptr;
  for (const auto& x : opt.workloads)
    if (x.category != "real" && x.command.empty() && !w) w = &x;  // never run a command here
  if (!w) return;
  // If the interposer breaks the process, every cell would fail the same way: identify with
  // the harness instead, and say so.
  // A directory of its own, made and removed through --out's fd: never one that was there.
  // A termination signal meanwhile waits until it is removed: recorded by the caller's guard
  // (run_matrix stops), else by this one, and the process then ends by it as it would have.
  std::optional<TerminationSignals> guard;
  if (!TerminationSignals::active()) guard.emplace();
  std::string why;
  auto cells = out.open_subdir("cells");
  if (cells) remove_stale_scratch(*cells);
  auto pre = cells ? cells->make_fresh_subdir("preflight") : Result<OutputDir>(cells.error());
  if (!pre) {
    why = pre.error().message;
  } else {
    runner::RunOptions o;
    o.command = {w->program, "--help"};
    o.allocator = plan.baseline;
    o.allocators_file = opt.allocators_file;
    o.out_dir = pre->path();
    o.capture_output = true;
    auto r = runner::run(o);
    if (!r)
      why = r.error().message;
    else if (r->exit.shell_status() != 0)
      why = w->program + " --help under the interposer with " + plan.baseline + ": " +
            r->exit.describe();
    (void)cells->remove_subdir(std::filesystem::path(pre->path()).filename().string());
  }
  if (guard && TerminationSignals::first() != 0) {
    const int sig = TerminationSignals::first();
    guard.reset();
    exit_by_signal(sig);
  }
  if (!why.empty()) {
    plan.identification = CellIdentification::kHarness;
    plan.identification_note =
        "interposer preflight failed (" + why + "); cells identified by the workload harness";
  }
}

Result<Results> run_matrix(const MatrixOptions& opt) {
  const Plan& plan = opt.plan;
  // A link or another user's directory is refused (OutputDir): the cell records, results.json,
  // results.csv and summary.csv are written relative to the directory opened here.
  auto out = OutputDir::open(opt.out_dir, ExistingDir::kAccept);
  if (!out) return out.error();
  const std::string results_path = opt.out_dir + "/results.json";
  Results results;
  results.plan = plan;
  std::set<std::string> done;
  const bool have_results = std::filesystem::exists(results_path);
  if (have_results && !opt.resume)
    return make_error(results_path + " exists: pass --resume to continue it, or another --out");
  if (!opt.resume) {
    // Records without results.json (removed by hand): a fresh run would mix with them.
    if (const auto stale = find_cell_records(opt.out_dir); !stale.empty())
      return make_error(opt.out_dir + "/cells holds " + std::to_string(stale.size()) +
                        " cell records of an earlier matrix: pass --resume to continue it, or "
                        "another --out");
  }
  if (opt.resume) {
    std::vector<Cell> previous;
    if (have_results) {
      auto prev = read_results(results_path);
      if (!prev) return prev.error();
      if (prev->plan.smoke != plan.smoke)
        return make_error(results_path + " was measured with" + (prev->plan.smoke ? "" : "out") +
                          " --smoke; resume with the same setting");
      if (prev->plan.duration_s != plan.duration_s)
        return make_error(
            fmt::format("{} was measured with --duration {}; resume with the same "
                        "setting (found {})",
                        results_path, prev->plan.duration_s, plan.duration_s));
      previous = std::move(prev->cells);
      results.environment = prev->environment;
    }
    std::vector<std::string> notes;
    results.cells = recorded_cells(opt.out_dir, std::move(previous), notes);
    for (const auto& n : notes) std::fprintf(stderr, "matrix: %s\n", n.c_str());
    if (opt.merge_notes) *opt.merge_notes = std::move(notes);
    // Keep the finished cells; a finished cell is one recorded with any status.
    for (const auto& c : results.cells) done.insert(c.key());
  }
  if (results.environment.cpu_model.empty() && results.environment.kernel.empty())
    results.environment =
        opt.environment ? *opt.environment : capture_environment(opt.configurations);

  const std::vector<int> threads = plan.threads.empty() ? std::vector<int>{0} : plan.threads;
  struct Planned {
    const WorkloadInfo* w;
    const Configuration* c;
    int threads, repeat;
  };
  // Order: repeat, workload, threads, configuration: configurations interleave (A B C A B C).
  std::vector<Planned> order;
  for (int r = 0; r < plan.repeats; ++r)
    for (const auto& w : opt.workloads)
      for (int t : threads) {
        if (t > 0 && !w.threads_flag && t != threads.front()) continue;  // one run at its default
        for (const auto& c : opt.configurations)
          order.push_back({&w, &c, w.threads_flag ? t : 0, r});
      }
  std::vector<Planned> todo;
  for (const auto& p : order) {
    Cell probe;
    probe.workload = p.w->name;
    probe.configuration = p.c->name;
    probe.threads = p.threads;
    probe.repeat = p.repeat;
    if (!done.count(probe.key())) todo.push_back(p);
  }
  const auto executor = opt.executor ? opt.executor : execute_cell;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  auto request_for = [&](const Planned& p, const std::string& dir) {
    CellRequest req;
    req.workload = *p.w;
    req.configuration = *p.c;
    req.threads = p.threads;
    req.smoke = plan.smoke;
    req.duration_s = plan.duration_s;
    req.timeline = plan.timeline;
    req.cell_dir = dir;
    req.timeout_s = opt.timeout_s;
    req.allocators_file = opt.allocators_file;
    req.use_runner = results.plan.identification == CellIdentification::kRunner;
    return req;
  };
  double last_merge = monotonic_ms(), merge_cost = 0;
  auto merge = [&]() -> Status {
    const double start = monotonic_ms();
    auto s = write_outputs(*out, results);
    last_merge = monotonic_ms();
    merge_cost = last_merge - start;
    return s;
  };
  // From here a signal stops the matrix, not the process (MatrixOptions::interrupted_by): the
  // preflight and the warm-ups too, so that their scratch directories are removed, never left
  // behind by a Ctrl-C or a SIGTERM.
  std::optional<TerminationSignals> stop_guard;
  if (opt.interrupted_by) stop_guard.emplace();  // stop() stores the signal there
  auto stop = [&]() -> Result<Results> {
    *opt.interrupted_by = TerminationSignals::first();
    if (opt.progress && tty) std::fprintf(stderr, "\r\033[K");
    results.complete = false;
    if (auto s = merge(); !s) return s.error();
    return results;
  };
  results.plan.identification =
      opt.identify == "harness" ? CellIdentification::kHarness : CellIdentification::kRunner;
  if (!todo.empty()) {
    resolve_identification(opt, results.plan, *out);
    if (stop_guard && matrix_stopped()) return stop();
    if (!results.plan.identification_note.empty())
      std::fprintf(stderr, "matrix: %s\n", results.plan.identification_note.c_str());
  }
  if (opt.progress && !done.empty())
    std::fprintf(stderr, "matrix: resuming, %zu cells already recorded, %zu to run\n", done.size(),
                 todo.size());
  // cells/ opened once, made 0700 through --out's fd (a link planted for it is refused); each
  // cell's directory opened once under it, before the cell runs, and its record written there.
  std::optional<OutputDir> cells;
  if (!todo.empty()) {
    auto c = out->open_subdir("cells");
    if (!c) return c.error();
    cells = std::move(*c);
    remove_stale_scratch(*cells);  // a killed matrix's warm-up, before anything is made there
  }
  if (plan.warmup && !todo.empty()) {
    // One unrecorded run per (workload, threads, configuration): pages, caches and the
    // dynamic linker's files are warm before repeat 0. In a directory of its own, made here and
    // removed after the last of them, through cells/' fd.
    auto warm = cells->make_fresh_subdir("warmup");
    if (!warm) return warm.error();
    std::set<std::string> warmed;
    for (const auto& p : todo) {
      const std::string k = p.w->name + "|" + p.c->name + "|" + std::to_string(p.threads);
      if (!warmed.insert(k).second) continue;
      if (opt.progress)
        std::fprintf(stderr, "%swarm-up %s x %s%s", tty ? "\r\033[K" : "", p.w->name.c_str(),
                     p.c->name.c_str(), tty ? "" : "\n");
      auto req = request_for(p, warm->path());
      req.dir = &*warm;
      req.timeline = false;
      (void)executor(req);  // a signal meanwhile: cut short (matrix_stopped), never recorded
      if (stop_guard && matrix_stopped()) break;
    }
    if (auto s = cells->remove_subdir(std::filesystem::path(warm->path()).filename().string()); !s)
      return s.error();
    if (stop_guard && matrix_stopped()) return stop();
  }
  // The plan and the environment on disk before the first cell, so a resume after a kill at
  // any point finds them; from here on results.json is merged at most every few seconds.
  results.complete = todo.empty();
  if (auto s = merge(); !s) return s.error();
  const double t0 = monotonic_ms();
  int sequence = static_cast<int>(results.cells.size());
  for (const auto& c : results.cells) sequence = std::max(sequence, c.sequence + 1);
  const std::size_t total = order.size();
  std::size_t finished = done.size(), ran = 0;
  for (const auto& p : todo) {
    const std::string dir = cell_directory(opt.out_dir, p.w->name, p.c->name, p.threads, p.repeat);
    // On a terminal the bar redraws in place; in a log, a line every 5 % of the cells.
    const bool log_line =
        !tty && (ran == 0 ||
                 (total >= 20 ? (finished * 20 / total) != ((finished - 1) * 20 / total) : true));
    if (opt.progress && (tty || log_line)) {
      const double elapsed = (monotonic_ms() - t0) / 1000;
      const std::size_t width = 30;
      const std::size_t filled = total ? width * finished / total : width;
      const std::string eta = ran ? clock_text(elapsed / static_cast<double>(ran) *
                                               static_cast<double>(todo.size() - ran))
                                  : "?";
      std::fprintf(stderr, "%s[%s%s] %zu/%zu  %s elapsed  ETA %s  %s x %s r%d%s",
                   tty ? "\r\033[K" : "", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), finished, total,
                   clock_text(elapsed).c_str(), eta.c_str(), p.w->name.c_str(), p.c->name.c_str(),
                   p.repeat + 1, tty ? "" : "\n");
    }
    if (stop_guard && matrix_stopped()) return stop();
    // Its directory made (or checked) through cells/' fd before it runs: a planted link is
    // refused before the runner writes anything there. Kept open for its record.
    auto cell_dir = open_cell_directory(*cells, p.w->name, p.c->name, p.threads, p.repeat);
    if (!cell_dir) return cell_dir.error();
    auto req = request_for(p, dir);
    req.dir = &*cell_dir;
    Cell cell = executor(req);
    // Stopped meanwhile: this cell was cut short and is not recorded; a --resume runs it.
    if (stop_guard && matrix_stopped()) return stop();
    cell.workload = p.w->name;
    cell.configuration = p.c->name;
    cell.threads = p.threads;
    cell.repeat = p.repeat;
    cell.sequence = sequence++;
    if (opt.progress && cell.status != CellStatus::kOk)
      std::fprintf(stderr, "%smatrix: %s x %s r%d: %s%s%s\n", tty ? "\r\033[K" : "",
                   cell.workload.c_str(), cell.configuration.c_str(), cell.repeat + 1,
                   status_name(cell.status),
                   cell.message.empty() && cell.mismatch.empty() ? "" : ": ",
                   (cell.message.empty() ? cell.mismatch : cell.message).c_str());
    // Recorded once, on its own, before the matrix moves on: a kill after this line loses
    // nothing of this cell.
    if (auto s = record_cell_in(*cell_dir, cell); !s) return s.error();
    results.cells.push_back(std::move(cell));
    ++finished;
    ++ran;
    const double now = monotonic_ms();
    if (now - last_merge >= std::max(opt.merge_interval_s * 1000, 4 * merge_cost) &&
        ran < todo.size()) {
      results.complete = false;
      if (auto s = merge(); !s) return s.error();
    }
  }
  if (opt.progress)
    std::fprintf(stderr, "%s[%s] %zu/%zu  done in %s\n", tty ? "\r\033[K" : "",
                 std::string(30, '#').c_str(), finished, total,
                 clock_text((monotonic_ms() - t0) / 1000).c_str());
  results.complete = true;
  if (auto s = merge(); !s) return s.error();
  return results;
}

}  // namespace arenalab::matrix
