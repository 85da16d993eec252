// SPDX-License-Identifier: Apache-2.0
// File helpers: whole-file reads, atomic writes (temp file + rename, so a reader never sees
// half a result), and where arenalab's installed data lives relative to its executables.
#pragma once

#include <string>

#include "arenalab/core/result.h"

namespace arenalab {

Result<std::string> read_file(const std::string& path);

// Writes `content` to path.tmp.<pid> then renames it over `path`.
Status write_file_atomic(const std::string& path, const std::string& content);

// Creates a directory and its parents; an existing directory is fine.
Status make_directories(const std::string& path);

// The directory of the running executable (/proc/self/exe).
std::string executable_dir();

// build/share/arenalab (or $ARENALAB_SHARE_DIR): generated data such as allocators.json.
std::string share_dir();

// build/lib (or $ARENALAB_LIB_DIR): libarenalab_preload.so.
std::string lib_dir();

// build/bin (or $ARENALAB_BIN_DIR): wl_* and the probe.
std::string bin_dir();

}  // namespace arenalab
