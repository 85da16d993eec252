// SPDX-License-Identifier: Apache-2.0
// Text helpers shared by the writers of HTML, JUnit XML and JSON result files.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "arenalab/core/result.h"

namespace arenalab {

// Escapes & < > " ' for XML and HTML text and attribute values.
std::string markup_escape(std::string_view s);

// Reads and parses a JSON file. Errors name the file: "<path>: not valid JSON: ...".
Result<nlohmann::json> read_json_file(const std::string& path);

}  // namespace arenalab
