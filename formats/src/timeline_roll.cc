// SPDX-License-Identifier: Apache-2.0
// Rolling a timeline.jsonl in place (timeline_roll.h).
#include "arenalab/formats/timeline_roll.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"

namespace arenalab::timeline {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string random_hex() {
  unsigned char b[8] = {};
  if (::getrandom(b, sizeof b, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof b)) {
    const auto v = static_cast<std::uint64_t>(::getpid()) ^
                   static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&b));
    std::memcpy(b, &v, sizeof b);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) out += kHex[c >> 4], out += kHex[c & 15];
  return out;
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Appends the bytes of `in` from `from` to its end to `out`; the new end, or -1. `lines`
// counts the newlines copied.
off_t copy_from(int in, off_t from, int out, std::uint64_t& lines) {
  char buf[1 << 16];
  for (;;) {
    const ssize_t got = ::pread(in, buf, sizeof buf, from);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) return from;
    if (!write_all(out, buf, static_cast<std::size_t>(got))) return -1;
    for (ssize_t i = 0; i < got; ++i) lines += buf[i] == '\n';
    from += got;
  }
}

// Lines of a descriptor with the offset where each starts.
class FdLines {
 public:
  explicit FdLines(int fd) : fd_(fd) {}
  // The next line (without '\n'); false at the end. `terminated`: it had its newline.
  Result<bool> next(std::string& line, off_t& at, bool& terminated) {
    for (;;) {
      const std::size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        at = base_ + static_cast<off_t>(pos_);
        terminated = true;
        pos_ = nl + 1;
        return true;
      }
      if (buf_.size() - pos_ > kMaxLineBytes) return make_error("a line longer than 1 MiB");
      buf_.erase(0, pos_);
      base_ += static_cast<off_t>(pos_);
      pos_ = 0;
      char tmp[1 << 16];
      ssize_t got;
      do got = ::pread(fd_, tmp, sizeof tmp, base_ + static_cast<off_t>(buf_.size()));
      while (got < 0 && errno == EINTR);
      if (got < 0) return make_error("read: " + errno_text());
      if (got == 0) {
        if (buf_.empty()) return false;
        line = buf_;
        at = base_;
        terminated = false;
        pos_ = buf_.size();
        return true;
      }
      buf_.append(tmp, static_cast<std::size_t>(got));
    }
  }

 private:
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
  off_t base_ = 0;  // file offset of buf_[0]
};

