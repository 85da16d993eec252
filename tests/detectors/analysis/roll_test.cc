// SPDX-License-Identifier: Apache-2.0
// Rolling a timeline in place (formats/timeline_roll.h, analysis::roll_timeline): the rolled
// file is a timeline every reader takes, made of the run's own lines; its recent window is
// whole; a later roll keeps the blocks it does not grow; the classifier decides on it as on the
// whole run (long synthetic series, the recorded corpus); a roll killed at any moment leaves a
// whole timeline; links are never followed; lines appended during a roll are neither lost nor
// doubled.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/timeline_roll.h"
#include "recorded_corpus.h"

namespace arenalab::analysis {
namespace {

namespace fs = std::filesystem;
namespace tl = arenalab::timeline;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/arenalab-roll-XXXXXX";
    path = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path.empty()) fs::remove_all(path);
  }
};

const char* kHeader =
    R"({"schema":"arenalab.timeline/1","pid":42,"command":["/usr/bin/service","-x"],)"
    R"("allocator":{"name":"glibc","backend":"glibc","library":"libc.so.6","version":"2.36",)"
    R"("verified":true},"mode":"count","interval_ms":100,"sample_bytes":524288})";

// A run's sample i of n at 100 ms: `shape` gives the live bytes at x = i / n; RSS follows with
// its own noise; the interposer's count-mode line.
using Shape = std::function<double(double)>;

std::string line_at(std::size_t i, std::size_t n, const Shape& shape, std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 1);
  const double x = static_cast<double>(i) / static_cast<double>(n);
  const double live = std::round(shape(x) + 2e5 * z(rng));
  const double rss = std::round(live + 3.2e7 + 2e5 * z(rng));
  char buf[256];
  std::snprintf(buf, sizeof buf,
                R"({"t_ms":%.3f,"rss":%.0f,"rss_anon":%.0f,"live_bytes":%.0f,"live_allocs":%.0f})",
                static_cast<double>(i) * 100 + 7, rss, rss - 4e6, live, std::round(live / 96));
  return buf;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Writes the header and samples [0, n) of a shape, rolling every `roll_every` samples as the
// runner would; the lines as written.
std::vector<std::string> write_rolled(const std::string& path, std::size_t n, const Shape& shape,
                                      std::size_t roll_every, const tl::RollOptions& ro,
                                      std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> all;
  { std::ofstream(path) << kHeader << "\n"; }
  for (std::size_t i = 0; i < n; ++i) {
    all.push_back(line_at(i, n, shape, rng));
    {
      std::ofstream out(path, std::ios::app);
      out << all.back() << "\n";
    }
    if (roll_every > 0 && (i + 1) % roll_every == 0) {
      auto r = roll_timeline(path, ro);
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
  }
  return all;
}

// Faster: all lines at once, then one roll.
std::vector<std::string> write_whole(const std::string& path, std::size_t n, const Shape& shape,
                                     std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> all;
  std::ofstream out(path);
  out << kHeader << "\n";
  for (std::size_t i = 0; i < n; ++i) {
    all.push_back(line_at(i, n, shape, rng));
    out << all.back() << "\n";
  }
  return all;
}

double t_of(const std::string& line) { return tl::parse_sample(line)->t_ms; }

// The rolled file against the lines the run wrote: a timeline; the header kept, with the
// history; every sample line one of the run's, byte for byte, in order; the first three and
// every line from history.until_ms on all there; the history counts what it stands for.
void expect_rolled_from(const std::string& path, const std::vector<std::string>& wrote) {
  auto t = tl::read_timeline(path);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_TRUE(t->header.history.has_value());
  const tl::History h = *t->header.history;
  EXPECT_EQ(t->header.pid, 42);
  EXPECT_EQ(t->header.command, (std::vector<std::string>{"/usr/bin/service", "-x"}));
  EXPECT_EQ(t->header.allocator.backend, formats::Backend::kGlibc);
  EXPECT_EQ(t->header.mode, "count");
  const auto lines = read_lines(path);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("sample_bytes":524288)"), std::string::npos) << lines[0];
  std::size_t j = 0, before = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    while (j < wrote.size() && wrote[j] != lines[i]) {
      ASSERT_FALSE(j < 3 || t_of(wrote[j]) >= h.until_ms) << "line dropped: " << wrote[j];
      ++j;
    }
    ASSERT_LT(j, wrote.size()) << "a line the run did not write, or out of order: " << lines[i];
    ++j;
  }
  for (; j < wrote.size(); ++j) ADD_FAILURE() << "line dropped at the end: " << wrote[j];
  for (const auto& w : wrote) before += t_of(w) < h.until_ms;
  EXPECT_EQ(h.samples, before);
  auto sig = read_signals(path);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->samples, wrote.size());
  EXPECT_EQ(sig->lines, lines.size() - 1);
}

