// SPDX-License-Identifier: Apache-2.0
// arenalab-write-allocators OUT [--configuration name=N backend=B preload=P description=D
//                                [env=VAR=VALUE]...]...
// The build's configurations file (build/share/arenalab/allocators.json) through the one writer
// of its format (formats/configurations.h): allocators/CMakeLists.txt lists the configurations
// the project ships, with the library this configure run found for each backend, and runs this
// tool at build time, so no JSON is spelled by hand in CMake. Each word after --configuration is
// KEY=VALUE (env's value is itself VAR=VALUE); a word the tool does not know is refused with one
// line naming it, exit 2, and nothing is written.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/formats/configurations.h"

namespace {

using arenalab::configurations_file::Entry;

int usage(const std::string& what) {
  std::fprintf(stderr, "arenalab-write-allocators: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage("usage: arenalab-write-allocators OUT [--configuration KEY=VALUE...]...");
  const std::string out = argv[1];
  std::vector<Entry> entries;
  for (int i = 2; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--configuration") {
      entries.emplace_back();
      continue;
    }
    if (entries.empty())
      return usage("expected --configuration before '" + std::string(word) + "'");
    Entry& e = entries.back();
    const auto eq = word.find('=');
    if (eq == std::string_view::npos)
      return usage("expected KEY=VALUE, found '" + std::string(word) + "'");
    const std::string key(word.substr(0, eq));
    const std::string value(word.substr(eq + 1));
    if (key == "name") {
      e.name = value;
    } else if (key == "backend") {
      e.backend = arenalab::formats::backend_from_name(value);
      if (e.backend == arenalab::formats::Backend::kUnknown)
        return usage("unknown backend '" + value + "' (expected glibc, jemalloc, mimalloc, " +
                     "tcmalloc, tbbmalloc)");
    } else if (key == "preload") {
      e.preload = value;
    } else if (key == "description") {
      e.description = value;
    } else if (key == "env") {
      const auto veq = value.find('=');
      if (veq == std::string::npos || veq == 0)
        return usage("expected env=VAR=VALUE, found '" + std::string(word) + "'");
      e.env.emplace_back(value.substr(0, veq), value.substr(veq + 1));
    } else {
      return usage("unknown key '" + key + "' (expected name, backend, preload, description, env)");
    }
  }
  // The file's env is an object, read back in its (sorted) key order.
  for (auto& e : entries) std::sort(e.env.begin(), e.env.end());
  // What the reader would refuse is refused here, before anything is written.
  if (auto checked = arenalab::configurations_file::parse_configurations(
          arenalab::configurations_file::to_json(entries), out);
      !checked)
    return usage(checked.error().message);
  if (auto st = arenalab::configurations_file::write_configurations(out, entries); !st) {
    std::fprintf(stderr, "arenalab-write-allocators: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
