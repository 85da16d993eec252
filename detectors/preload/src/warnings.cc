// SPDX-License-Identifier: Apache-2.0
// run.json's warnings: the lines of <out_dir>/preload-warnings.txt, bounded per process.
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "arenalab/preload/format.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

// preload-warnings.txt (note_warning): this process's bytes reserved in it, and the warnings
// past its share that were not written.
std::atomic<std::uint64_t> g_warn_bytes{0};
std::atomic<std::uint64_t> g_warn_dropped{0};

// preload-warnings.txt is bounded (a program that dlopens with RTLD_DEEPBIND in a loop warns on
// every call): each traced process may append kWarnShareDiv-th of --max-output (at least
// kWarnMinShare), or kWarnDefaultCap without a cap. Past it repeated warnings are dropped and
// counted; the status lines (note_status: the cap reached, a file cut, what was dropped) each come
// at most once per process and have kWarnStatusRoom more. Every byte is also counted in
// output_bytes (write_all), so warnings take their part of --max-output like any other file.
constexpr std::uint64_t kWarnShareDiv = 8;
constexpr std::uint64_t kWarnMinShare = 4096;
constexpr std::uint64_t kWarnDefaultCap = 1 << 20;
constexpr std::uint64_t kWarnStatusRoom = 4096;

std::uint64_t warn_share() {
  const std::uint64_t cap = g_session.max_output;
  if (cap == 0) return kWarnDefaultCap;
  return cap / kWarnShareDiv > kWarnMinShare ? cap / kWarnShareDiv : kWarnMinShare;
}

// Takes n bytes of the file's room when they fit under `limit` (threads race here: a
// compare-and-swap, never a lock, so a fork in the middle leaves nothing held).
bool warn_reserve(std::uint64_t n, std::uint64_t limit) {
  std::uint64_t cur = g_warn_bytes.load(std::memory_order_relaxed);
  do {
    if (cur + n > limit) return false;
  } while (!g_warn_bytes.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

// The line is formatted on this call's stack, never in a shared buffer (16 threads warning at
// once tore about one line in ten), and appended with one write(2): O_APPEND writes of a regular
// file do not interleave. A text longer than the buffer is cut, but the line always ends with
// its newline. write_all blocks SIGXFSZ: a size limit gives EFBIG here, never a signal.
void warn_line(bool status, const char* a, const char* b, const char* c) {
  char line[2048];
  Buf l(line, sizeof line - 1);  // holds at most sizeof line - 2 bytes: room for the '\n'
  l.str(a).str(b).str(c);
  line[l.size()] = '\n';
  const std::size_t n = l.size() + 1;
  const std::uint64_t share = warn_share();
  if (!warn_reserve(n, status ? share + kWarnStatusRoom : share)) {
    if (status || g_warn_dropped.fetch_add(1, std::memory_order_relaxed) != 0) return;
    char why[160];
    Buf w(why, sizeof why - 1);
    w.str(" bytes at t_ms=")
        .u64((mono_ns() - g_session.t0_ns) / 1000000)
        .str(g_session.max_output ? " (from --max-output)" : " (the default without --max-output)")
        .str("; later warnings of this process are dropped, their number follows at exit");
    why[w.size()] = 0;
    char cap[32];
    Buf cb(cap, sizeof cap - 1);
    cb.u64(share);
    cap[cb.size()] = 0;
    char head[64];
    Buf h(head, sizeof head - 1);
    h.str("preload warnings cut: their share of ").str(cap);
    head[h.size()] = 0;
    warn_line(true, head, why, "");
    return;
  }
  const int fd = open_output(g_session.out_dir, "preload-warnings.txt", OpenMode::kAppend);
  if (fd < 0) return;
  write_all(fd, line, n);
  ::close(fd);
}

}  // namespace

// The last warning line of a process that dropped some (sampler_final): how many.
void warn_final() {
  const std::uint64_t dropped = g_warn_dropped.load(std::memory_order_relaxed);
  if (dropped == 0) return;
  char n[32];
  Buf b(n, sizeof n - 1);
  b.u64(dropped);
  n[b.size()] = 0;
  warn_line(true, "preload warnings dropped: ", n,
            " warnings past this process's share of preload-warnings.txt were not written");
}

// One line in <out_dir>/preload-warnings.txt (run.json's "warnings"). Any thread may warn at
// any time (a dlopen hook, count mode's tables, the sampler); no lock.
void note_warning(const char* a, const char* b, const char* c) { warn_line(false, a, b, c); }
void note_status(const char* a, const char* b, const char* c) { warn_line(true, a, b, c); }

void warnings_atfork_child() {
  g_warn_bytes.store(0, std::memory_order_relaxed);  // the child's share is its own
  g_warn_dropped.store(0, std::memory_order_relaxed);
}

}  // namespace arenalab::preload
