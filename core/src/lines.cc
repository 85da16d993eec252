// SPDX-License-Identifier: Apache-2.0
// LineReader (lines.h): read(2) in 64 KiB chunks, lines cut at '\n', a bound on their length.
#include "arenalab/core/lines.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"

namespace arenalab {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

LineReader::LineReader(int fd, std::string path, std::size_t max_line)
    : fd_(fd), path_(std::move(path)), max_line_(max_line) {}

LineReader::LineReader(LineReader&& o) noexcept { *this = std::move(o); }

LineReader& LineReader::operator=(LineReader&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    max_line_ = o.max_line_;
    buf_ = std::move(o.buf_);
    pos_ = o.pos_;
    eof_ = o.eof_;
    lineno_ = o.lineno_;
    unterminated_ = o.unterminated_;
  }
  return *this;
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<LineReader> LineReader::open(const std::string& path, std::size_t max_line) {
  auto fd = open_input_file(path);  // a FIFO, device or directory: refused, never waited on
  if (!fd) return fd.error();
  return LineReader(*fd, path, max_line);
}

Result<bool> LineReader::next(std::string& line) {
  line.clear();
  if (eof_ && pos_ >= buf_.size()) return false;
  ++lineno_;
  for (;;) {
    // The line so far is buf_[pos_, scan) without a newline; look for one in the rest.
    const std::size_t have = buf_.size() - pos_;
    const void* nl = have ? std::memchr(buf_.data() + pos_, '\n', have) : nullptr;
    if (nl) {
      const std::size_t end = static_cast<const char*>(nl) - buf_.data();
      if (end - pos_ > max_line_) break;
      line.assign(buf_, pos_, end - pos_);
      pos_ = end + 1;
      unterminated_ = false;
      return true;
    }
    if (have > max_line_) break;
    if (eof_) {
      if (have == 0) {  // the file ended with a newline: no further line
        --lineno_;
        return false;
      }
      line.assign(buf_, pos_, have);
      pos_ = buf_.size();
      unterminated_ = true;
      return true;
    }
    // Keep only what is unread, then append one chunk.
    buf_.erase(0, pos_);
    pos_ = 0;
    const std::size_t old = buf_.size();
    buf_.resize(old + kChunk);
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + old, kChunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      buf_.resize(old);
      return make_error(printable(path_) + ":" + std::to_string(lineno_) +
                        ": read error: " + std::strerror(errno));
    }
    buf_.resize(old + static_cast<std::size_t>(n));
    if (n == 0) eof_ = true;
  }
  return make_error(printable(path_) + ":" + std::to_string(lineno_) +
                    ": expected a line of at most " + std::to_string(max_line_) +
                    " bytes, found a longer one (stopped reading there)");
}

}  // namespace arenalab
