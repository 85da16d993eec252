// SPDX-License-Identifier: Apache-2.0
// execute_cell: one cell in its own process (see matrix.h for the identification methods),
// started through arenalab-launch so its figures are the program's alone.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/timeline_levels.h"
#include "arenalab/formats/workload.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/memory.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/runner/runner.h"

namespace arenalab::matrix {
namespace {

constexpr int kTimelineMs = 20;  // --timeline sampling interval (procfs), milliseconds
// Set for a cell's program: the name of the configuration it runs under.
constexpr char kEnvConfiguration[] = "ARENALAB_CONFIGURATION";

// The last `lines` lines of a captured stream, trimmed.
std::string tail_lines(const std::string& text, int lines) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  std::size_t pos = t.size();
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i)
    pos = t.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? t : t.substr(pos + 1);
}

// Every cell's program is started by arenalab-launch (bench/matrix/launch/arenalab_launch.c),
// never forked from arenalab itself: a child's ru_maxrss keeps the high-water mark of the
// address space it replaced at exec, which for a child of arenalab is arenalab's own resident
// size, growing with the matrix (issue 29). The launcher is small and static; it forks the
// program, wait4s it and writes the program's own status and rusage to a pipe, read here.
// A per-cell cgroup's peak was measured as the alternative and rejected: this machine's cgroup
// v2 has no memory controller, and the v1 charge leaves out shared-library pages another
// process faulted in first (1.5 MB charged for a program with a VmHWM of 2.4 MB), so it is
// not the resident peak /usr/bin/time and every other cell report.
class Launch {
 public:
  Launch() = default;
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;
  ~Launch() {
    for (int fd : {read_fd_, write_fd_})
      if (fd >= 0) ::close(fd);
  }

  // Finds the launcher next to arenalab (bin_dir(): $ARENALAB_BIN_DIR, else the directory of
  // /proc/self/exe, which is also tried when the first has none) and makes the report pipe
  // (close-on-exec in arenalab; only the launcher's copy of the write end is kept open across its
  // exec).
  Status open() {
    path_ = bin_dir() + "/arenalab-launch";
    if (::access(path_.c_str(), X_OK) != 0) path_ = executable_dir() + "/arenalab-launch";
    if (::access(path_.c_str(), X_OK) != 0)
      return make_error("cell launcher " + path_ + " not found (build target arenalab-launch)");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return make_error(std::string("pipe for the cell launcher: ") + std::strerror(errno));
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    ::fcntl(read_fd_, F_SETFL, ::fcntl(read_fd_, F_GETFL) | O_NONBLOCK);
    return Ok{};
  }

  // argv run through the launcher.
  std::vector<std::string> wrap(const std::vector<std::string>& argv) const {
    std::vector<std::string> out = {path_, std::to_string(write_fd_)};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  // Runs in the launcher's process before its exec: keep the report pipe open across it, then
  // `then`. Async-signal-safe (fcntl).
  std::function<bool()> child_setup(std::function<bool()> then) const {
    const int fd = write_fd_;
    return [fd, then = std::move(then)] {
      if (::fcntl(fd, F_SETFD, 0) != 0) return false;
      return then ? then() : true;
    };
  }

  // Reads what the launcher wrote so far (non-blocking).
  void poll() {
    char chunk[512];
    for (;;) {
      const ssize_t n = ::read(read_fd_, chunk, sizeof chunk);
      if (n > 0) {
        text_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    std::size_t nl;
    while ((nl = text_.find('\n', parsed_)) != std::string::npos) {
      parse(text_.substr(parsed_, nl - parsed_));
      parsed_ = nl + 1;
    }
  }

  // The program's pid once the launcher forked it (0 before).
  pid_t target() {
    poll();
    return target_;
  }

  // The same, waiting up to `timeout_ms` for the launcher to name it.
  pid_t wait_target(int timeout_ms) {
    const double until = monotonic_ms() + timeout_ms;
    while (target() == 0 && !exec_errno_) {
      const double left = until - monotonic_ms();
      if (left <= 0) break;
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left) + 1) <= 0) break;
      if (p.revents & (POLLHUP | POLLERR) && !(p.revents & POLLIN)) break;
    }
    return target_;
  }

