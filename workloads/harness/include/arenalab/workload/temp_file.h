// SPDX-License-Identifier: Apache-2.0
// A temporary file that is removed however the workload ends: by the destructor on return or
// exception, and by a SIGINT/SIGTERM/SIGHUP handler (unlink(2) is async-signal-safe) that then
// re-raises the signal with its default action. Header-only; one live TempFile per process.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace arenalab::workload {

namespace detail {
inline char g_temp_path[4096] = {};  // the path the handler removes ("" = none)
inline void remove_temp_on_signal(int sig) {
  if (g_temp_path[0] != '\0') ::unlink(g_temp_path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace detail

class TempFile {
 public:
  // Creates DIR/arenalab-<tag>-XXXXXX (mkstemp). On failure fd() < 0 and error() says why.
  TempFile(const std::string& dir, const std::string& tag) {
    std::string templ = dir + "/arenalab-" + tag + "-XXXXXX";
    if (templ.size() >= sizeof detail::g_temp_path) {
      error_ = "temp dir path too long: " + dir;
      return;
    }
    std::strcpy(detail::g_temp_path, templ.c_str());
    // Handlers first, then the file: a signal between the two cannot leave it behind.
    struct sigaction sa {};
    sa.sa_handler = detail::remove_temp_on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    fd_ = ::mkstemp(detail::g_temp_path);
    if (fd_ < 0) {
      error_ = "cannot create a file in " + dir + ": " + std::strerror(errno);
      detail::g_temp_path[0] = '\0';
      return;
    }
    path_ = detail::g_temp_path;
  }
  ~TempFile() { remove(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

  // Closes and unlinks now; safe to call twice.
  void remove() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
    detail::g_temp_path[0] = '\0';
  }

 private:
  int fd_ = -1;
  std::string path_, error_;
};

// The directory for temporary files: $TMPDIR, else /tmp.
inline std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

}  // namespace arenalab::workload
