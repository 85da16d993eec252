// SPDX-License-Identifier: Apache-2.0
// The off-heap store: size-classed slots in mmap'd regions, an open-addressing index on the
// heap, process-wide gauges published through arenalab_gauge_set when the interposer is loaded.
#include "arenalab/offheap/store.h"

#include "arenalab/gauge.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <shared_mutex>

namespace arenalab::offheap {

const char* error_name(Errc e) {
  switch (e) {
    case Errc::kOutOfRange:
      return "out-of-range slot";
    case Errc::kSlotFree:
      return "slot holds no payload";
    case Errc::kTooLarge:
      return "payload larger than the largest slot";
    case Errc::kUnknownKey:
      return "unknown key";
    case Errc::kClosed:
      return "store is closed";
    case Errc::kBufferTooSmall:
      return "buffer smaller than the payload";
    case Errc::kMapFailed:
      return "mmap of a new region failed";
    case Errc::kCapacity:
      return "size class is full (2^32 - 2 slots)";
    case Errc::kBadOptions:
      return "bad store options";
  }
  return "unknown error";
}

namespace {

constexpr std::size_t kMinSlot = 16;
constexpr std::size_t kMaxBytes = std::size_t{1} << 30;
constexpr std::uint32_t kEmpty = UINT32_MAX;  // Entry::slot of an empty index cell
constexpr std::uint32_t kMaxSlots = UINT32_MAX - 1;
constexpr std::uint32_t kPublishEvery = 1024;  // mutations between gauge publications

// Process-wide sums over every open Store (what the gauges show).
std::atomic<std::uint64_t> g_mapped{0};
std::atomic<std::uint64_t> g_in_use{0};

// arenalab/gauge.h declares arenalab_gauge_set weak: null unless the interposer
// (libarenalab_preload.so) or another definition is in the process.
void publish_now() {
  if (const arenalab_gauge_set_fn fn = arenalab_gauge_set) {
    fn("offheap.bytes_mapped", static_cast<double>(g_mapped.load(std::memory_order_relaxed)));
    fn("offheap.bytes_in_use", static_cast<double>(g_in_use.load(std::memory_order_relaxed)));
  }
}

// splitmix64's finalizer (Steele, Lea, Flood: "Fast splittable pseudorandom number
// generators", OOPSLA 2014): spreads sequential keys over the table.
inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::size_t round_pow2(std::size_t v) { return std::bit_ceil(v); }

constexpr std::size_t kHugePage = std::size_t{2} << 20;  // x86-64 PMD-mapped THP size

// Maps one region. With `huge`, over-maps by one huge page and trims both ends so the region
// starts on a 2 MiB boundary, then asks for transparent huge pages (madvise(2) MADV_HUGEPAGE;
// Documentation/admin-guide/mm/transhuge.rst): one fault per 2 MiB instead of per 4 KiB, and
// fewer TLB misses on random gets. MAP_NORESERVE: pages are committed when first written.
void* map_region(std::size_t bytes, bool huge) {
  constexpr int kProt = PROT_READ | PROT_WRITE;
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (!huge || bytes < kHugePage) {
    void* p = mmap(nullptr, bytes, kProt, kFlags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void* p = mmap(nullptr, bytes + kHugePage, kProt, kFlags, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto lo = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t start = (lo + kHugePage - 1) & ~(kHugePage - 1);
  if (start > lo) munmap(p, start - lo);
  const std::uintptr_t tail = lo + bytes + kHugePage - (start + bytes);
  if (tail > 0) munmap(reinterpret_cast<void*>(start + bytes), tail);
  auto* region = reinterpret_cast<void*>(start);
  madvise(region, bytes, MADV_HUGEPAGE);  // advisory: ignored when THP is "never"
  return region;
}

}  // namespace

namespace detail {

// One size class: regions of `region_bytes`, each holding 2^shift slots of `slot_bytes`.
struct SizeClass {
  std::size_t slot_bytes = 0;
  unsigned shift = 0;               // log2(slots per region)
  std::vector<std::byte*> regions;  // owned mappings
  std::uint32_t carved = 0;         // slots handed out at least once (0 .. carved-1)
  std::vector<std::uint32_t> free;  // erased slots, reused first (LIFO: warm pages)
  std::vector<std::uint64_t> live;  // one bit per carved slot: holds a payload now

  std::byte* address(std::uint32_t slot) const {
    return regions[slot >> shift] +
           (static_cast<std::size_t>(slot & ((1u << shift) - 1)) * slot_bytes);
  }
  bool is_live(std::uint32_t slot) const { return (live[slot >> 6] >> (slot & 63)) & 1u; }
  void set_live(std::uint32_t slot, bool on) {
    if (on) {
      live[slot >> 6] |= std::uint64_t{1} << (slot & 63);
    } else {
      live[slot >> 6] &= ~(std::uint64_t{1} << (slot & 63));
    }
  }
};

// Index cell: 16 bytes. The size class is a function of len, so it is not stored.
struct Entry {
  std::uint64_t key;
  std::uint32_t len;
  std::uint32_t slot;
};

struct State {
  mutable std::shared_mutex mu;
  bool open = true;
  bool publish = true;
  bool huge = false;
  std::size_t region_bytes = 0;
  std::size_t max_payload = 0;
  std::vector<SizeClass> classes;
  // Open addressing with linear probing and backward-shift deletion (Knuth, TAOCP vol. 3,
  // 6.4, Algorithm R): no tombstones, so lookups stay short after many erases.
  std::vector<Entry> table;
  std::size_t mask = 0;
  std::size_t count = 0;
  std::uint32_t mutations = 0;
  // This store's gauges; written under the exclusive lock, read lock-free.
  std::atomic<std::uint64_t> mapped{0};
  std::atomic<std::uint64_t> in_use{0};

  static unsigned class_of(std::size_t len) {
    if (len <= kMinSlot) return 0;
    return static_cast<unsigned>(std::bit_width(len - 1)) - 4;  // 17..32 -> 1, 33..64 -> 2
  }

  std::size_t find(std::uint64_t key) const {
    if (table.empty()) return SIZE_MAX;
    for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      const Entry& e = table[i];
      if (e.slot == kEmpty) return SIZE_MAX;
      if (e.key == key) return i;
    }
  }

  void place(const Entry& e) {
    std::size_t i = mix(e.key) & mask;
    while (table[i].slot != kEmpty) i = (i + 1) & mask;
    table[i] = e;
  }

  // Keeps the load factor at or below 0.7 (linear probing degrades fast above ~0.8).
  void grow_if_needed() {
    if (!table.empty() && (count + 1) * 10 <= table.size() * 7) return;
    std::vector<Entry> old;
    old.swap(table);
    const std::size_t cap = old.empty() ? 64 : old.size() * 2;
    table.assign(cap, Entry{0, 0, kEmpty});
    mask = cap - 1;
    for (const Entry& e : old) {
      if (e.slot != kEmpty) place(e);
    }
  }

  void remove_at(std::size_t i) {
    // Backward shift: pull later members of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
      if (table[j].slot == kEmpty) break;
      const std::size_t home = mix(table[j].key) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool home_after_hole = ((j - home) & mask) < ((j - hole) & mask);
      if (!home_after_hole) {
        table[hole] = table[j];
        hole = j;
      }
    }
    table[hole].slot = kEmpty;
    --count;
  }

  void add_mapped(std::int64_t delta) {
    mapped.store(mapped.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(delta),
                 std::memory_order_relaxed);
    g_mapped.fetch_add(static_cast<std::uint64_t>(delta), std::memory_order_relaxed);
  }
  void add_in_use(std::int64_t delta) {
    in_use.store(in_use.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(delta),
                 std::memory_order_relaxed);
    g_in_use.fetch_add(static_cast<std::uint64_t>(delta), std::memory_order_relaxed);
  }
  void mutated() {
    if (publish && ++mutations % kPublishEvery == 0) publish_now();
  }

  Expected<std::uint32_t> allocate(unsigned c) {
    SizeClass& sc = classes[c];
    std::uint32_t slot;
    if (!sc.free.empty()) {
      slot = sc.free.back();
      sc.free.pop_back();
    } else {
      if (sc.carved >= kMaxSlots) return Errc::kCapacity;
      if ((static_cast<std::size_t>(sc.carved) >> sc.shift) >= sc.regions.size()) {
        // A region costs RSS only for the pages written so far (the slots in use, rounded up
        // to a page, or to 2 MiB with huge pages).
        void* p = map_region(region_bytes, huge);
        if (p == nullptr) return Errc::kMapFailed;
        sc.regions.push_back(static_cast<std::byte*>(p));
        sc.live.resize(((sc.regions.size() << sc.shift) + 63) / 64, 0);
        add_mapped(static_cast<std::int64_t>(region_bytes));
        if (publish) publish_now();
      }
      slot = sc.carved++;
    }
    sc.set_live(slot, true);
    return slot;
  }

  void release(unsigned c, std::uint32_t slot) {
    classes[c].set_live(slot, false);
    classes[c].free.push_back(slot);
  }

  void unmap_all() {
    for (SizeClass& sc : classes) {
      for (std::byte* r : sc.regions) {
#ifndef ARENALAB_OFFHEAP_SKIP_UNMAP
        munmap(r, region_bytes);
#else
        // Mutation build (tests only): the bookkeeping says "unmapped", the kernel disagrees.
        (void)r;
#endif
        add_mapped(-static_cast<std::int64_t>(region_bytes));
      }
      sc.regions = {};
      sc.free = {};
      sc.live = {};
      sc.carved = 0;
    }
    add_in_use(-static_cast<std::int64_t>(in_use.load(std::memory_order_relaxed)));
    table = {};
    mask = 0;
    count = 0;
  }
};

}  // namespace detail

using detail::State;

Store::Store() noexcept = default;
Store::Store(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Store::Store(Store&& other) noexcept = default;
Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}
Store::~Store() { close(); }

Expected<Store> Store::open(const Options& options) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  if (options.max_payload == 0 || options.max_payload > kMaxBytes ||
      options.region_bytes > kMaxBytes) {
    return Errc::kBadOptions;
  }
  auto s = std::make_unique<State>();
  s->publish = options.publish_gauges;
  s->huge = options.huge_pages;
  s->max_payload = options.max_payload;
  const std::size_t largest = round_pow2(std::max(options.max_payload, kMinSlot));
  s->region_bytes = round_pow2(std::max({options.region_bytes, page, largest}));
  for (std::size_t slot = kMinSlot; slot <= largest; slot *= 2) {
    detail::SizeClass sc;
    sc.slot_bytes = slot;
    sc.shift = static_cast<unsigned>(std::countr_zero(s->region_bytes / slot));
    s->classes.push_back(std::move(sc));
  }
  return Store(std::move(s));
}

Status Store::put(std::uint64_t key, std::span<const std::byte> payload) {
  if (!state_) return Errc::kClosed;
  State& s = *state_;
  std::unique_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  if (payload.size() > s.max_payload) return Errc::kTooLarge;
  const unsigned c = State::class_of(payload.size());
  const std::uint32_t len = static_cast<std::uint32_t>(payload.size());
  std::size_t at = s.find(key);
  if (at != SIZE_MAX) {
    detail::Entry& e = s.table[at];
    const unsigned old_class = State::class_of(e.len);
    if (old_class == c) {
      std::memcpy(s.classes[c].address(e.slot), payload.data(), len);
    } else {
      // Allocate first: on failure the old payload stays intact.
      auto slot = s.allocate(c);
      if (!slot) return slot.error();
      std::memcpy(s.classes[c].address(slot.value()), payload.data(), len);
      s.release(old_class, e.slot);
      e.slot = slot.value();
    }
    s.add_in_use(static_cast<std::int64_t>(len) - static_cast<std::int64_t>(e.len));
    e.len = len;
  } else {
    s.grow_if_needed();  // first: if it throws bad_alloc, no slot is held
    auto slot = s.allocate(c);
    if (!slot) return slot.error();
    std::memcpy(s.classes[c].address(slot.value()), payload.data(), len);
    s.place(detail::Entry{key, len, slot.value()});
    ++s.count;
    s.add_in_use(len);
  }
  s.mutated();
  return Done{};
}

Expected<std::size_t> Store::get(std::uint64_t key, std::span<std::byte> out) const {
  if (!state_) return Errc::kClosed;
  const State& s = *state_;
  std::shared_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  const std::size_t at = s.find(key);
  if (at == SIZE_MAX) return Errc::kUnknownKey;
  const detail::Entry& e = s.table[at];
  if (out.size() < e.len) return Errc::kBufferTooSmall;
  std::memcpy(out.data(), s.classes[State::class_of(e.len)].address(e.slot), e.len);
  return static_cast<std::size_t>(e.len);
}

Expected<std::size_t> Store::size_of(std::uint64_t key) const {
  if (!state_) return Errc::kClosed;
  const State& s = *state_;
  std::shared_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  const std::size_t at = s.find(key);
  if (at == SIZE_MAX) return Errc::kUnknownKey;
  return static_cast<std::size_t>(s.table[at].len);
}

Status Store::erase(std::uint64_t key) {
  if (!state_) return Errc::kClosed;
  State& s = *state_;
  std::unique_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  const std::size_t at = s.find(key);
  if (at == SIZE_MAX) return Errc::kUnknownKey;
  const detail::Entry e = s.table[at];
  s.release(State::class_of(e.len), e.slot);
  s.remove_at(at);
  s.add_in_use(-static_cast<std::int64_t>(e.len));
  s.mutated();
  return Done{};
}

Expected<SlotRef> Store::slot_of(std::uint64_t key) const {
  if (!state_) return Errc::kClosed;
  const State& s = *state_;
  std::shared_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  const std::size_t at = s.find(key);
  if (at == SIZE_MAX) return Errc::kUnknownKey;
  return SlotRef{State::class_of(s.table[at].len), s.table[at].slot};
}

Expected<std::size_t> Store::read_slot(SlotRef slot, std::span<std::byte> out) const {
  if (!state_) return Errc::kClosed;
  const State& s = *state_;
  std::shared_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  if (slot.size_class >= s.classes.size()) return Errc::kOutOfRange;
  const detail::SizeClass& sc = s.classes[slot.size_class];
  if (slot.index >= sc.carved) return Errc::kOutOfRange;
  if (!sc.is_live(slot.index)) return Errc::kSlotFree;
  if (out.size() < sc.slot_bytes) return Errc::kBufferTooSmall;
  std::memcpy(out.data(), sc.address(slot.index), sc.slot_bytes);
  return sc.slot_bytes;
}

void Store::close() noexcept {
  if (!state_) return;
  State& s = *state_;
  {
    std::unique_lock lock(s.mu);
    if (!s.open) return;
    s.open = false;
    s.unmap_all();
  }
  if (s.publish) publish_now();
}

bool Store::is_open() const noexcept {
  if (!state_) return false;
  std::shared_lock lock(state_->mu);
  return state_->open;
}

std::uint64_t Store::bytes_mapped() const noexcept {
  return state_ ? state_->mapped.load(std::memory_order_relaxed) : 0;
}
std::uint64_t Store::bytes_in_use() const noexcept {
  return state_ ? state_->in_use.load(std::memory_order_relaxed) : 0;
}

Expected<std::uint64_t> Store::resident_bytes() const {
  if (!state_) return Errc::kClosed;
  const State& s = *state_;
  std::shared_lock lock(s.mu);
  if (!s.open) return Errc::kClosed;
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec(s.region_bytes / page);
  std::uint64_t resident = 0;
  for (const detail::SizeClass& sc : s.classes) {
    for (std::byte* r : sc.regions) {
      // Fails only if the region is not mapped, which would be a bug of this store.
      if (mincore(r, s.region_bytes, vec.data()) != 0) return Errc::kMapFailed;
      for (unsigned char v : vec) resident += (v & 1u) ? page : 0;
    }
  }
  return resident;
}

std::size_t Store::size() const {
  if (!state_) return 0;
  std::shared_lock lock(state_->mu);
  return state_->count;
}

std::size_t Store::size_classes() const {
  if (!state_) return 0;
  std::shared_lock lock(state_->mu);
  return state_->open ? state_->classes.size() : 0;
}

std::vector<RegionInfo> Store::regions() const {
  std::vector<RegionInfo> out;
  if (!state_) return out;
  std::shared_lock lock(state_->mu);
  for (const detail::SizeClass& sc : state_->classes) {
    for (std::byte* r : sc.regions) out.push_back({r, state_->region_bytes, sc.slot_bytes});
  }
  return out;
}

std::uint64_t Store::process_bytes_mapped() noexcept {
  return g_mapped.load(std::memory_order_relaxed);
}
std::uint64_t Store::process_bytes_in_use() noexcept {
  return g_in_use.load(std::memory_order_relaxed);
}
void Store::publish_gauges() noexcept { publish_now(); }
bool Store::gauge_sink_present() noexcept { return arenalab_gauge_available() != 0; }

}  // namespace arenalab::offheap
