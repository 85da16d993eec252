// SPDX-License-Identifier: Apache-2.0
// workloads.json (formats/workloads.h): write -> read -> equal; the index the build generates
// (arenalab-write-workloads, run by cmake/ArenalabWorkload.cmake) is byte for byte what the
// writer writes for what the reader reads from it; damaged files
// rejected with one line naming the file and the field.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/workloads.h"

namespace arenalab {
namespace {
using nlohmann::json;
using workloads_file::CommandLine;
using workloads_file::Entry;

std::vector<Entry> sample() {
  Entry touch;
  touch.name = "touch";
  touch.category = "probe";
  touch.description = "allocate, touch, free";
  touch.program = "wl_touch";
  touch.link_variants = {"jemalloc", "mimalloc"};
  Entry mix;
  mix.name = "server_mix";
  mix.program = "/opt/wl/server_mix";
  mix.takes_duration = true;
  Entry sql;
  sql.name = "sql";
  sql.command = CommandLine{true, "sqlite3 :memory: '.read /data/load.sql'", {}};
  Entry kv;
  kv.name = "kv";
  kv.category = "";
  kv.command = CommandLine{false, "", {"redis-server", "/data/redis.conf"}};
  kv.driver = CommandLine{true, "redis-benchmark -p 7777 -t set,get --csv", {}};
  kv.ready = "tcp:127.0.0.1:7777";
  Entry sock = kv;
  sock.name = "sock";
  sock.driver = CommandLine{false, "", {"./drive", ""}};
  sock.ready = "unix:/tmp/s.sock";
  return {touch, mix, sql, kv, sock};
}

TEST(WorkloadsFile, RoundTrip) {
  const auto entries = sample();
  const std::string path = ::testing::TempDir() + "/workloads_test.round.json";
  ASSERT_TRUE(workloads_file::write_workloads(path, entries));
  auto back = workloads_file::read_workloads(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, entries);
  std::remove(path.c_str());
}

// The build writes its index through the format's writer (arenalab-write-workloads): the
// file is exactly what the writer gives for what the reader reads from it, to the byte.
TEST(WorkloadsFile, TheGeneratedIndexReadsAndWritesBackTheSame) {
  auto text = read_file(ARENALAB_SHARE "/workloads.json");
  ASSERT_TRUE(text) << text.error().message;
  auto entries = workloads_file::read_workloads(ARENALAB_SHARE "/workloads.json");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ(formats::document_text(workloads_file::to_json(*entries)), *text);
  // Every entry the build records names its program and its category.
  for (const auto& e : *entries) {
    EXPECT_FALSE(e.program.empty()) << e.name;
    EXPECT_TRUE(e.category) << e.name;
  }
}

TEST(WorkloadsFile, RejectsDamagedFilesNamingFileAndField) {
  const json good = workloads_file::to_json(sample());
  auto error = [](const json& doc) {
    auto r = workloads_file::parse_workloads(doc, "d/workloads.json");
    return r ? std::string("(no error)") : r.error().message;
  };
  auto with = [&](std::size_t i, const char* key, json v) {
    json j = good;
    j["workloads"][i][key] = std::move(v);
    return error(j);
  };
  EXPECT_EQ(with(0, "name", ""),
            "d/workloads.json: workloads[0].name: expected a non-empty string, found the string "
            "\"\"");
  EXPECT_EQ(with(0, "name", 3), "d/workloads.json: workloads[0].name: expected a string, found 3");
  EXPECT_EQ(with(1, "takes_duration", "yes"),
            "d/workloads.json: workloads[1].takes_duration: expected true or false, found the "
            "string \"yes\"");
  EXPECT_EQ(with(0, "link_variants", json{"jemalloc", 2}),
            "d/workloads.json: workloads[0].link_variants[1]: expected a string, found 2");
  EXPECT_EQ(with(2, "command", 7),
            "d/workloads.json: workloads[2].command: expected a string or a non-empty array of "
            "strings, found 7");
  EXPECT_EQ(with(2, "command", json::array()),
            "d/workloads.json: workloads[2].command: expected a string or a non-empty array of "
            "strings (the program first), found []");
  EXPECT_EQ(with(2, "command", json{"", "x"}),
            "d/workloads.json: workloads[2].command: expected a string or a non-empty array of "
            "strings (the program first), found an empty program");
  EXPECT_EQ(with(3, "ready", "tcp:127.0.0.1:99999"),
            "d/workloads.json: workloads[3].ready: expected tcp:HOST:PORT or unix:PATH, found "
            "'tcp:127.0.0.1:99999'");
  EXPECT_EQ(with(1, "driver", "x"),
            "d/workloads.json: workloads[1].driver: expected only with a \"command\" (a server)");
  EXPECT_EQ(with(0, "category", json::object()),
            "d/workloads.json: workloads[0].category: expected a string, found an object");
  json j = good;
  j["workloads"][4] = "sock";
  EXPECT_EQ(error(j),
            "d/workloads.json: workloads[4]: expected an object, found the string "
            "\"sock\"");
  j = good;
  j.erase("workloads");
  EXPECT_EQ(error(j), "d/workloads.json: workloads: missing (required)");
  j = good;
  j["schema"] = "arenalab.workload/2";
  EXPECT_EQ(error(j).rfind("d/workloads.json: expected \"schema\": \"arenalab.workloads/1\"", 0),
            0u)
      << error(j);
  // A file written by hand may leave the schema out (docs/matrix.md's examples keep it).
  j = good;
  j.erase("schema");
  EXPECT_EQ(error(j), "(no error)");
  const std::string bad = ::testing::TempDir() + "/workloads_test.bad.json";
  std::ofstream(bad) << "{\"workloads\": [";
  auto r = workloads_file::read_workloads(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind(bad + ": not valid JSON", 0), 0u) << r.error().message;
  std::remove(bad.c_str());
}

TEST(WorkloadsFile, ReadyAddresses) {
  for (const char* ok :
       {"tcp:127.0.0.1:1", "tcp:localhost:65535", "unix:/run/x.sock", "tcp:[::1]:80"})
    EXPECT_TRUE(workloads_file::check_ready(ok)) << ok;
  for (const char* bad :
       {"", "tcp:", "tcp::80", "tcp:h:0", "tcp:h:65536", "tcp:h:8x", "unix:", "udp:h:1"})
    EXPECT_FALSE(workloads_file::check_ready(bad)) << bad;
}

}  // namespace
}  // namespace arenalab
