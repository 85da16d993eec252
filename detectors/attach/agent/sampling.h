// SPDX-License-Identifier: Apache-2.0
// Level sample of an attach (docs/attach.md): on top of level count's hooks, allocations are
// sampled as `arenalab run --mode sample` samples them (byte-based Poisson sampling, mean
// --sample-bytes between samples), their call stacks deduplicated, and the sampled live bytes
// per stack written as heap.<seq>.heap (jemalloc heap_v2) and heap-sites.jsonl through the
// interposer's own writers (arenalab/preload/format.h, heap_sites_file.h). Private to
// libarenalab_agent.so.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arenalab::agent {

// Stack ids travel in the top 16 bits of a tracked block's size (live_table.cc): id + 1, so 0 is
// "not sampled"; 65,535 stacks at most.
inline constexpr int kStackShift = 48;
inline constexpr std::uint64_t kSizeMask = (std::uint64_t{1} << kStackShift) - 1;
inline constexpr std::uint32_t kMaxSampleStacks = 65535;

// Sets the sampler up for a new attach (stack table cleared, the unwinder primed, countdowns
// drawn): 0 ok, else a short reason in `why`. period: mean bytes between samples.
int sample_start(unsigned long long period, char* why, std::size_t why_size);
// Stops sampling (hooks already put back by the caller): what is still counted stays for the
// final dump.
void sample_stop();
bool sampling();

// The hot path: `n` more bytes allocated by this thread. Returns a stack id + 1 when this
// allocation is sampled and its stack recorded, else 0.
unsigned sample_pick(std::size_t n);
// A sampled block entered or left the table of live blocks (live_table.cc): its stack's live
// counts follow.
void sample_live_add(unsigned stack1, std::size_t n);
void sample_live_remove(unsigned stack1, std::size_t n);
// A sampled allocation the table had no room for (counted, reported).
void sample_lost();

// On the sampler thread: the dump of this tick (heap.<seq>.heap and a heap-sites.jsonl point),
// written into out_dir, t_ms since the target started; the older dumps thinned evenly (33-64
// kept). False when a write failed (then no further dumps are written).
bool sample_dump(const char* out_dir, std::uint64_t t_ms);
// Sampled live bytes, unbiased as jeprof does (per stack: bytes / (1 - exp(-avg / period))).
long long sample_live_estimate();
long long sample_dropped();
long long sample_stacks();
unsigned long long sample_period();

}  // namespace arenalab::agent
