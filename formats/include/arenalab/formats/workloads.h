// SPDX-License-Identifier: Apache-2.0
// workloads.json (arenalab.workloads/1): the index of workloads `arenalab matrix` and
// `arenalab workloads` know, written at build time through write_workloads by
// arenalab-write-workloads (formats/tools; cmake/ArenalabWorkload.cmake gives it the workloads
// the build defines) into build/share/arenalab/workloads.json (a test checks the file is, byte
// for byte, what this writer writes for what this reader reads from it), and written by users
// (--workloads-file, docs/matrix.md "Your own programs"). One reader and one writer;
// bench/matrix (load_workloads) reads it here.
//
// Keys: "schema" (optional in hand-written files; when present "arenalab.workloads/1"),
// "workloads": [ { "name" (non-empty), "category", "description", "program" (the wl_* convention:
// a file name in build/bin or a path; absent: wl_<name>), "link_variants" (backends it is also
// linked against), "takes_duration" (it runs for --duration SECONDS), "command" (any program: a
// string, split as a shell quotes it, or an array of words), with a command "driver" (the same
// two spellings) and with a driver "ready" ("tcp:HOST:PORT" or "unix:PATH") } ].
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"

namespace arenalab::workloads_file {

inline constexpr std::string_view kSchema = "arenalab.workloads/1";

// A command line as the file spells it: one string (bench/matrix splits it as a shell quotes
// it, split_command) or an array of words (never empty, the first word never empty).
struct CommandLine {
  bool is_text = false;
  std::string text;                // is_text
  std::vector<std::string> words;  // !is_text
  bool operator==(const CommandLine&) const = default;
};

struct Entry {
  std::string name;
  std::optional<std::string> category;  // absent: the matrix's default ("misc", "command")
  std::string description;
  std::string program;  // "" when absent
  std::vector<std::string> link_variants;
  bool takes_duration = false;
  std::optional<CommandLine> command;
  std::optional<CommandLine> driver;  // with a command only
  std::string ready;                  // with a driver only; "" when absent
  bool operator==(const Entry&) const = default;
};

// A server's ready address: "tcp:HOST:PORT" (port 1..65535) or "unix:PATH"; the error says
// what was expected ("expected tcp:HOST:PORT or unix:PATH, found 'x'").
Status check_ready(const std::string& ready);

// One entry as written: absent fields stay absent.
nlohmann::json to_json(const Entry& e);
// The document: schema and the entries in order.
nlohmann::json to_json(const std::vector<Entry>& entries);
Status write_workloads(const std::string& path, const std::vector<Entry>& entries);

// Errors name `file` and the field: "F: workloads[2].command: expected a string or a non-empty
// array of strings, found 7", "F: workloads[0] (kv).ready: expected tcp:HOST:PORT or unix:PATH,
// found 'x'".
Result<std::vector<Entry>> parse_workloads(const nlohmann::json& doc, const std::string& file);
Result<std::vector<Entry>> read_workloads(const std::string& path);

}  // namespace arenalab::workloads_file
