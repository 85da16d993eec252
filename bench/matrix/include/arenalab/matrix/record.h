// SPDX-License-Identifier: Apache-2.0
// Cell records: every finished cell written once, on its own, durably, as
// <out>/cells/<workload>/<configuration>/t<threads>/r<repeat>/cell.json (arenalab.matrix-cell/1),
// and the one merger that turns the records of a matrix directory back into its cells. The
// local engine records and merges through these; a cluster engine whose tasks each run one
// cell writes the same records and merges with the same function.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/core/files.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/matrix.h"

namespace arenalab::matrix {

inline constexpr const char* kCellRecordName = "cell.json";

// The directory of a cell under a matrix directory (where its timeline and its record live).
std::string cell_directory(const std::string& out_dir, const std::string& workload,
                           const std::string& configuration, int threads, int repeat);

// The cell's directory <w>/<c>/t<n>/r<k> under `cells` (the matrix's cells/, opened once by the
// engine: out.open_subdir("cells")): each level made 0700 or an existing one checked
// (OutputDir::open_subdir: a real directory, this user's, not group/world-writable), opened
// relative to its parent's fd. Made before the cell runs and kept open until its record is
// written into it (record_cell_in): a link planted for a level is refused before anything is
// written, and the record lands in the directory checked before the run.
Result<OutputDir> open_cell_directory(const OutputDir& cells, const std::string& workload,
                                      const std::string& configuration, int threads, int repeat);

// Removes the preflight and warm-up scratch directories under cells/ that a run killed by
// SIGKILL left (OutputDir::remove_stale_scratch: only those its mark shows a matrix made, whose
// maker no longer runs), saying so on stderr, one line each; a failure to remove is said too,
// never fatal. Called before making a scratch directory there.
void remove_stale_scratch(const OutputDir& cells);

// Writes the cell's record into its opened directory (open_cell_directory), atomically and
// durably (write_cell).
Status record_cell_in(const OutputDir& cell_dir, const Cell& cell);

// The same from the matrix directory `out`: cells/ and the cell's levels opened as above, then
// record_cell_in (for a record written on its own, not after a cell the engine ran).
Status record_cell(const OutputDir& out, const Cell& cell);

// Every record file under out_dir/cells, in path order (temp files of an interrupted write
// are not records).
std::vector<std::string> find_cell_records(const std::string& out_dir);

struct Merged {
  std::vector<Cell> cells;  // one per key, ordered by sequence (then key)
  // One line per problem, naming the file: a record that could not be read (with the line or
  // field the reader stopped at; the cell is left out, so a resume runs it again) or a cell
  // recorded twice (the later is kept: higher sequence, then later in the input).
  std::vector<std::string> notes;
  std::size_t records = 0;     // records read
  std::size_t duplicates = 0;  // records replaced by a later one
  std::size_t corrupt = 0;     // records that could not be read
  std::size_t foreign = 0;     // unreadable files in no planned cell's directory (left alone)
};

// Merges records given as (file, what reading it gave). Pure: the order of `records` only
// breaks ties between duplicates of equal sequence (the later in the list wins).
Merged merge_records(std::vector<std::pair<std::string, Result<Cell>>> records);

// Reads and merges every record under out_dir/cells. With `planned` (given a record's path
// relative to out_dir/cells, e.g. "w/glibc/t0/r1/cell.json": whether it is a cell directory of
// the plan), a file that cannot be read and is in no planned cell's directory is not a cell of
// the plan: named in a note as left alone, counted `foreign`, not corrupt (no resume would run
// it again).
Merged merge_cell_records(const std::string& out_dir,
                          const std::function<bool(const std::string&)>& planned = {});

}  // namespace arenalab::matrix
