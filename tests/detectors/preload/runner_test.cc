// SPDX-License-Identifier: Apache-2.0
// arenalab::runner::run against the real interposer and the survivor program: bad input is an
// error value, exit status and signals pass through, run.json and the timeline are written,
// the full-mode log balances, the interposer library path is the contract's.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "arenalab/core/files.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/timeline_levels.h"
#include "arenalab/runner/runner.h"

namespace fs = std::filesystem;
using namespace arenalab;

namespace {

std::string temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("arenalab-runner-test-" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  return d.string();
}

runner::RunOptions options(const std::string& name, std::vector<std::string> cmd) {
  runner::RunOptions o;
  o.command = std::move(cmd);
  o.out_dir = temp_dir(name);
  o.interval_ms = 20;
  o.capture_output = true;
  return o;
}

}  // namespace

TEST(Runner, PreloadLibraryPathIsTheContract) {
  const std::string p = runner::preload_library_path();
  EXPECT_EQ(fs::path(p).filename(), "libarenalab_preload.so");
  EXPECT_TRUE(fs::exists(p)) << p;
  const std::string s = runner::preload_library_path(preload::protocol::Mode::kStats);
  EXPECT_EQ(fs::path(s).filename(), "libarenalab_preload_stats.so");
  EXPECT_TRUE(fs::exists(s)) << s;
}

