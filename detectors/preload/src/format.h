// SPDX-License-Identifier: Apache-2.0
// A fixed-capacity text buffer with its own number formatting and JSON string escaping, for
// writing timeline lines and heap dumps from injected code without stdio or allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arenalab::preload {

class Buf {
 public:
  Buf(char* data, std::size_t cap) : data_(data), cap_(cap) {}
  Buf& str(const char* s);
  Buf& mem(const char* s, std::size_t n);
  Buf& ch(char c);
  Buf& u64(std::uint64_t v);
  Buf& i64(std::int64_t v);
  Buf& hex(std::uint64_t v);  // 0x...
  Buf& dbl(double v);         // integral values plainly, else up to 6 decimals
  Buf& json_str(const char* s, std::size_t n = static_cast<std::size_t>(-1));
  std::size_t size() const { return len_; }
  const char* data() const { return data_; }
  bool overflow() const { return overflow_; }
  void clear() {
    len_ = 0;
    overflow_ = false;
  }

 private:
  char* data_;
  std::size_t cap_;
  std::size_t len_ = 0;
  bool overflow_ = false;
};

// write(2) until done (EINTR retried). False on error.
bool write_all(int fd, const char* p, std::size_t n);

// Length of a NUL-terminated string; string compare (no libc dependence on the hot path).
std::size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);

}  // namespace arenalab::preload
