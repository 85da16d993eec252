// SPDX-License-Identifier: Apache-2.0
// Sizes on the command line and in output: "512M", "2G", "64k", plain bytes; binary units.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "arenalab/core/result.h"

namespace arenalab {

// Parses a size: digits with an optional suffix K, M, G, T (powers of 1024; "KiB", "MB" and
// lower case accepted) or B. Errors name the text and what was expected.
Result<std::uint64_t> parse_size(std::string_view text);

// "1.5 GiB", "512.0 MiB", "4.0 KiB", "12 B".
std::string format_bytes(double bytes);

}  // namespace arenalab
