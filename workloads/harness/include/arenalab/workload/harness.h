// SPDX-License-Identifier: Apache-2.0
// The shared workload harness: flags (sizes accept 512M/2G; --smoke shrinks defaults, explicit
// flags win), measurements, self-checks, a short human table or one JSON object (--json).
// Exit codes: 0 when every check holds, 1 when one fails, 2 for bad arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/allocators/backend.h"
#include "arenalab/formats/workload.h"

namespace arenalab::workload {

class Harness {
 public:
  Harness(std::string name, std::string description);

  // Flag registration (before parse). `smoke` is used under --smoke unless the flag is given.
  void size_flag(const std::string& name, std::uint64_t* value, std::uint64_t smoke,
                 const std::string& help);
  void int_flag(const std::string& name, std::int64_t* value, std::int64_t smoke,
                const std::string& help);
  void double_flag(const std::string& name, double* value, double smoke, const std::string& help);
  void string_flag(const std::string& name, std::string* value, const std::string& help);
  void bool_flag(const std::string& name, bool* value, const std::string& help);

  // Parses argv. Returns -1 to go on, else the exit code to return now (0 after --help,
  // 2 after a bad flag, with one line on stderr naming it).
  int parse(int argc, char** argv);

  bool smoke() const { return smoke_; }
  bool json() const { return json_; }
  const std::string& name() const { return name_; }

  // The allocator this process really calls (identified once, at parse).
  const Identification& allocator() const { return id_; }
  AllocatorStats allocator_stats() const;
  bool purge() const;

  // Results. Keys are snake_case with the unit in the name (rss_bytes, alloc_ms).
  void measure(const std::string& key, nlohmann::json value);
  // The workload's own throughput figure, kept apart from times (matrix shows it in its own
  // column).
  void throughput(double value, const std::string& unit);
  void check(const std::string& name, bool pass, const std::string& detail);
  // A check that cannot be evaluated here (e.g. the backend does not report the figure).
  void skip_check(const std::string& name, const std::string& reason);
  // A human line (the one-sentence explanations the seed asks for).
  void note(const std::string& sentence);
  // A row of the human table: label and already formatted value.
  void row(const std::string& label, const std::string& value);

  // Prints the table or the JSON object; returns the exit code (0 or 1).
  int finish();

  // Progress on stderr (human mode only): long phases say what they do.
  void progress(const std::string& what) const;

 private:
  struct Flag {
    std::string name, help, kind;
    std::function<bool(const std::string&)> set;
    std::function<void()> apply_smoke;
    std::function<nlohmann::json()> get;
    bool given = false;
  };
  std::string name_, description_;
  std::vector<Flag> flags_;
  bool smoke_ = false;
  bool json_ = false;
  Identification id_{};
  nlohmann::json params_ = nlohmann::json::object();
  nlohmann::json measurements_ = nlohmann::json::object();
  std::vector<CheckResult> checks_;  // formats/workload.h
  std::vector<SkippedCheck> skipped_;
  std::vector<std::string> notes_;
  std::vector<std::pair<std::string, std::string>> rows_;
  void print_help() const;
};

// Resident set size of this process (VmRSS, from /proc/self/statm), bytes.
std::uint64_t current_rss();
// Writes one byte per page so the pages become resident.
void touch_pages(void* p, std::size_t bytes, unsigned char value = 1);
// Prevents the compiler from discarding a computed value.
void keep(std::uint64_t value);

// Runs work(t) for t = 0 .. threads-1, each on its own thread, all at once; returns the wall
// time from the start to the last join and the sum of what the calls returned.
struct ThreadsRun {
  double ms = 0;
  std::uint64_t total = 0;
};
template <typename Work>
ThreadsRun run_threads(std::int64_t threads, Work work) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(threads), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (std::int64_t t = 0; t < threads; ++t)
    pool.emplace_back([&out, &work, t] { out[static_cast<std::size_t>(t)] = work(t); });
  for (auto& th : pool) th.join();
  ThreadsRun r;
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (auto v : out) r.total += v;
  return r;
}

}  // namespace arenalab::workload