TEST(RollTimeline, RoundTripKeepsTheRunsOwnLines) {
  TempDir d;
  const std::string path = d.path + "/timeline.jsonl";
  const std::size_t n = 40000;  // 4000 s
  const auto wrote = write_whole(path, n, [](double x) { return 5e8 + 5e7 * x; });
  tl::RollOptions o;
  o.recent_ms = 300e3;
  o.max_blocks = 64;
  auto r = roll_timeline(path, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->rolled) << r->why_not;
  EXPECT_LT(r->bytes_after, r->bytes_before / 3);
  EXPECT_EQ(r->lines_before, n);
  EXPECT_EQ(r->history.rolls, 1u);
  // The history's blocks: at most max_blocks, aligned to their length.
  EXPECT_LE((r->history.until_ms - 0) / r->history.block_ms, 64.0 + 1);
  EXPECT_EQ(std::fmod(r->history.until_ms, r->history.block_ms), 0.0);
  EXPECT_GE(r->history.until_ms, static_cast<double>(n) * 100 - 300e3 - r->history.block_ms);
  expect_rolled_from(path, wrote);
  // Nothing new: not rolled, the file untouched.
  const auto bytes = fs::file_size(path);
  auto again = roll_timeline(path, o);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->rolled);
  EXPECT_FALSE(again->why_not.empty());
  EXPECT_EQ(fs::file_size(path), bytes);
}

TEST(RollTimeline, ShortRunsAndOldTimelinesAreLeftAsTheyAre) {
  TempDir d;
  const std::string path = d.path + "/timeline.jsonl";
  write_whole(path, 3000, [](double) { return 5e8; });  // 300 s
  const auto bytes = fs::file_size(path);
  auto r = roll_timeline(path, {});  // the default recent window: an hour
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->rolled);
  EXPECT_EQ(fs::file_size(path), bytes);
  auto t = tl::read_timeline(path);  // and an unrolled file reads as before: no history
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->header.history.has_value());
  EXPECT_EQ(t->samples.size(), 3000u);
}

