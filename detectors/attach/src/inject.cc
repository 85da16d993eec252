// SPDX-License-Identifier: Apache-2.0
// Level stats's injection by ptrace alone (no gdb: docs/attach.md says why). One thread of the
// target is seized and interrupted at a safe point, its general registers and its whole XSAVE
// area (NT_X86_XSTATE, AMX included) are saved, dlopen(agent) and arenalab_agent_start() run
// on its stack below the red zone, each returning to address 0 (a SIGSEGV at rip 0 we catch
// and cancel), then every register is put back, an interrupted syscall restarts, and the
// thread is detached. Every ptrace call comes from the calling thread.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "attach_internal.h"
#include "inject.h"

namespace arenalab::attach::detail {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

void sleep_ms(double ms) {
  timespec ts{
      static_cast<time_t>(ms / 1e3),
      static_cast<long>((ms - static_cast<double>(static_cast<time_t>(ms / 1e3)) * 1e3) * 1e6)};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

struct Mapping {
  std::uint64_t start = 0, end = 0, offset = 0;
  std::string perms, path;
};

std::vector<Mapping> read_maps(pid_t pid) {
  std::vector<Mapping> out;
  const Read r = read_path("/proc/" + std::to_string(pid) + "/maps");
  if (!r.ok) return out;
  std::istringstream in(r.text);
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {};
    unsigned long long start = 0, end = 0, off = 0;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off,
                    &path_at) < 4)
      continue;
    m.start = start;
    m.end = end;
    m.offset = off;
    m.perms = perms;
    if (path_at > 0 && static_cast<std::size_t>(path_at) <= line.size())
      m.path = line.substr(path_at);
    out.push_back(std::move(m));
  }
  return out;
}

std::string base_name(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// glibc's own objects and the allocators': a thread stopped with its rip inside one of these
// may hold a lock (a malloc arena's, the loader's) that dlopen would then wait for forever.
bool unsafe_object(const std::string& path) {
  const std::string b = base_name(path);
  static const char* kPrefixes[] = {
      "libc.so",     "libc-",       "ld-linux",    "ld-",          "libpthread",       "libdl",
      "libjemalloc", "libtcmalloc", "libmimalloc", "libtbbmalloc", "libarenalab_agent"};
  for (const char* p : kPrefixes)
    if (b.rfind(p, 0) == 0) return true;
  return false;
}

// The path and load bias of the first object in `maps` whose base name passes `match`.
struct Module {
  std::string path;
  std::uint64_t start = 0;  // start of its mapping at file offset 0
};
std::optional<Module> find_module(const std::vector<Mapping>& maps,
                                  const std::function<bool(const std::string&)>& match) {
  for (const auto& m : maps)
    if (!m.path.empty() && m.path[0] == '/' && m.offset == 0 && match(m.path))
      return Module{m.path, m.start};
  return std::nullopt;
}

std::optional<Module> find_libc(const std::vector<Mapping>& maps) {
  return find_module(maps, [](const std::string& p) {
    const std::string b = base_name(p);
    return b.rfind("libc.so", 0) == 0 || (b.rfind("libc-", 0) == 0 && b.find(".so") != b.npos);
  });
}

Result<std::uint64_t> symbol_address(const Module& mod, const std::string& name) {
  if (mod.path.size() > 10 && mod.path.ends_with(" (deleted)"))
    return make_error(mod.path + " was replaced on disk since the target loaded it");
  auto s = elf_dynamic_symbol(mod.path, name);
  if (!s) return s.error();
  return mod.start - (s->first_load_vaddr & ~0xfffULL) + s->value;
}

bool has_cap_sys_ptrace() {
  const Read st = read_path("/proc/self/status");
  const auto at = st.text.find("\nCapEff:");
  if (at == std::string::npos) return false;
  const unsigned long long caps = std::strtoull(st.text.c_str() + at + 8, nullptr, 16);
  return (caps >> 19) & 1;  // CAP_SYS_PTRACE (linux/capability.h)
}

// Syscalls a thread sleeps in without holding a lock dlopen or malloc needs: the ones a
// service waits in. futex is not among them (a lock waiter may hold another lock), nor mmap,
// brk or madvise (malloc calls them holding an arena lock).
bool safe_syscall(long nr) {
  switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_pread64:
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
#endif
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_pause:
    case SYS_rt_sigsuspend:
    case SYS_rt_sigtimedwait:
    case SYS_accept:
    case SYS_accept4:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_recvmmsg:
    case SYS_wait4:
    case SYS_waitid:
    case SYS_msgrcv:
    case SYS_semtimedop:
    case SYS_io_getevents:
      return true;
    default:
      return false;
  }
}

