// SPDX-License-Identifier: Apache-2.0
// Line-oriented file reading with a bound on the line length (issue 21): a reader of
// timeline.jsonl and other line formats refuses a 1 GB line after reading the bound, quickly and
// in bounded memory, with "<file>:<line>: ..." instead of reading it all.
#pragma once

#include <cstddef>
#include <string>

#include "arenalab/core/result.h"

namespace arenalab {

// The longest line a line-oriented reader takes by default, bytes (without the newline). A
// timeline header is at most 64 KiB (the interposer truncates fields), a sample line a few KiB.
inline constexpr std::size_t kMaxLineBytes = 1 << 20;

class LineReader {
 public:
  // Opens `path` for reading; errors name it.
  static Result<LineReader> open(const std::string& path, std::size_t max_line = kMaxLineBytes);

  LineReader(LineReader&&) noexcept;
  LineReader& operator=(LineReader&&) noexcept;
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader();

  // The next line into `line` (without its '\n'): true, or false at the end of the file. An error
  // names the file and the line: a line longer than the bound (found after reading at most the
  // bound plus one buffer), or a read error.
  Result<bool> next(std::string& line);
  std::size_t line_number() const { return lineno_; }  // of the line last returned, from 1
  // The line last returned ended at EOF without a newline (still true after next() said false).
  bool last_unterminated() const { return unterminated_; }
  const std::string& path() const { return path_; }

 private:
  LineReader(int fd, std::string path, std::size_t max_line);
  int fd_ = -1;
  std::string path_;
  std::size_t max_line_ = kMaxLineBytes;
  std::string buf_;  // read but not yet returned: [pos_, buf_.size())
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::size_t lineno_ = 0;
  bool unterminated_ = false;
};

}  // namespace arenalab
