// SPDX-License-Identifier: Apache-2.0
// Text helpers shared by the writers of HTML, JUnit XML and JSON result files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "arenalab/core/result.h"

namespace arenalab {

// Escapes & < > " ' for XML and HTML text and attribute values.
std::string markup_escape(std::string_view s);

// `s` with every byte that is not part of valid UTF-8 written as the four characters \xNN, so
// a command line with Latin-1 or binary arguments can go into a JSON file (which must be
// UTF-8) without losing what the bytes were. Valid UTF-8 passes unchanged.
std::string utf8_escaped(std::string_view s);
std::vector<std::string> utf8_escaped(const std::vector<std::string>& v);

// `s` made safe for one line of a terminal or log: every byte that is a control character (C0
// including \n and \t, DEL, the C1 controls U+0080..U+009F) or not part of valid UTF-8 becomes
// \xNN; printable UTF-8 passes unchanged. Idempotent. Every message that quotes input (a file's
// bytes, a path, an argument) goes through it, so an error line never echoes raw binary.
std::string printable(std::string_view s);

// The largest JSON document read_json_file reads by default: 64 MiB, far above anything
// arenalab writes (a 351-cell matrix's results take about 1 MB), while nlohmann's tree of one
// takes about 10x its text in memory. Line-oriented files are bounded per line instead
// (lines.h).
inline constexpr std::uint64_t kMaxJsonFileBytes = std::uint64_t{64} << 20;

// Reads and parses a JSON file of at most max_bytes (a FIFO or /dev/zero included: reading
// stops one byte past the bound). Errors name the file: "<path>: not valid JSON: ...",
// "<path>: larger than 64.0 MiB (67108864 bytes), the limit for a JSON
// document (not read)".
Result<nlohmann::json> read_json_file(const std::string& path,
                                      std::uint64_t max_bytes = kMaxJsonFileBytes);

}  // namespace arenalab