// Rolls as the run goes (the runner's way): the history stays bounded however long the run, a
// block left at its length is copied as it was, and every line is still the run's.
TEST(RollTimeline, RepeatedRollsStayBoundedAndKeepTheirBlocks) {
  TempDir d;
  const std::string path = d.path + "/timeline.jsonl";
  tl::RollOptions o;
  o.recent_ms = 60e3;
  o.max_blocks = 32;
  std::size_t max_lines = 0;
  std::mt19937_64 rng(3);
  std::vector<std::string> wrote;
  { std::ofstream(path) << kHeader << "\n"; }
  const std::size_t n = 120000;
  std::optional<tl::History> prev;
  std::vector<std::string> prev_history;
  for (std::size_t i = 0; i < n; ++i) {
    wrote.push_back(line_at(
        i, n, [](double x) { return 4e8 + 4e7 * std::sin(30 * x); }, rng));
    std::ofstream(path, std::ios::app) << wrote.back() << "\n";
    if ((i + 1) % 5000 != 0) continue;
    auto r = roll_timeline(path, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (!r->rolled) continue;
    const auto lines = read_lines(path);
    max_lines = std::max(max_lines, lines.size());
    // A block of the previous history at the same length: copied line for line.
    if (prev && prev->block_ms == r->history.block_ms) {
      std::vector<std::string> now;
      for (std::size_t k = 1; k < lines.size() && t_of(lines[k]) < prev->until_ms; ++k)
        now.push_back(lines[k]);
      EXPECT_EQ(now, prev_history) << "roll " << r->history.rolls;
    }
    prev = r->history;
    prev_history.clear();
    for (std::size_t k = 1; k < lines.size() && t_of(lines[k]) < r->history.until_ms; ++k)
      prev_history.push_back(lines[k]);
  }
  ASSERT_TRUE(prev.has_value());
  EXPECT_GE(prev->rolls, 10u);
  expect_rolled_from(path, wrote);
  // Bounded: the history's blocks of picks (at most 5 rows for each of 11 keys) plus the recent
  // window and what came since the last roll - not the run.
  EXPECT_LE(max_lines, 3 + (o.max_blocks + 1) * 55 + 600 + 5000 + 10);
  EXPECT_LT(max_lines, n / 4);
}

Classification classify_file(const std::string& path) {
  auto s = read_signals(path);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? classify(s->signals) : Classification{};
}

Signals full_signals(const std::vector<std::string>& wrote) {
  SignalThinner all(std::numeric_limits<std::size_t>::max() / 4);
  for (const auto& l : wrote) all.add(signal_row(*tl::parse_sample(l)));
  return all.signals();
}

// Long series of each class, rolled as they are written with the runner's default roll (an
// hour whole, 512 blocks), scaled to the run (its 1/168: an hour of a week): the verdict on
// the rolled file is the verdict on every sample.
TEST(RollTimeline, VerdictOnTheRolledFileIsTheFullSeriesVerdict) {
  const std::size_t n = 60000;  // 100 min at 100 ms
  struct Case {
    const char* name;
    Shape shape;
  };
  const auto frac = [](double x) { return x - std::floor(x); };
  const Case cases[] = {
      {"leak", [](double x) { return 5e8 + 6e7 * x; }},
      {"stable", [](double) { return 5e8; }},
      {"sawtooth", [=](double x) { return 2e8 + 1.5e8 * frac(12 * x); }},
      {"leak under sawtooth", [=](double x) { return 2e8 + 1.5e8 * frac(12 * x) + 1e8 * x; }},
      {"warm-up then flat", [](double x) { return 1e8 + 4e8 * std::min(1.0, x / 0.2); }},
  };
  tl::RollOptions o;
  o.recent_ms = static_cast<double>(n) * 100 / 168;
  o.min_block_ms = 100;
  TempDir d;
  int same = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = d.path + "/" + c.name + ".jsonl";
    const auto wrote = write_rolled(path, n, c.shape, n / 20, o, 5);  // 20 rolls as it runs
    const auto full = classify(full_signals(wrote));
    auto t = tl::read_timeline(path);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->header.history.has_value());
    EXPECT_LT(t->samples.size(), n / 3);
    const auto rolled = classify_file(path);
    EXPECT_EQ(verdict_name(rolled.verdict), verdict_name(full.verdict))
        << "full: " << full.reason << "\nrolled: " << rolled.reason;
    same += rolled.verdict == full.verdict;
  }
  std::printf("verdict on the rolled file = full series: %d of %zu\n", same, std::size(cases));
}

