// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the dump parsers: a line cursor that knows line numbers, and
// strict number scanning over string_view (no locale, no exceptions, overflow rejected).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "arenalab/core/result.h"

namespace arenalab::profilers::detail {

class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  // Next line without its '\n'; false at the end. `terminated()` tells whether it had one.
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t nl = text_.find('\n', pos_);
    terminated_ = nl != std::string_view::npos;
    if (!terminated_) nl = text_.size();
    line = text_.substr(pos_, nl - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = nl + 1;
    ++number_;
    return true;
  }
  // Looks at the next line without consuming it.
  bool peek(std::string_view& line) const {
    LineCursor copy = *this;
    return copy.next(line);
  }
  int number() const { return number_; }
  bool terminated() const { return terminated_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int number_ = 0;
  bool terminated_ = true;
};

inline void skip_spaces(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

// Consumes an unsigned number in `base` (leading spaces skipped); false if none or overflow.
inline bool take_uint(std::string_view& s, std::uint64_t& out, int base = 10) {
  skip_spaces(s);
  if (base == 16 && s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    s.remove_prefix(2);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec != std::errc() || ptr == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
  return true;
}

// Consumes `literal` after optional spaces; false if it is not next.
inline bool take(std::string_view& s, std::string_view literal) {
  skip_spaces(s);
  if (s.substr(0, literal.size()) != literal) return false;
  s.remove_prefix(literal.size());
  return true;
}

// Consumes the next whitespace-delimited token.
inline std::string_view take_token(std::string_view& s) {
  skip_spaces(s);
  std::size_t n = 0;
  while (n < s.size() && s[n] != ' ' && s[n] != '\t') ++n;
  std::string_view token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

// "<source>:<line>: expected <what>, got '<line text>'" (the text shortened to 80 chars).
inline Error parse_error(const std::string& source, int line, std::string_view what,
                         std::string_view got) {
  std::string shown(got.substr(0, 80));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) c = '?';
  if (got.size() > 80) shown += "...";
  return make_error(source + ":" + std::to_string(line) + ": expected " + std::string(what) +
                    ", got '" + shown + "'");
}

}  // namespace arenalab::profilers::detail
