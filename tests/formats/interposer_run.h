// SPDX-License-Identifier: Apache-2.0
// What the tests that pin the interposer's hand-written files to the formats readers share: a
// real workload run under `arenalab run`, into a temporary directory removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"

namespace arenalab::tests {

class InterposerRun {
 public:
  // `target`: a program in bin_dir(), e.g. "wl_touch".
  explicit InterposerRun(const std::string& target)
      : arenalab_(bin_dir() + "/arenalab"), target_(bin_dir() + "/" + target) {
    char tmpl[] = "/tmp/arenalab-interposer-run-XXXXXX";
    if (::mkdtemp(tmpl)) top_ = tmpl;
  }
  ~InterposerRun() {
    if (!top_.empty()) std::system(("rm -rf '" + top_ + "'").c_str());
  }
  InterposerRun(const InterposerRun&) = delete;
  InterposerRun& operator=(const InterposerRun&) = delete;

  // Empty when arenalab and the target are built; else what the test skips for.
  std::string missing() const {
    if (::access(arenalab_.c_str(), X_OK) == 0 && ::access(target_.c_str(), X_OK) == 0) return "";
    return "needs " + arenalab_ + " and " + target_ + " (build the whole tree)";
  }

  // `arenalab run RUN_ARGS --out out() --quiet -- TARGET TARGET_ARGS`, which must exit 0.
  ::testing::AssertionResult run(const std::vector<std::string>& run_args,
                                 const std::vector<std::string>& target_args) const {
    if (top_.empty()) return ::testing::AssertionFailure() << "mkdtemp failed in /tmp";
    SpawnSpec spec;
    spec.argv = {arenalab_, "run"};
    spec.argv.insert(spec.argv.end(), run_args.begin(), run_args.end());
    spec.argv.insert(spec.argv.end(), {"--out", out(), "--quiet", "--", target_});
    spec.argv.insert(spec.argv.end(), target_args.begin(), target_args.end());
    spec.capture_stdout = true;
    spec.capture_stderr = true;
    spec.stdin_null = true;
    auto ran = run_process(spec);
    if (!ran) return ::testing::AssertionFailure() << ran.error().message;
    if (ran->shell_status() != 0)
      return ::testing::AssertionFailure() << "exit " << ran->shell_status() << ": " << ran->err;
    return ::testing::AssertionSuccess();
  }

  // The run's output directory.
  std::string out() const { return top_ + "/run"; }

 private:
  std::string arenalab_, target_, top_;
};

}  // namespace arenalab::tests
