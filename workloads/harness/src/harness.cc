// SPDX-License-Identifier: Apache-2.0
// Workload harness implementation.
#include "arenalab/workload/harness.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "arenalab/core/sizes.h"
#include "arenalab/formats/workload.h"

namespace arenalab::workload {

Harness::Harness(std::string name, std::string description)
    : name_(std::move(name)), description_(std::move(description)) {}

void Harness::size_flag(const std::string& name, std::uint64_t* value, std::uint64_t smoke,
                        const std::string& help) {
  Flag f{name,
         help + " (default " + format_bytes(static_cast<double>(*value)) + ", smoke " +
             format_bytes(static_cast<double>(smoke)) + ")",
         "SIZE"};
  f.set = [value](const std::string& text) {
    auto v = parse_size(text);
    if (!v) return false;
    *value = *v;
    return true;
  };
  f.apply_smoke = [value, smoke] { *value = smoke; };
  f.get = [value] { return nlohmann::json(*value); };
  flags_.push_back(std::move(f));
}

void Harness::int_flag(const std::string& name, std::int64_t* value, std::int64_t smoke,
                       const std::string& help) {
  Flag f{name,
         help + " (default " + std::to_string(*value) + ", smoke " + std::to_string(smoke) + ")",
         "N"};
  f.set = [value](const std::string& text) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') return false;
    *value = v;
    return true;
  };
  f.apply_smoke = [value, smoke] { *value = smoke; };
  f.get = [value] { return nlohmann::json(*value); };
  flags_.push_back(std::move(f));
}

void Harness::double_flag(const std::string& name, double* value, double smoke,
                          const std::string& help) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " (default %g, smoke %g)", *value, smoke);
  Flag f{name, help + buf, "X"};
  f.set = [value](const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') return false;
    *value = v;
    return true;
  };
  f.apply_smoke = [value, smoke] { *value = smoke; };
  f.get = [value] { return nlohmann::json(*value); };
  flags_.push_back(std::move(f));
}

void Harness::string_flag(const std::string& name, std::string* value, const std::string& help) {
  Flag f{name, help + (value->empty() ? "" : " (default " + *value + ")"), "TEXT"};
  f.set = [value](const std::string& text) {
    *value = text;
    return true;
  };
  f.apply_smoke = [] {};
  f.get = [value] { return nlohmann::json(*value); };
  flags_.push_back(std::move(f));
}

void Harness::bool_flag(const std::string& name, bool* value, const std::string& help) {
  Flag f{name, help, ""};
  f.set = [value](const std::string& text) {
    if (text.empty() || text == "true" || text == "1") {
      *value = true;
    } else if (text == "false" || text == "0") {
      *value = false;
    } else {
      return false;
    }
    return true;
  };
  f.apply_smoke = [] {};
  f.get = [value] { return nlohmann::json(*value); };
  flags_.push_back(std::move(f));
}

void Harness::print_help() const {
  std::printf("wl_%s: %s\n\nusage: wl_%s [--smoke] [--json] [flags]\n\n", name_.c_str(),
              description_.c_str(), name_.c_str());
  std::printf("  %-28s %s\n", "--smoke", "tiny sizes for tests (explicit flags still win)");
  std::printf("  %-28s %s\n", "--json", "print one JSON object with measurements and checks");
  for (const auto& f : flags_) {
    const std::string left = "--" + f.name + (f.kind.empty() ? "" : " " + f.kind);
    std::printf("  %-28s %s\n", left.c_str(), f.help.c_str());
  }
  std::printf("\nexit status: 0 when every check holds, 1 when one fails, 2 for bad arguments\n");
}

