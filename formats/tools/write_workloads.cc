// SPDX-License-Identifier: Apache-2.0
// arenalab-write-workloads OUT [--workload name=N program=P category=C description=D
//                               [link_variant=B]... [takes_duration]]...
// The build's workload index (build/share/arenalab/workloads.json) through the one writer of
// its format (formats/workloads.h): cmake/ArenalabWorkload.cmake collects the workloads the build
// defines and runs this tool at build time, so no JSON is spelled by hand in CMake. Each word
// after --workload is KEY=VALUE (or the flag takes_duration); a word the tool does not know is
// refused with one line naming it, exit 2, and nothing is written.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/formats/workloads.h"

namespace {

using arenalab::workloads_file::Entry;

int usage(const std::string& what) {
  std::fprintf(stderr, "arenalab-write-workloads: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("usage: arenalab-write-workloads OUT [--workload KEY=VALUE...]...");
  const std::string out = argv[1];
  std::vector<Entry> entries;
  for (int i = 2; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--workload") {
      entries.emplace_back();
      continue;
    }
    if (entries.empty()) return usage("expected --workload before '" + std::string(word) + "'");
    Entry& e = entries.back();
    if (word == "takes_duration") {
      e.takes_duration = true;
      continue;
    }
    const auto eq = word.find('=');
    const std::string key(word.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? "" : word.substr(eq + 1));
    if (eq == std::string_view::npos)
      return usage("expected KEY=VALUE or takes_duration, found '" + std::string(word) + "'");
    if (key == "name")
      e.name = value;
    else if (key == "program")
      e.program = value;
    else if (key == "category")
      e.category = value;
    else if (key == "description")
      e.description = value;
    else if (key == "link_variant")
      e.link_variants.push_back(value);
    else
      return usage("unknown key '" + key +
                   "' (expected name, program, category, description, "
                   "link_variant)");
  }
  // What the reader would refuse is refused here, before anything is written.
  if (auto checked = arenalab::workloads_file::parse_workloads(
          arenalab::workloads_file::to_json(entries), out);
      !checked)
    return usage(checked.error().message);
  if (auto st = arenalab::workloads_file::write_workloads(out, entries); !st) {
    std::fprintf(stderr, "arenalab-write-workloads: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
