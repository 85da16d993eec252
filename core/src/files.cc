// SPDX-License-Identifier: Apache-2.0
// File helpers; paths are resolved from /proc/self/exe so build/bin/arenalab finds build/share.
#include "arenalab/core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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
#include <vector>

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

namespace {

// All of the open regular file `fd` (closed here), at most max_bytes; `path` names it.
Result<std::string> read_all(int fd, const std::string& path, std::uint64_t max_bytes,
                             const char* what) {
  std::string out;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return make_error("cannot read " + printable(path) + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return make_error(
          printable(path) + ": larger than " + format_bytes(static_cast<double>(max_bytes)) + " (" +
          std::to_string(max_bytes) + " bytes), the limit for " + what + " (not read)");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes, const char* what) {
  auto fd = open_input_file(path);  // a FIFO, device or directory: refused, never waited on
  if (!fd) return fd.error();
  return read_all(*fd, path, max_bytes, what);
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

// A scratch directory's owner mark (OutputDir::make_fresh_subdir): `.<name>` + this, beside it.
constexpr char kScratchMarkSuffix[] = ".arenalab-scratch";
constexpr char kScratchMarkSchema[] = "arenalab.scratch/1";

// An empty mark older than this (seconds) is a killed maker's (remove_stale_scratch).
constexpr long kEmptyMarkStaleS = 60;

std::string scratch_mark_name(const std::string& dir_name) {
  return "." + dir_name + kScratchMarkSuffix;
}

// The first line of a small /proc or /sys file, without its newline ("" when unreadable).
std::string first_line_of(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return "";
  std::string line(buf, static_cast<std::size_t>(n));
  return line.substr(0, line.find('\n'));
}

// Who a process is beyond its pid (pids are reused): its start time in clock ticks after boot
// (/proc/PID/stat field 22), "" when it does not exist (or /proc is not readable).
std::string process_start(pid_t pid) {
  const std::string stat = first_line_of(("/proc/" + std::to_string(pid) + "/stat").c_str());
  const auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return "";
  // After ") ": field 3 (state) onwards; the start time is field 22.
  std::size_t at = close_paren + 2;
  for (int field = 3; field < 22; ++field) {
    at = stat.find(' ', at);
    if (at == std::string::npos) return "";
    ++at;
  }
  return stat.substr(at, stat.find(' ', at) - at);
}

// What tells this process apart from every other that may share the filesystem: the boot, the
// pid namespace (its inode), the pid and its start time. One line, words separated by spaces.
std::string this_process_mark() {
  struct stat ns {};
  const std::string pidns =
      ::stat("/proc/self/ns/pid", &ns) == 0 ? std::to_string(ns.st_ino) : std::string("?");
  std::string boot = first_line_of("/proc/sys/kernel/random/boot_id");
  if (boot.empty() || boot.find(' ') != std::string::npos) boot = "?";
  std::string start = process_start(::getpid());
  if (start.empty()) start = "?";
  return std::string(kScratchMarkSchema) + " boot " + boot + " pidns " + pidns + " pid " +
         std::to_string(::getpid()) + " start " + start;
}

// Whether the process a mark names is certainly gone: the mark is well formed, written on this
// boot in this pid namespace (else its pid says nothing here: another machine sharing the
// filesystem, a container), and no process with its pid and start time runs now.
bool mark_owner_gone(const std::string& mark) {
  std::vector<std::string> w;
  for (std::size_t i = 0; i < mark.size();) {
    const std::size_t j = std::min(mark.find(' ', i), mark.size());
    w.push_back(mark.substr(i, j - i));
    i = j + 1;
  }
  if (w.size() != 9 || w[0] != kScratchMarkSchema || w[1] != "boot" || w[3] != "pidns" ||
      w[5] != "pid" || w[7] != "start")
    return false;
  const std::string mine = this_process_mark();
  std::vector<std::string> m;
  for (std::size_t i = 0; i < mine.size();) {
    const std::size_t j = std::min(mine.find(' ', i), mine.size());
    m.push_back(mine.substr(i, j - i));
    i = j + 1;
  }
  if (m.size() != 9 || w[2] == "?" || w[2] != m[2] || w[4] == "?" || w[4] != m[4] || w[8] == "?")
    return false;
  char* end = nullptr;
  const long pid = std::strtol(w[6].c_str(), &end, 10);
  if (*end != 0 || pid <= 0) return false;
  struct stat proc {};
  if (::stat("/proc/self", &proc) != 0) return false;  // no /proc: nothing can be told
  const std::string now = process_start(static_cast<pid_t>(pid));
  if (!now.empty()) return now != w[8];  // another process under a reused pid, or the maker
  // Its start time could not be read (no permission, no descriptor left, a /proc mounted with
  // hidepid): gone only on positive evidence, no process with that pid at all. Anything else
  // (EPERM: it runs under another user) keeps the directory.
  return ::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
}

// Writes all of `data` (short writes and EINTR retried); 0, or the errno of the failure (EIO
// for a write of 0 bytes, which sets none).
int write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
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

// The directory `abs` (absolute, normalized) opened, walking from / one component at a time,
// each relative to the one before (mkdir -p without a path looked up twice). A missing component
// is made (mkdirat, 0700) and opened with O_NOFOLLOW, so one swapped for a link between the two is
// refused, never followed. One that exists is a real directory, or a symbolic link followed only
// when it belongs to this user or to root: a link another user planted (e.g. in /tmp, for a
// directory arenalab, running as root, was about to make) is refused in one line. The last
// component is never a link. The fd of the last, whether it was made here, and every component
// made here (its parent's fd, held open, and its name), so that a refusal removes them again.
struct MadeDir {
  int parent = -1;  // O_PATH
  std::string name;
};

// Removes the directories made here, the last made first (each was empty when made; rmdir
// removes nothing that was put in it since), and closes their parents' fds.
void unmake(std::vector<MadeDir>& made) {
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    ::unlinkat(it->parent, it->name.c_str(), AT_REMOVEDIR);
    ::close(it->parent);
  }
  made.clear();
}

// Closes the parents' fds, keeping the directories.
void keep_made(std::vector<MadeDir>& made) {
  for (auto& m : made) ::close(m.parent);
  made.clear();
}

struct Walked {
  int fd = -1;
  bool made = false;
  std::vector<MadeDir> made_dirs;
};

Result<Walked> open_private_directories(const std::string& abs) {
  std::vector<std::string> parts;
  for (const auto& part : fs::path(abs))
    if (!part.empty() && part != "/" && part != "." && part != "..") parts.push_back(part);
  // Parents are opened O_PATH (mkdirat, fstatat and openat take such an fd): walking through a
  // directory needs search permission only, as a path lookup does (a parent of mode 0711 is
  // passed, not refused for want of read permission). The last component is opened O_RDONLY.
  int fd = ::open("/", (parts.empty() ? O_RDONLY : O_PATH) | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open output directory " + abs + ": " + errno_text());
  std::string so_far;
  bool made = false;
  std::vector<MadeDir> made_dirs;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    const bool last = i + 1 == parts.size();
    so_far += "/" + name;
    // A refusal leaves nothing made here: the components made so far are removed again.
    auto fail = [&fd, &made_dirs](std::string message) -> Result<Walked> {
      if (made_dirs.empty() || made_dirs.back().parent != fd) ::close(fd);
      unmake(made_dirs);
      return make_error(std::move(message));
    };
    made = ::mkdirat(fd, name.c_str(), 0700) == 0;
    if (!made && errno != EEXIST)
      return fail("cannot create directory " + so_far + ": " + errno_text());
    if (made) made_dirs.push_back({fd, name});  // fd stays open until the walk ends
    int flags = (last ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    struct stat st {};
    if (!made && ::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      if (last)
        return fail("output directory " + abs +
                    " is a symbolic link: give the directory itself (a link could be "
                    "pointed elsewhere while arenalab writes)");
      if (st.st_uid != ::geteuid() && st.st_uid != 0)
        return fail("output directory " + abs + ": " + so_far + " is a symbolic link of uid " +
                    std::to_string(st.st_uid) +
                    ", neither this user's nor root's: refusing to follow it (give the path "
                    "it points to, if that is meant)");
      flags &= ~O_NOFOLLOW;  // this user's or root's own link: followed like any path
    }
    const int next = ::openat(fd, name.c_str(), flags);
    if (next < 0) {
      const int err = errno;
      // O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR: look at the entry itself.
      const bool link =
          (flags & O_NOFOLLOW) &&
          (err == ELOOP ||
           (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)));
      if (link)
        return fail("output directory " + abs + ": " + so_far +
                    " became a symbolic link while arenalab opened it: refusing to follow it");
      if (err == ENOTDIR)
        return fail(last ? "output directory " + abs + " is not a directory"
                         : "output directory " + abs + ": " + so_far + " is not a directory");
      return fail("cannot open output directory " + so_far + ": " + std::strerror(err));
    }
    if (!made) ::close(fd);
    fd = next;
  }
  return Walked{fd, made, std::move(made_dirs)};
}

}  // namespace

namespace {

// `name` of the directory messages call `shown` ("" when names are paths).
std::string shown_name(const std::string& shown, const std::string& name) {
  return shown.empty() ? name : shown + "/" + name;
}

}  // namespace

Result<ReplacedFile> ReplacedFile::create(int dirfd, std::string shown, std::string tmp,
                                          std::string name, ReplaceOptions options) {
  const int fd = ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          options.mode);
  if (fd < 0) return make_error("cannot write " + shown_name(shown, tmp) + ": " + errno_text());
  ReplacedFile f;
  f.dirfd_ = dirfd;
  f.fd_ = fd;
  f.shown_ = std::move(shown);
  f.tmp_ = std::move(tmp);
  f.name_ = std::move(name);
  f.options_ = options;
  // Through the fd, not the name: exactly the mode asked for, on the file this open made.
  if (options.exact_mode && ::fchmod(fd, options.mode) != 0) f.error_ = errno;
  return f;
}