  // After the launcher was reaped: the program's own status, rusage and wall time replace the
  // launcher's in `e`. Errors: the program could not be executed (as spawn() words it). A
  // launcher that died before reporting (killed) leaves its own status, and a peak of 0 rather
  // than one that holds arenalab's size.
  Status apply(ExitInfo& e, const std::string& program) {
    poll();
    if (exec_errno_)
      return make_error("cannot run '" + program + "': " + std::strerror(exec_errno_));
    if (!have_status_ || !have_rusage_) {
      e.max_rss_bytes = 0;
      return Ok{};
    }
    e.exit_code = exit_code_;
    e.signal = signal_;
    e.core_dumped = core_dumped_;
    e.user_ms = static_cast<double>(user_us_) / 1e3;
    e.sys_ms = static_cast<double>(sys_us_) / 1e3;
    e.max_rss_bytes = static_cast<std::uint64_t>(maxrss_kb_) * 1024;
    e.minor_faults = minflt_;
    e.major_faults = majflt_;
    e.voluntary_switches = nvcsw_;
    e.involuntary_switches = nivcsw_;
    e.wall_ms = static_cast<double>(wall_us_) / 1e3;
    return Ok{};
  }

 private:
  void parse(const std::string& line) {
    std::istringstream in(line);
    std::string word;
    in >> word;
    if (word == "pid") {
      in >> target_;
    } else if (word == "exec-error") {
      in >> exec_errno_;
    } else if (word == "exit") {
      int code = 0;
      if (in >> code) {
        exit_code_ = code;
        signal_.reset();
        have_status_ = true;
      }
    } else if (word == "signal") {
      int sig = 0, core = 0;
      if (in >> sig >> core) {
        signal_ = sig;
        exit_code_.reset();
        core_dumped_ = core != 0;
        have_status_ = true;
      }
    } else if (word == "rusage") {
      have_rusage_ = static_cast<bool>(in >> user_us_ >> sys_us_ >> maxrss_kb_ >> minflt_ >>
                                       majflt_ >> nvcsw_ >> nivcsw_ >> wall_us_);
    }
  }

  std::string path_;
  int read_fd_ = -1, write_fd_ = -1;
  std::string text_;
  std::size_t parsed_ = 0;
  pid_t target_ = 0;
  int exec_errno_ = 0;
  bool have_status_ = false, have_rusage_ = false;
  std::optional<int> exit_code_, signal_;
  bool core_dumped_ = false;
  long long user_us_ = 0, sys_us_ = 0, wall_us_ = 0;
  long maxrss_kb_ = 0, minflt_ = 0, majflt_ = 0, nvcsw_ = 0, nivcsw_ = 0;
};

// Kills the cell's program on a timeout: the program itself when the launcher has named it
// (the launcher then reports its status and figures), else the launcher (its PDEATHSIG takes
// the program along).
void kill_cell(Launch& launch, pid_t launcher) {
  const pid_t target = launch.target();
  ::kill(target > 0 ? target : launcher, SIGKILL);
}

// A cell's end at a tick: its program is killed (kill_cell) once, at the first tick past its
// timeout or after a signal stopped the matrix (the cell is then dropped by run_matrix).
class CellEnd {
 public:
  explicit CellEnd(double timeout_s) : timeout_ms_(timeout_s * 1000) {}
  // True at the tick that killed the program.
  bool kill_if_due(double elapsed_ms, Launch& launch, pid_t launcher) {
    if (killed_) return false;
    timed_out_ = elapsed_ms > timeout_ms_;
    if (!timed_out_ && !matrix_stopped()) return false;
    killed_ = true;
    kill_cell(launch, launcher);
    return true;
  }
  bool timed_out() const { return timed_out_; }

 private:
  double timeout_ms_;
  bool killed_ = false, timed_out_ = false;
};

// What running the process gave, before its output is read.
struct Ran {
  ExitInfo exit;
  bool timed_out = false;
  bool runner = false;  // identification comes from the interposer (else from the output)
  Identification id;
  bool verified = false;
  std::string mismatch, timeline_path;
};

// Runs in a cell's process before exec: the cell dies with the matrix. A matrix killed (even
// with SIGKILL) leaves no cell running on, which would share the CPU with, and write into the
// directory of, the same cell run again by --resume. Async-signal-safe (prctl, getppid).
std::function<bool()> die_with_matrix() {
  const pid_t matrix = ::getpid();
  return [matrix] {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return true;  // best effort
    return ::getppid() == matrix;  // the matrix died before the prctl: do not start the cell
  };
}

