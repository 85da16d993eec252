// SPDX-License-Identifier: Apache-2.0
// profile.json: write then read gives back every field, absent figures stay absent, and the
// reader rejects a wrong schema or a malformed field with the file and the field named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "arenalab/formats/profile.h"

namespace arenalab::profile_file {
namespace {

Profile full_profile() {
  Profile p;
  p.profiler = "interposer";
  p.command = {"wl_leak", "--kind", "mmap"};
  p.out_dir = "/tmp/p";
  p.cadence = "a heap_v2 dump every 0.15 s";
  p.exit = "exit 0";
  p.dumps = {"/tmp/p/heap.0.heap", "/tmp/p/heap.1.heap"};
  p.dump_t_ms = {150, 300.5};
  p.mmap_dumps = {"/tmp/p/mmap.0.heap"};
  p.exit_dump = "/tmp/p/heap.2.heap";
  p.growing_callsites = 1;
  Callsite leak;
  leak.source = profile_file::SiteSource::kMmap;
  leak.verdict = formats::GrowthVerdict::kLeak;
  leak.slope_bytes_per_s = 4.0 * 1048576;
  leak.bytes_now = 16.0 * 1048576;
  leak.method = "arenalab_analysis";
  leak.reason = "grows";
  leak.site = Frame{"leak_into_registry(Kind, unsigned long)", "wl_leak.cc", 42, "/bin/wl_leak",
                    0x55d1a2b3c4d5};
  leak.stack = {"mmap in libarenalab_preload.so", "leak_into_registry at wl_leak.cc:42"};
  leak.t_ms = {150, 300.5};
  leak.live_bytes = {1048576, 2097152};
  leak.bytes_at_exit = 0;  // freed in teardown
  Callsite runtime;        // no site, unresolved: no slope
  runtime.verdict = formats::GrowthVerdict::kUnresolved;
  runtime.method = "arenalab_analysis";
  runtime.reason = "too little data";
  runtime.stack = {"_dl_start_user in ld-linux-x86-64.so.2"};
  runtime.t_ms = {150};
  runtime.live_bytes = {566534};
  runtime.bytes_now = 566534;
  p.callsites = {leak, runtime};
  p.tools = {
      {"live heap at the last dump", "jeprof --text BIN LAST > out", true, 0, "/tmp/p/o"},
      {"growth as a call graph", "jeprof --svg ...", true, 0, "", "wrote nothing: dot: not found"}};
  p.mmap = MmapSummary{formats::GrowthVerdict::kLeak, 4.1e6, 1.6e7, "grows"};
  p.rss_first = 5u << 20;
  p.rss_last = 21u << 20;
  p.outside_heap =
      OutsideHeap{"rss_anon", formats::GrowthVerdict::kLeak, 4.0e6, 1.7e7, 1.6e7, false, ""};
  p.notes = {"a note"};
  return p;
}

void expect_same(const Profile& a, const Profile& b) {
  EXPECT_EQ(a.profiler, b.profiler);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.out_dir, b.out_dir);
  EXPECT_EQ(a.cadence, b.cadence);
  EXPECT_EQ(a.exit, b.exit);
  EXPECT_EQ(a.dumps, b.dumps);
  EXPECT_EQ(a.dump_t_ms, b.dump_t_ms);
  EXPECT_EQ(a.mmap_dumps, b.mmap_dumps);
  EXPECT_EQ(a.exit_dump, b.exit_dump);
  EXPECT_EQ(a.growing_callsites, b.growing_callsites);
  ASSERT_EQ(a.callsites.size(), b.callsites.size());
  for (std::size_t i = 0; i < a.callsites.size(); ++i) {
    const auto &x = a.callsites[i], &y = b.callsites[i];
    EXPECT_EQ(x.source, y.source);
    EXPECT_EQ(x.verdict, y.verdict);
    EXPECT_EQ(x.slope_bytes_per_s, y.slope_bytes_per_s);
    EXPECT_EQ(x.bytes_now, y.bytes_now);
    EXPECT_EQ(x.method, y.method);
    EXPECT_EQ(x.reason, y.reason);
    ASSERT_EQ(x.site.has_value(), y.site.has_value());
    if (x.site) {
      EXPECT_EQ(x.site->function, y.site->function);
      EXPECT_EQ(x.site->file, y.site->file);
      EXPECT_EQ(x.site->line, y.site->line);
      EXPECT_EQ(x.site->module, y.site->module);
      EXPECT_EQ(x.site->address, y.site->address);
    }
    EXPECT_EQ(x.stack, y.stack);
    EXPECT_EQ(x.t_ms, y.t_ms);
    EXPECT_EQ(x.live_bytes, y.live_bytes);
    EXPECT_EQ(x.bytes_at_exit, y.bytes_at_exit);
  }
  ASSERT_EQ(a.tools.size(), b.tools.size());
  for (std::size_t i = 0; i < a.tools.size(); ++i) {
    EXPECT_EQ(a.tools[i].purpose, b.tools[i].purpose);
    EXPECT_EQ(a.tools[i].command, b.tools[i].command);
    EXPECT_EQ(a.tools[i].ran, b.tools[i].ran);
    EXPECT_EQ(a.tools[i].status, b.tools[i].status);
    EXPECT_EQ(a.tools[i].output, b.tools[i].output);
    EXPECT_EQ(a.tools[i].error, b.tools[i].error);
  }
  ASSERT_EQ(a.mmap.has_value(), b.mmap.has_value());
  if (a.mmap) {
    EXPECT_EQ(a.mmap->verdict, b.mmap->verdict);
    EXPECT_EQ(a.mmap->slope_bytes_per_s, b.mmap->slope_bytes_per_s);
    EXPECT_EQ(a.mmap->bytes_now, b.mmap->bytes_now);
    EXPECT_EQ(a.mmap->reason, b.mmap->reason);
  }
  EXPECT_EQ(a.rss_first, b.rss_first);
  EXPECT_EQ(a.rss_last, b.rss_last);
  ASSERT_EQ(a.outside_heap.has_value(), b.outside_heap.has_value());
  if (a.outside_heap) {
    EXPECT_EQ(a.outside_heap->signal, b.outside_heap->signal);
    EXPECT_EQ(a.outside_heap->verdict, b.outside_heap->verdict);
    EXPECT_EQ(a.outside_heap->slope_bytes_per_s, b.outside_heap->slope_bytes_per_s);
    EXPECT_EQ(a.outside_heap->grew_bytes, b.outside_heap->grew_bytes);
    EXPECT_EQ(a.outside_heap->accounted_grew_bytes, b.outside_heap->accounted_grew_bytes);
    EXPECT_EQ(a.outside_heap->outside, b.outside_heap->outside);
    EXPECT_EQ(a.outside_heap->explanation, b.outside_heap->explanation);
  }
  EXPECT_EQ(a.notes, b.notes);
}

TEST(ProfileFile, RoundTripThroughAFile) {
  const Profile p = full_profile();
  char dir[] = "/tmp/arenalab-profile-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/profile.json";
  ASSERT_TRUE(write_profile(path, p).ok());
  auto back = read_profile(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  expect_same(p, *back);
  // Written the same way twice: the writer is deterministic.
  EXPECT_EQ(to_json(p), to_json(*back));
  std::filesystem::remove_all(dir);
}

TEST(ProfileFile, AbsentFiguresStayAbsent) {
  Profile p;
  p.profiler = "heaptrack";
  p.exit = "exit 0";
  const std::string text = to_json(p);
  for (const char* key :
       {"mmap_dumps", "\"mmap\"", "rss_first", "rss_last", "outside_heap", "exit_dump"})
    EXPECT_EQ(text.find(key), std::string::npos) << key << " written when absent:\n" << text;
  auto back = parse_profile(text, "p.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(back->mmap);
  EXPECT_FALSE(back->rss_first);
  EXPECT_FALSE(back->outside_heap);
  expect_same(p, *back);
}

TEST(ProfileFile, ReaderNamesTheFileAndTheField) {
  auto check = [](const std::string& text, const std::string& expected) {
    auto r = parse_profile(text, "DIR/profile.json");
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_EQ(r.error().message.rfind("DIR/profile.json: ", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message;
  };
  check("{", "not valid JSON");
  // A number past double's range is nlohmann's out_of_range, not a parse_error (found by
  // fuzz_formats): one line naming the file, never an uncaught exception.
  check(R"({"status":"success","data":7e1637})", "not valid JSON");
  check(R"({"schema": "arenalab.matrix/1"})", "schema: expected arenalab.profile/1");
  Profile p = full_profile();
  std::string good = to_json(p);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  check(replace("\"bytes_now\": 16777216.0", "\"bytes_now\": \"16 MiB\""),
        "callsites[0].bytes_now: expected a number");
  check(replace("\"address\": \"0x55d1a2b3c4d5\"", "\"address\": \"main+4\""),
        "callsites[0].site.address: expected a hex address");
  check(replace("\"ran\": true", "\"ran\": 1"), "tools[0].ran: expected true or false");
  check(replace("\"profiler\": \"interposer\",", ""), "profiler: expected a value (missing)");
  // A call site's source is a closed set (heap, mmap).
  check(replace("\"source\": \"mmap\"", "\"source\": \"brk\""),
        "callsites[0].source: expected heap or mmap, got 'brk'");
}

TEST(ProfileFile, SeriesLengthsMustAgree) {
  Profile p = full_profile();
  p.callsites[1].live_bytes.push_back(1);
  auto r = parse_profile(to_json(p), "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("callsites[1].live_bytes: expected one value per t_ms"),
            std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace arenalab::profile_file
