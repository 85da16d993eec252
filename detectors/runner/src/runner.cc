// SPDX-License-Identifier: Apache-2.0
// run(): environment for the interposer (ARENALAB_* variables, LD_PRELOAD order), spawning and
// waiting (core/process.h), then run.json (arenalab.run/2, formats/run.h) from the exit status,
// rusage, the timeline header and what the preload library reported (warnings file).
#include "arenalab/runner/runner.h"

#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "arenalab/allocators/registry.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/preload/protocol.h"

namespace arenalab::runner {
namespace fs = std::filesystem;
namespace protocol = preload::protocol;

std::string preload_library_path(protocol::Mode mode) {
  return lib_dir() + "/" + protocol::preload_library(mode);
}

bool is_static_executable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return false;
  bool has_interp = false, has_dynamic = false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(
        static_cast<std::streamoff>(eh.e_phoff + static_cast<std::uint64_t>(i) * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) has_interp = true;
    if (ph.p_type == PT_DYNAMIC) has_dynamic = true;
  }
  // A static-pie has PT_DYNAMIC but no interpreter; a shared library has neither executable
  // entry nor interpreter, but is not run as a command.
  (void)has_dynamic;
  return !has_interp;
}

std::string secure_exec_reason(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  // A mount with nosuid runs the file with the caller's ids: no secure mode there.
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_NOSUID)) return "";
  // execve(2) switches the effective ids to the file's; ld.so runs in secure mode (AT_SECURE)
  // when they then differ from the real ids, and ignores LD_PRELOAD's unsafe entries.
  std::string why;
  if ((st.st_mode & S_ISUID) && st.st_uid != ::getuid()) {
    const passwd* pw = ::getpwuid(st.st_uid);
    why = "setuid " + (pw ? std::string(pw->pw_name) : "uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & S_ISGID) && st.st_gid != ::getgid()) {
    const group* gr = ::getgrgid(st.st_gid);
    why += (why.empty() ? "" : ", ") + std::string("setgid ") +
           (gr ? std::string(gr->gr_name) : "gid " + std::to_string(st.st_gid));
  }
  return why;
}

namespace {

// argv[0] looked up in PATH as execvp would.

// Files a previous run in the same directory left, which this run would otherwise mix in, and
// anything that could redirect a write: symlinks and temporary names. unlinkat removes a
// symlink itself, never its target.
void clear_previous(const OutputDir& dir) {
  for (const std::string& n : dir.entries()) {
    struct stat st {};
    const bool is_link =
        ::fstatat(dir.fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    const bool ours =
        n == "timeline.jsonl" || n == "run.json" || n == "allocs.bin" ||
        n == "preload-warnings.txt" ||
        (n.rfind("timeline.", 0) == 0 && n.size() > 6 && n.substr(n.size() - 6) == ".jsonl") ||
        (n.rfind("heap-sites.", 0) == 0 && n.size() > 6 && n.substr(n.size() - 6) == ".jsonl") ||
        ((n.rfind("heap.", 0) == 0 || n.rfind("jeprof.", 0) == 0 || n.rfind("mmap.", 0) == 0) &&
         n.size() > 5 && n.substr(n.size() - 5) == ".heap");
    const bool temporary = n.find(".tmp") != std::string::npos;
    if (ours || temporary || is_link) dir.remove(n);
  }
}

// The interval as the interposer parses it: digits and a point, never an exponent.
std::string interval_text(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  std::set<std::string> seen;
  while (std::getline(in, line))
    if (!line.empty() && seen.insert(line).second) out.push_back(line);
  return out;
}

// Ignores SIGINT/SIGQUIT in arenalab while the target runs (as system(3) does): a Ctrl-C
// reaches the target (same process group); arenalab stays to write run.json.
struct IgnoreInteractiveSignals {
  struct sigaction old_int {
  }, old_quit{};
  IgnoreInteractiveSignals() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
  }
  ~IgnoreInteractiveSignals() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
  }
};

}  // namespace

