// SPDX-License-Identifier: Apache-2.0
// allocators.json (arenalab.allocators/1): the named allocator configurations (contract,
// docs/architecture.md), written at build time through this writer by arenalab-write-allocators
// (the configurations allocators/CMakeLists.txt lists) and extended by users (--allocators-file).
// One reader and one writer; allocators/registry.h loads it, `arenalab allocators --json` writes
// each entry through it (adding what it found).
//
// Keys: "schema" (optional in hand-written files; when present "arenalab.allocators/1"),
// "configurations": [ { "name" (non-empty, unique), "backend" (glibc | jemalloc | mimalloc |
// tcmalloc | tbbmalloc), "preload" (library path or name, "" for none), "env" (object of
// strings), "description" } ], at least one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/allocator_backend.h"
#include "arenalab/formats/json.h"

namespace arenalab::configurations_file {

inline constexpr std::string_view kSchema = "arenalab.allocators/1";

struct Entry {
  std::string name;
  formats::Backend backend = formats::Backend::kUnknown;  // never kUnknown once read
  std::string preload;                                    // library for LD_PRELOAD; empty for glibc
  std::vector<std::pair<std::string, std::string>> env;   // in the file's (sorted) key order
  std::string description;
  bool operator==(const Entry&) const = default;
};

// One entry as written: every key, "preload", "env" and "description" also when empty.
nlohmann::json to_json(const Entry& e);
// The document: schema and the entries in order.
nlohmann::json to_json(const std::vector<Entry>& entries);
Status write_configurations(const std::string& path, const std::vector<Entry>& entries);

// `arenalab allocators --json`: the configurations document with "file" (the document read)
// and, in each entry after the keys to_json(Entry) writes, what was found out about it:
// "library" (the library the configuration resolves to, "" for none), "available",
// "identified" {"backend", "library"} (what a probe under it identified; absent when no probe
// ran), "verified", "version" and "problem" (absent when empty). parse_configurations reads it
// back as the entries it lists.
struct Listed {
  Entry entry;
  std::string library;
  bool available = false;
  bool probed = false;  // a probe ran: "identified" is written
  formats::Backend identified_backend = formats::Backend::kUnknown;
  std::string identified_library;
  bool verified = false;
  std::string version;  // "" when the allocator exposes none
  std::string problem;  // why it is unavailable or not verified; "" when neither
};
nlohmann::json listing_to_json(const std::string& file, const std::vector<Listed>& listed);

// Errors name `file` and the entry: "F: configurations[1]: missing \"name\" (a non-empty
// string)", "F: configurations[0] (x): unknown backend 'ptmalloc9' (expected glibc|...)".
Result<std::vector<Entry>> parse_configurations(const nlohmann::json& doc, const std::string& file);
Result<std::vector<Entry>> read_configurations(const std::string& path);

// arenalab-probe's one line on stdout: which allocator a process under a configuration's
// environment calls. {"backend": glibc|...|"unknown" (a malloc of none of the five), "library":
// the object defining malloc, "version": "" where it exposes none, "stats_interface": bool}.
// The probe writes it with printf (allocators/src/probe_main.cc: it runs under every allocator
// and links no JSON library); this is its one reader. `what` names the probe in errors:
// "probe for 'x': \"library\" must be a string".
struct ProbeLine {
  formats::Backend backend = formats::Backend::kUnknown;
  std::string library;
  std::string version;
  bool stats_interface = false;
  bool operator==(const ProbeLine&) const = default;
};
Result<ProbeLine> parse_probe_line(std::string_view text, const std::string& what);

}  // namespace arenalab::configurations_file
