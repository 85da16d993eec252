// SPDX-License-Identifier: Apache-2.0
// allocators.json (formats/configurations.h): write -> read -> equal; the file the build writes
// (arenalab-write-allocators, run by allocators/CMakeLists.txt) is byte for byte what the
// writer writes for what the reader reads from it; damaged files rejected with one line naming
// the file and the entry.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/configurations.h"

namespace arenalab {
namespace {
using configurations_file::Entry;
using formats::Backend;
using nlohmann::json;

std::string temp_file(const std::string& name) {
  return ::testing::TempDir() + "/configurations_test." + name;
}

std::vector<Entry> sample() {
  return {Entry{"glibc", Backend::kGlibc, "", {}, "glibc with its defaults"},
          Entry{"glibc-arena2", Backend::kGlibc, "", {{"MALLOC_ARENA_MAX", "2"}}, ""},
          Entry{"jemalloc-nodecay",
                Backend::kJemalloc,
                "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                {{"A", "1"}, {"MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0"}},
                "jemalloc returning freed pages at once"},
          Entry{"tbb", Backend::kTbbmalloc, "libtbbmalloc_proxy.so.2", {}, "oneTBB"}};
}

TEST(ConfigurationsFile, RoundTrip) {
  const auto entries = sample();
  const std::string path = temp_file("round.json");
  ASSERT_TRUE(configurations_file::write_configurations(path, entries));
  auto back = configurations_file::read_configurations(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, entries);
  // Every backend's name reads back as that backend.
  for (Backend b : formats::kAllBackends) {
    Entry e{"x", b, "", {}, ""};
    auto one = configurations_file::parse_configurations(
        configurations_file::to_json(std::vector<Entry>{e}), "f");
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->at(0).backend, b) << formats::backend_name(b);
  }
}

// `arenalab allocators --json`: the entries it lists read back through the file's reader; what
// was found is written beside them, absent where nothing was found.
TEST(ConfigurationsFile, TheListingReadsBackAsItsEntries) {
  const auto entries = sample();
  std::vector<configurations_file::Listed> listed;
  for (const Entry& e : entries) listed.push_back({e, "/lib/" + e.preload});
  listed[0].available = listed[0].probed = listed[0].verified = true;
  listed[0].identified_backend = entries[0].backend;
  listed[0].identified_library = "/lib/x.so";
  listed[0].version = "5.3.0";
  listed[1].problem = "library not found";
  const auto doc = configurations_file::listing_to_json("f.json", listed);
  EXPECT_EQ(doc["file"], "f.json");
  EXPECT_EQ(doc["configurations"][0]["identified"]["backend"],
            formats::backend_name(entries[0].backend));
  EXPECT_EQ(doc["configurations"][0]["version"], "5.3.0");
  EXPECT_FALSE(doc["configurations"][1].contains("identified"));
  EXPECT_FALSE(doc["configurations"][1].contains("version"));
  EXPECT_EQ(doc["configurations"][1]["problem"], "library not found");
  auto back = configurations_file::parse_configurations(doc, "listing");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, entries);
}

// The build writes its configurations through the format's writer (arenalab-write-allocators):
// the file is exactly what the writer gives for what the reader reads from it, to the byte.
TEST(ConfigurationsFile, TheGeneratedFileReadsAndWritesBackTheSame) {
  auto text = read_file(ARENALAB_SHARE "/allocators.json");
  ASSERT_TRUE(text) << text.error().message;
  auto entries = configurations_file::read_configurations(ARENALAB_SHARE "/allocators.json");
  ASSERT_TRUE(entries) << entries.error().message;
  EXPECT_EQ(entries->size(), 9u);
  EXPECT_EQ(formats::document_text(configurations_file::to_json(*entries)), *text);
  // Every backend but glibc names the library it preloads.
  for (const auto& e : *entries)
    EXPECT_EQ(e.preload.empty(), e.backend == formats::Backend::kGlibc) << e.name;
}

