// SPDX-License-Identifier: Apache-2.0
// Size parsing and formatting (binary units, as the kernel and allocators report them).
#include "arenalab/core/sizes.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace arenalab {

Result<std::uint64_t> parse_size(std::string_view text) {
  const std::string shown(text);
  std::size_t i = 0;
  std::uint64_t value = 0;
  if (text.empty()) return make_error("empty size: expected e.g. 512M, 2G or a byte count");
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      return make_error("size '" + shown + "' is too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0)
    return make_error("size '" + shown + "' does not start with a number (e.g. 512M, 2G)");
  const std::string given(text.substr(i));  // as typed, for messages
  std::string suffix;
  for (; i < text.size(); ++i)
    suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  // 1e9, 1.5G, 1_000: a number the byte count cannot hold, not an unknown unit.
  if (given.find_first_of("0123456789.,_+-") != std::string::npos)
    return make_error("size '" + shown +
                      "' is not a whole number of bytes with an optional K, M, G or T suffix "
                      "(binary: 1G = 1073741824), e.g. 1000000000, 512M or 2G; decimals and "
                      "scientific notation are not read");
  int shift = 0;
  if (suffix.empty() || suffix == "B") {
    shift = 0;
  } else if (suffix == "K" || suffix == "KB" || suffix == "KIB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MB" || suffix == "MIB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "GB" || suffix == "GIB") {
    shift = 30;
  } else if (suffix == "T" || suffix == "TB" || suffix == "TIB") {
    shift = 40;
  } else {
    return make_error("size '" + shown + "' has unknown unit '" + given +
                      "': expected K, M, G, T (binary) or none");
  }
  if (shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift))
    return make_error("size '" + shown + "' is too large");
  return value << shift;
}

std::string format_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  const bool negative = bytes < 0;
  double v = std::fabs(bytes);
  int unit = 0;
  while (v >= 1024.0 && unit < 4) {
    v /= 1024.0;
    ++unit;
  }
  char buf[64];
  if (unit == 0)
    std::snprintf(buf, sizeof buf, "%s%.0f B", negative ? "-" : "", v);
  else
    std::snprintf(buf, sizeof buf, "%s%.1f %s", negative ? "-" : "", v, kUnits[unit]);
  return buf;
}

}  // namespace arenalab