// The time of the last whole sample line (the purge probe's included); nullopt without one.
std::optional<double> last_time(int fd, off_t size) {
  const off_t from = std::max<off_t>(0, size - (64 << 10));
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  std::size_t got = 0;
  while (got < tail.size()) {
    const ssize_t r =
        ::pread(fd, tail.data() + got, tail.size() - got, from + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  tail.resize(got);
  std::size_t end = tail.rfind('\n');
  while (end != std::string::npos && end > 0) {
    const std::size_t b = tail.rfind('\n', end - 1);
    const std::size_t start = b == std::string::npos ? 0 : b + 1;
    if (b == std::string::npos && from > 0) break;  // the line may start before the tail
    if (auto s = parse_sample(tail.substr(start, end - start))) return s->t_ms;
    if (b == std::string::npos) break;
    end = b;
  }
  return std::nullopt;
}

// Directory and last component of a path.
std::pair<std::string, std::string> split(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Removes temporaries of earlier rolls of `name` that were killed midway (regular files of
// ours named <name>.roll.<16 hex>; a link of that name is removed itself, never followed).
void remove_stale(int dfd, const std::string& name) {
  const int fd = ::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  const std::string prefix = name + ".roll.";
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n(e->d_name);
    if (n.size() != prefix.size() + 16 || n.substr(0, prefix.size()) != prefix) continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && st.st_uid == ::geteuid()))
      ::unlinkat(dfd, e->d_name, 0);
  }
  ::closedir(d);
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The temporary of a roll: removed unless committed.
struct Temp {
  int dfd;
  std::string name;
  bool keep = false;
  ~Temp() {
    if (!keep && !name.empty()) ::unlinkat(dfd, name.c_str(), 0);
  }
};

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<RollResult> roll_timeline(const std::string& path, const RollOptions& o,
                                 const PickFn& pick) {
  const std::string file = printable(path);
  const auto [dir, name] = split(path);
  if (name.empty() || name == "." || name == "..")
    return make_error("cannot roll " + file + ": not a file name");
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.fd < 0) return make_error("cannot roll " + file + ": its directory: " + errno_text());
  Fd fd(::openat(dfd.fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (fd.fd < 0)
    return make_error("cannot roll " + file + ": " +
                      (errno == ELOOP ? std::string("a symbolic link") : errno_text()));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return make_error("cannot roll " + file + ": " + errno_text());
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || (st.st_uid != ::geteuid() && ::geteuid() != 0))
    return make_error("cannot roll " + file +
                      ": not a regular file with one link owned by this user");
  remove_stale(dfd.fd, name);

  RollResult res;
  res.bytes_before = static_cast<std::uint64_t>(st.st_size);
  const auto t_last = last_time(fd.fd, st.st_size);

  FdLines in(fd.fd);
  std::string line;
  off_t at = 0;
  bool terminated = false;
  auto got = in.next(line, at, terminated);
  if (!got) return make_error(file + ": " + got.error().message);
  if (!*got || !terminated) return make_error(file + ": no header line");
  auto header = parse_header(line);
  if (!header) return make_error(file + ":1: " + header.error().message);
  const std::optional<History> old = header->history;

  // The first sample's time; the rest of the plan follows from the last one's.
  std::string first;
  off_t first_at = 0;
  got = in.next(first, first_at, terminated);
  if (!got) return make_error(file + ": " + got.error().message);
  auto first_sample = *got && terminated ? parse_sample(first) : make_error("none");
  if (!first_sample || !t_last) {
    res.why_not = "no whole sample line yet";
    return res;
  }
  const double t0 = first_sample->t_ms;
  const double end = *t_last - o.recent_ms;
  if (!(end > t0)) {
    res.why_not = "the run is not longer than the recent window";
    return res;
  }
  double block = old ? old->block_ms : std::max(o.min_block_ms, 1e-3);
  while ((end - t0) / block > static_cast<double>(std::max<std::size_t>(o.max_blocks, 1)))
    block *= 2;
  const double until = std::floor(end / block) * block;
  if (until <= (old ? old->until_ms : t0)) {
    res.why_not = "nothing older than the recent window left to thin";
    return res;
  }

  // The new file beside the old, written as the old is read.
  Temp tmp{dfd.fd, name + ".roll." + random_hex()};
  Fd out(::openat(dfd.fd, tmp.name.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
  if (out.fd < 0) {
    tmp.name.clear();  // not ours
    return make_error("cannot roll " + file + ": a temporary file: " + errno_text());
  }
  if (st.st_uid != ::geteuid() && ::fchown(out.fd, st.st_uid, st.st_gid) != 0)
    return make_error("cannot roll " + file + ": fchown: " + errno_text());
  ::fchmod(out.fd, st.st_mode & 07777);

  History h;
  h.until_ms = until;
  h.block_ms = block;
  h.samples = old ? old->samples : 0;
  h.rolls = (old ? old->rolls : 0) + 1;
  // The history, held until the header (which counts what it stands for) is written: bounded
  // by the output, max_blocks blocks of picks.
  std::string body;
  auto emit = [&](const std::string& l) {
    body += l;
    body += '\n';
    ++res.lines_after;
  };

  // One time block at a time: copied as it was when it is history of the same block length,
  // else its picks.
  std::vector<std::string> blk_lines;
  std::vector<Sample> blk;
  bool blk_all_old = true;
  double blk_id = NAN;
  auto flush = [&] {
    if (blk.empty()) return;
    if (blk_all_old && old && old->block_ms == block) {
      for (const auto& l : blk_lines) emit(l);
    } else {
      for (const std::size_t i : pick(blk))
        if (i < blk_lines.size()) emit(blk_lines[i]);
    }
    blk.clear();
    blk_lines.clear();
    blk_all_old = true;
  };

  std::size_t index = 0;  // sample lines so far
  off_t recent_at = -1;   // where the recent window starts
  double prev = -INFINITY;
  bool have = true, line_term = terminated;
  line.swap(first);
  at = first_at;
  while (have) {
    std::string next;
    off_t next_at = 0;
    bool next_term = false;
    auto more = in.next(next, next_at, next_term);
    if (!more) return make_error(file + ": " + more.error().message);
    if (!line_term) {  // a line still being written, or cut by a kill: it stays as it is
      recent_at = at;
      break;
    }
    if (!line.empty()) {
      auto s = parse_sample(line);
      if (!s) {
        if (!*more) {  // a cut last line (a killed target): it stays as it is
          recent_at = at;
          break;
        }
        return make_error("cannot roll " + file + ": sample " + std::to_string(index + 1) + ": " +
                          s.error().message);
      }
      if (s->after_purge || s->t_ms >= until) {
        recent_at = at;
        break;
      }
      if (s->t_ms < prev)
        return make_error("cannot roll " + file + ": sample " + std::to_string(index + 1) +
                          ": t_ms goes back in time");
      prev = s->t_ms;
      const bool is_old = old && s->t_ms < old->until_ms;
      if (!is_old) ++h.samples;
      if (index++ < kHistoryHead) {
        emit(line);
      } else {
        const double id = std::floor(s->t_ms / block);
        if (id != blk_id) flush(), blk_id = id;
        blk_all_old = blk_all_old && is_old;
        blk.push_back(std::move(*s));
        blk_lines.push_back(line);
      }
      res.lines_before++;
    }
    // Everything up to here is read: the recent part starts after this line at the latest.
    recent_at = at + static_cast<off_t>(line.size()) + 1;
    line.swap(next);
    at = next_at;
    line_term = next_term;
    have = *more;
    if (have) recent_at = -1;
  }
  flush();

  // The header: the interposer's line with "history" set (its other fields kept, in order).
  std::string head_line;
  {
    std::string first_line;
    off_t a0 = 0;
    bool t = false;
    FdLines again(fd.fd);
    auto g = again.next(first_line, a0, t);
    if (!g || !*g) return make_error(file + ": header: read again: " + errno_text());
    auto j = nlohmann::ordered_json::parse(first_line, nullptr, false);
    if (!j.is_object()) return make_error(file + ":1: header is not valid JSON");
    j["history"] = {{"until_ms", h.until_ms},
                    {"block_ms", h.block_ms},
                    {"samples", h.samples},
                    {"rolls", h.rolls}};
    head_line = j.dump() + "\n";
  }
  if (!write_all(out.fd, head_line.data(), head_line.size()) ||
      !write_all(out.fd, body.data(), body.size()))
    return make_error("cannot roll " + file + ": write: " + errno_text());
  body.clear();
  body.shrink_to_fit();

  // The recent window as written, then - under the exclusive lock, which waits out an append
  // in flight and keeps the interposer's next ones in its buffer - what was appended
  // meanwhile, and the swap.
  std::uint64_t recent_lines = 0;
  off_t pos = recent_at >= 0 ? recent_at : st.st_size;
  pos = copy_from(fd.fd, pos, out.fd, recent_lines);
  if (pos < 0) return make_error("cannot roll " + file + ": copy: " + errno_text());
  int lk;
  do lk = ::flock(fd.fd, LOCK_EX);
  while (lk != 0 && errno == EINTR);
  if (lk != 0) return make_error("cannot roll " + file + ": flock: " + errno_text());
  pos = copy_from(fd.fd, pos, out.fd, recent_lines);
  if (pos < 0) return make_error("cannot roll " + file + ": copy: " + errno_text());
  struct stat now {};
  if (::fstatat(dfd.fd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(now, st)) {
    res.why_not = "the file was replaced while it was rolled (the target exec'd)";
    return res;
  }
  // Swapped, not renamed over: had another file been put under the name since the check, it is
  // put back.
  bool swapped = ::renameat2(dfd.fd, tmp.name.c_str(), dfd.fd, name.c_str(), RENAME_EXCHANGE) == 0;
  if (!swapped) {
    if (errno != EINVAL && errno != ENOSYS)
      return make_error("cannot roll " + file + ": rename: " + errno_text());
    // A file system without the exchange: renamed over (the check above is the guard).
    if (::renameat(dfd.fd, tmp.name.c_str(), dfd.fd, name.c_str()) != 0)
      return make_error("cannot roll " + file + ": rename: " + errno_text());
    tmp.keep = true;  // it is the timeline now
  } else {
    struct stat was {};
    if (::fstatat(dfd.fd, tmp.name.c_str(), &was, AT_SYMLINK_NOFOLLOW) != 0 ||
        !same_file(was, st)) {
      ::renameat2(dfd.fd, tmp.name.c_str(), dfd.fd, name.c_str(), RENAME_EXCHANGE);
      res.why_not = "the file was replaced while it was rolled (the target exec'd)";
      return res;
    }
    // tmp now names the old file: removed by Temp.
  }
  struct stat after {};
  if (::fstat(out.fd, &after) == 0) res.bytes_after = static_cast<std::uint64_t>(after.st_size);
  res.lines_before += recent_lines;
  res.lines_after += recent_lines;
  res.rolled = true;
  res.history = h;
  return res;
}

}  // namespace arenalab::timeline