// Blocks every blockable signal for the injection: a Ctrl-C that killed arenalab between
// "registers changed" and "registers restored" would leave the thread to run into address 0.
class BlockSignals {
 public:
  BlockSignals() {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old_);
  }
  ~BlockSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  BlockSignals(const BlockSignals&) = delete;
  BlockSignals& operator=(const BlockSignals&) = delete;

 private:
  sigset_t old_{};
};

#if defined(__x86_64__)

enum class StopResult { kStopped, kGone, kGroupStop, kTimeout };

// Waits for `tid` to stop (signal-delivery stops are passed on: the interrupt stays pending).
StopResult wait_stop(pid_t tid, double deadline_ms, int* status) {
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(tid, &st, __WALL | WNOHANG);
    if (r < 0) return StopResult::kGone;
    if (r == 0) {
      if (now_ms() > deadline_ms) return StopResult::kTimeout;
      sleep_ms(0.2);
      continue;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) return StopResult::kGone;
    if (!WIFSTOPPED(st)) continue;
    *status = st;
    return StopResult::kStopped;
  }
}

class Thread {
 public:
  explicit Thread(pid_t tid) : tid_(tid) {}
  ~Thread() { (void)release(); }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  pid_t tid() const { return tid_; }
  const user_regs_struct& regs() const { return saved_; }
  std::size_t xstate_bytes() const { return xlen_; }

  // PTRACE_SEIZE (no options: in particular no PTRACE_O_EXITKILL, so a killed arenalab never
  // takes the target with it), PTRACE_INTERRUPT, and the stop. Err: errno of the seize.
  StopResult stop(double deadline_ms, int* seize_errno) {
    *seize_errno = 0;
    if (::ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
      *seize_errno = errno;
      return errno == ESRCH ? StopResult::kGone : StopResult::kTimeout;
    }
    seized_ = true;
    if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return StopResult::kGone;
    for (;;) {
      int st = 0;
      const StopResult r = wait_stop(tid_, deadline_ms, &st);
      if (r == StopResult::kGone) seized_ = false;  // a dead tracee is no longer ours
      if (r != StopResult::kStopped) return r;
      const int event = st >> 16, sig = WSTOPSIG(st);
      if (event == PTRACE_EVENT_STOP) {
        stopped_ = true;
        if (sig == SIGTRAP) return StopResult::kStopped;
        return StopResult::kGroupStop;  // stopped by SIGSTOP & co: leave it to its stopper
      }
      // A signal arrived first: deliver it; the interrupt is still pending.
      ::ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
    }
  }

  bool read_regs(user_regs_struct* r) const {
    return ::ptrace(PTRACE_GETREGS, tid_, nullptr, r) == 0;
  }