Result<RunResult> run(const RunOptions& o) {
  if (o.command.empty()) return make_error("no command given (arenalab run ... -- CMD ARGS)");
  if (!(o.interval_ms >= kMinIntervalMs && o.interval_ms <= kMaxIntervalMs))
    return make_error("--interval must be between 1 and 3600000 ms");
  if (o.sample_bytes == 0) return make_error("--sample-bytes must be > 0");

  const std::string cfg_path =
      o.allocators_file.empty() ? default_configurations_path() : o.allocators_file;
  auto configs = load_configurations(cfg_path);
  if (!configs) return configs.error();
  auto config = find_configuration(*configs, o.allocator);
  if (!config) return config.error();
  if (const auto why = config->unavailable_reason(); !why.empty())
    return make_error("configuration '" + config->name + "': " + why);
  const std::string preload = preload_library_path(o.mode);
  if (::access(preload.c_str(), R_OK) != 0)
    return make_error("interposer library " + preload +
                      " not found (build targets arenalab_preload, arenalab_preload_stats)");

  RunResult result;
  std::string out = o.out_dir.empty() ? "arenalab-run-" + std::to_string(::getpid()) : o.out_dir;
  // Checked (and made) before the target starts: a directory we cannot use is an error now,
  // not after the run.
  auto dir = OutputDir::open(out, o.out_existing);
  if (!dir) return dir.error();
  if (o.out_existing == ExistingDir::kAccept) clear_previous(*dir);
  std::error_code ec;
  out = dir->path();
  result.out_dir = out;
  result.timeline_path = out + "/timeline.jsonl";
  result.run_json_path = out + "/run.json";

  SpawnSpec spec;
  spec.argv = o.command;
  spec.set_env = configuration_environment(*config, preload);
  std::string malloc_conf;
  for (const auto& [k, v] : spec.set_env)
    if (k == "MALLOC_CONF") malloc_conf = v;
  auto set = [&](const std::string& k, const std::string& v) {
    auto it = std::find_if(spec.set_env.begin(), spec.set_env.end(),
                           [&](const auto& kv) { return kv.first == k; });
    if (it != spec.set_env.end())
      it->second = v;
    else
      spec.set_env.emplace_back(k, v);
  };
  set(protocol::kEnvOutDir, out);
  set(protocol::kEnvMode, protocol::mode_name(o.mode));
  set(protocol::kEnvIntervalMs, interval_text(o.interval_ms));
  set(protocol::kEnvSampleBytes, std::to_string(o.sample_bytes));
  set(protocol::kEnvAllocator, config->name);
  set(protocol::kEnvBackend, backend_name(config->backend));
  set(protocol::kEnvPid,
      protocol::kPidPlaceholder);  // claimed by the first process that loads the preload
  set(protocol::kEnvDumpEvery, std::to_string(std::max(0, o.heap_dump_every)));
  set(protocol::kEnvJeprofDumpEvery, std::to_string(std::max(0, o.jemalloc_prof_dump_every)));
  set(protocol::kEnvTraceChildren, o.trace_children ? "1" : "0");
  if (o.purge_at_end) set(protocol::kEnvPurgeAtEnd, "1");
  if (o.max_output > 0) set(protocol::kEnvMaxOutput, std::to_string(o.max_output));
  if (!o.thin_dumps) set(protocol::kEnvThinDumps, "0");
  for (const auto& [k, v] : o.extra_env) {
    if (k == "MALLOC_CONF" && !malloc_conf.empty()) {
      malloc_conf += "," + v;
      set(k, malloc_conf);
    } else {
      set(k, v);
    }
  }
  spec.child_setup = o.child_setup;
  spec.capture_stdout = o.capture_output;
  spec.capture_stderr = o.capture_output;

  const std::string program = find_program(o.command[0]);
  if (!program.empty() && is_static_executable(program))
    result.warnings.push_back("target bypassed the interposer: static binary (" + program + ")");
  if (const std::string why = program.empty() ? "" : secure_exec_reason(program); !why.empty())
    result.warnings.push_back(
        "setuid/setgid target: the interposer cannot load; stats from outside only (" +
        utf8_escaped(program) + " is " + why + ")");

  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  set(protocol::kEnvT0Ns, std::to_string(static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
                                         static_cast<std::uint64_t>(ts.tv_nsec)));
  // Made before the spawn: what exists then is none of the target's (DescendantWatch).
  std::optional<DescendantWatch> descendants;
  if (!o.trace_children) descendants.emplace();
  // Made before the spawn, so a signal that comes while the target starts is passed on too.
  std::optional<TerminationSignals> forward;
  if (o.stop.forward_signals) forward.emplace();
  auto child = spawn(spec);
  if (!child) return child.error();
  Result<ExitInfo> exit = make_error("not run");
  {
    // Not over a caller's TerminationSignals guard: the caller records the signals and acts on
    // them (matrix stops its running cell); ignoring them here would lose them.
    std::optional<IgnoreInteractiveSignals> ignore;
    if (!o.stop.forward_signals && !TerminationSignals::active()) ignore.emplace();
    const pid_t pid = child->pid();
    result.pid = pid;
    const double start = child->started_ms();
    // Child::wait wakes at once when the target exits (a pidfd; every 5 ms on kernels without
    // one), on a signal, and at a stop's deadline; besides those it need only wake when one of
    // the periodic jobs below is due: the caller's on_tick, the scan for children, the roll
    // check. A fixed 5 ms wake-up cost about 1 ms of CPU per second of the target's run.
    const double tick_ms = std::max(1, o.tick_ms);
    double last_tick = start;
    // Without --trace-children only the target is watched: note the processes it starts (every
    // 500 ms, from /proc), to name the ones that ran for a while unwatched. Each look reads the
    // known ones and those that may be new since the last (DescendantWatch), not every process.
    struct Seen {
      std::string comm;
      double first_ms = 0, last_ms = 0;
    };
    std::map<pid_t, Seen> children;
    double last_scan = start;
    // Rolling the timeline (RunOptions::roll_every_bytes): its size is looked at once a second.
    double last_roll_check = start;
    std::uint64_t roll_at = o.roll_every_bytes;
    bool roll_failed = false;
    std::function<void()> tick = [&] {
      const double now = monotonic_ms();
      if (!o.trace_children && now - last_scan >= 500) {
        last_scan = now;
        for (auto& c : descendants->scan(pid)) {
          auto [it, fresh] = children.try_emplace(c.pid);
          if (fresh) it->second.first_ms = now - start;
          // Its name now: a wrapper script (bash) may have exec'd into the program since.
          it->second.comm = std::move(c.comm);
          it->second.last_ms = now - start;
        }
      }
      if (o.roll_every_bytes > 0 && !roll_failed && now - last_roll_check >= 1000) {
        last_roll_check = now;
        struct stat st {};
        if (::lstat(result.timeline_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::uint64_t>(st.st_size) >= roll_at) {
          auto r = analysis::roll_timeline(result.timeline_path, o.roll);
          if (!r) {
            roll_failed = true;  // said once; the timeline grows on, whole
            result.warnings.push_back("timeline not rolled: " + r.error().message);
          } else {
            result.rolls += r->rolled;
            roll_at = (r->rolled ? r->bytes_after : static_cast<std::uint64_t>(st.st_size)) +
                      o.roll_every_bytes;
          }
        }
      }
      if (o.on_tick && now - last_tick >= tick_ms) {
        last_tick = now;
        o.on_tick(RunProgress{pid, now - start, result.timeline_path});
      }
    };
    int wake_ms = 1000;  // the roll check's period, and an upper bound
    if (o.on_tick) wake_ms = std::min(wake_ms, static_cast<int>(tick_ms));
    if (!o.trace_children) wake_ms = std::min(wake_ms, 500);
    exit = child->wait(tick, wake_ms, o.stop);
    // "Ran longer than a few samples": seen over at least 3 intervals (and one scan period).
    // A child still running when the target exited (a daemon: the parent forks and exits) ran
    // unwatched for as long as it lives on, not for the span seen: it is named so, whatever
    // that span.
    std::string unwatched;
    int named = 0, more = 0;
    for (const auto& [c, seen] : children) {
      const auto now = running_comm(c);
      const bool running = now && *now == seen.comm;
      if (!running && seen.last_ms - seen.first_ms < std::max(500.0, 3 * o.interval_ms)) continue;
      if (named++ >= 8) {
        ++more;
        continue;
      }
      std::string span = "still running when " + std::to_string(pid) + " exited, not watched";
      if (!running) {
        char s[32];
        std::snprintf(s, sizeof s, "%.1f s", (seen.last_ms - seen.first_ms) / 1000);
        span = s;
      }
      unwatched += (unwatched.empty() ? "" : ", ") + utf8_escaped(seen.comm) + " (pid " +
                   std::to_string(c) + ", " + span + ")";
    }
    if (more > 0) unwatched += " and " + std::to_string(more) + " more";
    if (!unwatched.empty())
      result.warnings.push_back("child processes ran unwatched: " + unwatched +
                                "; only the target is measured (--trace-children watches them)");
  }
  if (!exit) return exit.error();
  result.exit = *exit;

  // What the process said about itself.
  // Streamed (the header and a count): a week-long run's samples are never held whole.
  timeline::Header header;
  std::size_t samples = 0;
  auto tl = timeline::scan_timeline(
      result.timeline_path, [&](timeline::Header&& h) { header = std::move(h); },
      [&](timeline::Sample&& s) {
        // A rolled history counts the samples it stands for (below), not its lines.
        if (!s.after_purge && !(header.history && s.t_ms < header.history->until_ms)) ++samples;
      });
  if (tl && header.history) samples += static_cast<std::size_t>(header.history->samples);
  if (tl) {
    const auto& a = header.allocator;
    result.id.backend = a.backend;
    std::snprintf(result.id.library, sizeof result.id.library, "%s", a.library.c_str());
    std::snprintf(result.id.version, sizeof result.id.version, "%s", a.version.c_str());
    result.mismatch = verification_mismatch(*config, result.id);
    result.verified = result.mismatch.empty();
    result.samples = samples;
    if (!result.verified) result.warnings.push_back(result.mismatch);
  } else {
    result.mismatch = "no identification: " + tl.error().message;
    bool static_warned = false;  // already said why (static, setuid/setgid)
    for (const auto& w : result.warnings)
      static_warned |=
          w.find("static binary") != std::string::npos || w.rfind("setuid/setgid target", 0) == 0;
    if (!static_warned)
      result.warnings.push_back(
          "target bypassed the interposer: no timeline was written (a static binary, a setuid "
          "program, or the preload library was not loaded)");
  }
  for (const auto& w : read_lines(out + "/preload-warnings.txt")) result.warnings.push_back(w);

  for (const auto& e : fs::directory_iterator(out, ec))
    if (e.is_regular_file(ec)) result.files.push_back(e.path().filename().string());
  result.files.push_back("run.json");
  std::sort(result.files.begin(), result.files.end());

  RunRecord rec;
  rec.command = utf8_escaped(o.command);
  rec.mode = o.mode;
  rec.interval_ms = o.interval_ms;
  if (o.mode == protocol::Mode::kSample) rec.sample_bytes = o.sample_bytes;
  rec.configuration = config->name;
  rec.configured_backend = config->backend;
  rec.identified_backend = result.id.backend;
  rec.library = result.id.library;
  rec.version = result.id.version;
  rec.verified = result.verified;
  if (!result.verified) rec.mismatch = result.mismatch;
  rec.exit = exit_record(result.exit);
  rec.wall_ms = result.exit.wall_ms;
  rec.user_ms = result.exit.user_ms;
  rec.sys_ms = result.exit.sys_ms;
  rec.peak_rss_bytes = static_cast<double>(result.exit.max_rss_bytes);
  rec.minor_faults = static_cast<double>(result.exit.minor_faults);
  rec.major_faults = static_cast<double>(result.exit.major_faults);
  rec.timeline_samples = result.samples;
  rec.files = result.files;
  rec.warnings = result.warnings;
  if (const auto& s = result.exit.stop; s.stop_ms) {
    StopRecord stop;
    stop.at_ms = *s.stop_ms;
    stop.killed_after_grace = s.killed_after_grace;
    if (s.received_signal) stop.received = signal_name(*s.received_signal);
    if (s.duration_reached) stop.duration_ms = o.stop.duration_ms;
    if (s.sent_signal) stop.signal = signal_name(*s.sent_signal);
    rec.stop = stop;
  }
  // The target has run: a file we cannot write is a warning, never the loss of its status.
  if (auto st = dir->write_file("run.json", formats::document_text(run_to_json(rec))); !st) {
    result.warnings.push_back(st.error().message);
    result.run_json_path.clear();
  }
  return result;
}

Result<std::string> read_full_log_records(const std::string& path) {
  auto raw = read_file(path);  // a FIFO, device or directory: refused, never waited on
  if (!raw) {                  // "cannot read P: why" said as "cannot read full log P: why"
    std::string m = raw.error().message;
    if (m.rfind("cannot read ", 0) == 0) m.insert(12, "full log ");
    return make_error(m);
  }
  static const char kZstdMagic[4] = {'\x28', '\xb5', '\x2f', '\xfd'};
  if (raw->size() < 4 || std::memcmp(raw->data(), kZstdMagic, 4) != 0)  // an uncompressed log
    return std::move(*raw);
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return make_error(printable(path) + ": cannot make a zstd context");
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  {
    ZSTD_inBuffer zin{raw->data(), raw->size(), 0};
    while (zin.pos < zin.size) {
      ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
      const std::size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
      out.append(buf.data(), zout.pos);
      if (ZSTD_isError(r)) return out;  // damaged from here on: keep what came before
    }
  }
  // At the end, a frame cut short by a kill has given what its whole blocks held.
  for (;;) {
    ZSTD_inBuffer zin{nullptr, 0, 0};
    ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
    const std::size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
    out.append(buf.data(), zout.pos);
    if (ZSTD_isError(r) || zout.pos == 0) break;
  }
  return out;
}

namespace {

// The fixed-width records of ARENALAB-FULL/2.
Status decode_full_log_v2(const std::string& data, const std::string& path,
                          const std::function<void(const FullLogRecord&)>& fn) {
  std::size_t i = 16;
  auto get = [&](auto& v) {
    if (i + sizeof v > data.size()) return false;
    std::memcpy(&v, data.data() + i, sizeof v);
    i += sizeof v;
    return true;
  };
  FullLogRecord r;
  while (i < data.size()) {
    r.tag = data[i++];
    if (r.tag == 'S') {
      std::uint32_t depth = 0;
      if (!get(r.stack) || !get(depth) || i + depth * 8ULL > data.size()) break;  // cut
      r.frames.resize(depth);
      std::memcpy(r.frames.data(), data.data() + i, depth * 8ULL);
      i += depth * 8ULL;
    } else if (r.tag == 'A') {
      if (!get(r.ns) || !get(r.ptr) || !get(r.size) || !get(r.stack)) break;
    } else if (r.tag == 'F') {
      if (!get(r.ns) || !get(r.ptr)) break;
    } else if (r.tag == 'T') {
      if (!get(r.t_ms)) break;
    } else {
      return make_error(printable(path) + ": unknown record '" + printable(std::string(1, r.tag)) +
                        "' at byte " + std::to_string(i - 1));
    }
    fn(r);
  }
  return Ok{};
}

// ARENALAB-FULL/3: varints, deltas from the thread's previous record since its buffer's 'B'.
Status decode_full_log_v3(const std::string& data, const std::string& path,
                          const std::function<void(const FullLogRecord&)>& fn) {
  std::size_t i = 16;
  auto varint = [&](std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= data.size()) return false;
      const auto b = static_cast<unsigned char>(data[i++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;  // longer than 10 bytes: damaged
  };
  auto delta = [&](std::uint64_t& base) {  // a zigzag delta applied to base
    std::uint64_t z = 0;
    if (!varint(z)) return false;
    base += (z >> 1) ^ (~(z & 1) + 1);
    return true;
  };
  std::uint64_t ns = 0, ptr = 0, id = 0, depth = 0;
  FullLogRecord r;
  while (i < data.size()) {
    r.tag = data[i++];
    if (r.tag == 'B') {
      ns = ptr = 0;
      continue;
    }
    if (r.tag == 'S') {
      if (!varint(id) || !varint(depth) || id >= kFullLogNoStack || depth > data.size() - i) break;
      r.stack = static_cast<std::uint32_t>(id);
      r.frames.assign(depth, 0);
      std::uint64_t f = 0;
      bool whole = true;
      for (auto& frame : r.frames) {
        if (!(whole = delta(f))) break;
        frame = f;
      }
      if (!whole) break;
    } else if (r.tag == 'A') {
      if (!delta(ns) || !delta(ptr) || !varint(r.size) || !varint(id)) break;
      r.ns = ns;
      r.ptr = ptr;
      r.stack =
          id == 0 || id > kFullLogNoStack ? kFullLogNoStack : static_cast<std::uint32_t>(id - 1);
    } else if (r.tag == 'F') {
      if (!delta(ns) || !delta(ptr)) break;
      r.ns = ns;
      r.ptr = ptr;
    } else if (r.tag == 'T') {
      if (i + 8 > data.size()) break;
      std::memcpy(&r.t_ms, data.data() + i, 8);
      i += 8;
    } else {
      return make_error(printable(path) + ": unknown record '" + printable(std::string(1, r.tag)) +
                        "' at byte " + std::to_string(i - 1));
    }
    fn(r);
  }
  return Ok{};
}

// ARENALAB-FULL/4: each thread buffer is a 'C' record, the byte lengths of its six streams
// (stacks, tags, times, addresses, sizes, stack ids) then the streams; times and addresses are
// deltas from the buffer's previous event. A buffer cut short (a killed target) ends the log.
Status decode_full_log_v4(const std::string& data, const std::string& path,
                          const std::function<void(const FullLogRecord&)>& fn) {
  struct Cursor {
    const std::string* data;
    std::size_t i, end;
    bool varint(std::uint64_t& v) {
      v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (i >= end) return false;
        const auto b = static_cast<unsigned char>((*data)[i++]);
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
      }
      return false;  // longer than 10 bytes: damaged
    }
    bool delta(std::uint64_t& base) {  // a zigzag delta applied to base
      std::uint64_t z = 0;
      if (!varint(z)) return false;
      base += (z >> 1) ^ (~(z & 1) + 1);
      return true;
    }
  };
  enum { kStacks, kTags, kTimes, kAddrs, kSizes, kIds, kStreams };
  Cursor top{&data, 16, data.size()};
  FullLogRecord r;
  while (top.i < data.size()) {
    const char tag = data[top.i++];
    if (tag == 'T') {
      if (top.i + 8 > data.size()) break;
      r.tag = 'T';
      std::memcpy(&r.t_ms, data.data() + top.i, 8);
      top.i += 8;
      fn(r);
      continue;
    }
    if (tag != 'C')
      return make_error(printable(path) + ": unknown record '" + printable(std::string(1, tag)) +
                        "' at byte " + std::to_string(top.i - 1));
    Cursor s[kStreams];
    std::size_t at = 0;
    bool whole = true;
    std::uint64_t len[kStreams] = {};
    for (auto& n : len) whole = whole && top.varint(n);
    if (whole) {
      at = top.i;
      for (int k = 0; k < kStreams; ++k) {
        if (len[k] > data.size() - at) {
          whole = false;
          break;
        }
        s[k] = Cursor{&data, at, at + len[k]};
        at += len[k];
      }
    }
    if (!whole) break;  // cut
    top.i = at;
    std::uint64_t id = 0, depth = 0;
    while (s[kStacks].i < s[kStacks].end) {
      if (!s[kStacks].varint(id) || !s[kStacks].varint(depth) || id >= kFullLogNoStack ||
          depth > len[kStacks])
        return Ok{};  // damaged
      r.tag = 'S';
      r.stack = static_cast<std::uint32_t>(id);
      r.frames.assign(depth, 0);
      std::uint64_t f = 0;
      for (auto& frame : r.frames) {
        if (!s[kStacks].delta(f)) return Ok{};
        frame = f;
      }
      fn(r);
    }
    std::uint64_t ns = 0, ptr = 0;
    for (std::size_t e = s[kTags].i; e < s[kTags].end; ++e) {
      r.tag = data[e];
      if (r.tag != 'A' && r.tag != 'F')
        return make_error(printable(path) + ": unknown event '" + printable(std::string(1, r.tag)) +
                          "' at byte " + std::to_string(e));
      if (!s[kTimes].delta(ns) || !s[kAddrs].delta(ptr)) return Ok{};
      r.ns = ns;
      r.ptr = ptr;
      if (r.tag == 'A') {
        if (!s[kSizes].varint(r.size) || !s[kIds].varint(id)) return Ok{};
        r.stack =
            id == 0 || id > kFullLogNoStack ? kFullLogNoStack : static_cast<std::uint32_t>(id - 1);
      }
      fn(r);
    }
  }
  return Ok{};
}

}  // namespace

Status for_each_full_log_record(const std::string& data, const std::string& path,
                                const std::function<void(const FullLogRecord&)>& fn) {
  decltype(&decode_full_log_v4) decode = nullptr;
  if (data.compare(0, 16, "ARENALAB-FULL/4\n") == 0) decode = decode_full_log_v4;
  if (data.compare(0, 16, "ARENALAB-FULL/3\n") == 0) decode = decode_full_log_v3;
  if (data.compare(0, 16, "ARENALAB-FULL/2\n") == 0) decode = decode_full_log_v2;
  if (!decode)
    return make_error(printable(path) + ": not an arenalab full log (expected ARENALAB-FULL/4)");
  // Sizes a program can have been given: no allocator returns a block of more than PTRDIFF_MAX
  // (SIZE_MAX / 2) bytes (a difference of two pointers into it must fit; glibc, jemalloc and
  // mimalloc refuse such requests), so a larger size is a damaged log, refused here where every
  // reader's totals start. The allocations' sum bounds each total a reader keeps (live bytes,
  // signed in FullLogSummary; a site's bytes): held to PTRDIFF_MAX as well (2^63 bytes, 29
  // years of allocating at 10 GB/s), none of them wraps.
  constexpr std::uint64_t kMaxSize = PTRDIFF_MAX;
  std::uint64_t record = 0, allocated = 0;
  std::optional<Error> bad;
  Status st = decode(data, path, [&](const FullLogRecord& r) {
    if (bad) return;
    ++record;
    if (r.tag == 'A') {
      if (r.size > kMaxSize)
        bad = make_error(printable(path) + ": record " + std::to_string(record) + " allocates " +
                         std::to_string(r.size) +
                         " bytes, more than any allocation can be (PTRDIFF_MAX, " +
                         std::to_string(kMaxSize) + ")");
      else if (r.size > kMaxSize - allocated)
        bad = make_error(printable(path) + ": record " + std::to_string(record) +
                         " brings the allocations' sum past PTRDIFF_MAX bytes (a damaged log)");
      if (bad) return;
      allocated += r.size;
    }
    fn(r);
  });
  if (bad) return *bad;
  return st;
}

Result<FullLogSummary> read_full_log(const std::string& path) {
  auto records = read_full_log_records(path);
  if (!records) return records.error();
  FullLogSummary s;
  // Each thread's records are in order; threads' buffers interleave by when they were
  // written, so the events are put in time order (stable: a thread's own order is kept).
  struct Event {
    std::uint64_t ns, p, size;
    bool alloc;
  };
  std::vector<Event> events;
  Status st = for_each_full_log_record(*records, path, [&](const FullLogRecord& r) {
    if (r.tag == 'S')
      ++s.stacks;
    else if (r.tag == 'A')
      events.push_back({r.ns, r.ptr, r.size, true});
    else if (r.tag == 'F')
      events.push_back({r.ns, r.ptr, 0, false});
    else if (r.tag == 'T')
      s.last_t_ms = std::max(s.last_t_ms, static_cast<double>(r.t_ms));
  });
  if (!st) return st.error();
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.ns < b.ns; });
  std::unordered_map<std::uint64_t, std::uint64_t> live;
  for (const Event& e : events) {
    if (e.alloc) {
      ++s.allocs;
      s.allocated_bytes += e.size;
      live[e.p] = e.size;
    } else {
      ++s.frees;
      live.erase(e.p);
    }
  }
  for (const auto& [p, size] : live) s.live_bytes += static_cast<std::int64_t>(size);
  s.live_blocks = live.size();
  return s;
}

}  // namespace arenalab::runner
