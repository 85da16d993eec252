// SPDX-License-Identifier: Apache-2.0
// Markup escaping and JSON file reading (one place for the path-naming error messages).
#include "arenalab/core/text.h"

#include "arenalab/core/files.h"

namespace arenalab {

std::string markup_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<nlohmann::json> read_json_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return make_error(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace arenalab