// Stats mode puts no hook on the allocation path: the library it preloads defines no malloc
// family at all (the program calls its allocator directly), yet the timeline is written.
TEST(Runner, StatsModeLibraryDefinesNoAllocationEntryPoint) {
  void* h = dlopen(runner::preload_library_path(preload::protocol::Mode::kStats).c_str(),
                   RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  Dl_info info{};
  for (const char* sym : {"malloc", "free", "calloc", "realloc", "_Znwm", "_ZdlPv", "mmap"}) {
    void* f = dlsym(h, sym);  // found in a dependency (libc), never in the library itself
    if (f && dladdr(f, &info)) {
      EXPECT_STRNE(fs::path(info.dli_fname).filename().c_str(), "libarenalab_preload_stats.so")
          << sym;
    }
  }
  EXPECT_NE(dlsym(h, "arenalab_gauge_set"), nullptr);
  auto o = options("stats-nohooks", {ARENALAB_SURVIVOR, "exit"});
  o.mode = preload::protocol::Mode::kStats;
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.shell_status(), 3);
  EXPECT_TRUE(r->verified) << r->mismatch;
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
  auto tl = timeline::read_timeline(r->timeline_path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_EQ(tl->header.mode, "stats");
  ASSERT_FALSE(tl->samples.empty());
  EXPECT_TRUE(tl->samples.back().rss.has_value());
  EXPECT_FALSE(tl->samples.back().live_bytes.has_value());
}

TEST(Runner, BadInputIsAnError) {
  auto o = options("bad", {"true"});
  o.allocator = "no-such-allocator";
  auto r = runner::run(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no-such-allocator"), std::string::npos);
  o = options("bad", {"/no/such/program"});
  auto missing = runner::run(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/no/such/program"), std::string::npos);
  o = options("bad", {});
  EXPECT_FALSE(runner::run(o).ok());
}

TEST(Runner, ExitStatusTimelineAndRunJson) {
  auto o = options("exit", {ARENALAB_SURVIVOR, "exit"});
  o.mode = preload::protocol::Mode::kCount;
  int ticks = 0;
  o.tick_ms = 20;
  o.on_tick = [&](const runner::RunProgress& p) {
    EXPECT_GT(p.pid, 0);
    ++ticks;
  };
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.shell_status(), 3);
  EXPECT_GT(ticks, 0);
  EXPECT_TRUE(r->verified) << r->mismatch;
  EXPECT_EQ(r->id.backend, Backend::kGlibc);
  auto tl = timeline::read_timeline(r->timeline_path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_EQ(tl->header.mode, "count");
  ASSERT_FALSE(tl->samples.empty());
  EXPECT_TRUE(tl->samples.back().live_bytes.has_value());
  EXPECT_TRUE(tl->samples.back().rss.has_value());
  auto doc = nlohmann::json::parse(*read_file(r->run_json_path));
  EXPECT_EQ(doc["schema"], "arenalab.run/2");
  EXPECT_EQ(doc["exit"]["code"], 3);
  EXPECT_EQ(doc["allocator"]["verified"], true);
}

TEST(Runner, SignalIs128PlusSignal) {
  auto o = options("abort", {ARENALAB_SURVIVOR, "abort"});
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.shell_status(), 128 + SIGABRT);
  ASSERT_TRUE(r->exit.signal.has_value());
}

TEST(Runner, ExtraEnvAndMallocConfAppend) {
  auto o = options("env", {"sh", "-c", "echo \"$MALLOC_CONF|$FOO\""});
  o.allocator = "jemalloc-nodecay";
  o.extra_env = {{"MALLOC_CONF", "narenas:2"}, {"FOO", "bar"}};
  auto r = runner::run(o);
  if (!r.ok() && r.error().message.find("not found") != std::string::npos)
    GTEST_SKIP() << r.error().message;
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.out, "dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2|bar\n");
}

TEST(Runner, FullModeLogBalances) {
  auto o = options("full", {ARENALAB_SURVIVOR, "entry"});
  o.mode = preload::protocol::Mode::kFull;
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->exit.shell_status(), 0) << r->exit.err;
  auto log = runner::read_full_log(r->out_dir + "/allocs.bin");
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_GE(log->allocs, 25u);  // the scenario makes 26 calls after start-up
  EXPECT_GE(log->frees, 24u);
  EXPECT_GT(log->stacks, 5u);
  EXPECT_GT(log->allocated_bytes, 64u << 20);  // the 64 MiB block
  // What stays live at exit is start-up state (stdio, locale), far below what was allocated.
  EXPECT_LT(log->live_bytes, 1 << 20);
  // The file is zstd frames (issue 21: 62 MB/s raw); the records decompress from the magic on.
  std::ifstream in(r->out_dir + "/allocs.bin", std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), std::string("\x28\xb5\x2f\xfd", 4));
  // Decoded (streams of varints, deltas within each thread buffer): every allocation names a stack
  // of the log, the 64 MiB block's size comes back whole, and times never run backwards in a
  // thread.
  std::set<std::uint32_t> stack_ids, used;
  std::uint64_t big = 0, frames = 0, last_ns = 0, backwards = 0;
  runner::FullLogRead read;
  auto st = runner::for_each_full_log_record(
      r->out_dir + "/allocs.bin",
      [&](const auto& rec) {
        if (rec.tag == 'S') {
          stack_ids.insert(rec.stack);
          frames += rec.frames.size();
        } else if (rec.tag == 'A' || rec.tag == 'F') {
          if (rec.tag == 'A') used.insert(rec.stack);
          if (rec.tag == 'A' && rec.size == (64u << 20)) ++big;
          backwards += rec.ns < last_ns;  // one thread allocates here
          last_ns = rec.ns;
        }
      },
      &read);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(read.version, 4);
  for (auto id : used) EXPECT_TRUE(stack_ids.count(id)) << "stack " << id << " never written";
  EXPECT_EQ(big, 1u);
  EXPECT_EQ(backwards, 0u);
  EXPECT_GT(frames, stack_ids.size());
  const auto size = fs::file_size(r->out_dir + "/allocs.bin");
  EXPECT_LT(size, read.bytes);
  // Cut mid-frame (a kill): what decompressed before the cut is still a readable log.
  fs::copy_file(r->out_dir + "/allocs.bin", r->out_dir + "/cut.bin");
  fs::resize_file(r->out_dir + "/cut.bin", size - 7);
  auto cut = runner::read_full_log(r->out_dir + "/cut.bin");
  ASSERT_TRUE(cut.ok()) << cut.error().message;
  EXPECT_LE(cut->allocs, log->allocs);
}