  // Saves the general registers and the whole XSAVE area, sized by the kernel's answer: the
  // buffer starts at CPUID 0xD.0 ECX (every feature XCR0 can enable, AMX tile data included)
  // and grows while the kernel fills it to the brim.
  Status save() {
    if (!read_regs(&saved_)) return make_error("PTRACE_GETREGS: " + errno_text(errno));
    unsigned a = 0, b = 0, c = 0, d = 0;
    __cpuid_count(0xD, 0, a, b, c, d);
    cpuid_max_ = c;
    std::size_t size = std::max<std::size_t>(c, 4096);
    for (;;) {
      xstate_.assign(size, 0);
      iovec iov{xstate_.data(), xstate_.size()};
      if (::ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
        return make_error("PTRACE_GETREGSET NT_X86_XSTATE: " + errno_text(errno));
      if (iov.iov_len < xstate_.size()) {
        xlen_ = iov.iov_len;
        break;
      }
      if (size >= (1u << 20)) return make_error("NT_X86_XSTATE larger than 1 MiB");
      size *= 2;
    }
    saved_ok_ = true;
    return Ok{};
  }
  std::uint32_t cpuid_max() const { return cpuid_max_; }

  // Calls fn(args...) on the thread with its stack pointer at `sp` (where 0 is stored as the
  // return address) and returns rax. The call ends in a SIGSEGV at rip 0, which is cancelled.
  Result<std::uint64_t> call(std::uint64_t fn, std::initializer_list<std::uint64_t> args,
                             std::uint64_t sp, double timeout_ms) {
    user_regs_struct r = saved_;
    static constexpr unsigned long long user_regs_struct::*kArg[] = {
        &user_regs_struct::rdi, &user_regs_struct::rsi, &user_regs_struct::rdx,
        &user_regs_struct::rcx, &user_regs_struct::r8,  &user_regs_struct::r9};
    std::size_t i = 0;
    for (const std::uint64_t a : args) r.*kArg[i++] = a;
    r.rip = fn;
    r.rsp = sp;
    r.rax = 0;              // no vector registers used by a variadic call
    r.orig_rax = ~0ULL;     // -1: not in a syscall, so the kernel restarts nothing now
    r.eflags &= ~0x400ULL;  // the ABI's direction flag clear on entry
    if (::ptrace(PTRACE_SETREGS, tid_, nullptr, &r) != 0)
      return make_error("PTRACE_SETREGS: " + errno_text(errno));
    changed_ = true;
    if (::ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0)
      return make_error("PTRACE_CONT: " + errno_text(errno));
    stopped_ = false;
    const double deadline = now_ms() + timeout_ms;
    for (;;) {
      int st = 0;
      const StopResult w = wait_stop(tid_, deadline, &st);
      if (w == StopResult::kGone) {
        seized_ = false;
        return make_error("the thread died during the injected call");
      }
      if (w == StopResult::kTimeout) {
        ::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
        int s2 = 0;
        if (wait_stop(tid_, now_ms() + 5000, &s2) == StopResult::kStopped) stopped_ = true;
        return make_error("the injected call did not return within " +
                          std::to_string(static_cast<int>(timeout_ms / 1000)) + " s");
      }
      stopped_ = true;
      const int event = st >> 16, sig = WSTOPSIG(st);
      if (event == 0 && sig == SIGSEGV) {
        user_regs_struct out{};
        if (!read_regs(&out)) return make_error("PTRACE_GETREGS: " + errno_text(errno));
        if (out.rip == 0) return static_cast<std::uint64_t>(out.rax);
        return make_error("the injected call faulted at rip 0x" + hex(out.rip));
      }
      // Anything else (a signal for the target, a group stop) goes on as it would have.
      const long pass = event == 0 ? sig : 0;
      if (::ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void*>(pass)) != 0)
        return make_error("PTRACE_CONT: " + errno_text(errno));
      stopped_ = false;
    }
  }

  // Puts back the XSAVE area and the general registers, orig_rax, rax and rip included: a
  // thread stopped inside a sleeping syscall (rax -ERESTARTNOHAND etc.) then restarts it as
  // the kernel would have, and sees no EINTR. The calls the kernel never restarts after a stop
  // (epoll_wait, semtimedop, ...: signal(7)) come back with -EINTR, as under any ptrace attach
  // (docs/attach.md). Then detaches (the pending SIGSEGV of the injected call's return is
  // cancelled). Idempotent.
  Status release() {
    if (!seized_) return Ok{};
    std::string err;
    if (changed_ && saved_ok_ && stopped_) {
      iovec iov{xstate_.data(), xlen_};
      if (::ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
        err = "PTRACE_SETREGSET NT_X86_XSTATE: " + errno_text(errno);
      if (::ptrace(PTRACE_SETREGS, tid_, nullptr, &saved_) != 0)
        err += (err.empty() ? "" : "; ") + std::string("PTRACE_SETREGS: ") + errno_text(errno);
      changed_ = false;
    }
    if (stopped_ && ::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr) != 0 && err.empty())
      err = "PTRACE_DETACH: " + errno_text(errno);
    // Not stopped (a stop that never came): the kernel detaches when arenalab exits.
    seized_ = false;
    if (!err.empty()) return make_error(err);
    return Ok{};
  }

