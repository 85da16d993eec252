// SPDX-License-Identifier: Apache-2.0
// Process spawning: exit codes, signals, captured output, environment, missing programs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include "arenalab/core/process.h"

namespace arenalab {
namespace {

TEST(Process, ReportsExitCodeAndCapturesOutput) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"};
  spec.capture_stdout = spec.capture_stderr = true;
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->exit_code.has_value());
  EXPECT_EQ(*r->exit_code, 7);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->shell_status(), 7);
}

TEST(Process, ReportsTheSignalThatEndedIt) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "kill -9 $$"};
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->signal.has_value());
  EXPECT_EQ(*r->signal, SIGKILL);
  EXPECT_EQ(r->shell_status(), 137);
  EXPECT_EQ(r->describe(), "killed by SIGKILL");
}

// Killed between fork and exec (as by a memory limit the child joined): told apart from a
// program killed once it ran, by the kernel's PF_FORKNOEXEC.
TEST(Process, TellsAChildKilledBeforeExecFromAProgramKilledRunning) {
  SpawnSpec before;
  before.argv = {"sh", "-c", "exit 0"};
  before.child_setup = [] {
    ::raise(SIGKILL);
    return true;
  };
  auto b = run_process(before);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->signal.value_or(0), SIGKILL);
  EXPECT_TRUE(b->before_exec);
  SpawnSpec running;
  running.argv = {"sh", "-c", "kill -9 $$"};
  auto r = run_process(running);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signal.value_or(0), SIGKILL);
  EXPECT_FALSE(r->before_exec);
  running.argv = {"true"};
  auto t = run_process(running);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->before_exec);
}

TEST(Process, SetsAndUnsetsEnvironment) {
  setenv("ARENALAB_TEST_UNSET_ME", "x", 1);
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo \"$ARENALAB_TEST_VAR:${ARENALAB_TEST_UNSET_ME:-gone}\""};
  spec.set_env = {{"ARENALAB_TEST_VAR", "hello"}};
  spec.unset_env = {"ARENALAB_TEST_UNSET_ME"};
  spec.capture_stdout = true;
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello:gone\n");
}

TEST(Process, MissingProgramIsAnErrorNamingIt) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/arenalab-no-such-program"};
  auto r = spawn(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("arenalab-no-such-program"), std::string::npos);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos);
}

TEST(Process, MeasuresPeakRssOfTheChild) {
  SpawnSpec spec;
  // python3 is on every machine this runs on; 64 MiB of bytes touched.
  spec.argv = {"python3", "-c",
               "b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1"};
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->max_rss_bytes, 64ull << 20);
  EXPECT_GT(r->wall_ms, 0);
}

TEST(Process, TickCallbackRunsWhileTheChildLives) {
  SpawnSpec spec;
  spec.argv = {"sleep", "0.5"};
  int ticks = 0;
  auto r = run_process(
      spec, [&] { ++ticks; }, 50);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(ticks, 3);
}

// --duration: the stop signal after the time, the status it ended with, no SIGKILL needed.
TEST(Process, DurationSendsTheStopSignal) {
  SpawnSpec spec;
  spec.argv = {"sleep", "30"};
  auto child = spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  StopPolicy stop;
  stop.duration_ms = 300;
  stop.stop_signal = SIGTERM;
  auto r = child->wait({}, 50, stop);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signal.value_or(0), SIGTERM);
  EXPECT_TRUE(r->stop.duration_reached);
  EXPECT_FALSE(r->stop.killed_after_grace);
  EXPECT_LT(r->wall_ms, 5000);
}

// A target that ignores the stop signal is SIGKILLed after the grace period, with what it
// started.
TEST(Process, GraceThenSigkillForTheWholeTree) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "trap '' INT; sleep 30 & wait"};
  auto child = spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  StopPolicy stop;
  stop.duration_ms = 200;
  stop.grace_ms = 300;
  auto r = child->wait({}, 50, stop);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signal.value_or(0), SIGKILL);
  EXPECT_TRUE(r->stop.killed_after_grace);
  EXPECT_LT(r->wall_ms, 5000);
}