// The recorded corpus (real programs, minutes long): rolled with the recent window at a tenth
// of each run, blocks of one sample interval and up, and as many history blocks as the classifier
// makes of the whole window (Options::max_blocks, 40), so that each history block is no longer
// than a classifier block: the verdict is unchanged. A history coarser than the classifier's
// blocks loses what it reads (a documented limit, detectors/analysis/README.md "Rolled
// timelines"): measured on 2026-12-06, 16 history blocks change 1 of 137 verdicts (a 256 KiB/s
// leak on a 1.28 GiB fill whose interval is narrow), 24 and 32 change 2; 40 keep 23618 of 25763
// lines and change none. At the runner's 512 these short runs lose 3 lines, which proves nothing.
TEST(RollTimeline, RecordedCorpusVerdictsUnchanged) {
  const auto [files, skip] = recorded_corpus(ARENALAB_RECORDED_CORPUS);
  if (!skip.empty()) GTEST_SKIP() << skip;
  TempDir d;
  int rolled_files = 0, same = 0;
  std::size_t lines_before = 0, lines_after = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const std::string path = decompress(f, d.path);
    ASSERT_FALSE(path.empty());
    auto before = read_signals(path);
    ASSERT_TRUE(before.ok()) << before.error().message;
    if (before->lines < 10) continue;
    const auto a = classify(before->signals);
    const double t0 = before->signals.rss.t_ms.empty() ? 0 : before->signals.rss.t_ms.front();
    const double t1 = before->last ? before->last->t_ms : t0;
    tl::RollOptions o;
    o.recent_ms = (t1 - t0) / 10;
    o.min_block_ms = std::max(1.0, before->header.interval_ms);
    o.max_blocks = static_cast<std::size_t>(Options{}.max_blocks);
    auto r = roll_timeline(path, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (!r->rolled) continue;
    ++rolled_files;
    auto after = read_signals(path);
    ASSERT_TRUE(after.ok()) << after.error().message;
    lines_before += before->lines, lines_after += after->lines;
    EXPECT_EQ(after->samples, before->samples);
    const auto b = classify(after->signals);
    EXPECT_EQ(verdict_name(b.verdict), verdict_name(a.verdict))
        << "whole: " << a.reason << "\nrolled: " << b.reason;
    same += a.verdict == b.verdict;
    fs::remove(path);
  }
  std::printf("recorded corpus: %d files rolled (%zu lines -> %zu), verdict unchanged on %d\n",
              rolled_files, lines_before, lines_after, same);
  EXPECT_GT(rolled_files, 0);
}

