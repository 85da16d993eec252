// SPDX-License-Identifier: Apache-2.0
// LivePace: when a live classification comes (watch CMD, watch --pid, the --metrics exporter).
#pragma once

#include <time.h>

#include <algorithm>

namespace arenalab {

// When the live lines come (issue 25: watch's own CPU under 1 % of a core however long it runs).
// A line costs its classification: a few ms on LiveSignals' bounded rows, but about 100 ms for
// each signal whose rise after an onset goes to the knee selection's bootstrap (README of
// detectors/analysis, "The knee's selection"; bm_scale --only knee), ~0.5 s a line when
// rss, live bytes and allocated all do - 16 % of a core at one line every 3 s. So a line that
// spent c ms of CPU is followed by the next no sooner than c / kShare ms after it began: the
// lines' CPU is at most kShare of a core whatever a classification costs, and a cheap line
// changes nothing (every_ms apart, as asked). kShare is half the goal; the rest is the
// runner's sampling and reading (0.21 % of a core for the whole of watch on a steady target).
class LivePace {
 public:
  static constexpr double kShare = 0.005;
  explicit LivePace(double every_ms) : every_ms_(every_ms), next_ms_(every_ms) {}
  bool due(double elapsed_ms) const { return elapsed_ms >= next_ms_; }
  // A due line's work, timed from its construction to the end of its scope (every return):
  //   if (!pace.due(t)) return;
  //   { LivePace::Line line(pace, t); ... classify ... }
  class Line {
   public:
    Line(LivePace& pace, double elapsed_ms) : pace_(pace) { pace_.begin(elapsed_ms); }
    ~Line() { pace_.end(); }
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;

   private:
    LivePace& pace_;
  };

 private:
  void begin(double elapsed_ms) {
    next_ms_ += every_ms_;
    began_ms_ = elapsed_ms;
    cpu0_ms_ = thread_cpu_ms();
  }
  void end() { next_ms_ = std::max(next_ms_, began_ms_ + (thread_cpu_ms() - cpu0_ms_) / kShare); }
  static double thread_cpu_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }
  double every_ms_, next_ms_;
  double began_ms_ = 0, cpu0_ms_ = 0;
};

}  // namespace arenalab