// A signal to arenalab while a guard lives is recorded and passed on to the target.
TEST(Process, TerminationSignalsArePassedOn) {
  TerminationSignals guard;
  SpawnSpec spec;
  spec.argv = {"sleep", "30"};
  auto child = spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  StopPolicy stop;
  stop.forward_signals = true;
  int ticks = 0;
  auto r = child->wait(
      [&] {
        if (++ticks == 2) ::raise(SIGTERM);  // we survive it: the guard records it
      },
      20, stop);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signal.value_or(0), SIGTERM);
  EXPECT_EQ(r->stop.received_signal.value_or(0), SIGTERM);
  EXPECT_EQ(TerminationSignals::first(), SIGTERM);
}

TEST(Process, ParseSignalNames) {
  EXPECT_EQ(parse_signal("INT"), SIGINT);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("1"), SIGHUP);
  EXPECT_EQ(parse_signal("SIGSEGV"), 0);
  EXPECT_EQ(parse_signal(""), 0);
  EXPECT_EQ(signal_name(SIGQUIT), "SIGQUIT");
}

// A process that starts others on command, for DescendantWatch: each byte written to it makes it
// fork; it answers with the pids it made. 'c': a child that waits; 'g': a child that forks a
// grandchild, both wait; 'e': a child that execs `sleep 30` (its name changes); 'k': kills its
// last 'g' child (the grandchild is orphaned: adopted outside the tree).
class Forker {
 public:
  Forker() {
    int cmd[2], ans[2];
    if (::pipe(cmd) != 0 || ::pipe(ans) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(cmd[1]);
      ::close(ans[0]);
      serve(cmd[0], ans[1]);
    }
    ::close(cmd[0]);
    ::close(ans[1]);
    cmd_ = cmd[1];
    ans_ = ans[0];
  }
  ~Forker() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);  // its own process group: the tree and the orphans
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(cmd_);
    ::close(ans_);
  }
  pid_t pid() const { return pid_; }
  // The pids the command made (a 'g' makes two: the child, then the grandchild).
  std::vector<pid_t> ask(char c) {
    if (::write(cmd_, &c, 1) != 1) return {};
    pid_t p[2] = {0, 0};
    const int n = c == 'g' ? 2 : c == 'k' ? 0 : 1;
    for (int i = 0; i < n; ++i)
      if (::read(ans_, &p[i], sizeof p[i]) != sizeof p[i]) return {};
    if (c == 'k') {  // answered once the child is reaped
      pid_t done = 0;
      if (::read(ans_, &done, sizeof done) != sizeof done) return {};
    }
    return {p, p + n};
  }

 private:
  [[noreturn]] static void serve(int in, int out) {
    ::setpgid(0, 0);
    pid_t last_g = 0;
    char c = 0;
    while (::read(in, &c, 1) == 1) {
      if (c == 'k') {
        ::kill(last_g, SIGKILL);
        ::waitpid(last_g, nullptr, 0);
        const pid_t done = last_g;
        (void)!::write(out, &done, sizeof done);
        continue;
      }
      int sync[2];
      if (::pipe(sync) != 0) ::_exit(1);
      const pid_t child = ::fork();
      if (child == 0) {
        ::close(sync[0]);
        if (c == 'e') {
          ::close(sync[1]);
          ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
          ::_exit(127);
        }
        if (c == 'g') {
          const pid_t grandchild = ::fork();
          if (grandchild == 0) {
            ::pause();
            ::_exit(0);
          }
          (void)!::write(sync[1], &grandchild, sizeof grandchild);
        }
        ::close(sync[1]);
        ::pause();
        ::_exit(0);
      }
      ::close(sync[1]);
      (void)!::write(out, &child, sizeof child);
      if (c == 'g') {
        pid_t grandchild = 0;
        (void)!::read(sync[0], &grandchild, sizeof grandchild);
        (void)!::write(out, &grandchild, sizeof grandchild);
        last_g = child;
      }
      ::close(sync[0]);
    }
    ::_exit(0);
  }
  pid_t pid_ = -1;
  int cmd_ = -1, ans_ = -1;
};