// Sizes past what an allocation can be (three 2^63-byte 'A' records read as "live at the peak
// 8388608.0 TiB", the totals wrapped) and a sum past PTRDIFF_MAX: refused by the decoder with a
// line naming the file and the record, so that no reader's total wraps.
TEST(Runner, FullLogRefusesSizesPastTheAddressSpace) {
  const std::string dir = temp_dir("full-log-sizes");
  fs::create_directories(dir);
  auto v2_log = [&](const std::string& name, std::uint64_t size, int count) {
    std::string d = "ARENALAB-FULL/2\n";
    auto put = [&](auto v) { d.append(reinterpret_cast<const char*>(&v), sizeof v); };
    for (int k = 0; k < count; ++k) {
      d += 'A';
      put(std::uint64_t(1000 + k));           // ns
      put(std::uint64_t(0x10000 * (k + 1)));  // ptr
      put(size);
      put(runner::kFullLogNoStack);
    }
    std::ofstream(dir + "/" + name, std::ios::binary) << d;
    return dir + "/" + name;
  };
  const std::string huge = v2_log("huge.bin", std::uint64_t(1) << 63, 3);
  auto log = runner::read_full_log(huge);
  ASSERT_FALSE(log.ok()) << "allocated " << log->allocated_bytes;
  EXPECT_EQ(log.error().message, huge +
                                     ": record 1 allocates 9223372036854775808 bytes, more than "
                                     "any allocation can be (PTRDIFF_MAX, 9223372036854775807)");
  // Each size possible, their sum not: the fourth 2^61 reaches 2^63.
  const std::string sum = v2_log("sum.bin", std::uint64_t(1) << 61, 5);
  int seen = 0;
  auto st = runner::for_each_full_log_record(sum, [&](const auto&) { ++seen; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            sum + ": record 4 brings the allocations' sum past PTRDIFF_MAX bytes (a damaged log)");
  EXPECT_EQ(seen, 3);
  // Three of them fit: read whole.
  auto fits = runner::read_full_log(v2_log("fits.bin", std::uint64_t(1) << 61, 3));
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->allocated_bytes, 3 * (std::uint64_t(1) << 61));
  EXPECT_EQ(fits->live_bytes, 3 * (std::int64_t(1) << 61));
  fs::remove_all(dir);
}

namespace {

// `records` after the ARENALAB-FULL/4 magic, written to dir/name as zstd frames of `frame` bytes
// of decompressed log each (0: the records as they are, uncompressed).
std::string write_v4_log(const std::string& dir, const std::string& name,
                         const std::string& records, std::size_t frame) {
  const std::string data = "ARENALAB-FULL/4\n" + records;
  std::string file;
  if (frame == 0) file = data;
  for (std::size_t at = 0; frame > 0 && at < data.size(); at += frame) {
    const std::size_t n = std::min(frame, data.size() - at);
    std::string z(ZSTD_compressBound(n), '\0');
    const std::size_t zn = ZSTD_compress(z.data(), z.size(), data.data() + at, n, 1);
    EXPECT_FALSE(ZSTD_isError(zn));
    file.append(z.data(), zn);
  }
  std::ofstream(dir + "/" + name, std::ios::binary) << file;
  return dir + "/" + name;
}

// An ARENALAB-FULL/4 thread buffer: the 'C' record of `frees` frees at addresses 16, 32, ...
std::string v4_buffer(int frees) {
  std::string tags(frees, 'F'), times(frees, '\x02'), addrs(frees, '\x20');  // deltas +1, +16
  std::string c = "C";
  for (std::size_t len :
       {std::size_t(0), tags.size(), times.size(), addrs.size(), std::size_t(0), std::size_t(0)})
    for (std::size_t v = len;; v >>= 7) {  // LEB128
      c += static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
      if (v < 0x80) break;
    }
  return c + tags + times + addrs;
}

std::string v4_time(std::uint64_t ms) {
  return "T" + std::string(reinterpret_cast<const char*>(&ms), sizeof ms);
}

}  // namespace