TEST(ConfigurationsFile, RejectsDamagedFilesNamingFileAndEntry) {
  const json good = configurations_file::to_json(sample());
  auto error = [](const json& doc) {
    auto r = configurations_file::parse_configurations(doc, "d/allocators.json");
    return r ? std::string("(no error)") : r.error().message;
  };
  auto with = [&](std::size_t i, const char* key, json v) {
    json j = good;
    j["configurations"][i][key] = std::move(v);
    return error(j);
  };
  EXPECT_EQ(with(1, "backend", "ptmalloc9"),
            "d/allocators.json: configurations[1] (glibc-arena2): unknown backend 'ptmalloc9' "
            "(expected glibc|jemalloc|mimalloc|tcmalloc|tbbmalloc)");
  // "unknown" is what an identification writes when it found nothing, never a configuration's.
  EXPECT_NE(with(1, "backend", "unknown").find("unknown backend 'unknown'"), std::string::npos)
      << with(1, "backend", "unknown");
  EXPECT_EQ(with(0, "name", ""),
            "d/allocators.json: configurations[0]: missing \"name\" (a non-empty string)");
  EXPECT_EQ(with(0, "name", 7),
            "d/allocators.json: configurations[0]: missing \"name\" (a non-empty string)");
  EXPECT_EQ(with(1, "name", "glibc"),
            "d/allocators.json: configurations[1]: duplicate name 'glibc'");
  EXPECT_EQ(with(2, "env", json{{"MALLOC_CONF", 0}}),
            "d/allocators.json: configurations[2] (jemalloc-nodecay): env.MALLOC_CONF must be a "
            "string");
  EXPECT_EQ(with(2, "env", "x"),
            "d/allocators.json: configurations[2] (jemalloc-nodecay): \"env\" must be an object");
  EXPECT_EQ(with(3, "preload", false),
            "d/allocators.json: configurations[3] (tbb): \"preload\" must be a string");
  EXPECT_EQ(with(3, "description", json::array()),
            "d/allocators.json: configurations[3] (tbb): \"description\" must be a string");
  json j = good;
  j["configurations"][0].erase("backend");
  EXPECT_EQ(error(j),
            "d/allocators.json: configurations[0] (glibc): missing \"backend\" "
            "(glibc|jemalloc|mimalloc|tcmalloc|tbbmalloc)");
  j = good;
  j["configurations"][2] = "glibc";
  EXPECT_EQ(error(j), "d/allocators.json: configurations[2]: expected an object");
  j = good;
  j["configurations"] = json::array();
  EXPECT_EQ(error(j), "d/allocators.json: no configurations");
  EXPECT_EQ(error(json::array({"glibc"})),
            "d/allocators.json: expected an object with a \"configurations\" array");
  j = good;
  j["schema"] = "arenalab.allocators/2";
  EXPECT_EQ(error(j).rfind("d/allocators.json: expected \"schema\": \"arenalab.allocators/1\"", 0),
            0u)
      << error(j);
  // A file written by hand may leave the schema out.
  j = good;
  j.erase("schema");
  EXPECT_EQ(error(j), "(no error)");
  // Unreadable or not JSON: one line naming the file.
  const std::string bad = temp_file("bad.json");
  std::ofstream(bad) << "{\"configurations\": [";
  auto r = configurations_file::read_configurations(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("allocator configurations: " + bad + ": not valid JSON", 0), 0u)
      << r.error().message;
  std::remove(bad.c_str());
  r = configurations_file::read_configurations(temp_file("missing.json"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.json"), std::string::npos);
}

}  // namespace
}  // namespace arenalab

namespace arenalab {
namespace {

// arenalab-probe's line (allocators/src/probe_main.cc writes it with printf): every field read,
// "unknown" taken as a malloc of none of the five, and damage refused naming the probe.
TEST(ProbeLine, ReadsTheProbesLine) {
  auto r = configurations_file::parse_probe_line(
      R"({"backend":"jemalloc","library":"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",)"
      R"("version":"5.3.0-0-g54eaed1d8b56","stats_interface":true})"
      "\n",
      "probe for 'jemalloc'");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->backend, formats::Backend::kJemalloc);
  EXPECT_EQ(r->library, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  EXPECT_EQ(r->version, "5.3.0-0-g54eaed1d8b56");
  EXPECT_TRUE(r->stats_interface);
  auto u = configurations_file::parse_probe_line(
      R"({"backend":"unknown","library":"/opt/x.so","version":"","stats_interface":false})", "p");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->backend, formats::Backend::kUnknown);
  EXPECT_FALSE(u->stats_interface);
}

TEST(ProbeLine, RefusesDamageNamingTheProbe) {
  auto error = [](std::string_view text) {
    auto r = configurations_file::parse_probe_line(text, "probe for 'x'");
    return r ? std::string("(no error)") : r.error().message;
  };
  EXPECT_EQ(error(R"({"backend":5,"library":"","version":"","stats_interface":true})"),
            "probe for 'x': \"backend\" must be a string");
  EXPECT_EQ(error(R"({"backend":"ptmalloc9","library":"","version":"","stats_interface":true})"),
            "probe for 'x': unknown backend 'ptmalloc9' "
            "(expected glibc|jemalloc|mimalloc|tcmalloc|tbbmalloc|unknown)");
  EXPECT_EQ(error(R"({"backend":"glibc","version":"","stats_interface":true})"),
            "probe for 'x': \"library\" must be a string");
  EXPECT_EQ(error(R"({"backend":"glibc","library":"","version":"","stats_interface":1})"),
            "probe for 'x': \"stats_interface\" must be true or false");
  EXPECT_EQ(error("[1]"), "probe for 'x': expected an object");
  EXPECT_EQ(error("").rfind("probe for 'x' printed no identification: ", 0), 0u) << error("");
  EXPECT_EQ(error("{\"backend\":\"\xff\"}").find('\xff'), std::string::npos);
}

}  // namespace
}  // namespace arenalab