// run.json (kept with --timeline) as the runner wrote it describes the launcher: put back the
// program's command and its own figures, and drop the two warnings the launcher caused (it is
// static, and the program is its child). A failure leaves the file as it was.
void record_program_run(const std::string& path, const std::vector<std::string>& argv,
                        const ExitInfo& e, pid_t program) {
  if (path.empty()) return;
  auto rec = runner::read_run_json(path);
  if (!rec) return;
  rec->command = argv;
  rec->exit = runner::exit_record(e);
  rec->wall_ms = e.wall_ms;
  rec->user_ms = e.user_ms;
  rec->sys_ms = e.sys_ms;
  rec->peak_rss_bytes = static_cast<double>(e.max_rss_bytes);
  rec->minor_faults = static_cast<double>(e.minor_faults);
  rec->major_faults = static_cast<double>(e.major_faults);
  // The runner names each unwatched child as "comm (pid N, S s)" or "comm (pid N, still running
  // when P exited, not watched)", listed after ": " and separated by ", "; the program itself is
  // one of them.
  const std::string own = "(pid " + std::to_string(program) + ", ";
  for (auto& w : rec->warnings) {
    const auto at = w.find(own);
    if (w.rfind("child processes ran unwatched: ", 0) != 0 || at == std::string::npos) continue;
    const auto sep = w.rfind(", ", at);
    const auto colon = w.find(": ");
    const std::size_t begin = sep == std::string::npos || sep < colon ? colon + 2 : sep;
    const std::size_t end = w.find(')', at) + 1;
    w.erase(begin, end - begin);
    if (w.compare(colon + 2, 2, ", ") == 0) w.erase(colon + 2, 2);
    if (w.compare(colon + 2, 2, "; ") == 0) w.clear();  // nothing else ran unwatched
  }
  std::erase_if(rec->warnings, [](const std::string& w) {
    return w.empty() || w.find("arenalab-launch") != std::string::npos;
  });
  (void)runner::write_run_json(path, *rec);
}

// Workloads built here run under arenalab::runner in stats mode: the interposer identifies,
// inside the process, the object defining the malloc it calls, and samples RSS and the
// allocator's books into timeline.jsonl.
// `hook`, when given, is called about every `tick_ms` with the program's pid (0 until the
// launcher named it) while it runs (a server cell drives its server from it).
Result<Ran> run_with_runner(const CellRequest& req, const std::vector<std::string>& argv,
                            const std::function<void(pid_t)>& hook = {}, int tick_ms = 200) {
  Launch launch;
  if (auto st = launch.open(); !st) return st.error();
  runner::RunOptions o;
  o.command = launch.wrap(argv);
  o.allocator = req.configuration.name;
  o.allocators_file = req.allocators_file;
  o.mode = preload::protocol::Mode::kStats;
  o.interval_ms = req.timeline ? kTimelineMs : 100;
  o.out_dir = req.cell_dir;
  o.capture_output = true;
  o.child_setup = launch.child_setup(die_with_matrix());
  o.extra_env = {{kEnvConfiguration, req.configuration.name}};
  CellEnd end(req.timeout_s);
  o.on_tick = [&](const runner::RunProgress& p) {
    end.kill_if_due(p.elapsed_ms, launch, p.pid);
    if (hook && !end.timed_out()) hook(launch.target());
  };
  o.tick_ms = tick_ms;
  auto r = runner::run(o);
  if (!r) return r.error();
  if (auto st = launch.apply(r->exit, argv[0]); !st) return st.error();
  Ran ran;
  ran.exit = std::move(r->exit);
  ran.timed_out = end.timed_out();
  ran.runner = true;
  ran.id = r->id;
  ran.verified = r->verified;
  ran.mismatch = r->mismatch;
  if (req.timeline && std::filesystem::exists(r->timeline_path)) {
    ran.timeline_path = r->timeline_path;
    record_program_run(r->run_json_path, argv, ran.exit, launch.target());
  }
  return ran;
}

