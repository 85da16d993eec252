// SPDX-License-Identifier: Apache-2.0
// File helpers: whole-file reads, atomic writes (temp file + rename, so a reader never sees
// half a result), and where arenalab's installed data lives relative to its executables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab {

// Opens `path` to read it as a regular file (O_CLOEXEC; the caller closes the fd). Anything else
// is refused in one line naming the path and what it is ("cannot read P: a FIFO, not a regular
// file"): a FIFO would block the open and the reads forever, /dev/zero would never end, a
// directory reads as nothing. The open itself never blocks (O_NONBLOCK, cleared once the file is
// known to be regular). Every reader of a file a user names goes through here.
Result<int> open_input_file(const std::string& path);

// The whole regular file `path` (open_input_file: a FIFO, device or directory is refused).
Result<std::string> read_file(const std::string& path);
// The same, at most max_bytes: a larger file is an error naming the limit, "the limit for
// `what`" (read_json_file: "a JSON document"), and nothing of it is kept.
Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes, const char* what);

// How a file written through a temporary is made and how far it is pushed to the disk.
struct ReplaceOptions {
  mode_t mode = 0600;       // the temporary's mode at creation (less the umask)
  bool exact_mode = false;  // then fchmod(mode) through its fd: exactly `mode`, whatever the umask
  bool durable = false;     // fsync the file before the rename and its directory after it
};

// A file replaced through a temporary: the one implementation of "write all, fsync, close,
// rename into place, fsync the directory, remove the temporary on any failure" every writer of a
// whole file goes through. The temporary `tmp` is made in the directory `dirfd` (AT_FDCWD or an
// open directory, borrowed: it must outlive this) with O_CREAT|O_EXCL|O_NOFOLLOW, so it is never
// a link or a file someone planted; write() writes all it is given (short writes and EINTR
// retried), the first error kept for commit(); commit() (durable: fsync) closes it, renames it
// over `name` (renameat, in the same directory) and (durable) fsyncs the directory, a directory
// that cannot be synced (EINVAL, EROFS) being no error: the file is in place. On any failure,
// and when destroyed uncommitted, the temporary is closed and removed: a reader sees the old
// file or the whole new one. Messages name `shown`/`name` ("cannot write D/N: why"); `shown` is
// the directory as messages name it, "" when the names are paths (with AT_FDCWD).
class ReplacedFile {
 public:
  static Result<ReplacedFile> create(int dirfd, std::string shown, std::string tmp,
                                     std::string name, ReplaceOptions options = {});
  ReplacedFile(ReplacedFile&&) noexcept;
  ReplacedFile& operator=(ReplacedFile&&) noexcept;
  ReplacedFile(const ReplacedFile&) = delete;
  ReplacedFile& operator=(const ReplacedFile&) = delete;
  ~ReplacedFile();

  void write(std::string_view data);
  Status commit();

 private:
  ReplacedFile() = default;
  void discard();
  int dirfd_ = -1;
  int fd_ = -1;
  int error_ = 0;
  std::string shown_, tmp_, name_;
  ReplaceOptions options_;
};

// ReplacedFile::create + write(content) + commit().
Status replace_file(int dirfd, const std::string& shown, const std::string& tmp,
                    const std::string& name, std::string_view content, ReplaceOptions options = {});

// Writes `content` to path.tmp.<random> (made with O_EXCL|O_NOFOLLOW) then renames it over `path`.
Status write_file_atomic(const std::string& path, const std::string& content);

// Creates a directory and its parents; an existing directory is fine.
Status make_directories(const std::string& path);

// What OutputDir::open does with a directory that exists and holds files.
enum class ExistingDir {
  kAccept,          // keep them (the caller clears what it owns)
  kRefuseNonEmpty,  // an error naming the directory: files of an earlier run would mix in
  kEmpty,           // remove everything in it first (--force)
};

// An output directory arenalab writes into, safe when arenalab runs as root beside other
// users (issue 21): made with mkdir 0700, or an existing one that is a real directory (not a
// symlink), owned by the effective user and not group/world-writable; every file is opened
// relative to its fd with O_NOFOLLOW, temporary files with O_EXCL under unpredictable names,
// then renamed into place. Outputs are 0600.
class OutputDir {
 public:
  OutputDir() = default;
  OutputDir(OutputDir&&) noexcept;
  OutputDir& operator=(OutputDir&&) noexcept;
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;
  ~OutputDir();

