// SPDX-License-Identifier: Apache-2.0
// Loading and validating allocator configuration files; probing a configuration.
#include "arenalab/allocators/registry.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/text.h"

namespace arenalab {
namespace fs = std::filesystem;

namespace {

// Directories ld.so searches for a bare library name (multiarch first, as on Debian).
std::vector<std::string> library_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* llp = std::getenv("LD_LIBRARY_PATH")) {
    std::stringstream ss(llp);
    std::string d;
    while (std::getline(ss, d, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  for (const char* d :
       {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu", "/usr/local/lib", "/usr/lib", "/lib"})
    dirs.emplace_back(d);
  return dirs;
}

}  // namespace

std::string Configuration::preload_path() const {
  if (preload.empty()) return "";
  std::error_code ec;
  if (preload.find('/') != std::string::npos)
    return fs::is_regular_file(preload, ec) ? preload : "";
  for (const auto& dir : library_search_dirs()) {
    const fs::path p = fs::path(dir) / preload;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

std::string Configuration::unavailable_reason() const {
  if (backend == Backend::kUnknown) return "unknown backend";
  if (!preload.empty() && preload_path().empty()) return "library " + preload + " not found";
  return "";
}

std::string default_configurations_path() {
  if (const char* f = std::getenv("ARENALAB_ALLOCATORS_FILE"); f && *f) return f;
  return share_dir() + "/allocators.json";
}

Result<std::vector<Configuration>> load_configurations(const std::string& path) {
  auto entries = configurations_file::read_configurations(path);
  if (!entries) return entries.error();
  std::vector<Configuration> out;
  for (auto& e : *entries) out.push_back(Configuration{std::move(e)});
  return out;
}

Result<Configuration> find_configuration(const std::vector<Configuration>& configs,
                                         const std::string& name) {
  std::string known;
  for (const auto& c : configs) {
    if (c.name == name) return c;
    known += (known.empty() ? "" : ", ") + c.name;
  }
  return make_error("unknown allocator configuration '" + name + "' (known: " + known + ")");
}

std::vector<std::pair<std::string, std::string>> configuration_environment(
    const Configuration& config, const std::string& interposer) {
  std::vector<std::pair<std::string, std::string>> env = config.env;
  std::string preload = interposer;
  const std::string lib = config.preload_path().empty() ? config.preload : config.preload_path();
  if (!lib.empty()) preload += (preload.empty() ? "" : " ") + lib;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing && *existing)
    preload += (preload.empty() ? "" : " ") + std::string(existing);
  if (!preload.empty()) env.emplace_back("LD_PRELOAD", preload);
  return env;
}

std::string verification_mismatch(const Configuration& config, const Identification& id) {
  if (id.backend == config.backend) return "";
  std::string found = backend_name(id.backend);
  if (id.library[0]) found += std::string(" (malloc defined in ") + id.library + ")";
  return "configuration '" + config.name + "' asks for " + backend_name(config.backend) +
         " but the process calls " + found;
}

Result<ProbeReport> probe_configuration(const Configuration& config) {
  if (const auto why = config.unavailable_reason(); !why.empty())
    return make_error("configuration '" + config.name + "': " + why);
  SpawnSpec spec;
  spec.argv = {bin_dir() + "/arenalab-probe"};
  spec.set_env = configuration_environment(config);
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  auto run = run_process(spec);
  if (!run) return make_error("probe for '" + config.name + "': " + run.error().message);
  if (run->shell_status() != 0) {
    std::string tail = run->err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    if (const auto nl = tail.rfind('\n'); nl != std::string::npos) tail = tail.substr(nl + 1);
    return make_error("probe for '" + config.name + "' failed (" + run->describe() + ")" +
                      (tail.empty() ? "" : ": " + tail));
  }
  auto line = configurations_file::parse_probe_line(run->out, "probe for '" + config.name + "'");
  if (!line) return line.error();
  ProbeReport report;
  report.id.backend = line->backend;
  std::snprintf(report.id.library, sizeof report.id.library, "%s", line->library.c_str());
  std::snprintf(report.id.version, sizeof report.id.version, "%s", line->version.c_str());
  report.mismatch = verification_mismatch(config, report.id);
  report.verified = report.mismatch.empty();
  return report;
}

}  // namespace arenalab
