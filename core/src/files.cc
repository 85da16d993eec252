// SPDX-License-Identifier: Apache-2.0
// File helpers; paths are resolved from /proc/self/exe so build/bin/arenalab finds build/share.
#include "arenalab/core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"

namespace arenalab {
namespace fs = std::filesystem;

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

}  // namespace

Result<int> open_input_file(const std::string& path) {
  // What the path names is looked at before it is opened: opening a device can act (a
  // watchdog armed, a tape rewound). The open file is checked again below (fstat), for a path
  // swapped between the two.
  struct stat before {};
  if (::stat(path.c_str(), &before) == 0 && !S_ISREG(before.st_mode))
    return make_error("cannot read " + printable(path) + ": " + file_kind(before.st_mode) +
                      ", not a regular file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return make_error("cannot read " + printable(path) + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error("cannot read " + printable(path) + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("cannot read " + printable(path) + ": " + file_kind(st.st_mode) +
                      ", not a regular file");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error("cannot read " + printable(path) + ": " + std::strerror(err));
  }
  return fd;
}

Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes, const char* what) {
  auto fd = open_input_file(path);  // a FIFO, device or directory: refused, never waited on
  if (!fd) return fd.error();
  std::string out;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(*fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(*fd);
      return make_error("cannot read " + printable(path) + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(*fd);
      return make_error(
          printable(path) + ": larger than " + format_bytes(static_cast<double>(max_bytes)) + " (" +
          std::to_string(max_bytes) + " bytes), the limit for " + what + " (not read)");
    }
  }
  ::close(*fd);
  return out;
}

Result<std::string> read_file(const std::string& path) {
  return read_file(path, UINT64_MAX, "a file");
}

Status make_directories(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec && !fs::is_directory(path))
    return make_error("cannot create directory " + path + ": " + ec.message());
  return Ok{};
}

namespace {

std::string errno_text() { return std::strerror(errno); }

// 16 hex digits from getrandom(2): a temporary name nobody can plant a symlink for ahead.
std::string random_suffix() {
  unsigned char bytes[8] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof bytes) {  // no entropy source: still unique, less unpredictable
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const unsigned long long v = static_cast<unsigned long long>(ts.tv_nsec) ^
                                 (static_cast<unsigned long long>(::getpid()) << 32);
    std::memcpy(bytes, &v, sizeof bytes);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool valid_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// Writes all of `data`; false with errno set on failure.
bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Removes the entries of the directory `fd` (not `fd` itself), recursing without following
// symlinks (openat O_NOFOLLOW on each subdirectory).
Status remove_entries(int fd, const std::string& where) {
  const int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return make_error("cannot read " + where + ": " + errno_text());
  DIR* d = ::fdopendir(dup_fd);
  if (!d) {
    ::close(dup_fd);
    return make_error("cannot read " + where + ": " + errno_text());
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    if (::unlinkat(fd, n.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM)
      return make_error("cannot remove " + where + "/" + n + ": " + errno_text());
    const int sub = ::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return make_error("cannot remove " + where + "/" + n + ": " + errno_text());
    auto st = remove_entries(sub, where + "/" + n);
    ::close(sub);
    if (!st) return st;
    if (::unlinkat(fd, n.c_str(), AT_REMOVEDIR) != 0)
      return make_error("cannot remove " + where + "/" + n + ": " + errno_text());
  }
  return Ok{};
}

// `content` to a new file `tmp` in the directory `dirfd` (O_EXCL|O_NOFOLLOW: never through a
// link, never over a file someone made), then renamed to `name` there; `shown` is the directory
// as messages name it ("" when the names are whole paths). Nothing is left on failure.
Status write_then_rename(int dirfd, const std::string& shown, const std::string& tmp,
                         const std::string& name, const std::string& content, mode_t mode) {
  const int fd =
      ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return make_error("cannot write " + shown + tmp + ": " + errno_text());
  const bool ok = write_all(fd, content.data(), content.size());
  const int err = errno;
  if (::close(fd) != 0 || !ok) {
    const std::string why = std::strerror(ok ? errno : err);
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return make_error("cannot write " + shown + name + ": " + why);
  }
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return make_error("cannot rename " + shown + tmp + " to " + name + ": " + why);
  }
  return Ok{};
}

// An existing output directory is adopted only when it is this user's and nobody else can write
// in it (a link or a file put there by another user could redirect what arenalab writes).
Status check_ours(int fd, const std::string& abs) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_error("cannot stat output directory " + abs + ": " + errno_text());
  if (st.st_uid != ::geteuid())
    return make_error("output directory " + abs + " belongs to uid " + std::to_string(st.st_uid) +
                      ", not to this user (uid " + std::to_string(::geteuid()) +
                      "): refusing to write into it");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return make_error("output directory " + abs + " is writable by " +
                      ((st.st_mode & S_IWOTH) ? "every user" : "its group") +
                      ": refusing to write into it (chmod go-w, or give another --out)");
  return Ok{};
}

// mkdir -p with mode 0700 for each directory it makes; true when the last one was made here.
Result<bool> make_private_directories(const fs::path& path) {
  fs::path so_far;
  bool made_last = false;
  for (const auto& part : path) {
    so_far /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") continue;
    made_last = false;
    if (::mkdir(so_far.c_str(), 0700) == 0) {
      made_last = true;
      continue;
    }
    if (errno != EEXIST)
      return make_error("cannot create directory " + so_far.string() + ": " + errno_text());
  }
  return made_last;
}

}  // namespace

