// SPDX-License-Identifier: Apache-2.0
// full mode: every allocation and free, with its stack (profile.cc's table), appended to a
// compact binary log, <out_dir>/allocs.bin (records documented in docs/interposer.md),
// compressed with zstd: every write is one whole zstd frame (issue 21: 62 MB/s raw). A thread's
// buffer holds its records by field, one stream per field (ARENALAB-FULL/4): zstd then finds the
// repeats within each field (sizes, stacks) and passes over the noisy ones (times, addresses)
// faster than over whole records: on sqlite3 the file came out 26 % smaller for 60 % fewer of
// zstd's instructions (callgrind).
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_initStaticCCtx: a context in our own memory, no malloc
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include <zstd.h>

#include "arenalab/preload/format.h"
#include "arenalab/preload/protocol.h"
#include "profile.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

bool g_full_on = false;  // the file is opened per write (see timeline_write in timeline_writer.cc)

namespace {

// Full log: one buffer per thread, so allocating threads never wait for each other. Each
// record carries CLOCK_MONOTONIC ns; the reader orders the threads' records by it. A buffer is
// written out (one O_APPEND write of whole records) when full, every interval by the sampler,
// and when its thread exits (then it is free for the next thread).
constexpr char kFullName[] = "allocs.bin";  // in the output directory
constexpr int kMaxLogs = 4096;

// A thread buffer: at most kEvents allocations and frees, each a tag in `tags` and its fields in
// the streams below (varints of at most kMaxVarint bytes, so a stream never overflows before the
// tags do), and the new stacks' records in `stacks`. Mapped, so only the pages written are
// resident (about 64 KiB of a full buffer).
constexpr std::size_t kMaxVarint = 10;
constexpr std::size_t kEvents = 8192;
constexpr std::size_t kMaxStackRecord = 1 + 2 * kMaxVarint + kMaxDepth * kMaxVarint;
constexpr std::size_t kHeadRoom = 32;  // the 'C' header: a tag and six varints of < 2^32
constexpr std::size_t kStacksCap = 16 * 1024;
enum Stream { kStacks, kTags, kTimes, kAddrs, kSizes, kIds, kStreams };
constexpr std::size_t kStreamCap[kStreams] = {kStacksCap,          kEvents,
                                              kEvents* kMaxVarint, kEvents* kMaxVarint,
                                              kEvents* kMaxVarint, kEvents* kMaxVarint};
constexpr std::size_t stream_offset(int k) {
  std::size_t off = kHeadRoom;
  for (int i = 0; i < k; ++i) off += kStreamCap[i];
  return off;
}
constexpr std::size_t kLogBuf = stream_offset(kStreams);  // the most one write compresses
// A buffer is one record: readers take a longer one for a damaged log.
static_assert(kLogBuf <= protocol::kFullLogMaxRecordBytes);
}  // namespace

// The stacks this thread logged last, by hash (direct mapped): an allocation whose stack's hash
// and depth are here takes its id without the shared table, whose index slot and entry are two
// cache misses (cc1plus, 37,561 stacks of about 400 bytes: 89 % of find_stack_shared's time in
// perf). A hint is the stack's 64-bit hash and its depth, not its frames: two different stacks
// of one depth share a hash with probability 2^-64 a pair (below 2^-32 in a run that fills the
// 65,536-stack table), and the table itself still compares frames. Only the owner reads or
// writes them; a buffer handed to another thread keeps them (stack ids are global).
constexpr std::size_t kHints = 1024;  // 16 KiB; LRU over cc1plus's stacks: 81 % of allocations
struct StackHint {
  std::uint64_t hash;
  std::uint32_t depth;
  std::uint32_t id_plus_1;  // 0: empty
};

struct ThreadLog {
  SpinLock lock;  // the owner appends, the sampler takes the buffer: uncontended but for that
  std::atomic<int> owned;
  char* end[kStreams];              // where each stream's next byte goes
  std::uint64_t last_ns, last_ptr;  // the delta bases, reset with the buffer
  StackHint hints[kHints];
  char data[kLogBuf];
};