  // Creates `path` (and missing parents, 0700) or opens the existing directory, checks it as
  // above and that a file can be written in it (a read-only or full disk is found now, before
  // a target runs, not after).
  static Result<OutputDir> open(const std::string& path, ExistingDir existing);

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }  // absolute
  bool created() const { return created_; }          // made by this open()

  // `content` to a temporary file, then renamed to `name` (never a half-written file):
  // replace_file in this directory, the temporary named .<name>.<random>.tmp.
  Status write_file(const std::string& name, std::string_view content,
                    ReplaceOptions options = {}) const;
  // The file `name` in this directory, at most max_bytes, read relative to its fd: looked at
  // (fstatat, no link followed) and opened with O_NOFOLLOW, so a link put there, or swapped in
  // between the look and the open, is never followed ("D/N is a symbolic link: not followed"),
  // and anything but a regular file is refused as open_input_file refuses it. nullopt when
  // there is no such file; a larger file is an error as read_file's.
  Result<std::optional<std::string>> read_file(const std::string& name, std::uint64_t max_bytes,
                                               const char* what) const;
  // A file for writing as it goes: O_CREAT|O_TRUNC|O_NOFOLLOW, 0600. The caller closes it.
  Result<int> create_file(const std::string& name) const;
  // A file written as it goes and renamed into place on commit(): a ReplacedFile in this
  // directory (which must outlive it), the temporary named .<name>.<random>.tmp.
  Result<ReplacedFile> replace(const std::string& name, ReplaceOptions options = {}) const;
  // The directory `name` inside this one, made (0700) or an existing one checked as open() does
  // (a real directory, not a link, this user's, not group/world-writable), opened relative to
  // this one's fd: no path is looked up again.
  Result<OutputDir> open_subdir(const std::string& name) const;
  // A new directory `<prefix>.<16 random hex digits>` inside this one, made here (mkdirat 0700)
  // and opened relative to this one's fd with O_NOFOLLOW: never one that existed (a scratch
  // directory, e.g. the matrix's preflight and warm-up runs, that remove_subdir removes again).
  // Beside it, made first with O_EXCL, its mark `.<name>.arenalab-scratch` (0600): the boot, the
  // pid namespace, the pid and start time of the process that made it (remove_stale_scratch).
  Result<OutputDir> make_fresh_subdir(const std::string& prefix) const;
  // Removes the directory `name` inside this one and everything in it, opened relative to this
  // one's fd and following no symlink (a link named `name` is refused, not followed); and its
  // scratch mark, if it has one.
  Status remove_subdir(const std::string& name) const;
  // Removes the scratch directories (make_fresh_subdir) whose maker is gone (a SIGKILL left them):
  // only those with a mark that is a regular file of this user's, naming a process of this boot
  // and pid namespace that no longer runs (its pid free, or taken by a process started at
  // another time), the directory a real one of this user's. Anything else is left as it is (a
  // mark of another machine sharing the filesystem, a running maker's). Returns the names
  // removed.
  Result<std::vector<std::string>> remove_stale_scratch() const;
  // Names of the entries, sorted.
  std::vector<std::string> entries() const;
  // Removes `name` (a symlink itself, never what it points to); missing is fine.
  void remove(const std::string& name) const;
  // Removes everything inside (subdirectories too), following no symlink.
  Status remove_all_entries() const;

 private:
  int fd_ = -1;
  std::string path_;
  bool created_ = false;
};

// The directory of the running executable (/proc/self/exe).
std::string executable_dir();

// build/share/arenalab (or $ARENALAB_SHARE_DIR): generated data such as allocators.json.
std::string share_dir();

// build/lib (or $ARENALAB_LIB_DIR): libarenalab_preload.so.
std::string lib_dir();

// build/bin (or $ARENALAB_BIN_DIR): wl_* and the probe.
std::string bin_dir();

}  // namespace arenalab
