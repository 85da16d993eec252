// SPDX-License-Identifier: Apache-2.0
// File helpers; paths are resolved from /proc/self/exe so build/bin/arenalab finds build/share.
#include "arenalab/core/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace arenalab {
namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    out << content;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return make_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
  return Ok{};
}

Status make_directories(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec && !fs::is_directory(path))
    return make_error("cannot create directory " + path + ": " + ec.message());
  return Ok{};
}

std::string executable_dir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

namespace {
std::string from_env_or(const char* var, const std::string& fallback) {
  const char* v = std::getenv(var);
  return (v && *v) ? std::string(v) : fallback;
}
}  // namespace

std::string share_dir() {
  return from_env_or(
      "ARENALAB_SHARE_DIR",
      (fs::path(executable_dir()) / ".." / "share" / "arenalab").lexically_normal().string());
}

std::string lib_dir() {
  return from_env_or("ARENALAB_LIB_DIR",
                     (fs::path(executable_dir()) / ".." / "lib").lexically_normal().string());
}

std::string bin_dir() { return from_env_or("ARENALAB_BIN_DIR", executable_dir()); }

}  // namespace arenalab