// A real-program driver runs as a plain child: the interposer would identify the driver (the
// first process to load it claims the run), not the server it starts. The driver reports what
// the dynamic linker bound its target's malloc to (LD_DEBUG=bindings) in its JSON instead.
// --timeline samples the driver's RSS from /proc.
Result<Ran> run_plain(const CellRequest& req, const std::vector<std::string>& argv) {
  Launch launch;
  if (auto st = launch.open(); !st) return st.error();
  SpawnSpec spec;
  spec.argv = launch.wrap(argv);
  spec.set_env = configuration_environment(req.configuration);
  spec.set_env.emplace_back(kEnvConfiguration, req.configuration.name);
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.capture_limit = 64 << 10;
  spec.stdin_null = true;
  spec.child_setup = launch.child_setup(die_with_matrix());
  auto child = spawn(spec);
  if (!child) return child.error();
  std::vector<timeline::Sample> samples;
  const pid_t launcher = child->pid();
  const double start = child->started_ms();
  CellEnd end(req.timeout_s);
  auto on_tick = [&] {
    const double now = monotonic_ms();
    if (end.kill_if_due(now - start, launch, launcher)) return;
    if (!req.timeline) return;
    const pid_t pid = launch.target();  // the program, not the launcher
    if (pid <= 0) return;
    auto st = procfs::read_status(pid);
    if (!st) return;  // exited between ticks
    timeline::Sample s;
    s.t_ms = now - start;
    s.rss = static_cast<double>(st->vm_rss);
    if (st->rss_anon) s.rss_anon = static_cast<double>(*st->rss_anon);
    if (st->rss_file) s.rss_file = static_cast<double>(*st->rss_file);
    if (st->rss_shmem) s.rss_shmem = static_cast<double>(*st->rss_shmem);
    if (st->vm_size) s.vm_size = static_cast<double>(*st->vm_size);
    samples.push_back(s);
  };
  // A first sample at start: a smoke cell may end before the first tick.
  if (req.timeline) launch.wait_target(1000);
  on_tick();
  auto exit = child->wait(on_tick, req.timeline ? kTimelineMs : 200);
  if (!exit) return exit.error();
  if (auto st = launch.apply(*exit, argv[0]); !st) return st.error();
  Ran ran;
  ran.exit = std::move(*exit);
  ran.timed_out = end.timed_out();
  if (req.timeline && !samples.empty()) {
    timeline::Header h;
    h.schema = "arenalab.timeline/1";
    h.pid = launch.target();
    h.command = argv;
    h.allocator = {req.configuration.name, Backend::kUnknown, "", "", false};
    h.mode = "procfs";  // the driver's RSS from /proc only
    h.interval_ms = kTimelineMs;
    std::string text = timeline::header_line(h) + "\n";
    for (const auto& s : samples) text += timeline::sample_line(s) + "\n";
    // Into the directory the matrix opened (else made 0700: a group-writable one would be
    // refused by record_cell).
    std::optional<OutputDir> own;
    const OutputDir* dir = req.dir;
    if (!dir) {
      if (auto d = OutputDir::open(req.cell_dir, ExistingDir::kAccept)) own = std::move(*d);
      if (own) dir = &*own;
    }
    if (dir && dir->write_file("timeline.jsonl", text))
      ran.timeline_path = dir->path() + "/timeline.jsonl";
  }
  return ran;
}

