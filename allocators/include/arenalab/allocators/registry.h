// SPDX-License-Identifier: Apache-2.0
// Named allocator configurations (contract, docs/architecture.md): a JSON data file users extend
// without recompiling. Each entry: name, backend, preload (library path or empty), env.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "arenalab/allocators/backend.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/configurations.h"

namespace arenalab {

// An entry of the file as formats/configurations.h reads it (name, backend, preload, env,
// description), with what the registry finds out about it.
struct Configuration : configurations_file::Entry {
  // Empty when usable; otherwise why not ("library /x/libjemalloc.so.2 not found").
  std::string unavailable_reason() const;
  bool available() const { return unavailable_reason().empty(); }
  // The resolved absolute path of `preload` ("" when preload is empty or not found).
  std::string preload_path() const;
};

// The shipped file: $ARENALAB_ALLOCATORS_FILE, else share_dir()/allocators.json (written at
// build time by arenalab-write-allocators from the configurations allocators/CMakeLists.txt
// lists, with the libraries configure found).
std::string default_configurations_path();

// Reads and validates a configurations file (formats/configurations.h). Errors name the file
// and the entry.
Result<std::vector<Configuration>> load_configurations(const std::string& path);

// Finds `name`; the error lists the names that exist.
Result<Configuration> find_configuration(const std::vector<Configuration>& configs,
                                         const std::string& name);

// Environment a target runs with under `config`: LD_PRELOAD = [interposer] + config.preload
// (any LD_PRELOAD the caller had is kept after them) and the configuration's variables.
std::vector<std::pair<std::string, std::string>> configuration_environment(
    const Configuration& config, const std::string& interposer = "");

// What a probe process reported about itself.
struct ProbeReport {
  Identification id;
  bool verified = false;  // id.backend == config.backend
  std::string mismatch;   // when not verified: what was found instead
};

// Runs build/bin/arenalab-probe under `config` and reads its identification.
Result<ProbeReport> probe_configuration(const Configuration& config);

// Compares an identification with the backend a configuration asked for; "" when they agree,
// else one line saying what was found instead.
std::string verification_mismatch(const Configuration& config, const Identification& id);

}  // namespace arenalab
