// SPDX-License-Identifier: Apache-2.0
// arenalab-workload-report WORD...: prints a real-program driver's result (arenalab.workload/2,
// the line a workload prints with --json) through the one writer of the format
// (formats/workload.h). The drivers (real_driver.py: wl_redis, wl_sqlite) are Python scripts;
// they hand their figures to this program as words instead of spelling the format themselves:
//   workload=NAME backend=B library=PATH version=V method=M
//   param=KEY=VALUE measurement=KEY=VALUE   (VALUE a JSON value: a workload's params and
//                                             measurements are its own, free-form)
//   throughput=N throughput_unit=UNIT       (the figure the matrix reads, {value, unit})
//   --check name=N pass=true|false detail=D (one check; its words follow it)
// The result passes when every check passes. A word it does not know, or a result the reader
// would refuse, is refused with one line naming it, exit 2, and nothing is printed on stdout.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "arenalab/formats/workload.h"

namespace {

using arenalab::workload::WorkloadReport;

int refuse(const std::string& what) {
  std::fprintf(stderr, "arenalab-workload-report: %s\n", what.c_str());
  return 2;
}

// KEY=VALUE with VALUE a JSON value, into `object`; false (and `error` set) when it is not.
bool put_value(std::string_view word, std::string_view item, nlohmann::json& object,
               std::string* error) {
  const auto eq = item.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    *error = "expected KEY=VALUE after the '=' of '" + std::string(word) + "'";
    return false;
  }
  auto value = nlohmann::json::parse(item.substr(eq + 1), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    *error = "'" + std::string(word) + "': the value is not a JSON value";
    return false;
  }
  object[std::string(item.substr(0, eq))] = std::move(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  WorkloadReport r;
  std::optional<double> throughput;
  std::string throughput_unit;
  bool in_check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--check") {
      r.checks.emplace_back();
      in_check = true;
      continue;
    }
    const auto eq = word.find('=');
    if (eq == std::string_view::npos)
      return refuse("expected KEY=VALUE or --check, found '" + std::string(word) + "'");
    const std::string key(word.substr(0, eq));
    const std::string value(word.substr(eq + 1));
    std::string error;
    if (in_check) {
      auto& c = r.checks.back();
      if (key == "name")
        c.name = value;
      else if (key == "pass" && (value == "true" || value == "false"))
        c.pass = value == "true";
      else if (key == "detail")
        c.detail = value;
      else
        return refuse("unknown check word '" + std::string(word) +
                      "' (expected name=N, pass=true|false, detail=D)");
    } else if (key == "workload") {
      r.workload = value;
    } else if (key == "backend") {
      r.backend = arenalab::formats::backend_from_name(value);
      if (r.backend == arenalab::formats::Backend::kUnknown && value != "unknown")
        return refuse("unknown backend '" + value +
                      "' (expected glibc, jemalloc, mimalloc, tcmalloc, tbbmalloc, unknown)");
    } else if (key == "library") {
      r.library = value;
    } else if (key == "version") {
      r.version = value;
    } else if (key == "method") {
      if (value == "ld-debug")
        r.method = arenalab::workload::Method::kLdDebug;
      else if (!value.empty())
        return refuse("method: expected ld-debug or nothing, found '" + value + "'");
    } else if (key == "param") {
      if (!put_value(word, value, r.params, &error)) return refuse(error);
    } else if (key == "measurement") {
      if (!put_value(word, value, r.measurements, &error)) return refuse(error);
    } else if (key == "throughput") {
      char* end = nullptr;
      throughput = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0')
        return refuse("throughput: expected a number, found '" + value + "'");
    } else if (key == "throughput_unit") {
      throughput_unit = value;
    } else {
      return refuse("unknown word '" + std::string(word) +
                    "' (expected workload, backend, library, version, method, param, "
                    "measurement, throughput, throughput_unit, --check)");
    }
  }
  if (r.workload.empty()) return refuse("missing workload=NAME");
  if (throughput) arenalab::workload::set_throughput(r.measurements, *throughput, throughput_unit);
  for (const auto& c : r.checks)
    if (c.name.empty()) return refuse("a --check without name=N");
  r.pass = true;
  for (const auto& c : r.checks) r.pass = r.pass && c.pass;
  // What the reader would refuse is refused here, before anything is printed.
  if (auto checked = arenalab::workload::workload_from_json(arenalab::workload::workload_to_json(r),
                                                            "wl_" + r.workload);
      !checked)
    return refuse(checked.error().message);
  std::fputs(arenalab::workload::workload_line(r).c_str(), stdout);
  std::fflush(stdout);
  return 0;
}