// Whether a server's ready address answers: tcp:HOST:PORT accepts a connection, or
// unix:PATH does. Checked every tick until it does (a refused connect is "not yet").
bool ready_answers(const std::string& ready) {
  int fd = -1;
  bool ok = false;
  if (ready.rfind("unix:", 0) == 0) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string path = ready.substr(5);
    if (path.size() >= sizeof a.sun_path) return false;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  } else {
    const auto colon = ready.rfind(':');
    const std::string host = ready.substr(4, colon - 4), port = ready.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
    for (addrinfo* r = res; r && !ok; r = r->ai_next) {
      fd = ::socket(r->ai_family, r->ai_socktype | SOCK_CLOEXEC, r->ai_protocol);
      ok = fd >= 0 && ::connect(fd, r->ai_addr, r->ai_addrlen) == 0;
      if (!ok && fd >= 0) {
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(res);
  }
  if (fd >= 0) ::close(fd);
  return ok;
}

// A server cell's driver: run on its own thread (so the runner's loop keeps polling the server)
// without the configuration (no LD_PRELOAD: a load generator is not what is measured), its
// output captured for the figures it prints.
class Driver {
 public:
  explicit Driver(std::vector<std::string> argv) : argv_(std::move(argv)) {}
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;
  ~Driver() {
    stop(SIGKILL);
    if (thread_.joinable()) thread_.join();
  }

  void start() {
    started_ = true;
    thread_ = std::thread([this] {
      SpawnSpec spec;
      spec.argv = argv_;
      spec.unset_env = {"LD_PRELOAD", kEnvConfiguration};
      spec.capture_stdout = true;
      spec.capture_stderr = true;
      spec.stdin_null = true;
      auto child = spawn(spec);  // dies with this thread's process (PR_SET_PDEATHSIG)
      if (!child) {
        error_ = child.error().message;
      } else {
        pid_ = child->pid();
        auto e = child->wait({}, 20);
        pid_ = 0;
        if (e)
          exit_ = std::move(*e);
        else
          error_ = e.error().message;
      }
      done_ = true;
    });
  }
  bool started() const { return started_; }
  bool done() const { return done_; }
  // Signals the driver if it still runs.
  void stop(int sig) {
    if (const pid_t p = pid_; p > 0) ::kill(p, sig);
  }
  // After join(): what the driver did.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  const ExitInfo& exit() const { return exit_; }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> argv_;
  std::thread thread_;
  std::atomic<bool> started_{false}, done_{false};
  std::atomic<pid_t> pid_{0};
  ExitInfo exit_;
  std::string error_;
};

// How a server cell went, beside the server's own exit.
struct ServerRun {
  bool ready = false;              // the ready address answered
  bool stopped = false;            // the server was sent SIGTERM after its driver ended
  bool killed = false;             // ... and SIGKILL when it outlived the grace period
  double ready_ms = 0;             // from the start to ready
  std::optional<ExitInfo> driver;  // when the driver ran
  std::string driver_error;        // it could not be started
};

constexpr double kServerGraceMs = 10000;  // SIGTERM to SIGKILL for a server that lingers

// The server under the runner (identified inside its process, its own timeline) while its
// driver runs: ready -> driver -> SIGTERM -> exit (docs/matrix.md, "Servers").
Result<Ran> run_server(const CellRequest& req, const std::vector<std::string>& argv,
                       ServerRun& sr) {
  Driver driver(req.workload.driver);
  const double start = monotonic_ms();
  double stop_at = 0;
  auto hook = [&](pid_t server) {
    if (server <= 0) return;
    const double now = monotonic_ms();
    if (!driver.started()) {
      if (!ready_answers(req.workload.ready)) return;
      sr.ready = true;
      sr.ready_ms = now - start;
      driver.start();
      return;
    }
    if (!driver.done()) return;
    if (!sr.stopped) {
      sr.stopped = true;
      stop_at = now;
      ::kill(server, SIGTERM);
    } else if (!sr.killed && now - stop_at > kServerGraceMs) {
      sr.killed = true;
      ::kill(server, SIGKILL);
    }
  };
  auto ran = run_with_runner(req, argv, hook, 20);
  // The server is gone (it exited, crashed or timed out): a driver still running has nothing
  // left to drive; SIGTERM, and SIGKILL when it has not ended 5 s later.
  if (driver.started() && !driver.done()) {
    driver.stop(SIGTERM);
    for (const double until = monotonic_ms() + 5000; !driver.done() && monotonic_ms() < until;)
      ::usleep(10000);
    driver.stop(SIGKILL);
  }
  driver.join();
  if (driver.started()) {
    if (driver.error().empty())
      sr.driver = driver.exit();
    else
      sr.driver_error = driver.error();
  }
  return ran;
}

// What a program printed about itself (docs/matrix.md, "Your own programs").
struct OwnFigures {
  nlohmann::json measurements = nlohmann::json::object();
  std::optional<double> throughput;
  std::string throughput_unit;
};

bool figure_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::optional<double> number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The numbers of a JSON object, nested objects' names joined with '.'; "throughput" may be a
// number or {value, unit}.
void json_figures(const nlohmann::json& o, const std::string& prefix, OwnFigures& f) {
  for (const auto& [k, v] : o.items()) {
    const std::string name = prefix + k;
    if (name == "throughput" && v.is_object() && v.contains("value") && v["value"].is_number()) {
      f.throughput = v["value"].get<double>();
      if (v.contains("unit") && v["unit"].is_string()) f.throughput_unit = v["unit"];
      f.measurements[name] = *f.throughput;
    } else if (name == "throughput_unit" && v.is_string()) {
      f.throughput_unit = v.get<std::string>();
    } else if (v.is_number() && std::isfinite(v.get<double>())) {
      f.measurements[name] = v.get<double>();
      if (name == "throughput") f.throughput = v.get<double>();
    } else if (v.is_object()) {
      json_figures(v, name + ".", f);
    }
  }
}

// Words of a CSV line, their double quotes stripped (no quoted commas: a load generator's
// table, not general CSV).
std::vector<std::string> csv_words(const std::string& line) {
  std::vector<std::string> out;
  std::string w;
  std::istringstream in(line);
  while (std::getline(in, w, ',')) {
    while (!w.empty() && (w.back() == '\r' || w.back() == ' ')) w.pop_back();
    if (w.size() >= 2 && w.front() == '"' && w.back() == '"') w = w.substr(1, w.size() - 2);
    out.push_back(w);
  }
  return out;
}

// The last CSV table of stdout (redis-benchmark --csv): a header of names, then rows whose
// first field names the row and whose others are numbers. Each number is ROW.COLUMN; a
// column pNN_latency_ms, avg_latency_ms or max_latency_ms also gives request_pNN_ms,
// request_avg_ms, request_max_ms as the highest over the rows (the slowest test), and an rps
// column gives throughput in requests/s: rows / sum(1 / rps), the rate over all rows when each
// row served the same number of requests (as redis-benchmark's tests do).
void csv_figures(const std::vector<std::string>& lines, OwnFigures& f) {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows, best_rows;
  std::vector<std::string> best_header;
  auto flush = [&] {
    if (!header.empty() && !rows.empty()) {
      best_header = header;
      best_rows = rows;
    }
    rows.clear();
  };
  for (const auto& line : lines) {
    const auto words = csv_words(line);
    if (words.size() < 2) {
      flush();
      header.clear();
      continue;
    }
    bool numbers = !words[0].empty();
    for (std::size_t i = 1; i < words.size() && numbers; ++i)
      numbers = number(words[i]).has_value();
    if (numbers && header.size() == words.size()) {
      rows.push_back(words);
      continue;
    }
    flush();
    header.clear();
    if (std::all_of(words.begin(), words.end(), figure_name)) header = words;
  }
  flush();
  if (best_rows.empty()) return;
  double inverse_rate = 0;
  int rated = 0;
  for (const auto& row : best_rows) {
    for (std::size_t i = 1; i < row.size(); ++i) {
      const double v = *number(row[i]);
      const std::string& col = best_header[i];
      std::string name = row[0];
      std::replace_if(
          name.begin(), name.end(),
          [](char c) { return !(std::isalnum(static_cast<unsigned char>(c)) || c == '_'); }, '_');
      f.measurements[name + "." + col] = v;
      if (col == "rps" && v > 0) {
        inverse_rate += 1 / v;
        ++rated;
      }
      const auto suffix = col.rfind("_latency_ms");
      if (suffix != std::string::npos && suffix + 11 == col.size()) {
        const std::string figure = "request_" + col.substr(0, suffix) + "_ms";
        auto& slot = f.measurements[figure];
        if (!slot.is_number() || slot.get<double>() < v) slot = v;
      }
    }
  }
  if (rated > 0) {
    f.throughput = rated / inverse_rate;
    f.throughput_unit = "requests/s";
    f.measurements["throughput"] = *f.throughput;
  }
}

// The last line of stdout that is a JSON object, else every line made only of name=value words
// (numbers, and throughput_unit=TEXT; a later line wins) and the last CSV table (csv_figures).
// Nothing: no figures of its own.
OwnFigures own_figures(const std::string& out) {
  OwnFigures f;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const auto first = it->find_first_not_of(" \t\r");
    if (first == std::string::npos || (*it)[first] != '{') continue;
    const auto doc = nlohmann::json::parse(*it, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) continue;
    json_figures(doc, "", f);
    return f;
  }
  for (const auto& line : lines) {
    std::istringstream words(line);
    OwnFigures one;
    bool all = false;
    for (std::string w; words >> w;) {
      const auto eq = w.find('=');
      const std::string name = eq == std::string::npos ? "" : w.substr(0, eq);
      const std::string value = eq == std::string::npos ? "" : w.substr(eq + 1);
      all = figure_name(name);
      if (!all) break;
      if (name == "throughput_unit") {
        one.throughput_unit = value;
        continue;
      }
      const auto v = number(value);
      all = v.has_value();
      if (!all) break;
      one.measurements[name] = *v;
      if (name == "throughput") one.throughput = *v;
    }
    if (!all) continue;
    for (const auto& [k, v] : one.measurements.items()) f.measurements[k] = v;
    if (one.throughput) f.throughput = one.throughput;
    if (!one.throughput_unit.empty()) f.throughput_unit = one.throughput_unit;
  }
  csv_figures(lines, f);
  return f;
}

}  // namespace