  static std::string hex(std::uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
    return b;
  }

 private:
  pid_t tid_;
  bool seized_ = false, stopped_ = false, changed_ = false, saved_ok_ = false;
  user_regs_struct saved_{};
  std::vector<std::uint8_t> xstate_;
  std::size_t xlen_ = 0;
  std::uint32_t cpuid_max_ = 0;
};

bool write_mem(pid_t pid, std::uint64_t addr, const void* data, std::size_t n) {
  iovec local{const_cast<void*>(data), n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  return ::process_vm_writev(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

std::string read_cstr(pid_t pid, std::uint64_t addr) {
  char buf[512] = {};
  iovec local{buf, sizeof buf - 1};
  iovec remote{reinterpret_cast<void*>(addr), sizeof buf - 1};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) <= 0) return "?";
  return buf;
}

std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> out{pid};
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const pid_t t = static_cast<pid_t>(std::atol(e->d_name));
      if (t > 0 && t != pid) out.push_back(t);
    }
    ::closedir(d);
  }
  return out;
}

#endif  // __x86_64__

}  // namespace

Status stats_preflight(pid_t pid, const std::string& agent_path) {
#if !defined(__x86_64__)
  (void)agent_path;
  return make_error("level stats injects on x86-64 only; use level rss (--mode rss)");
#else
  const std::string who = "pid " + std::to_string(pid);
  const bool cap = has_cap_sys_ptrace();
  if (const Read y = read_path("/proc/sys/kernel/yama/ptrace_scope"); y.ok) {
    const int scope = std::atoi(y.text.c_str());
    if (scope >= 3)
      return make_error(
          "kernel.yama.ptrace_scope is 3: ptrace is disabled on this machine, so "
          "nothing can be injected; level rss (--mode rss) still works");
    if (scope == 2 && !cap)
      return make_error(
          "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may attach; run as "
          "root, or use level rss (--mode rss)");
    if (scope == 1 && !cap)
      return make_error(
          "kernel.yama.ptrace_scope is 1: only the target's ancestors may attach "
          "to " +
          who +
          "; run as root (or with CAP_SYS_PTRACE), or use level rss "
          "(--mode rss)");
  }
  const std::string proc = "/proc/" + std::to_string(pid);
  const Read status = read_path(proc + "/status");
  if (!status.ok) return make_error(who + " does not exist");
  const auto f = kb_fields(status.text);
  if (auto t = f.find("TracerPid"); t != f.end() && t->second != 0)
    return make_error(who + " is already traced by pid " + std::to_string(t->second) +
                      " (a debugger?); nothing was injected");
  if (const auto s = status.text.find("\nState:"); s != std::string::npos) {
    const auto c = status.text.find_first_not_of(" \t", s + 7);
    if (c != std::string::npos && (status.text[c] == 'T' || status.text[c] == 't'))
      return make_error(who + " is stopped (state T); continue it first, nothing was injected");
  }
  if (const auto u = status.text.find("\nUid:"); u != std::string::npos && !cap) {
    std::istringstream in(status.text.substr(u + 5, status.text.find('\n', u + 1) - u - 5));
    unsigned long real = 0, eff = 0, saved = 0;
    in >> real >> eff >> saved;
    const unsigned long me = ::getuid();
    if (real != me || eff != me || saved != me)
      return make_error(who + " belongs to uid " + std::to_string(real) +
                        ": not ours to trace (ptrace needs the same uid or CAP_SYS_PTRACE)");
  }
  struct stat mine {
  }, theirs{};
  if (::stat("/proc/self/ns/mnt", &mine) != 0 || ::stat((proc + "/ns/mnt").c_str(), &theirs) != 0)
    return make_error(who + ": cannot read its mount namespace (" + proc + "/ns/mnt)");
  if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
    return make_error(who + " is in another mount namespace (a container): it would not see " +
                      agent_path + " nor the out dir; use level rss (--mode rss)");
  auto dynamic = elf_is_dynamic(proc + "/exe");
  if (!dynamic) return make_error(who + ": cannot read its executable: " + dynamic.error().message);
  const auto maps = read_maps(pid);
  if (!*dynamic || !find_libc(maps))
    return make_error(who +
                      " is statically linked: there is no loader in it to take an agent; "
                      "level rss only (--mode rss)");
  for (const auto& m : maps)
    if (base_name(m.path).rfind("libarenalab_preload", 0) == 0)
      return make_error(who +
                        " already runs under arenalab's interposer, whose own timeline has "
                        "the allocator's books (its ARENALAB_OUT_DIR); nothing was injected");
  if (auto a = symbol_address(*find_libc(maps), "dlopen"); !a)
    return make_error(who + ": no dlopen in its libc: " + a.error().message);
  if (::access(agent_path.c_str(), R_OK) != 0)
    return make_error("the agent " + agent_path +
                      " is missing (build target arenalab_agent, or set ARENALAB_LIB_DIR)");
  return Ok{};
#endif
}