ReplacedFile::ReplacedFile(ReplacedFile&& o) noexcept { *this = std::move(o); }

ReplacedFile& ReplacedFile::operator=(ReplacedFile&& o) noexcept {
  if (this != &o) {
    discard();
    dirfd_ = o.dirfd_;
    fd_ = std::exchange(o.fd_, -1);
    error_ = o.error_;
    shown_ = std::move(o.shown_);
    tmp_ = std::move(o.tmp_);
    name_ = std::move(o.name_);
    options_ = o.options_;
  }
  return *this;
}

ReplacedFile::~ReplacedFile() { discard(); }

void ReplacedFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlinkat(dirfd_, tmp_.c_str(), 0);
}

void ReplacedFile::write(std::string_view data) {
  if (fd_ >= 0 && error_ == 0) error_ = write_all(fd_, data.data(), data.size());
}

Status ReplacedFile::commit() {
  if (fd_ < 0) return make_error("cannot write " + shown_name(shown_, name_) + ": not open");
  int err = error_;
  if (err == 0 && options_.durable && ::fsync(fd_) != 0) err = errno;
  if (::close(fd_) != 0 && err == 0) err = errno;
  fd_ = -1;
  if (err != 0) {
    ::unlinkat(dirfd_, tmp_.c_str(), 0);
    return make_error("cannot write " + shown_name(shown_, name_) + ": " + std::strerror(err));
  }
  if (::renameat(dirfd_, tmp_.c_str(), dirfd_, name_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(dirfd_, tmp_.c_str(), 0);
    return make_error("cannot rename " + shown_name(shown_, tmp_) + " to " + name_ + ": " + why);
  }
  if (!options_.durable) return Ok{};
  // The rename itself reaches the disk. A filesystem that cannot sync a directory (EINVAL,
  // EROFS: fsync(2)) has nothing to sync: the file is in place, so that is no error.
  int dfd = dirfd_;
  std::string dir = shown_;
  if (dirfd_ == AT_FDCWD) {  // names are paths: the directory `name_` is in
    const fs::path parent = fs::path(name_).parent_path();
    if (dir.empty()) dir = parent.empty() ? "." : parent.string();
    dfd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return make_error("cannot sync " + dir + ": " + errno_text());
  }
  const bool synced = ::fsync(dfd) == 0 || errno == EINVAL || errno == EROFS;
  const int serr = errno;
  if (dfd != dirfd_) ::close(dfd);
  if (!synced) return make_error("cannot sync " + dir + ": " + std::strerror(serr));
  return Ok{};
}

Status replace_file(int dirfd, const std::string& shown, const std::string& tmp,
                    const std::string& name, std::string_view content, ReplaceOptions options) {
  auto f = ReplacedFile::create(dirfd, shown, tmp, name, options);
  if (!f) return f.error();
  f->write(content);
  return f->commit();
}

Status write_file_atomic(const std::string& path, const std::string& content) {
  // The temporary name is unpredictable and made with O_EXCL|O_NOFOLLOW: a link planted beside
  // `path` (a name like path.tmp.<pid> could be guessed) is never written through.
  return replace_file(AT_FDCWD, "", path + ".tmp." + random_suffix(), path, content,
                      {.mode = 0666});
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
  auto walked = open_private_directories(abs);
  if (!walked) return walked.error();
  OutputDir d;
  d.path_ = abs;
  d.created_ = walked->made;
  d.fd_ = walked->fd;
  // Refused or unwritable after the walk: the directories the walk made are removed again.
  struct Unmake {
    std::vector<MadeDir>& made;
    bool keep = false;
    ~Unmake() { keep ? keep_made(made) : unmake(made); }
  } unmake_on_error{walked->made_dirs};
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
  const int werr = write_all(pfd, block.data(), block.size());
  ::close(pfd);
  ::unlinkat(d.fd_, probe.c_str(), 0);
  if (werr != 0)
    return make_error("cannot write in output directory " + abs + ": " + std::strerror(werr));
  unmake_on_error.keep = true;
  return d;
}

Status OutputDir::write_file(const std::string& name, std::string_view content,
                             ReplaceOptions options) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  return replace_file(fd_, path_, "." + name + "." + random_suffix() + ".tmp", name, content,
                      options);
}