// A roll killed at any moment leaves a whole timeline under the name (the old one or the new
// one) and at most its temporary file, which the next roll removes.
TEST(RollTimeline, KilledMidRollLeavesAWholeTimeline) {
  TempDir d;
  const std::string path = d.path + "/timeline.jsonl";
  const auto wrote = write_whole(path, 200000, [](double x) { return 5e8 + 5e7 * x; });
  tl::RollOptions o;
  o.recent_ms = 600e3;
  o.max_blocks = 256;
  // How long one roll of the whole file takes here: the kills spread over twice that.
  const std::string copy = d.path + "/copy.jsonl";
  fs::copy_file(path, copy);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(roll_timeline(copy, o).ok());
  const auto roll_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  fs::remove(copy);
  std::mt19937_64 rng(9);
  int killed_with_temp = 0, rolled_before_kill = 0;
  for (int round = 0; round < 16; ++round) {
    write_whole(path, 200000, [](double x) { return 5e8 + 5e7 * x; });  // unrolled again
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      (void)roll_timeline(path, o);  // one roll, killed somewhere in it or after it
      ::pause();
      _exit(0);
    }
    ::usleep(static_cast<useconds_t>(
        std::uniform_int_distribution<long>(100, std::max<long>(200, 2 * roll_us))(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::size_t temps = 0;
    for (const auto& e : fs::directory_iterator(d.path))
      temps += e.path().filename().string().rfind("timeline.jsonl.roll.", 0) == 0;
    killed_with_temp += temps > 0;
    auto t = tl::read_timeline(path);
    ASSERT_TRUE(t.ok()) << "round " << round << ": " << t.error().message;
    rolled_before_kill += t->header.history.has_value();
    EXPECT_FALSE(t->truncated);
    auto sig = read_signals(path);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(sig->samples, wrote.size()) << "round " << round;
    EXPECT_EQ(t->samples.back().t_ms, t_of(wrote.back()));
  }
  // The next roll removes what a killed one left.
  (void)roll_timeline(path, o);
  for (const auto& e : fs::directory_iterator(d.path))
    EXPECT_NE(e.path().filename().string().rfind("timeline.jsonl.roll.", 0), 0u) << e.path();
  std::printf("one roll: %.0f ms; of 16 kills, %d left the rolled file and %d a temporary file\n",
              static_cast<double>(roll_us) / 1e3, rolled_before_kill, killed_with_temp);
  // Both ends were reached: kills before the swap and after it.
  EXPECT_GT(rolled_before_kill, 0);
  EXPECT_LT(rolled_before_kill, 16);
}

// Links are never followed: a symlink under the name, a file with a second link, and a link
// planted under a temporary's name.
TEST(RollTimeline, NeverFollowsLinks) {
  TempDir d;
  const std::string other = d.path + "/other.jsonl";
  write_whole(other, 40000, [](double) { return 5e8; });
  const auto bytes = fs::file_size(other);
  tl::RollOptions o;
  o.recent_ms = 60e3;
  fs::create_symlink(other, d.path + "/timeline.jsonl");
  auto r = roll_timeline(d.path + "/timeline.jsonl", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos) << r.error().message;
  EXPECT_EQ(fs::file_size(other), bytes);
  fs::remove(d.path + "/timeline.jsonl");
  fs::create_hard_link(other, d.path + "/timeline.jsonl");
  r = roll_timeline(d.path + "/timeline.jsonl", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("one link"), std::string::npos) << r.error().message;
  EXPECT_EQ(fs::file_size(other), bytes);
  fs::remove(d.path + "/timeline.jsonl");
  // A link under the name of a killed roll's temporary: removed itself, its target untouched.
  fs::copy_file(other, d.path + "/timeline.jsonl");
  const std::string planted = d.path + "/timeline.jsonl.roll.0123456789abcdef";
  fs::create_symlink(other, planted);
  r = roll_timeline(d.path + "/timeline.jsonl", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->rolled);
  EXPECT_FALSE(fs::exists(fs::symlink_status(planted)));
  EXPECT_EQ(fs::file_size(other), bytes);
}

// The append protocol of the interposer (timeline_writer.cc: open by name with O_APPEND, a
// shared flock it only tries, the file under the name checked to be the one locked, a line
// that finds the lock held kept for the next append) against rolls as fast as they go: every
// line appended is in the file once, in order, or was thinned into the history.
TEST(RollTimeline, LinesAppendedDuringRollsAreNeitherLostNorDoubled) {
  TempDir d;
  const std::string path = d.path + "/timeline.jsonl";
  { std::ofstream(path) << kHeader << "\n"; }
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> written{0};
  std::vector<std::string> wrote;
  std::thread writer([&] {
    std::mt19937_64 rng(4);
    std::string pending;
    const std::size_t n = 60000;
    for (std::size_t i = 0; i < n; ++i) {
      wrote.push_back(line_at(
                          i, n, [](double x) { return 5e8 + 5e7 * x; }, rng) +
                      "\n");
      for (int attempt = 0;; ++attempt) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
          ::close(fd);
          pending += wrote.back();  // the next append takes it
          break;
        }
        struct stat a {
        }, b{};
        ::fstat(fd, &a);
        if (::stat(path.c_str(), &b) != 0 || a.st_ino != b.st_ino) {
          ::close(fd);  // a roll swapped its file in between the open and the lock
          continue;
        }
        const std::string out = pending + wrote.back();
        ASSERT_EQ(::write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
        pending.clear();
        ::close(fd);
        break;
      }
      written = i + 1;
    }
    while (!pending.empty()) {  // the last lines, once the rolls stopped
      if (!stop) continue;
      std::ofstream(path, std::ios::app) << pending;
      pending.clear();
    }
  });
  tl::RollOptions o;
  o.recent_ms = 200e3;  // 2000 samples
  o.max_blocks = 32;
  int rolls = 0;
  while (written < 60000) {
    auto r = roll_timeline(path, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    rolls += r->rolled;
  }
  stop = true;
  writer.join();
  for (auto& w : wrote) w.pop_back();
  EXPECT_GT(rolls, 5);
  expect_rolled_from(path, wrote);
  std::printf("rolls while appending: %d\n", rolls);
}

}  // namespace
}  // namespace arenalab::analysis