int Harness::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_help();
      return 0;
    }
    if (arg == "--smoke") {
      smoke_ = true;
      continue;
    }
    if (arg == "--json") {
      json_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "wl_%s: unexpected argument '%s' (see --help)\n", name_.c_str(),
                   arg.c_str());
      return 2;
    }
    std::string key = arg.substr(2), value;
    bool has_value = false;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_value = true;
    }
    Flag* flag = nullptr;
    for (auto& f : flags_)
      if (f.name == key) flag = &f;
    if (!flag) {
      std::fprintf(stderr, "wl_%s: unknown flag --%s (see --help)\n", name_.c_str(), key.c_str());
      return 2;
    }
    if (!has_value && !flag->kind.empty()) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "wl_%s: --%s needs a value (%s)\n", name_.c_str(), key.c_str(),
                     flag->kind.c_str());
        return 2;
      }
      value = argv[++i];
    }
    if (!flag->set(value)) {
      std::fprintf(stderr, "wl_%s: --%s: invalid value '%s' (expected %s)\n", name_.c_str(),
                   key.c_str(), value.c_str(),
                   flag->kind.empty() ? "true|false" : flag->kind.c_str());
      return 2;
    }
    flag->given = true;
  }
  for (auto& f : flags_) {
    if (smoke_ && !f.given) f.apply_smoke();
    params_[f.name] = f.get();
  }
  params_["smoke"] = smoke_;
  identify_current(&id_);
  return -1;
}

AllocatorStats Harness::allocator_stats() const {
  AllocatorStats s;
  read_allocator_stats(id_.backend, &s);
  return s;
}

bool Harness::purge() const { return purge_allocator(id_.backend); }

void Harness::measure(const std::string& key, nlohmann::json value) {
  measurements_[key] = std::move(value);
}

void Harness::throughput(double value, const std::string& unit) {
  workload::set_throughput(measurements_, value, unit);
}

void Harness::check(const std::string& name, bool pass, const std::string& detail) {
  checks_.push_back({name, pass, detail});
}

void Harness::skip_check(const std::string& name, const std::string& reason) {
  skipped_.push_back({name, reason});
}

void Harness::note(const std::string& sentence) { notes_.push_back(sentence); }

void Harness::row(const std::string& label, const std::string& value) {
  rows_.emplace_back(label, value);
}

void Harness::progress(const std::string& what) const {
  if (!json_) std::fprintf(stderr, "wl_%s: %s\n", name_.c_str(), what.c_str());
}

int Harness::finish() {
  bool pass = true;
  for (const auto& c : checks_) pass = pass && c.pass;
  if (json_) {
    workload::WorkloadReport r;
    r.workload = name_;
    r.backend = id_.backend;
    r.library = id_.library;
    r.version = id_.version;
    r.params = params_;
    r.measurements = measurements_;
    r.checks = checks_;
    r.pass = pass;
    r.skipped_checks = skipped_;
    r.notes = notes_;
    std::cout << workload_line(r) << std::flush;
  } else {
    std::printf("wl_%s under %s %s (%s)%s\n", name_.c_str(), backend_name(id_.backend), id_.version,
                id_.library, smoke_ ? " [smoke]" : "");
    std::size_t width = 0;
    for (const auto& [label, value] : rows_) width = std::max(width, label.size());
    for (const auto& [label, value] : rows_)
      std::printf("  %-*s  %s\n", static_cast<int>(width), label.c_str(), value.c_str());
    for (const auto& n : notes_) std::printf("  %s\n", n.c_str());
    for (const auto& c : checks_)
      std::printf("  [%s] %s: %s\n", c.pass ? "PASS" : "FAIL", c.name.c_str(), c.detail.c_str());
    for (const auto& s : skipped_)
      std::printf("  [SKIP] %s: %s\n", s.name.c_str(), s.reason.c_str());
    std::fflush(stdout);
  }
  return pass ? 0 : 1;
}

std::uint64_t current_rss() {
  // statm: size resident shared text lib data dt, in pages. One read, no allocation.
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void touch_pages(void* p, std::size_t bytes, unsigned char value) {
  auto* c = static_cast<volatile unsigned char*>(p);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (std::size_t off = 0; off < bytes; off += page) c[off] = value;
  if (bytes > 0) c[bytes - 1] = value;
}

void keep(std::uint64_t value) {
  static volatile std::uint64_t sink;
  sink = sink + value;
}

}  // namespace arenalab::workload
