// SPDX-License-Identifier: Apache-2.0
// Number and JSON-string formatting into a caller-provided buffer (no allocation, no stdio);
// the output files themselves (opening, writing, the heap_v2 dumps) are in output_files.cc.
#include "arenalab/preload/format.h"

#include <cmath>

namespace arenalab::preload {

Buf& Buf::mem(const char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (len_ + 1 >= cap_) {
      overflow_ = true;
      break;
    }
    data_[len_++] = s[i];
  }
  return *this;
}

Buf& Buf::str(const char* s) { return mem(s, str_len(s)); }

Buf& Buf::ch(char c) { return mem(&c, 1); }

Buf& Buf::u64(std::uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  char out[24];
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return mem(out, static_cast<std::size_t>(n));
}

Buf& Buf::i64(std::int64_t v) {
  if (v < 0) {
    ch('-');
    return u64(static_cast<std::uint64_t>(-(v + 1)) + 1);
  }
  return u64(static_cast<std::uint64_t>(v));
}

Buf& Buf::hex(std::uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  char tmp[18];
  int n = 0;
  do {
    tmp[n++] = kDigits[v & 15];
    v >>= 4;
  } while (v);
  str("0x");
  char out[18];
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return mem(out, static_cast<std::size_t>(n));
}

Buf& Buf::dbl(double v) {
  if (std::isnan(v) || std::isinf(v)) return str("null");  // JSON has no NaN
  if (v < 0) {
    ch('-');
    v = -v;
  }
  if (v >= 9.2e18) return u64(static_cast<std::uint64_t>(9.2e18));
  const auto whole = static_cast<std::uint64_t>(v);
  double frac = v - static_cast<double>(whole);
  auto micro = static_cast<std::uint64_t>(frac * 1e6 + 0.5);
  std::uint64_t w = whole;
  if (micro >= 1000000) {
    ++w;
    micro -= 1000000;
  }
  u64(w);
  if (micro == 0) return *this;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + micro % 10);
    micro /= 10;
  }
  int n = 6;
  while (n > 0 && digits[n - 1] == '0') --n;
  ch('.');
  return mem(digits, static_cast<std::size_t>(n));
}

namespace {

// The length of the well-formed UTF-8 sequence at s (1 to 4 bytes, at most n; RFC 3629 table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the byte there starts
// none.
std::size_t utf8_len(const unsigned char* s, std::size_t n) {
  const unsigned char c = s[0];
  if (c < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (len > n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (s[k] < 0x80 || s[k] > 0xbf) return 0;
  return len;
}

// One unit of json_str's input at s: `in` bytes read, `out` bytes written. Bytes that are not
// well-formed UTF-8 are written as \u00XX (their Latin-1 reading), so every line we write is
// valid JSON (issue 21 item 8: a non-UTF-8 argument or gauge name broke every reader).
struct Unit {
  std::size_t in, out;
};
Unit json_unit(const char* s, std::size_t n) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c == '"' || c == '\\' || c == '\n' || c == '\t') return {1, 2};
  if (c < 0x20) return {1, 6};
  if (c < 0x80) return {1, 1};
  std::size_t m = 0;  // stop at NUL as json_str does
  while (m < n && m < 4 && s[m]) ++m;
  const std::size_t len = utf8_len(reinterpret_cast<const unsigned char*>(s), m);
  return len ? Unit{len, len} : Unit{1, 6};
}

}  // namespace

std::size_t Buf::json_prefix(const char* s, std::size_t n, std::size_t room) {
  if (room < 2) return 0;
  std::size_t used = 2, i = 0;
  while (i < n && s[i]) {
    const Unit u = json_unit(s + i, n - i);
    if (used + u.out > room) break;
    used += u.out;
    i += u.in;
  }
  return i;
}

Buf& Buf::json_str(const char* s, std::size_t n) {
  static const char kHex[] = "0123456789abcdef";
  ch('"');
  for (std::size_t i = 0; i < n && s[i];) {
    const auto c = static_cast<unsigned char>(s[i]);
    const Unit u = json_unit(s + i, n - i);
    if (c == '"' || c == '\\') {
      ch('\\');
      ch(static_cast<char>(c));
    } else if (c == '\n') {
      str("\\n");
    } else if (c == '\t') {
      str("\\t");
    } else if (u.out == 6) {  // a control character, or a byte that is not UTF-8
      str("\\u00");
      ch(kHex[c >> 4]);
      ch(kHex[c & 15]);
    } else {
      mem(s + i, u.in);
    }
    i += u.in;
  }
  return ch('"');
}

std::size_t str_len(const char* s) {
  std::size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool str_eq(const char* a, const char* b) {
  while (*a && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

}  // namespace arenalab::preload