// The log is decoded piece by piece as it decompresses: a record that spans pieces and frames
// comes back whole, an unknown record is named at its byte in the decompressed log, a record
// longer than any writer's ends the log (what came before kept), never waited for.
TEST(Runner, FullLogDecodedAcrossPieces) {
  const std::string dir = temp_dir("full-log-pieces");
  fs::create_directories(dir);
  // 200,000 frees: a 600 KB record, more than one piece (ZSTD_DStreamOutSize(), 128 KiB) and
  // split over frames of 100,000 bytes.
  const std::string big = v4_buffer(200000);
  for (std::size_t frame : {std::size_t(0), std::size_t(100000), std::size_t(1) << 20}) {
    const std::string log = write_v4_log(dir, "big.bin", v4_time(5) + big + v4_time(7), frame);
    std::uint64_t frees = 0, last_ptr = 0, times = 0;
    runner::FullLogRead read;
    auto st = runner::for_each_full_log_record(
        log,
        [&](const auto& r) {
          frees += r.tag == 'F';
          times += r.tag == 'T';
          if (r.tag == 'F') last_ptr = r.ptr;
        },
        &read);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(frees, 200000u) << "frames of " << frame;
    EXPECT_EQ(last_ptr, 200000u * 16);
    EXPECT_EQ(times, 2u);
    EXPECT_EQ(read.bytes, 16 + 9 + big.size() + 9);
    // Unknown: named at its offset in the decompressed log.
    const std::string bad = write_v4_log(dir, "bad.bin", big + big + "X", frame);
    auto unknown = runner::for_each_full_log_record(bad, [](const auto&) {});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().message,
              bad + ": unknown record 'X' at byte " + std::to_string(16 + 2 * big.size()));
  }
  // A buffer claiming a 2 MiB stream (past kFullLogMaxRecordBytes): the log ends before it.
  std::string huge = "C";
  huge += std::string("\x80\x80\x80\x01", 4);  // 2^21
  huge += std::string(5, '\0');
  huge += std::string(1 << 21, 'x');
  const std::string log = write_v4_log(dir, "huge.bin", v4_time(5) + huge + v4_time(9), 1 << 16);
  std::vector<std::uint64_t> seen;
  auto st = runner::for_each_full_log_record(log, [&](const auto& r) { seen.push_back(r.t_ms); });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(seen, std::vector<std::uint64_t>{5});
  fs::remove_all(dir);
}

// A zstd bomb (a few KB that decompress to 512 MiB of valid records, in one frame) is read in
// bounded memory: the child reading it has an address-space limit of 256 MiB above where it
// starts, and reads every record (before: the whole log was decompressed into one string).
TEST(Runner, FullLogBombReadInBoundedMemory) {
  const std::string dir = temp_dir("full-log-bomb");
  fs::create_directories(dir);
  const std::string path = dir + "/bomb.bin";
  constexpr int kPieces = 512;  // of 1 MiB each: a 'T' record, then empty thread buffers
  {
    std::string piece = v4_time(1);
    const std::string empty = v4_buffer(0);
    while (piece.size() + empty.size() <= (1u << 20)) piece += empty;
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 1);
    std::string out(ZSTD_CStreamOutSize(), '\0'), file;
    auto put = [&](const std::string& in, ZSTD_EndDirective end) {
      ZSTD_inBuffer zin{in.data(), in.size(), 0};
      std::size_t left = 0;
      do {
        ZSTD_outBuffer zout{out.data(), out.size(), 0};
        left = ZSTD_compressStream2(cctx.get(), &zout, &zin, end);
        ASSERT_FALSE(ZSTD_isError(left));
        file.append(out.data(), zout.pos);
      } while (end == ZSTD_e_end ? left != 0 : zin.pos < zin.size);
    };
    put("ARENALAB-FULL/4\n", ZSTD_e_continue);
    for (int k = 0; k < kPieces; ++k) put(piece, ZSTD_e_continue);
    put("", ZSTD_e_end);
    EXPECT_LT(file.size(), 1u << 20);
    std::ofstream(path, std::ios::binary) << file;
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::uint64_t vm_kb = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmSize:", 0) == 0) vm_kb = std::stoull(line.substr(7));
    const rlimit limit{(vm_kb << 10) + (256u << 20), (vm_kb << 10) + (256u << 20)};
    if (vm_kb == 0 || ::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(10);
    int times = 0;
    auto st = runner::for_each_full_log_record(path, [&](const auto& r) { times += r.tag == 'T'; });
    ::_exit(!st.ok() ? 11 : times != kPieces ? 12 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the reader " << (WIFSIGNALED(status) ? "was killed by signal " : "exited ")
      << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status))
      << " (10: no limit set, 11: an error, 12: records lost)";
  fs::remove_all(dir);
}