namespace {

ThreadLog* g_logs[kMaxLogs];
std::atomic<int> g_log_count{0};
SpinLock g_log_create_lock;
pthread_key_t g_log_key;
bool g_log_key_ok = false;
std::atomic<long long> g_log_dropped{0};  // events of threads beyond kMaxLogs
std::atomic<long long> g_unstacked{0};    // allocations logged without their stack (table full)

// ---- full log (binary, little endian; documented in docs/interposer.md) ----
std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Compression: one zstd context for all threads, in memory mapped once at init (zstd never
// calls malloc: ZSTD_initStaticCCtx), level -3: one of zstd's fast levels, which trade ratio for
// speed (cc1plus's 14.1 MB of records, in 64 KiB frames: level 1 7.3 MB at 98-107 MB/s, level -3
// 8.8 MB at 144-352 MB/s, on this loaded machine).
// Each write compresses a whole thread buffer (< 64 KiB) into one independent frame, so the file
// is a sequence of frames (what `zstd -dc` reads) and a killed target leaves whole frames and at
// most one cut one; the reader keeps what decompresses. The lock serializes flushes only (one per
// 64 KiB of records), never allocations.
constexpr int kZstdLevel = -3;
SpinLock g_zstd_lock;
ZSTD_CCtx* g_zstd = nullptr;
char* g_zstd_out = nullptr;
std::size_t g_zstd_out_cap = 0;

bool zstd_init() {
  const std::size_t work = ZSTD_estimateCCtxSize(kZstdLevel);
  g_zstd_out_cap = ZSTD_compressBound(kLogBuf);
  void* mem = sys_mmap(work + g_zstd_out_cap);
  if (!mem) return false;
  g_zstd = ZSTD_initStaticCCtx(mem, work);
  g_zstd_out = static_cast<char*>(mem) + work;
  return g_zstd != nullptr;
}

// Appends `len` bytes of records to the log file as one zstd frame (fd < 0: opened for this
// write). pre: len <= kLogBuf.
void full_write(int fd, const void* data, std::size_t len) {
  if (!g_full_on || len == 0) return;
  const bool own = fd < 0;
  if (own) fd = open_output(g_profile_dir, kFullName, OpenMode::kAppend);
  if (fd < 0) return;
  g_zstd_lock.lock();
  const std::size_t n =
      ZSTD_compressCCtx(g_zstd, g_zstd_out, g_zstd_out_cap, data, len, kZstdLevel);
  bool ok = false, capped = false;
  int err = 0;
  if (!ZSTD_isError(n)) {
    // --max-output: the frame that would pass the cap is not written, nor any later one.
    capped = !output_cap_allows(Output::kFullLog, n);
    if (!capped) ok = write_all(fd, g_zstd_out, n);
    err = errno;
  }
  g_zstd_lock.unlock();
  if (own) ::close(fd);
  if (ZSTD_isError(n) || capped) {
    // A zstd error cannot happen with a context sized for the level; stop, never crash.
    g_full_on = false;
  } else if (!ok && output_stopped(Output::kFullLog, err)) {
    g_full_on = false;  // ends in whole frames (or one cut frame)
  }
}

// ARENALAB-FULL/4 (docs/interposer.md): unsigned LEB128 varints, signed values zigzag encoded.
// Times and addresses are deltas from the thread's previous event, so an allocation takes about
// 10 bytes and a free 6; a buffer is one 'C' record, its streams' lengths then the streams.
inline char* put_varint(char* o, std::uint64_t v) {
  while (v >= 0x80) {
    *o++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *o++ = static_cast<char>(v);
  return o;
}

// The difference a - b, zigzag encoded (small of either sign: small).
inline std::uint64_t zigzag_delta(std::uint64_t a, std::uint64_t b) {
  const auto d = static_cast<std::int64_t>(a - b);
  return (static_cast<std::uint64_t>(d) << 1) ^ static_cast<std::uint64_t>(d >> 63);
}

void log_reset(ThreadLog* l) {
  for (int k = 0; k < kStreams; ++k) l->end[k] = l->data + stream_offset(k);
  l->last_ns = 0;
  l->last_ptr = 0;
}

// l's buffer as one 'C' record (its header, then the streams together), and empties it; lock
// held. `out` null: packed in place (the header before the stacks stream, the other streams
// moved down after it); else copied to out (room for kLogBuf). Returns the record's first byte,
// *len its length (0: the buffer was empty).
char* log_pack_locked(ThreadLog* l, char* out, std::size_t* len_out) {
  std::size_t len[kStreams], total = 0;
  for (int k = 0; k < kStreams; ++k) {
    len[k] = static_cast<std::size_t>(l->end[k] - (l->data + stream_offset(k)));
    total += len[k];
  }
  *len_out = 0;
  if (total == 0) return nullptr;
  char head[kHeadRoom];
  char* h = head;
  *h++ = 'C';
  for (int k = 0; k < kStreams; ++k) h = put_varint(h, len[k]);
  const auto hlen = static_cast<std::size_t>(h - head);
  char* const start = out ? out : l->data + kHeadRoom - hlen;
  __builtin_memcpy(start, head, hlen);
  char* o = start + hlen;
  for (int k = kStacks; k < kStreams; ++k) {
    if (o != l->data + stream_offset(k)) __builtin_memmove(o, l->data + stream_offset(k), len[k]);
    o += len[k];  // in place, the stacks stream is where it goes
  }
  *len_out = hlen + total;
  log_reset(l);
  return start;
}

// Writes l's buffer out and empties it, in place; lock held (its owner when the buffer is full,
// thread exit).
void log_flush_locked(ThreadLog* l, int fd) {
  std::size_t len = 0;
  char* const start = log_pack_locked(l, nullptr, &len);
  if (len) full_write(fd, start, len);
}

// The sampler's copy of a thread's buffer: taken under the thread's lock and compressed after
// it is released, so the owner waits for a copy (at most kLogBuf bytes), never for zstd and the
// write (a thread's buffers may then reach the file out of order: the readers order events by
// time, and each buffer's deltas start from 0). Guarded by g_stage_lock.
SpinLock g_stage_lock;
char* g_stage = nullptr;

// An allocation or free: its tag, time and address (the caller adds an allocation's size and
// stack). Flushes first when the buffer holds kEvents.
inline void put_event(ThreadLog* l, char tag, std::uint64_t ns, std::uint64_t ptr) {
  if (l->end[kTags] == l->data + stream_offset(kTags) + kEvents) log_flush_locked(l, -1);
  *l->end[kTags]++ = tag;
  l->end[kTimes] = put_varint(l->end[kTimes], zigzag_delta(ns, l->last_ns));
  l->end[kAddrs] = put_varint(l->end[kAddrs], zigzag_delta(ptr, l->last_ptr));
  l->last_ns = ns;
  l->last_ptr = ptr;
}

// Thread exit (pthread key destructor): the buffer is written out and freed for reuse. If a
// later destructor of the same thread allocates, it takes a log again (glibc then runs the
// destructors once more).
void log_release(void* arg) {
  auto* l = static_cast<ThreadLog*>(arg);
  l->lock.lock();
  log_flush_locked(l, -1);
  l->lock.unlock();
  t_state.log = nullptr;
  l->owned.store(0, std::memory_order_release);
}

ThreadLog* log_acquire(ThreadState& t) {
  const int n = g_log_count.load(std::memory_order_acquire);
  ThreadLog* l = nullptr;
  for (int i = 0; i < n && !l; ++i) {
    int expected = 0;
    if (g_logs[i]->owned.load(std::memory_order_relaxed) == 0 &&
        g_logs[i]->owned.compare_exchange_strong(expected, 1))
      l = g_logs[i];
  }
  if (!l) {
    g_log_create_lock.lock();
    const int m = g_log_count.load(std::memory_order_relaxed);
    if (m < kMaxLogs) {
      l = static_cast<ThreadLog*>(sys_mmap(sizeof(ThreadLog)));
      if (l) {
        log_reset(l);
        l->owned.store(1, std::memory_order_relaxed);
        g_logs[m] = l;
        g_log_count.store(m + 1, std::memory_order_release);
      }
    }
    g_log_create_lock.unlock();
  }
  if (!l) return nullptr;
  t.log = l;
  if (g_log_key_ok) pthread_setspecific(g_log_key, l);
  return l;
}

inline ThreadLog* my_log(ThreadState& t) {
  ThreadLog* l = t.log;
  return l ? l : log_acquire(t);
}

}  // namespace

void full_log_init() {
  if (!zstd_init()) return;
  g_stage = static_cast<char*>(sys_mmap(kLogBuf));
  if (!g_stage) return;
  const int fd = open_output(g_profile_dir, kFullName, OpenMode::kCreate);
  if (fd >= 0) {
    g_full_on = true;
    full_write(fd, "ARENALAB-FULL/4\n", 16);
    ::close(fd);
    g_log_key_ok = pthread_key_create(&g_log_key, log_release) == 0;
  }
}

// Full log records (ARENALAB-FULL/4, docs/interposer.md): 'C' (a thread buffer) with the byte
// lengths of its six streams, then the streams: stacks ('S'-less records id depth frames[depth],
// frames zigzag deltas from the previous frame, the first from 0), tags ('A' or 'F' per event),
// times and addresses (zigzag deltas from the buffer's previous event, the first from 0), sizes
// and stack+1 (0: not recorded) of the allocations | 'T' ms:u64 (time since the target started,
// written at each interval, in a frame of its own). ns is CLOCK_MONOTONIC; records of different
// threads are ordered by it.
void full_log_alloc(void* p, size_t size, void* const* frames, int depth) {
  ThreadState& t = t_state;
  ThreadLog* l = my_log(t);
  if (!l) {
    g_log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool added = false;
  const std::uint64_t hash = frames_hash(frames, depth);
  StackHint& hint = l->hints[hash & (kHints - 1)];
  long id;
  if (hint.hash == hash && hint.depth == static_cast<std::uint32_t>(depth) && hint.id_plus_1) {
    id = static_cast<long>(hint.id_plus_1) - 1;
  } else {
    id = find_stack_shared(frames, depth, hash, &added);
    if (id >= 0)
      hint = {hash, static_cast<std::uint32_t>(depth), static_cast<std::uint32_t>(id + 1)};
  }
  if (__builtin_expect(id < 0, 0)) g_unstacked.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t ns = now_ns();
  if (!l->lock.try_lock()) l->lock.lock();
  if (added) {
    if (l->end[kStacks] + kMaxStackRecord > l->data + stream_offset(kStacks) + kStacksCap)
      log_flush_locked(l, -1);
    char* o = l->end[kStacks];
    o = put_varint(o, static_cast<std::uint64_t>(id));
    o = put_varint(o, static_cast<std::uint64_t>(depth));
    std::uint64_t prev = 0;
    for (int k = 0; k < depth; ++k) {
      const auto f = reinterpret_cast<std::uint64_t>(frames[k]);
      o = put_varint(o, zigzag_delta(f, prev));
      prev = f;
    }
    l->end[kStacks] = o;
  }
  put_event(l, 'A', ns, reinterpret_cast<std::uint64_t>(p));
  l->end[kSizes] = put_varint(l->end[kSizes], size);
  l->end[kIds] = put_varint(l->end[kIds], id < 0 ? 0 : static_cast<std::uint64_t>(id) + 1);
  l->lock.unlock();
}

void full_free(void* p) {
  if (!g_full_on) return;
  ThreadLog* l = my_log(t_state);
  if (!l) {
    g_log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t ns = now_ns();
  if (!l->lock.try_lock()) l->lock.lock();
  put_event(l, 'F', ns, reinterpret_cast<std::uint64_t>(p));
  l->lock.unlock();
}

void profile_flush_at(std::uint64_t t_ms) {
  if (!g_full_on) return;
  const int fd = open_output(g_profile_dir, kFullName, OpenMode::kAppend);
  if (fd < 0) return;
  const int n = g_log_count.load(std::memory_order_acquire);
  g_stage_lock.lock();
  for (int i = 0; i < n; ++i) {
    std::size_t len = 0;
    g_logs[i]->lock.lock();
    log_pack_locked(g_logs[i], g_stage, &len);
    g_logs[i]->lock.unlock();
    if (len) full_write(fd, g_stage, len);
  }
  g_stage_lock.unlock();
  char rec[1 + 8];
  rec[0] = 'T';
  std::memcpy(rec + 1, &t_ms, 8);
  full_write(fd, rec, sizeof rec);
  ::close(fd);
}

long long profile_full_dropped() { return g_log_dropped.load(std::memory_order_relaxed); }
long long profile_full_unstacked() { return g_unstacked.load(std::memory_order_relaxed); }

void full_log_atfork_child() {
  // The child never writes the parent's full log (nor touches its thread logs, whose locks
  // other threads may have held at the fork).
  g_full_on = false;
  t_state.log = nullptr;
}

}  // namespace arenalab::preload
