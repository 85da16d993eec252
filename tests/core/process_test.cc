// SPDX-License-Identifier: Apache-2.0
// Process spawning: exit codes, signals, captured output, environment, missing programs.
#include <gtest/gtest.h>

#include <csignal>

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

}  // namespace
}  // namespace arenalab