// An existing directory: refused when not empty (the target never starts), emptied under
// kEmpty, and under the library default only the runner's own files and any symlink go.
TEST(Runner, ExistingOutputDirectory) {
  auto o = options("existing", {"sh", "-c", "touch \"$ARENALAB_OUT_DIR/started\""});
  fs::create_directories(o.out_dir);
  fs::permissions(o.out_dir, fs::perms::owner_all);
  { std::ofstream(fs::path(o.out_dir) / "mine.txt") << "x"; }
  const fs::path victim = fs::path(o.out_dir).parent_path() / "victim";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, fs::path(o.out_dir) / "heap.0.heap.tmp");
  o.out_existing = ExistingDir::kRefuseNonEmpty;
  auto refused = runner::run(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not empty"), std::string::npos);
  EXPECT_FALSE(fs::exists(fs::path(o.out_dir) / "started"));

  o.out_existing = ExistingDir::kAccept;
  auto kept = runner::run(o);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "mine.txt"));
  EXPECT_FALSE(fs::is_symlink(fs::path(o.out_dir) / "heap.0.heap.tmp"));
  EXPECT_EQ(*read_file(victim.string()), "precious");

  o.out_existing = ExistingDir::kEmpty;
  auto emptied = runner::run(o);
  ASSERT_TRUE(emptied.ok()) << emptied.error().message;
  EXPECT_FALSE(fs::exists(fs::path(o.out_dir) / "mine.txt"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "run.json"));
}

// The interval reaches the interposer as it parses it (never "1e+06"); out of range is an error.
TEST(Runner, IntervalRangeAndFormat) {
  auto o = options("interval", {"sleep", "0.2"});
  o.interval_ms = 1000000;
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto tl = timeline::read_timeline(r->timeline_path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_EQ(tl->header.interval_ms, 1000000);
  for (double bad : {0.5, 0.0, -1.0, 3600001.0, std::nan("")}) {
    o = options("interval-bad", {"true"});
    o.interval_ms = bad;
    EXPECT_FALSE(runner::run(o).ok()) << bad;
  }
}

// A signal to this process while the target runs, with forwarding: passed on, and run.json
// says how the run was stopped.
TEST(Runner, ForwardedSignalIsRecordedInRunJson) {
  auto o = options("forward", {"sleep", "30"});
  o.stop.forward_signals = true;
  o.tick_ms = 50;
  int ticks = 0;
  o.on_tick = [&](const runner::RunProgress&) {
    if (++ticks == 3) ::raise(SIGHUP);
  };
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.signal.value_or(0), SIGHUP);
  auto doc = nlohmann::json::parse(*read_file(r->run_json_path));
  EXPECT_EQ(doc["stop"]["received"], "SIGHUP");
  EXPECT_EQ(doc["stop"]["killed_after_grace"], false);
}

TEST(Runner, StaticBinaryDetection) {
  EXPECT_FALSE(runner::is_static_executable("/bin/sh"));
  EXPECT_FALSE(runner::is_static_executable("/no/such/file"));
}

// A long timeline stays small: the runner rolls it while the real interposer appends to it
// (1 ms samples, a roll at each 64 KiB of growth). The file is a whole timeline at the end,
// the exit path's final sample is there, every line after the history is in time order and
// none twice, and the run's sample count is the history's plus the lines after it.
TEST(Runner, RollsTheTimelineWhileTheInterposerAppends) {
  auto o = options("roll", {ARENALAB_SURVIVOR, "alloc_for", "3000"});
  o.mode = preload::protocol::Mode::kCount;
  o.interval_ms = 1;
  o.roll_every_bytes = 64 << 10;
  o.roll.recent_ms = 300;
  o.roll.min_block_ms = 16;
  o.roll.max_blocks = 16;
  auto r = runner::run(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit.shell_status(), 0);
  for (const auto& w : r->warnings) ADD_FAILURE() << "warning: " << w;
  EXPECT_GE(r->rolls, 2u);
  auto tl = timeline::read_timeline(r->timeline_path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_FALSE(tl->truncated);
  ASSERT_TRUE(tl->header.history.has_value());
  EXPECT_EQ(tl->header.history->rolls, r->rolls);
  EXPECT_TRUE(timeline::ends_with_teardown(r->timeline_path));
  std::size_t after = 0;
  double prev = -1;
  for (const auto& s : tl->samples) {
    if (s.t_ms < tl->header.history->until_ms) continue;
    EXPECT_GT(s.t_ms, prev) << "a line twice or out of order";
    prev = s.t_ms;
    ++after;
  }
  EXPECT_EQ(r->samples, tl->header.history->samples + after);
  EXPECT_LT(tl->samples.size(), r->samples);
}