std::set<pid_t> pids_of(const std::vector<DescendantWatch::Process>& ps) {
  std::set<pid_t> out;
  for (const auto& p : ps) out.insert(p.pid);
  return out;
}

const DescendantWatch::Process* find(const std::vector<DescendantWatch::Process>& ps, pid_t pid) {
  for (const auto& p : ps)
    if (p.pid == pid) return &p;
  return nullptr;
}

// Waits until a process's name is `comm` (an exec takes a moment after the fork returned).
bool named(pid_t pid, const std::string& comm) {
  for (int i = 0; i < 200; ++i) {
    FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/comm").c_str(), "r");
    char buf[64] = {};
    if (f) {
      const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
      std::fclose(f);
      if (got && std::string(buf) == comm + "\n") return true;
    }
    ::usleep(10000);
  }
  return false;
}

// DescendantWatch follows the tree as it changes (children, grandchildren, an exec, an orphan
// adopted elsewhere) and finds what a pass over every /proc/N/stat finds, while reading the
// stat of the processes that may be new only.
TEST(DescendantWatch, FollowsTheTreeReadingOnlyWhatMayBeNew) {
  DescendantWatch w;  // made before the root starts, as the runner does
  Forker f;
  ASSERT_GT(f.pid(), 0);
  EXPECT_TRUE(w.scan(f.pid()).empty());
  // Incremental where /proc/loadavg and /proc/stat say what it needs (every Linux since 2.6
  // in its own pid namespace), from the first look on; a /proc of another namespace reads every
  // process each time.
  const bool incremental = !w.last_was_full();

  const auto c = f.ask('c');
  ASSERT_EQ(c.size(), 1u);
  auto s = w.scan(f.pid());
  EXPECT_EQ(pids_of(s), std::set<pid_t>({c[0]}));
  ASSERT_NE(find(s, c[0]), nullptr);
  EXPECT_EQ(find(s, c[0])->ppid, f.pid());
  EXPECT_EQ(w.last_was_full(), !incremental);
  if (incremental) {
    std::size_t listed = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc"))
      listed += std::isdigit(static_cast<unsigned char>(e.path().filename().string()[0])) != 0;
    // The known child and what was forked since on the whole machine, far fewer than all.
    EXPECT_LT(w.last_reads(), listed) << "read every process: " << w.last_reads();
  }

  const auto g = f.ask('g');
  ASSERT_EQ(g.size(), 2u);
  const auto e = f.ask('e');
  ASSERT_EQ(e.size(), 1u);
  ASSERT_TRUE(named(e[0], "sleep"));
  s = w.scan(f.pid());
  EXPECT_EQ(w.last_was_full(), !incremental);
  EXPECT_EQ(pids_of(s), std::set<pid_t>({c[0], g[0], g[1], e[0]}));
  ASSERT_NE(find(s, g[1]), nullptr);
  EXPECT_EQ(find(s, g[1])->ppid, g[0]);
  EXPECT_EQ(find(s, e[0])->comm, "sleep");
  // Parents first.
  const auto at = [&](pid_t p) {
    return std::find_if(s.begin(), s.end(), [&](const auto& x) { return x.pid == p; });
  };
  EXPECT_LT(at(g[0]), at(g[1]));
  // What a pass over all of /proc finds.
  const auto all = process_descendants(f.pid());
  EXPECT_EQ(pids_of(s), std::set<pid_t>(all.begin(), all.end()));

  // The grandchild's parent ends: it is adopted by a subreaper or init, out of the tree.
  ASSERT_TRUE(f.ask('k').empty());
  s = w.scan(f.pid());
  EXPECT_EQ(w.last_was_full(), !incremental);
  EXPECT_EQ(pids_of(s), std::set<pid_t>({c[0], e[0]}));
  const auto after = process_descendants(f.pid());
  EXPECT_EQ(pids_of(s), std::set<pid_t>(after.begin(), after.end()));
}

}  // namespace
}  // namespace arenalab
