// SPDX-License-Identifier: Apache-2.0
// Cell records and their merger (record.h).
#include "arenalab/matrix/record.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "arenalab/core/files.h"

namespace arenalab::matrix {

std::string cell_directory(const std::string& out_dir, const std::string& workload,
                           const std::string& configuration, int threads, int repeat) {
  return fmt::format("{}/cells/{}/{}/t{}/r{}", out_dir, workload, configuration, threads, repeat);
}

Result<OutputDir> open_cell_directory(const OutputDir& cells, const std::string& workload,
                                      const std::string& configuration, int threads, int repeat) {
  const std::string levels[] = {workload, configuration, fmt::format("t{}", threads),
                                fmt::format("r{}", repeat)};
  std::optional<OutputDir> dir;
  for (const auto& name : levels) {
    auto sub = (dir ? *dir : cells).open_subdir(name);
    if (!sub) return sub.error();
    dir = std::move(*sub);
  }
  return std::move(*dir);
}

void remove_stale_scratch(const OutputDir& cells) {
  auto removed = cells.remove_stale_scratch();
  if (!removed) {
    std::fprintf(stderr, "arenalab: %s (a scratch directory a killed run left)\n",
                 removed.error().message.c_str());
    return;
  }
  for (const auto& name : *removed)
    std::fprintf(stderr,
                 "arenalab: removed %s/%s, a scratch directory left by a run that was killed "
                 "(its process no longer runs)\n",
                 cells.path().c_str(), name.c_str());
}

Status record_cell_in(const OutputDir& cell_dir, const Cell& cell) {
  return write_cell(cell_dir, kCellRecordName, cell);
}

Status record_cell(const OutputDir& out, const Cell& cell) {
  auto cells = out.open_subdir("cells");
  if (!cells) return cells.error();
  auto dir =
      open_cell_directory(*cells, cell.workload, cell.configuration, cell.threads, cell.repeat);
  if (!dir) return dir.error();
  return record_cell_in(*dir, cell);
}

std::vector<std::string> find_cell_records(const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path root = fs::path(out_dir) / "cells";
  if (!fs::is_directory(root, ec)) return out;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == kCellRecordName && it->is_regular_file(ec))
      out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Merged merge_records(std::vector<std::pair<std::string, Result<Cell>>> records) {
  Merged m;
  struct Kept {
    std::size_t index;  // into m.cells
    std::string file;
  };
  std::unordered_map<std::string, Kept> by_key;  // key -> the record kept so far
  for (auto& [file, cell] : records) {
    if (!cell) {
      ++m.corrupt;
      // The reader's message names the file and the line or field it stopped at.
      m.notes.push_back(cell.error().message + " (record left out; --resume runs the cell again)");
      continue;
    }
    ++m.records;
    const std::string key = cell->key();
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      by_key.emplace(key, Kept{m.cells.size(), file});
      m.cells.push_back(std::move(*cell));
      continue;
    }
    ++m.duplicates;
    Cell& kept = m.cells[it->second.index];
    const bool later = cell->sequence >= kept.sequence;
    const std::string& winner = later ? file : it->second.file;
    m.notes.push_back(
        fmt::format("cell {} recorded twice: {} (sequence {}) and {} (sequence {}); "
                    "keeping the later, {}",
                    key, it->second.file, kept.sequence, file, cell->sequence, winner));
    if (later) {
      kept = std::move(*cell);
      it->second.file = file;
    }
  }
  std::stable_sort(m.cells.begin(), m.cells.end(), [](const Cell& a, const Cell& b) {
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return a.key() < b.key();
  });
  return m;
}

Merged merge_cell_records(const std::string& out_dir,
                          const std::function<bool(const std::string&)>& planned) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(out_dir) / "cells";
  std::vector<std::pair<std::string, Result<Cell>>> records;
  std::vector<std::string> foreign;
  for (auto& file : find_cell_records(out_dir)) {
    auto cell = read_cell(file);
    if (!cell && planned && !planned(fs::path(file).lexically_relative(root).string())) {
      foreign.push_back(file +
                        " is not a cell of this plan (no planned cell has that "
                        "directory): left alone");
      continue;
    }
    records.emplace_back(std::move(file), std::move(cell));
  }
  Merged m = merge_records(std::move(records));
  m.foreign = foreign.size();
  m.notes.insert(m.notes.end(), foreign.begin(), foreign.end());
  return m;
}

}  // namespace arenalab::matrix