Cell execute_cell(const CellRequest& req) {
  Cell cell;
  cell.workload = req.workload.name;
  cell.configuration = req.configuration.name;
  cell.threads = req.threads;
  const bool is_command = !req.workload.command.empty();
  std::vector<std::string> argv;
  if (is_command) {
    // As given; argv[0] where select_workloads found it.
    argv = req.workload.command;
    argv[0] = req.workload.program;
  } else {
    argv = {req.workload.program, "--json"};
    if (req.smoke) argv.push_back("--smoke");
    if (req.duration_s > 0 && req.workload.takes_duration) {
      argv.push_back("--duration");
      argv.push_back(fmt::format("{}", req.duration_s));  // shortest form: "2", "0.5"
    }
    if (req.threads > 0 && req.workload.threads_flag) {
      argv.push_back("--threads");
      argv.push_back(std::to_string(req.threads));
    }
  }
  cell.command = argv;
  // A command has no harness to name its allocator: the interposer is its only identification,
  // and its RSS over time is one of the figures measured from outside, so it always runs under
  // the runner with its timeline kept.
  CellRequest r = req;
  if (is_command) r.timeline = true;
  const bool via_runner = is_command || (req.use_runner && req.workload.category != "real");
  const bool is_server = is_command && !req.workload.driver.empty();
  ServerRun sr;
  auto ran = is_server    ? run_server(r, argv, sr)
             : via_runner ? run_with_runner(r, argv)
                          : run_plain(r, argv);
  // Without --timeline the runner's files are not kept: removed through the directory the
  // matrix opened (entries only; it stays for the record), following no link.
  if (via_runner && !r.timeline) {
    if (req.dir) {
      (void)req.dir->remove_all_entries();
    } else if (auto d = OutputDir::open(req.cell_dir, ExistingDir::kAccept)) {
      (void)d->remove_all_entries();
    }
  }
  if (!ran) {
    cell.status = CellStatus::kError;
    cell.message = ran.error().message;
    return cell;
  }
  const bool timed_out = ran->timed_out;
  cell.timeline_path = ran->timeline_path;
  ExitInfo& e = ran->exit;
  // A server stopped by the matrix after its driver ended has ended as asked, whether it exits
  // 0 on SIGTERM (redis-server does) or dies of it.
  const bool server_stopped = is_server && sr.stopped && !sr.killed;
  if (server_stopped && e.signal == SIGTERM) {
    e.signal.reset();
    e.exit_code = 0;
  }
  cell.exit_code = e.exit_code;
  cell.signal = e.signal;
  cell.wall_ms = e.wall_ms;
  cell.user_ms = e.user_ms;
  cell.sys_ms = e.sys_ms;
  cell.peak_rss_bytes = static_cast<double>(e.max_rss_bytes);
  cell.peak_rss_source = PeakRssSource::kRusage;
  cell.minor_faults = static_cast<double>(e.minor_faults);
  cell.major_faults = static_cast<double>(e.major_faults);

  // The workload's result (formats/workload.h): the last arenalab.workload line of stdout.
  auto found = workload::find_workload_report(e.out, req.workload.program + " --json output");
  std::optional<workload::WorkloadReport> doc;
  std::string unreadable;
  if (found)
    doc = std::move(*found);
  else
    unreadable = found.error().message;
  if (doc) {
    cell.measurements = doc->measurements;
    cell.rss_after_free_bytes = doc->rss_after_free_bytes();
    // A driver whose measured process is its child (a server) reports that process's peak.
    if (const auto p = doc->peak_rss_bytes()) {
      cell.peak_rss_bytes = *p;
      cell.peak_rss_source = PeakRssSource::kWorkload;
    }
    cell.throughput = doc->throughput();
    if (cell.throughput) cell.throughput_unit = doc->throughput_unit();
    cell.identified_backend = doc->backend;
    cell.identified_library = doc->library;
    cell.identified_version = doc->version;
    cell.identification_method = doc->method == workload::Method::kLdDebug
                                     ? IdentificationMethod::kLdDebug
                                     : IdentificationMethod::kHarness;
  }
  if (!doc && unreadable.empty()) {
    // A program that reports nothing is measured from outside (wall, CPU, peak RSS and page
    // faults above; its final RSS from the timeline here) and adds what it printed itself.
    // A server's figures are its driver's (a load generator's report).
    OwnFigures own = own_figures(is_server && sr.driver ? sr.driver->out : e.out);
    cell.measurements = std::move(own.measurements);
    if (own.throughput) {
      cell.throughput = own.throughput;
      cell.throughput_unit = own.throughput_unit;
    }
    if (cell.measurements.contains("rss_after_free_bytes"))
      cell.rss_after_free_bytes = cell.measurements["rss_after_free_bytes"].get<double>();
    if (cell.measurements.contains("peak_rss_bytes")) {
      cell.peak_rss_bytes = cell.measurements["peak_rss_bytes"].get<double>();
      cell.peak_rss_source = PeakRssSource::kWorkload;
    }
  }
  if (is_server) {
    // The cell's time is the driver's (serving its requests); the server's own lifetime, with
    // start-up and shutdown, is kept beside it. CPU, peak RSS and faults are the server's.
    cell.measurements["server_wall_ms"] = e.wall_ms;
    if (sr.ready) cell.measurements["ready_ms"] = sr.ready_ms;
    if (sr.driver) cell.wall_ms = sr.driver->wall_ms;
  }
  std::string server_problem, driver_err;
  if (is_server && !timed_out) {
    if (sr.driver) driver_err = sr.driver->err;
    if (!sr.ready)
      server_problem =
          "the server ended (" + e.describe() + ") before " + req.workload.ready + " answered";
    else if (!sr.driver_error.empty())
      server_problem = "driver: " + sr.driver_error;
    else if (sr.driver && (sr.driver->signal || sr.driver->exit_code.value_or(0) != 0))
      server_problem = "driver " + sr.driver->describe();
    else if (sr.killed)
      server_problem = "the server outlived SIGTERM by 10 s and was killed";
    else if (!sr.stopped)
      server_problem = "the server ended (" + e.describe() + ") while its driver ran";
  }
  // Memory over time: the program's own timeline (the interposer's, or /proc's for a workload
  // identified by its harness); a real-program driver's procfs timeline is the driver's, not
  // its server's: no levels from it.
  if (!ran->timeline_path.empty() && (ran->runner || req.workload.category != "real"))
    if (auto tl = timeline::read_timeline(ran->timeline_path); tl)
      cell.memory = memory_over_time(*tl, timeline::ends_with_teardown(ran->timeline_path));
  if (ran->runner) {
    cell.identified_backend = ran->id.backend;
    cell.identified_library = ran->id.library;
    cell.identified_version = ran->id.version;
    cell.identification_method = IdentificationMethod::kRunner;
    cell.verified = ran->verified;
    cell.mismatch = ran->mismatch;
  } else if (cell.identified_backend && *cell.identified_backend != Backend::kUnknown) {
    Identification id;
    id.backend = *cell.identified_backend;
    std::snprintf(id.library, sizeof id.library, "%s", cell.identified_library.c_str());
    cell.mismatch = verification_mismatch(req.configuration, id);
    cell.verified = cell.mismatch.empty();
  } else if (doc) {
    cell.mismatch = "the cell reported no identification of its allocator";
  } else {
    cell.mismatch =
        "no identification: the program printed no arenalab.workload result and ran without "
        "the interposer";
  }

  if (timed_out) {
    cell.status = CellStatus::kTimeout;
    cell.message = "killed after the cell timeout of " +
                   std::to_string(static_cast<int>(req.timeout_s)) + " s";
  } else if (!server_problem.empty()) {
    cell.status = CellStatus::kFailed;
    cell.message = server_problem;
  } else if (e.signal) {
    cell.status = CellStatus::kCrashed;
    cell.message = e.describe();
  } else if (e.exit_code && *e.exit_code != 0) {
    cell.status = CellStatus::kFailed;
    cell.message = e.describe();
    if (doc)
      for (const auto& c : doc->checks)
        if (!c.pass) cell.message += "; check " + c.name + " failed: " + c.detail;
  } else if (!unreadable.empty()) {
    cell.status = CellStatus::kError;  // it printed a result, and the result is broken
    cell.message = unreadable;
  } else if (!cell.verified) {
    cell.status = CellStatus::kUnverified;
  } else {
    cell.status = CellStatus::kOk;
  }
  if (cell.status != CellStatus::kOk)
    cell.stderr_tail = tail_lines(driver_err.empty() ? e.err : e.err + "\n" + driver_err, 8);
  return cell;
}

bool matrix_stopped() { return TerminationSignals::active() && TerminationSignals::first() != 0; }

}  // namespace arenalab::matrix
