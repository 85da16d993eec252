// SPDX-License-Identifier: Apache-2.0
// Level rss of an attach: the target's memory from outside, every interval, into timeline.jsonl
// (formats/timeline.h), then attach.json. Nothing is injected and the target is never
// signalled: every figure comes from /proc/PID (through one fd of /proc/PID, so a reused pid
// reads as gone) and from the target's memory cgroup.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <thread>

#include "arenalab/attach/attach.h"
#include "arenalab/core/files.h"
#include "arenalab/formats/attach.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/preload/protocol.h"
#include "attach_internal.h"
#include "inject.h"

namespace arenalab::attach {
namespace {

using namespace detail;

volatile std::sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }

// SIGINT/SIGTERM/SIGHUP end the sampling (not arenalab) while this object lives; without
// SA_RESTART, so the sleep between samples returns at once.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignals() {
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3]{};
};

double monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// Sleeps until `deadline_ms` (CLOCK_MONOTONIC); returns early on a stop signal.
void sleep_until(double deadline_ms) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(deadline_ms / 1e3);
  ts.tv_nsec = static_cast<long>((deadline_ms - static_cast<double>(ts.tv_sec) * 1e3) * 1e6);
  if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;  // rounding; EINVAL would not sleep
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  while (!g_stop_signal &&
         ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The allocator the target maps, by library name (from outside: a hint, never verified; a
// statically linked allocator is not seen).
timeline::AllocatorInfo mapped_allocator(int proc_fd) {
  timeline::AllocatorInfo a;
  a.name = "attached";
  a.backend = formats::Backend::kUnknown;
  const Read maps = read_at(proc_fd, "maps");
  if (!maps.ok) return a;
  static const std::pair<const char*, formats::Backend> kLibs[] = {
      {"libjemalloc", formats::Backend::kJemalloc},
      {"libtcmalloc", formats::Backend::kTcmalloc},
      {"libmimalloc", formats::Backend::kMimalloc},
      {"libtbbmalloc", formats::Backend::kTbbmalloc},
      {"/libc.so.6", formats::Backend::kGlibc}};
  for (const auto& [needle, backend] : kLibs) {
    const auto at = maps.text.find(needle);
    if (at == std::string::npos) continue;
    const auto begin = maps.text.rfind(' ', at) + 1;
    a.library = maps.text.substr(begin, maps.text.find('\n', at) - begin);
    a.backend = backend;
    break;
  }
  return a;
}

// /proc/PID/status through proc_fd while that process runs; false when it cannot be read or
// the process is a zombie (State Z or X).
bool running_status(int proc_fd, Read* status) {
  *status = read_at(proc_fd, "status");
  if (!status->ok || status->text.empty()) return false;
  const auto state = status->text.find("\nState:");
  if (state == std::string::npos) return true;
  const auto c = status->text.find_first_not_of(" \t", state + 7);
  return c == std::string::npos || (status->text[c] != 'Z' && status->text[c] != 'X');
}

// One sample; false when the target is gone (exited, zombie, or the fd names a dead process).
bool take_sample(int proc_fd, const Target& t, const std::optional<std::string>& cgroup_v,
                 const std::string& cgroup_version, timeline::Sample* s) {
  Read status;
  if (!running_status(proc_fd, &status)) return false;
  const auto f = kb_fields(status.text);
  const auto rss = f.find("VmRSS");
  if (rss == f.end()) return false;  // an exiting process has dropped its mm
  s->t_ms = (boottime_s() - static_cast<double>(t.start_ticks) / ticks_per_s()) * 1e3;
  s->rss = static_cast<double>(rss->second);
  auto put = [&](const std::map<std::string, std::uint64_t>& m, const char* from, const char* to) {
    if (auto it = m.find(from); it != m.end()) s->gauges[to] = static_cast<double>(it->second);
  };
  if (auto it = f.find("RssAnon"); it != f.end()) s->rss_anon = static_cast<double>(it->second);
  if (auto it = f.find("RssFile"); it != f.end()) s->rss_file = static_cast<double>(it->second);
  if (auto it = f.find("RssShmem"); it != f.end()) s->rss_shmem = static_cast<double>(it->second);
  if (auto it = f.find("VmSize"); it != f.end()) s->vm_size = static_cast<double>(it->second);
  put(f, "VmSwap", "swap");
  // smaps_rollup: the proportional shares (memory shared with forks and other processes is
  // split between them). It walks every mapping under the target's mmap lock: see docs/attach.md.
  if (const Read r = read_at(proc_fd, "smaps_rollup"); r.ok) {
    const auto p = kb_fields(r.text);
    put(p, "Pss_Anon", "pss_anon");
    put(p, "Pss_File", "pss_file");
    put(p, "Pss_Shmem", "pss_shmem");
  }
  if (cgroup_v) {
    // The whole group (the target and whatever shares its cgroup): cgroup-v2.rst memory.current
    // and memory.stat; cgroup-v1/memory.rst usage_in_bytes and the hierarchical total_* stats.
    const bool v2 = cgroup_version == "v2";
    const Read usage = read_path(*cgroup_v + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
    if (usage.ok) s->gauges["cgroup_usage"] = std::strtod(usage.text.c_str(), nullptr);
    if (const Read st = read_path(*cgroup_v + "/memory.stat"); st.ok) {
      const auto m = space_fields(st.text);
      put(m, v2 ? "anon" : "total_rss", "cgroup_anon");
      put(m, v2 ? "file" : "total_cache", "cgroup_file");
      put(m, v2 ? "shmem" : "total_shmem", "cgroup_shmem");
    }
  }
  return true;
}

std::string agent_path(const Options& o) {
  return o.agent_path.empty() ? lib_dir() + "/libarenalab_agent.so" : o.agent_path;
}

// Follows the agent's timeline.jsonl as it grows: each poll() reads only the bytes appended
// since the last one, counts the complete sample lines and notes the final one ("final": true).
// The detach wait polls every 5 ms, so it must not read the whole file again each time.
class AgentLines {
 public:
  explicit AgentLines(std::string path) : path_(std::move(path)) {}
  void poll() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;  // not written yet
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    partial_ += chunk;
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(partial_.data() + start, nl - start);
      if (line.empty() || line.back() != '}') continue;  // not a whole record
      if (!header_seen_) {
        header_seen_ = true;
        continue;
      }
      ++samples_;
      if (line.find("\"final\":true") != std::string_view::npos) final_seen_ = true;
    }
    partial_.erase(0, start);  // a line still being written waits for its newline
  }
  std::size_t samples() const { return samples_; }
  bool final_seen() const { return final_seen_; }

 private:
  std::string path_;
  std::uint64_t offset_ = 0;  // bytes of the file consumed
  std::string partial_;
  bool header_seen_ = false;
  std::size_t samples_ = 0;
  bool final_seen_ = false;
};

// True while the process behind proc_fd runs (not a zombie, its mm still there).
bool target_alive(int proc_fd) {
  Read status;
  if (!running_status(proc_fd, &status)) return false;
  return status.text.find("\nVmRSS:") != std::string::npos;
}

// attach.json's fields both levels fill alike: who the target is, and how the session went.
attach_file::Record session_record(const Options& o, const Outcome& out) {
  const Target& t = out.target;
  attach_file::Record r;
  r.pid = t.pid;
  r.comm = t.comm;
  r.command = t.command;
  r.exe = t.exe;
  r.uid = t.uid;
  r.target_running_s_at_attach = t.started_s_ago;
  r.interval_ms = o.interval_ms;
  r.attached_ms = out.attached_ms;
  r.samples = static_cast<std::int64_t>(out.samples);
  r.ended = out.ended;
  r.warnings = out.warnings;
  if (o.duration_s > 0) r.duration_s = o.duration_s;
  r.signal = out.signal;
  r.vanished_after_s = out.vanished_at_s;
  if (out.vanished_at_s) r.vanished_utc = out.vanished_utc;
  return r;
}

// Levels stats and count: the agent in the target writes timeline.jsonl; arenalab waits,
// watching that the target lives, then asks the agent to stop through <out>/agent.stop (no
// second ptrace stop of the target) and waits for its final sample (at level count, written
// after every hooked slot is back).
Result<Outcome> watch_stats(const Options& o, Outcome out, int proc_fd) {
  const Target& t = out.target;
  const std::string who = "pid " + std::to_string(o.pid);
  out.level = o.level;
  char abs_dir[PATH_MAX];
  if (!::realpath(out.out_dir.c_str(), abs_dir)) return make_error("cannot resolve " + out.out_dir);
  const std::string dir = abs_dir;
  const std::string stop_file = dir + "/agent.stop";
  ::unlink(stop_file.c_str());
  ::unlink(out.timeline_path.c_str());
  ::unlink(out.record_path.c_str());
  ::unlink((dir + "/agent.error").c_str());
  // The target's start on CLOCK_BOOTTIME: the agent's t_ms share level rss's axis.
  const std::uint64_t t0_ns =
      static_cast<std::uint64_t>(static_cast<double>(t.start_ticks) / ticks_per_s() * 1e9);
  const unsigned interval = static_cast<unsigned>(o.interval_ms < 1 ? 1 : o.interval_ms);
  // The agent's level: 0 stats, 1 count, 2 | (dump every N ticks << 8) sample (agent.cc).
  const int level = o.level == Level::kSample ? 2 | (std::clamp(o.heap_dump_every, 0, 1 << 20) << 8)
                    : o.level == Level::kCount ? 1
                                               : 0;
  auto inj = inject_agent(o.pid, agent_path(o), dir, interval, t0_ns, level,
                          o.level == Level::kSample ? o.sample_bytes : 0);
  if (!inj) return inj.error();
  out.injection = *inj;
  if (o.on_attached) o.on_attached(o.level);

  StopSignals stop;
  AgentLines lines(out.timeline_path);
  const double t0 = monotonic_ms();
  double next = t0;
  for (;;) {
    std::optional<Ended> ended;  // set when sampling ends this interval
    next += o.interval_ms;
    if (o.duration_s > 0 && next - t0 > o.duration_s * 1e3 + 1e-6) {
      sleep_until(t0 + o.duration_s * 1e3);
      ended = g_stop_signal ? Ended::kInterrupted : Ended::kDuration;
    } else {
      sleep_until(next);
    }
    if (g_stop_signal) {
      ended = Ended::kInterrupted;
      out.signal = static_cast<int>(g_stop_signal);
    }
    if (!target_alive(proc_fd)) {
      ended = Ended::kVanished;
      out.vanished_at_s = (monotonic_ms() - t0) / 1e3;
      out.vanished_utc = utc_now();
    }
    if (ended) {
      out.ended = *ended;
      break;
    }
    lines.poll();  // what this interval appended: the detach wait then has little left to read
    if (o.on_sample) o.on_sample(monotonic_ms() - t0, out.timeline_path);
    if (next < monotonic_ms()) next = monotonic_ms();
  }
  out.attached_ms = monotonic_ms() - t0;
  // Detach: the agent sees agent.stop at its next tick, writes a final sample and its thread
  // ends; the library stays loaded, idle (dlclose of injected code is a known crash source).
  if (out.ended != Ended::kVanished) {
    const double asked = monotonic_ms();
    if (std::ofstream(stop_file).good()) {
      const double deadline = asked + 3 * o.interval_ms + 5000;
      while (monotonic_ms() < deadline && target_alive(proc_fd)) {
        lines.poll();
        if (lines.final_seen()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      out.injection->final_seen = lines.final_seen();
      out.injection->detach_ms = monotonic_ms() - asked;
      if (!lines.final_seen())
        out.warnings.push_back(who + ": the agent wrote no final sample within " +
                               std::to_string(static_cast<int>(deadline - asked)) +
                               " ms of the stop request; it stops by itself once this arenalab "
                               "has exited");
    }
    ::unlink(stop_file.c_str());
  }
  lines.poll();
  out.samples = lines.samples();
  if (out.samples == 0)
    return make_error(who + ": the agent was loaded but wrote no sample to " + out.timeline_path);

  attach_file::Record r = session_record(o, out);
  r.level = o.level;
  r.cannot_tell = o.level == Level::kSample  ? kSampleLevelLimit
                  : o.level == Level::kCount ? kCountLevelLimit
                                             : kStatsLevelLimit;
  // The allocator the agent identified, from the header (one streamed pass, the samples not
  // kept: a day's timeline is not held in memory).
  (void)timeline::scan_timeline(
      out.timeline_path,
      [&](timeline::Header&& h) {
        r.allocator_backend = h.allocator.backend;
        r.allocator_library = h.allocator.library;
      },
      [](timeline::Sample&&) {});
  r.cgroup_note = "level stats samples inside the target (the books and RSS); no cgroup figures";
  const Injection& i = *out.injection;
  r.injection = attach_file::Injection{i.agent,
                                       i.tid,
                                       i.syscall,
                                       i.syscall_rax,
                                       static_cast<std::int64_t>(i.xstate_bytes),
                                       i.cpuid_xsave_max,
                                       i.stopped_ms,
                                       i.threads_tried,
                                       i.final_seen,
                                       i.detach_ms};
  if (auto st = attach_file::write_attach(out.record_path, r); !st) return st.error();
  return out;
}

}  // namespace

Status check_level(const Options& o) {
  if (o.level == Level::kSample && o.sample_bytes == 0)
    return make_error("level sample: --sample-bytes must be > 0");
  if (o.level != Level::kRss) return stats_preflight(o.pid, agent_path(o));
  return Ok{};
}

Result<Outcome> watch_pid(const Options& o) {
  auto target = inspect(o.pid);
  if (!target) return target.error();
  Outcome out;
  out.target = *target;
  const Target& t = out.target;
  const std::string who = "pid " + std::to_string(o.pid);
  // One fd of /proc/PID for the whole run: reads through it fail once that process is gone.
  const int proc_fd =
      ::open(("/proc/" + std::to_string(o.pid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) return make_error(who + " exited while being looked at");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{proc_fd};
  if (const Read st = read_at(proc_fd, "stat");
      !st.ok || !parse_stat(st.text) || parse_stat(st.text)->start_ticks != t.start_ticks)
    return make_error(who + " exited while being looked at");

  if (auto st = check_level(o); !st) return st.error();
  if (!o.level_note.empty()) out.warnings.push_back(o.level_note);
  out.out_dir = o.out_dir.empty() ? "arenalab-attach-" + std::to_string(o.pid) : o.out_dir;
  // Made, or an existing directory checked (a real directory, ours, not writable by others):
  // its files are written by path, so a link or another user's directory is refused.
  auto dir = OutputDir::open(out.out_dir, ExistingDir::kAccept);
  if (!dir) return dir.error();
  out.timeline_path = out.out_dir + "/timeline.jsonl";
  out.record_path = out.out_dir + "/attach.json";
  if (o.level != Level::kRss) {
    auto r = watch_stats(o, std::move(out), proc_fd);
    // A refusal met while injecting (another arenalab's agent already samples the process, no
    // thread at a safe point) leaves nothing behind: the directory made for this run, still
    // empty, goes with it.
    if (!r && dir->created() && dir->entries().empty()) ::rmdir(dir->path().c_str());
    return r;
  }
  // Written as it goes (a valid prefix at every flush: a killed arenalab leaves a readable
  // timeline); the record is written at the end, atomically.
  std::ofstream tl(out.timeline_path, std::ios::trunc);
  if (!tl) return make_error("cannot write " + out.timeline_path);
  timeline::Header h;
  h.schema = "arenalab.timeline/1";
  h.pid = o.pid;
  h.command = t.command;
  h.allocator = mapped_allocator(proc_fd);
  // Already under arenalab's interposer (arenalab run/watch started it): its own timeline has
  // the allocator's books or live bytes, which this level cannot see. Say where it is.
  if (const Read maps = read_at(proc_fd, "maps");
      maps.ok && maps.text.find("/libarenalab_preload") != std::string::npos) {
    std::string dir = "?";
    if (const Read env = read_at(proc_fd, "environ"); env.ok) {
      const std::string key = std::string(preload::protocol::kEnvOutDir) + "=";
      const auto at = env.text.find(key);
      if (at != std::string::npos && (at == 0 || env.text[at - 1] == '\0'))
        dir = env.text.substr(at + key.size(), env.text.find('\0', at) - at - key.size());
    }
    out.warnings.push_back(who +
                           " already runs under arenalab's interposer; its own timeline, "
                           "with the allocator's books, is in " +
                           dir);
  }
  h.mode = "rss";
  h.interval_ms = o.interval_ms;
  tl << timeline::header_line(h) << "\n" << std::flush;
  if (o.on_attached) o.on_attached(Level::kRss);
  if (!t.cgroup) out.warnings.push_back("no cgroup figures: " + t.cgroup_note);

  StopSignals stop;
  const double t0 = monotonic_ms();
  double next = t0;
  double last_sample_ms = t0;
  for (;;) {
    timeline::Sample s;
    if (!take_sample(proc_fd, t, t.cgroup, t.cgroup_version, &s)) {
      out.ended = Ended::kVanished;
      out.vanished_at_s = (monotonic_ms() - t0) / 1e3;
      out.vanished_utc = utc_now();
      break;
    }
    last_sample_ms = monotonic_ms();
    tl << timeline::sample_line(s) << "\n" << std::flush;
    ++out.samples;
    if (o.on_sample) o.on_sample(last_sample_ms - t0, out.timeline_path);
    next += o.interval_ms;
    if (o.duration_s > 0 && next - t0 > o.duration_s * 1e3 + 1e-6) {
      out.ended = Ended::kDuration;
      break;
    }
    // A late sample (a busy machine) is not caught up with a burst: the next one is a full
    // interval after it.
    if (next < last_sample_ms) next = last_sample_ms + o.interval_ms;
    sleep_until(next);
    if (g_stop_signal) {
      out.ended = Ended::kInterrupted;
      out.signal = static_cast<int>(g_stop_signal);
      break;
    }
  }
  out.attached_ms = last_sample_ms - t0;
  tl.close();

  attach_file::Record r = session_record(o, out);
  r.cannot_tell = kRssLevelLimit;
  r.allocator_backend = h.allocator.backend;
  r.allocator_library = h.allocator.library;
  r.cgroup_dir = t.cgroup;
  if (t.cgroup)
    r.cgroup_version = t.cgroup_version;
  else
    r.cgroup_note = t.cgroup_note;
  if (auto st = attach_file::write_attach(out.record_path, r); !st) return st.error();
  return out;
}

}  // namespace arenalab::attach
