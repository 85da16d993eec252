// SPDX-License-Identifier: Apache-2.0
// A fresh directory under the system's temp directory for one test, named after the test and
// this process, removed with everything in it when the test ends.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace arenalab::matrix::testing_support {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    // Results are written through an OutputDir, which adopts only a directory nobody else can
    // write in (whatever the umask).
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace arenalab::matrix::testing_support
