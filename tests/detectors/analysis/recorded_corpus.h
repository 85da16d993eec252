// SPDX-License-Identifier: Apache-2.0
// The recorded corpus (tests/data/corpus, re-recorded by scripts/record-corpus) as the tests
// that read it find it: its LABEL__NAME__ALLOCATOR.jsonl.zst files, and each one decompressed.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace arenalab::analysis {

struct RecordedCorpus {
  std::vector<std::filesystem::path> files;  // sorted by name
  std::string skip;  // why the corpus cannot be read here (no files, no zstd), else ""
};

// The timelines in dir whose file name starts with prefix ("retention__": one label's).
inline RecordedCorpus recorded_corpus(const std::filesystem::path& dir,
                                      const std::string& prefix = "") {
  RecordedCorpus c;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with(prefix) && name.ends_with(".jsonl.zst")) c.files.push_back(e.path());
    }
  std::sort(c.files.begin(), c.files.end());
  if (c.files.empty())
    c.skip = "no recorded " + prefix + "timelines in " + dir.string();
  else if (std::system("zstd --version >/dev/null 2>&1") != 0)
    c.skip = "zstd not found";
  return c;
}

// zstd -dc FILE into dir/NAME.jsonl; its path, or "" when zstd failed.
inline std::string decompress(const std::filesystem::path& zst, const std::filesystem::path& dir) {
  const std::filesystem::path out = dir / zst.stem();
  const std::string cmd = "zstd -q -dc '" + zst.string() + "' > '" + out.string() + "'";
  return std::system(cmd.c_str()) == 0 ? out.string() : std::string();
}

}  // namespace arenalab::analysis