Status write_file_atomic(const std::string& path, const std::string& content) {
  // The temporary name is unpredictable and made with O_EXCL|O_NOFOLLOW: a link planted beside
  // `path` (a name like path.tmp.<pid> could be guessed) is never written through.
  return write_then_rename(AT_FDCWD, "", path + ".tmp." + random_suffix(), path, content, 0666);
}

OutputDir::OutputDir(OutputDir&& o) noexcept { *this = std::move(o); }

OutputDir& OutputDir::operator=(OutputDir&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    created_ = o.created_;
  }
  return *this;
}

OutputDir::~OutputDir() {
  if (fd_ >= 0) ::close(fd_);
}

Result<OutputDir> OutputDir::open(const std::string& path, ExistingDir existing) {
  if (path.empty()) return make_error("no output directory given");
  std::error_code ec;
  std::string abs = fs::absolute(path, ec).lexically_normal().string();
  if (ec) return make_error("output directory " + path + ": " + ec.message());
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  auto made = make_private_directories(abs);
  if (!made) return made.error();
  OutputDir d;
  d.path_ = abs;
  d.created_ = *made;
  d.fd_ = ::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d.fd_ < 0) {
    if (errno == ELOOP)
      return make_error("output directory " + abs +
                        " is a symbolic link: give the directory itself (a link could be "
                        "pointed elsewhere while arenalab writes)");
    if (errno == ENOTDIR) return make_error("output directory " + abs + " is not a directory");
    return make_error("cannot open output directory " + abs + ": " + errno_text());
  }
  if (auto ours = check_ours(d.fd_, abs); !ours) return ours.error();
  if (!d.created_ && existing != ExistingDir::kAccept) {
    const auto names = d.entries();
    if (!names.empty()) {
      if (existing == ExistingDir::kRefuseNonEmpty)
        return make_error("output directory " + abs + " is not empty (" +
                          std::to_string(names.size()) + " entries, e.g. " + names.front() +
                          "): files of an earlier run would mix into this one; give a new "
                          "--out, or --force to empty it first");
      if (auto r = d.remove_all_entries(); !r) return r.error();
    }
  }
  // Can we write here? Found now rather than after the target ran.
  const std::string probe = ".arenalab-probe." + random_suffix();
  const int pfd =
      ::openat(d.fd_, probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (pfd < 0) return make_error("cannot write in output directory " + abs + ": " + errno_text());
  const std::string block(4096, '\0');
  const bool wrote = write_all(pfd, block.data(), block.size());
  const int werr = errno;
  ::close(pfd);
  ::unlinkat(d.fd_, probe.c_str(), 0);
  if (!wrote)
    return make_error("cannot write in output directory " + abs + ": " + std::strerror(werr));
  return d;
}

Status OutputDir::write_file(const std::string& name, const std::string& content) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  return write_then_rename(fd_, path_ + "/", "." + name + "." + random_suffix() + ".tmp", name,
                           content, 0600);
}

Result<OutputDir> OutputDir::open_subdir(const std::string& name) const {
  if (!valid_name(name)) return make_error("not a directory name: '" + name + "'");
  const std::string abs = path_ + "/" + name;
  OutputDir d;
  d.path_ = abs;
  d.created_ = ::mkdirat(fd_, name.c_str(), 0700) == 0;
  if (!d.created_ && errno != EEXIST)
    return make_error("cannot create directory " + abs + ": " + errno_text());
  d.fd_ = ::openat(fd_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d.fd_ < 0) {
    const int err = errno;
    // O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR: look at the entry itself.
    struct stat st {};
    if (err == ELOOP ||
        (::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)))
      return make_error("output directory " + abs +
                        " is a symbolic link: refusing to write through it");
    if (err == ENOTDIR) return make_error("output directory " + abs + " is not a directory");
    return make_error("cannot open output directory " + abs + ": " + std::strerror(err));
  }
  if (auto ours = check_ours(d.fd_, abs); !ours) return ours.error();
  return d;
}

Result<int> OutputDir::create_temp(const std::string& name, std::string& temp) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  temp = "." + name + "." + random_suffix() + ".tmp";
  const int fd =
      ::openat(fd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write " + path_ + "/" + temp + ": " + errno_text());
  return fd;
}

Status OutputDir::rename_temp(const std::string& temp, const std::string& name) const {
  if (!valid_name(name) || !valid_name(temp)) return make_error("not a file name: '" + name + "'");
  if (::renameat(fd_, temp.c_str(), fd_, name.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(fd_, temp.c_str(), 0);
    return make_error("cannot rename " + path_ + "/" + temp + " to " + name + ": " + why);
  }
  return Ok{};
}

Result<int> OutputDir::create_file(const std::string& name) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  const int fd =
      ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write " + path_ + "/" + name + ": " + errno_text());
  return fd;
}

std::vector<std::string> OutputDir::entries() const {
  std::vector<std::string> names;
  const int dup_fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return names;
  DIR* d = ::fdopendir(dup_fd);
  if (!d) {
    ::close(dup_fd);
    return names;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void OutputDir::remove(const std::string& name) const {
  if (valid_name(name)) ::unlinkat(fd_, name.c_str(), 0);
}

Status OutputDir::remove_all_entries() const { return remove_entries(fd_, path_); }

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