Result<Injection> inject_agent(pid_t pid, const std::string& agent_path, const std::string& out_dir,
                               unsigned interval_ms, std::uint64_t t0_ns, int level,
                               std::uint64_t sample_bytes) {
#if !defined(__x86_64__)
  (void)pid, (void)agent_path, (void)out_dir, (void)interval_ms, (void)t0_ns, (void)level,
      (void)sample_bytes;
  return make_error("level stats injects on x86-64 only");
#else
  const std::string who = "pid " + std::to_string(pid);
  char real[PATH_MAX];
  if (!::realpath(agent_path.c_str(), real)) return make_error("cannot resolve " + agent_path);
  const std::string agent = real;
  auto maps = read_maps(pid);
  const auto libc = find_libc(maps);
  if (!libc) return make_error(who + ": no libc mapped");
  auto dlopen_at = symbol_address(*libc, "dlopen");
  auto dlerror_at = symbol_address(*libc, "dlerror");
  if (!dlopen_at || !dlerror_at)
    return make_error(who + ": " + (!dlopen_at ? dlopen_at : dlerror_at).error().message);

  BlockSignals block;
  Injection rep;
  rep.agent = agent;
  const double t_begin = now_ms();
  const double deadline = t_begin + 5000;  // for a thread at a safe point
  std::unique_ptr<Thread> th;
  int round = 0;
  while (!th) {
    for (const pid_t tid : threads_of(pid)) {
      auto t = std::make_unique<Thread>(tid);
      int seize_errno = 0;
      const StopResult r = t->stop(std::min(deadline, now_ms() + 2000), &seize_errno);
      if (seize_errno == EPERM)
        return make_error("ptrace(PTRACE_SEIZE) of " + who + ": " + errno_text(seize_errno) +
                          " (not ours to trace, or a security module forbids it); nothing was "
                          "injected");
      if (r == StopResult::kTimeout && seize_errno == 0)
        return make_error("thread " + std::to_string(tid) + " of " + who +
                          " did not stop within 2 s (uninterruptible sleep?); nothing was "
                          "injected");
      if (r != StopResult::kStopped) continue;
      user_regs_struct regs{};
      if (!t->read_regs(&regs)) continue;
      bool safe = false;
      const long nr = static_cast<long>(regs.orig_rax);
      if (nr >= 0) {
        safe = safe_syscall(nr);
      } else {
        for (const auto& m : maps)
          if (regs.rip >= m.start && regs.rip < m.end)
            safe = m.perms.find('x') != std::string::npos && !unsafe_object(m.path);
      }
      if (safe) {
        th = std::move(t);
        break;
      }
      ++rep.threads_tried;  // t's destructor detaches it untouched
    }
    if (th) break;
    if (now_ms() > deadline)
      return make_error("no thread of " + who + " reached a safe point within 5 s (" +
                        std::to_string(rep.threads_tried) +
                        " stops, each inside libc, the loader or the allocator); nothing was "
                        "injected");
    ++round;
    sleep_ms(std::min(50, 2 * round));
    maps = read_maps(pid);
  }
  rep.tid = th->tid();
  if (auto s = th->save(); !s) return make_error(who + ": " + s.error().message);
  rep.xstate_bytes = th->xstate_bytes();
  rep.cpuid_xsave_max = th->cpuid_max();
  const user_regs_struct& saved = th->regs();
  rep.syscall = static_cast<long>(saved.orig_rax);
  rep.syscall_rax = static_cast<long>(saved.rax);

  // The thread's stack below the red zone (128 bytes, SysV x86-64 ABI 3.2.2): the two strings,
  // then the call frame, 16-byte aligned before the return address is pushed.
  const std::uint64_t top = (saved.rsp - 128) & ~0xfULL;
  const std::uint64_t agent_str = (top - agent.size() - 1) & ~0xfULL;
  const std::uint64_t out_str = (agent_str - out_dir.size() - 1) & ~0xfULL;
  const std::uint64_t sp = ((out_str - 256) & ~0xfULL) - 8;
  const std::uint64_t zero = 0;
  if (!write_mem(pid, agent_str, agent.c_str(), agent.size() + 1) ||
      !write_mem(pid, out_str, out_dir.c_str(), out_dir.size() + 1) ||
      !write_mem(pid, sp, &zero, sizeof zero)) {
    const int e = errno;
    auto rel = th->release();
    return make_error(who + ": cannot write to the stack of thread " + std::to_string(rep.tid) +
                      ": " + errno_text(e) + (rel ? "; nothing was injected" : ""));
  }
  auto fail = [&](const std::string& what) -> Error {
    auto rel = th->release();
    return make_error(who + ": " + what +
                      (rel ? "; thread " + std::to_string(rep.tid) + "'s registers restored"
                           : "; restoring thread " + std::to_string(rep.tid) +
                                 " failed: " + rel.error().message));
  };
  constexpr double kCallMs = 30000;  // a dlopen on a loaded 2-core machine takes milliseconds
  auto handle = th->call(*dlopen_at, {agent_str, RTLD_NOW | RTLD_LOCAL}, sp, kCallMs);
  if (!handle) return fail("dlopen(" + agent + "): " + handle.error().message);
  if (*handle == 0) {
    std::string why = "?";
    if (!write_mem(pid, sp, &zero, sizeof zero)) return fail("dlopen failed");
    if (auto e = th->call(*dlerror_at, {}, sp, kCallMs); e && *e) why = read_cstr(pid, *e);
    return fail("dlopen(" + agent + ") failed in the target: " + why);
  }
  maps = read_maps(pid);
  const auto mod = find_module(maps, [&](const std::string& p) { return p == agent; });
  if (!mod) return fail("dlopen returned but " + agent + " is not in its maps");
  auto start_at = symbol_address(*mod, "arenalab_agent_start");
  if (!start_at) return fail(start_at.error().message);
  if (!write_mem(pid, sp, &zero, sizeof zero)) return fail("cannot write to the stack");
  auto rc = th->call(*start_at,
                     {out_str, interval_ms, t0_ns, static_cast<std::uint64_t>(::getpid()),
                      static_cast<std::uint64_t>(level), sample_bytes},
                     sp, kCallMs);
  if (!rc) return fail("arenalab_agent_start: " + rc.error().message);
  const int code = static_cast<int>(*rc & 0xffffffffULL);
  if (auto rel = th->release(); !rel)
    return make_error(who + ": restoring thread " + std::to_string(rep.tid) +
                      " failed: " + rel.error().message);
  rep.stopped_ms = now_ms() - t_begin;
  if (code == 1)
    return make_error(who + " " + kAgentBusy +
                      " (another arenalab attached at level stats); registers restored, nothing "
                      "started");
  if (code == 4) {
    const Read why = read_path(out_dir + "/agent.error");
    return make_error(who + ": the agent's hooks could not go in (" +
                      (why.ok ? why.text : std::string("no reason written")) +
                      "); registers restored, nothing patched");
  }
  if (code != 0)
    return make_error(who + ": arenalab_agent_start returned " + std::to_string(code) +
                      "; registers restored, nothing started");
  return rep;
#endif
}

}  // namespace arenalab::attach::detail
