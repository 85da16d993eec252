// SPDX-License-Identifier: Apache-2.0
// The budget run: fresh cgroup under our own, the target joins it between fork and exec,
// sampled every interval (group usage from the cgroup, target RSS from /proc/PID/status),
// then the verdict from the group's counters and the kernel log, and the group removed.
#include "arenalab/budget/budget.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/runner/runner.h"

namespace arenalab::budget {
namespace {

// Signal state shared with the handler: only sig_atomic_t, a fixed buffer and open/read/kill,
// which are async-signal-safe (signal-safety(7)).
volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_target = 0;
volatile std::sig_atomic_t g_have_group = 0;
char g_group_procs[4096];  // <group>/cgroup.procs, set while the group exists

// SIGKILL to every pid listed in the group's cgroup.procs: the target and anything it started
// (all of them processes arenalab put there), even before the target's pid is known here.
void kill_group_members() {
  const int fd = ::open(g_group_procs, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  long pid = 0;
  bool in_number = false;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        in_number = true;
      } else {
        if (in_number && pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
        pid = 0;
        in_number = false;
      }
    }
  }
  if (in_number && pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
  ::close(fd);
}

extern "C" void on_signal(int sig) {
  g_signal = sig;
  const pid_t target = static_cast<pid_t>(g_target);
  if (target > 0) ::kill(target, SIGKILL);
  if (g_have_group) kill_group_members();
}

void set_signal_group(const std::string& dir) {
  const std::string path = dir + "/cgroup.procs";
  g_have_group = 0;
  if (path.size() >= sizeof g_group_procs) return;  // g_target still covers the target
  std::memcpy(g_group_procs, path.c_str(), path.size() + 1);
  g_have_group = 1;
}

// Installs the handler for SIGINT, SIGTERM, SIGHUP and SIGQUIT for the lifetime of the run, so
// Ctrl-C ends the target and still lets us reap it and remove the group; restores the old ones.
// While the target is waited for with signal forwarding, core's TerminationSignals takes these
// signals over (passed on to the target, then a grace period).
class SignalGuard {
 public:
  SignalGuard() {
    g_signal = 0;
    g_target = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalGuard() {
    g_target = 0;
    g_have_group = 0;
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &old_[i], nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction old_[4]{};
};

// Groups named arenalab-budget-<pid> under `parent` that an arenalab killed with SIGKILL (the
// OOM killer, `timeout -k`) left behind: their pid no longer runs arenalab. Removed when empty
// (rmdir: the kernel refuses a group that still holds a process or a child group); a later
// budget whose pid is the same would otherwise refuse to start ("already exists"). Returns the
// names removed.
std::vector<std::string> remove_stale_groups(const std::string& parent) {
  std::vector<std::string> removed;
  const std::string prefix = "arenalab-budget-";
  // A creator still running has our own command name (the binary may be renamed or linked).
  const auto own_comm = read_file("/proc/self/comm");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
      continue;
    if (std::stol(digits) == ::getpid()) continue;
    auto comm = read_file("/proc/" + digits + "/comm");
    if (comm && (*comm == "arenalab\n" || (own_comm && *comm == *own_comm)))
      continue;  // its creator still runs
    if (::rmdir(e.path().c_str()) == 0) removed.push_back(name);
  }
  return removed;
}

}  // namespace

Result<BudgetResult> run_budget(const BudgetOptions& options) {
  if (options.command.empty()) return make_error("no command given (use -- CMD ARGS...)");
  if (options.limit_bytes < 4096) return make_error("--limit must be at least one page (4K)");
  if (!(options.interval_ms > 0)) return make_error("--interval must be > 0 ms");

  BudgetResult r;
  r.command = options.command;
  r.limit_bytes = options.limit_bytes;
  r.interval_ms = options.interval_ms;
  r.out_dir =
      options.out_dir.empty() ? "arenalab-budget-" + std::to_string(::getpid()) : options.out_dir;
  auto dir = OutputDir::open(r.out_dir, options.out_existing);
  if (!dir) return dir.error();
  r.out_dir = dir->path();
  r.budget_json_path = r.out_dir + "/budget.json";

  auto parent = discover_memory_parent();
  if (!parent) return parent.error();
  r.cgroup_version = parent->version;

  if (const auto stale = remove_stale_groups(parent->dir); !stale.empty())
    r.warnings.push_back(fmt::format(
        "removed {} empty cgroup(s) left under {} by arenalab processes that were killed "
        "(SIGKILL leaves no time to remove them): {}",
        stale.size(), parent->dir, fmt::join(stale, ", ")));
  SignalGuard guard;
  auto group = Group::create(*parent, "arenalab-budget-" + std::to_string(::getpid()),
                             options.limit_bytes, &r.warnings);
  if (!group) return group.error();
  r.cgroup_dir = group->dir();
  set_signal_group(r.cgroup_dir);
  r.effective_limit_bytes = group->effective_limit();
  // A limit above the machine's memory never binds (the machine runs out first): said once,
  // with the limit as the kernel stored it, which the summary shows.
  if (const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
      pages > 0 && page > 0) {
    const std::uint64_t ram = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
    if (options.limit_bytes > ram)
      r.warnings.push_back(fmt::format(
          "--limit {} is above this machine's memory ({}): it cannot be reached, the machine "
          "runs out of memory first; the kernel stored {}",
          format_bytes(static_cast<double>(options.limit_bytes)),
          format_bytes(static_cast<double>(ram)),
          r.effective_limit_bytes ? fmt::format("{} bytes", *r.effective_limit_bytes)
                                  : std::string("no number (unlimited)")));
  }
  if (g_signal)
    return make_error("interrupted by " + signal_name(g_signal) + " before the command started");

  const Group* g = &group.value();
  // The external sampler (procfs + cgroup, from outside the target): the whole timeline when
  // the target runs without the interposer, cgroup.jsonl beside the runner's in-process
  // timeline.jsonl otherwise. Opened at the first sample, so a command that cannot start
  // leaves no file behind.
  const bool via_runner = !options.external;
  const std::string ext_name = via_runner ? "cgroup.jsonl" : "timeline.jsonl";
  const std::string ext_path = r.out_dir + "/" + ext_name;
  // Opened relative to the directory, never through a symlink (OutputDir::create_file).
  int ext_fd = -1;
  bool ext_failed = false;
  auto ext_line = [&](const std::string& line) {
    std::string l = line + "\n";
    const char* p = l.data();
    std::size_t n = l.size();
    while (n > 0) {
      const ssize_t w = ::write(ext_fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  };
  auto sample = [&](pid_t pid, double t_ms) {
    if (ext_failed) return;
    if (ext_fd < 0) {
      auto fd = dir->create_file(ext_name);
      if (!fd) {
        ext_failed = true;
        r.warnings.push_back(fd.error().message);
        return;
      }
      ext_fd = *fd;
      timeline::Header header;
      header.schema = "arenalab.timeline/1";
      header.pid = pid;
      header.command = options.command;
      // Sampled from outside: the allocator is not identified here ("unknown", not verified);
      // "mode" names this sampler.
      header.allocator.backend = formats::Backend::kUnknown;
      header.mode = "external";
      header.interval_ms = options.interval_ms;
      ext_line(timeline::header_line(header));
    }
    timeline::Sample s;
    s.t_ms = t_ms;
    if (auto st = procfs::read_status(pid); st) {
      s.rss = static_cast<double>(st->vm_rss);
      if (st->rss_anon) s.rss_anon = static_cast<double>(*st->rss_anon);
      if (st->rss_file) s.rss_file = static_cast<double>(*st->rss_file);
      if (st->rss_shmem) s.rss_shmem = static_cast<double>(*st->rss_shmem);
      if (st->vm_size) s.vm_size = static_cast<double>(*st->vm_size);
    }
    if (auto u = g->read_usage(); u.current)
      s.gauges["cgroup_usage"] = static_cast<double>(*u.current);
    if (!s.rss && s.gauges.empty()) return;  // the target is gone: nothing measured
    ext_line(timeline::sample_line(s));
    r.samples.push_back(std::move(s));
  };
  const int tick_ms = static_cast<int>(std::max(1.0, options.interval_ms));
  auto joined_error = [&](const Error& e) {
    // spawn() reports a failed child_setup generically; ours can only fail joining the group.
    if (e.message.find("setup in the child failed") != std::string::npos)
      return make_error("cannot start '" + options.command[0] + "' inside " + r.cgroup_dir +
                        ": writing its pid to cgroup.procs failed");
    return e;
  };

  if (via_runner) {
    // Through the runner in stats mode: the interposer inside the target writes
    // timeline.jsonl with the allocator's books; we sample the group from outside.
    runner::RunOptions ro;
    ro.command = options.command;
    ro.allocator = options.allocator;
    ro.allocators_file = options.allocators_file;
    ro.mode = preload::protocol::Mode::kStats;
    ro.interval_ms = options.interval_ms;
    ro.out_dir = r.out_dir;
    ro.out_existing = ExistingDir::kAccept;  // checked (and emptied if asked) above
    ro.stop = options.stop;
    ro.trace_children = options.trace_children;
    ro.child_setup = [g] { return g->attach_self(); };
    ro.tick_ms = tick_ms;
    ro.on_tick = [&](const runner::RunProgress& p) {
      if (r.pid == 0) {
        r.pid = p.pid;
        g_target = p.pid;
      }
      // Without forwarding, runner::run ignores SIGINT while it waits (as system(3) does);
      // budget's own handler still has SIGTERM and SIGHUP: kill at once.
      if (g_signal) ::kill(p.pid, SIGKILL);
      sample(p.pid, p.elapsed_ms);
    };
    auto rr = runner::run(ro);
    g_target = 0;
    if (!rr) return joined_error(rr.error());
    // A signal can end the target before the first tick told us its pid.
    if (r.pid == 0) r.pid = rr->pid;
    r.exit = rr->exit;
    r.timeline_path = rr->timeline_path;
    r.run_json_path = rr->run_json_path;
    r.allocator = options.allocator;
    r.allocator_backend = rr->id.backend;
    r.allocator_verified = rr->verified;
    if (!rr->verified && !rr->mismatch.empty()) r.warnings.push_back(rr->mismatch);
    for (const auto& w : rr->warnings) r.warnings.push_back(w);
    if (auto tl = timeline::read_timeline(rr->timeline_path); tl) {
      if (r.pid == 0) r.pid = static_cast<pid_t>(tl->header.pid);
      for (auto it = tl->samples.rbegin(); it != tl->samples.rend(); ++it) {
        if (it->allocated || it->active || it->resident || it->mapped || it->retained) {
          r.allocator_view = *it;
          break;
        }
      }
    } else {
      r.warnings.push_back("no in-process timeline: " + tl.error().message);
    }
  } else {
    SpawnSpec spec;
    spec.argv = options.command;
    spec.child_setup = [g] { return g->attach_self(); };
    // Made before the spawn, so a signal that comes while the target starts is passed on.
    std::optional<TerminationSignals> forward;
    if (options.stop.forward_signals) forward.emplace();
    auto child = spawn(spec);
    if (!child) return joined_error(child.error());
    r.pid = child->pid();
    g_target = r.pid;
    if (g_signal) ::kill(r.pid, SIGKILL);  // arrived between group creation and spawn
    r.timeline_path = ext_path;
    const double start = child->started_ms();
    auto exit = child->wait([&] { sample(r.pid, monotonic_ms() - start); }, tick_ms, options.stop);
    g_target = 0;
    if (!exit) return exit.error();
    r.exit = *exit;
  }
  r.cgroup_timeline_path = ext_fd >= 0 ? ext_path : std::string();
  if (ext_fd >= 0) ::close(ext_fd);
  // Files are listed when they were written: a target killed before the first sample (a limit
  // below what starting it takes) leaves no timeline, and budget.json named one anyway.
  for (std::string* path : {&r.timeline_path, &r.run_json_path}) {
    std::error_code ec;
    if (!path->empty() && !std::filesystem::exists(*path, ec)) path->clear();
  }
  if (g_signal)
    r.interrupted_by = static_cast<int>(g_signal);
  else if (r.exit.stop.received_signal)
    r.interrupted_by = r.exit.stop.received_signal;

  r.usage = group->read_usage();
  r.oom_killed = r.exit.signal == SIGKILL && r.usage.oom_kill.value_or(0) > 0;
  if (r.usage.oom_kill.value_or(0) > 0) {
    if (auto lines = kernel_oom_lines(r.pid); lines)
      r.kernel_log = std::move(*lines);
    else
      r.kernel_log_error = lines.error().message;
  }
  // Processes the target started that outlived it (a daemon, `cmd &`) are still in the group:
  // removing it kills them. Said, never done silently: their memory after the target's end
  // was not measured, and the user's process is gone. (After a stop signal every process of
  // the group is ended on purpose.)
  if (!r.interrupted_by)
    if (const auto left = group->pids(); !left.empty())
      r.warnings.push_back(fmt::format(
          "{} process(es) the target started outlived it (pid {}): killed with the group when "
          "it was removed; budget measures until the target itself ends",
          left.size(), fmt::join(left, ", ")));
  if (auto s = group->remove(); s)
    r.cgroup_removed = true;
  else
    r.warnings.push_back(s.error().message);

  for (const auto& s : r.samples)
    if (s.rss) r.peak_rss = std::max(r.peak_rss.value_or(0), *s.rss);
  if (r.allocator_view)
    r.allocator_view_note = "from the last sample of " + r.timeline_path +
                            " that carried the allocator's stats (" +
                            backend_name(r.allocator_backend) + ")";
  else if (via_runner && r.timeline_path.empty())
    r.allocator_view_note =
        "not measured: the target wrote no in-process timeline (it ended before the "
        "interposer's first sample, or bypassed it)";
  else if (via_runner)
    r.allocator_view_note = "not measured: no sample of " + r.timeline_path +
                            " carried allocator stats (" + backend_name(r.allocator_backend) +
                            " reports none, or the target ended before the first interval)";
  else
    r.allocator_view_note =
        "not measured: --external samples from outside the process (procfs + cgroup)";
  if (auto s = dir->write_file("budget.json", formats::document_text(budget_to_json(record(r))));
      !s)
    return s.error();
  return r;
}

BudgetRecord record(const BudgetResult& r) {
  BudgetRecord b;
  b.command = utf8_escaped(r.command);
  b.limit_bytes = r.limit_bytes;
  b.effective_limit_bytes = r.effective_limit_bytes;
  b.cgroup_version = version_name(r.cgroup_version);
  b.cgroup_dir = r.cgroup_dir;
  b.cgroup_removed = r.cgroup_removed;
  b.pid = r.pid;
  b.exit = runner::exit_record(r.exit);
  b.before_exec = r.exit.before_exec;
  if (r.exit.signal) b.signal_name = signal_name(*r.exit.signal);
  b.wall_ms = r.exit.wall_ms;
  b.user_ms = r.exit.user_ms;
  b.sys_ms = r.exit.sys_ms;
  b.exit_peak_rss_bytes = static_cast<double>(r.exit.max_rss_bytes);
  b.oom_killed = r.oom_killed;
  b.group = {r.usage.current, r.usage.peak, r.usage.oom_kill, r.usage.oom, r.usage.failcnt};
  b.peak_rss_bytes = r.peak_rss;
  b.interval_ms = r.interval_ms;
  // The RSS timeline: every sample (t_ms, rss, rss_anon, cgroup usage); the full records
  // are in timeline.jsonl.
  for (const auto& s : r.samples) {
    RssPoint p{s.t_ms, s.rss, s.rss_anon, std::nullopt};
    if (auto it = s.gauges.find("cgroup_usage"); it != s.gauges.end()) p.cgroup_usage = it->second;
    b.rss_timeline.push_back(p);
  }
  if (const auto& a = r.allocator_view)
    b.allocator_at_last_sample = AllocatorView{a->t_ms,   a->allocated, a->active,     a->resident,
                                               a->mapped, a->retained,  a->live_bytes, a->gauges};
  b.allocator_note = r.allocator_view_note;
  b.kernel_log = r.kernel_log;
  b.kernel_log_error = r.kernel_log_error;
  if (r.interrupted_by) b.interrupted_by = signal_name(*r.interrupted_by);
  if (!r.allocator.empty())
    b.runner = RunnerInfo{r.allocator, r.allocator_backend, formats::RunMode::kStats,
                          r.allocator_verified};
  b.timeline_file = r.timeline_path;
  b.budget_file = r.budget_json_path;
  if (r.cgroup_timeline_path != r.timeline_path) b.cgroup_timeline_file = r.cgroup_timeline_path;
  b.run_file = r.run_json_path;
  b.warnings = r.warnings;
  return b;
}

std::string describe(const BudgetResult& r) {
  auto bytes = [](std::optional<double> v) {
    return v ? format_bytes(*v) : std::string("not measured");
  };
  auto ubytes = [&](std::optional<std::uint64_t> v) {
    return v ? format_bytes(static_cast<double>(*v)) : std::string("not measured");
  };
  std::string cmd;
  for (const auto& a : r.command) cmd += (cmd.empty() ? "" : " ") + a;
  // The limit in force: as the kernel stored it (rounded to pages, capped at its maximum), the
  // one asked for beside it when they differ.
  const double limit = static_cast<double>(r.effective_limit_bytes.value_or(r.limit_bytes));
  std::string out = fmt::format("{} under a {} memory limit (cgroup {} {})\n", cmd,
                                format_bytes(limit), version_name(r.cgroup_version), r.cgroup_dir);
  auto row = [&](const std::string& k, const std::string& v) {
    out += fmt::format("  {:<18} {}\n", k, v);
  };
  if (r.effective_limit_bytes && *r.effective_limit_bytes != r.limit_bytes)
    row("limit", fmt::format("{} bytes as the kernel stored it (--limit gave {})",
                             *r.effective_limit_bytes, r.limit_bytes));
  row("ended",
      r.exit.describe() +
          (r.exit.before_exec ? " before it could exec: the program never ran" : "") + " (status " +
          std::to_string(r.exit.shell_status()) + ")" +
          (r.interrupted_by ? ", after arenalab got " + signal_name(*r.interrupted_by) : ""));
  row("kernel OOM kill",
      std::string(r.oom_killed && r.exit.before_exec
                      ? "yes, between joining the group and exec: the limit is below what "
                        "starting a process takes"
                  : r.oom_killed ? "yes, while it ran"
                                 : "no") +
          (r.usage.oom_kill ? " (group oom_kill " + std::to_string(*r.usage.oom_kill) + ")"
                            : " (oom_kill counter not provided by this kernel)"));
  row("peak usage",
      ubytes(r.usage.peak) + " of " + format_bytes(limit) + " (the group's own high-water mark)");
  row("peak RSS",
      bytes(r.peak_rss) + " (sampled, " + std::to_string(r.samples.size()) + " samples)");
  // A handful of evenly spaced points of the RSS timeline.
  const std::size_t n = r.samples.size();
  const std::size_t shown = std::min<std::size_t>(n, 8);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& s = r.samples[shown == 1 ? 0 : i * (n - 1) / (shown - 1)];
    auto it = s.gauges.find("cgroup_usage");
    row(i == 0 ? "RSS timeline" : "",
        fmt::format("t={:>7.0f} ms  RSS {:>10}  group {:>10}", s.t_ms, bytes(s.rss),
                    it == s.gauges.end() ? std::string("-") : format_bytes(it->second)));
  }
  if (!r.allocator.empty())
    row("allocator", r.allocator + " (" + backend_name(r.allocator_backend) +
                         (r.allocator_verified ? ", verified" : ", NOT verified") +
                         "), in-process stats every " + fmt::format("{:g}", r.interval_ms) + " ms");
  if (r.allocator_view) {
    std::string v = fmt::format("t={:.0f} ms allocated {}", r.allocator_view->t_ms,
                                bytes(r.allocator_view->allocated));
    if (r.allocator_view->mapped) v += " mapped " + bytes(r.allocator_view->mapped);
    if (r.allocator_view->retained) v += " retained " + bytes(r.allocator_view->retained);
    for (const auto& [k, x] : r.allocator_view->gauges) v += " " + k + " " + format_bytes(x);
    row("allocator view", v);
  } else {
    row("allocator view", r.allocator_view_note);
  }
  for (const auto& l : r.kernel_log) row("kernel log", l);
  if (r.kernel_log_error) row("kernel log", *r.kernel_log_error);
  for (const auto& w : r.warnings) row("warning", w);
  std::string files = r.budget_json_path;
  if (!r.timeline_path.empty()) files += ", " + r.timeline_path;
  if (!r.cgroup_timeline_path.empty() && r.cgroup_timeline_path != r.timeline_path)
    files += ", " + r.cgroup_timeline_path;
  row("files", files);
  return out;
}

}  // namespace arenalab::budget