Result<ReplacedFile> OutputDir::replace(const std::string& name, ReplaceOptions options) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  return ReplacedFile::create(fd_, path_, "." + name + "." + random_suffix() + ".tmp", name,
                              options);
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

Result<OutputDir> OutputDir::make_fresh_subdir(const std::string& prefix) const {
  if (!valid_name(prefix)) return make_error("not a directory name: '" + prefix + "'");
  const std::string name = prefix + "." + random_suffix();
  OutputDir d;
  d.path_ = path_ + "/" + name;
  // Its mark first (O_EXCL), so that no directory of ours is ever there without one; a kill
  // between the two leaves a mark alone, which remove_stale_scratch removes (an empty one, a kill
  // before its text was written, once it is older than kEmptyMarkStaleS).
  const std::string mark = scratch_mark_name(name);
  const int mfd =
      ::openat(fd_, mark.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (mfd < 0) return make_error("cannot create " + path_ + "/" + mark + ": " + errno_text());
  const std::string text = this_process_mark() + "\n";
  const int werr = write_all(mfd, text.data(), text.size());
  ::close(mfd);
  if (werr != 0) {
    ::unlinkat(fd_, mark.c_str(), 0);
    return make_error("cannot write " + path_ + "/" + mark + ": " + std::strerror(werr));
  }
  if (::mkdirat(fd_, name.c_str(), 0700) != 0) {
    const int err = errno;
    ::unlinkat(fd_, mark.c_str(), 0);
    return make_error("cannot create directory " + d.path_ + ": " + std::strerror(err));
  }
  d.created_ = true;
  d.fd_ = ::openat(fd_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d.fd_ < 0) {
    const int err = errno;
    ::unlinkat(fd_, name.c_str(), AT_REMOVEDIR);  // made above: not left behind (a link: stays)
    ::unlinkat(fd_, mark.c_str(), 0);
    return make_error("cannot open directory " + d.path_ +
                      " (made just before): " + std::strerror(err));
  }
  return d;
}

Status OutputDir::remove_subdir(const std::string& name) const {
  if (!valid_name(name)) return make_error("not a directory name: '" + name + "'");
  const std::string abs = path_ + "/" + name;
  const int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Ok{};
    return make_error("cannot remove " + abs + ": " + errno_text());
  }
  auto st = remove_entries(fd, abs);
  ::close(fd);
  if (!st) return st;
  if (::unlinkat(fd_, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return make_error("cannot remove " + abs + ": " + errno_text());
  ::unlinkat(fd_, scratch_mark_name(name).c_str(), 0);  // a scratch directory's mark, if any
  return Ok{};
}

Result<std::vector<std::string>> OutputDir::remove_stale_scratch() const {
  std::vector<std::string> removed;
  const std::size_t suffix = sizeof kScratchMarkSuffix - 1;
  for (const std::string& n : entries()) {
    if (n.size() <= suffix + 1 || n[0] != '.' ||
        n.compare(n.size() - suffix, suffix, kScratchMarkSuffix) != 0)
      continue;
    const std::string name = n.substr(1, n.size() - suffix - 1);
    if (!valid_name(name)) continue;
    // The mark: a regular file of this user's (not a link), looked at before it is opened
    // (opening a device or a FIFO can act), opened without following one, checked again open.
    struct stat before {};
    if (::fstatat(fd_, n.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(before.st_mode) ||
        before.st_uid != ::geteuid())
      continue;
    // An empty mark: its maker was killed between the O_EXCL create and the write of its text
    // (make_fresh_subdir makes the directory only after that). Nothing names its maker, so it
    // is judged by age: older than kEmptyMarkStaleS (the gap is one write(2)) with no directory
    // of its name, it is removed; a young one is left (its maker may be between the two now).
    if (before.st_size == 0) {
      struct stat dst {};
      if (std::time(nullptr) - before.st_mtime > kEmptyMarkStaleS &&
          ::fstatat(fd_, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
        ::unlinkat(fd_, n.c_str(), 0);
      continue;
    }
    const int mfd =
        ::openat(fd_, n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (mfd < 0) continue;
    struct stat st {};
    char buf[512];
    ssize_t got = -1;
    if (::fstat(mfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        st.st_dev == before.st_dev && st.st_ino == before.st_ino &&
        st.st_size < static_cast<off_t>(sizeof buf))
      got = ::read(mfd, buf, sizeof buf);
    ::close(mfd);
    if (got <= 0) continue;
    std::string mark(buf, static_cast<std::size_t>(got));
    if (mark.back() != '\n') continue;
    mark.pop_back();
    if (!mark_owner_gone(mark)) continue;  // its maker may still be running: left alone
    // The directory it marks, if there: a real directory (not a link) of this user's.
    struct stat dst {};
    if (::fstatat(fd_, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(dst.st_mode) || dst.st_uid != ::geteuid()) continue;
      if (auto s = remove_subdir(name); !s) return s.error();  // removes the mark too
      removed.push_back(name);
    } else if (errno == ENOENT) {
      ::unlinkat(fd_, n.c_str(), 0);  // a mark alone (killed before its mkdir, or after the rmdir)
    }
  }
  return removed;
}

Result<std::optional<std::string>> OutputDir::read_file(const std::string& name,
                                                        std::uint64_t max_bytes,
                                                        const char* what) const {
  if (!valid_name(name)) return make_error("not a file name: '" + name + "'");
  const std::string shown = path_ + "/" + name;
  // Looked at before it is opened (opening a device can act), then checked again once open.
  struct stat before {};
  if (::fstatat(fd_, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return make_error("cannot read " + printable(shown) + ": " + errno_text());
  }
  if (S_ISLNK(before.st_mode))
    return make_error(printable(shown) + " is a symbolic link: not followed");
  if (!S_ISREG(before.st_mode))
    return make_error("cannot read " + printable(shown) + ": " + file_kind(before.st_mode) +
                      ", not a regular file");
  const int fd =
      ::openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();  // removed since the look
    if (errno == ELOOP) return make_error(printable(shown) + " is a symbolic link: not followed");
    return make_error("cannot read " + printable(shown) + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return make_error("cannot read " + printable(shown) + ": " + why);
  }
  if (!S_ISREG(st.st_mode)) {  // swapped in since the look
    ::close(fd);
    return make_error("cannot read " + printable(shown) + ": " + file_kind(st.st_mode) +
                      ", not a regular file");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return make_error("cannot read " + printable(shown) + ": " + why);
  }
  auto text = read_all(fd, shown, max_bytes, what);
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
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
