// SPDX-License-Identifier: Apache-2.0
// arenalab::offheap::Store: a key -> bytes store whose payloads live in mmap'd regions of
// fixed-size slots (seed task 10), with an index on the heap and live gauges.
//
// Ownership and lifetime: a Store exclusively owns every region it maps, and because it is
// move-only exactly one Store object is responsible for them at any time (a moved-from Store is
// closed). close(), called by the destructor when not called before, munmaps every region before
// it returns, so the payload memory ends exactly there and never later through a deferred
// mechanism.
//
// Layout: payloads go to the smallest size class that fits them (16, 32, 64, ... up to
// Options::max_payload bytes, powers of two); each class carves slots from its own regions of
// Options::region_bytes, adds a region when its slots run out and reuses erased slots first.
// Lengths are kept in the index, so a 16-byte payload occupies exactly one 16-byte slot.
// Regions are only unmapped by close(): an erased slot stays mapped for reuse.
//
// Thread safety: every member function may be called concurrently from several threads on
// the same Store: put/erase/close take an exclusive lock, get/size_of/slot_of/read_slot/
// resident_bytes/size a shared one, and bytes_mapped()/bytes_in_use() are lock-free atomic reads.
// Moving, move-assigning or destroying a Store must not race with any other call on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <variant>
#include <vector>

namespace arenalab::offheap {

// Why an operation was refused. The store is unchanged after any refused operation.
enum class Errc : std::uint8_t {
  kOutOfRange = 1,  // a SlotRef names a class or slot index the store never carved
  kSlotFree,        // a SlotRef names a carved slot that holds no payload now
  kTooLarge,        // payload longer than Options::max_payload
  kUnknownKey,      // no payload stored under the key
  kClosed,          // use after close() or after the Store was moved from
  kBufferTooSmall,  // the caller's buffer is shorter than the payload (see size_of)
  kMapFailed,       // mmap refused a new region (ENOMEM, RLIMIT_AS)
  kCapacity,        // a size class would exceed 2^32 - 2 slots
  kBadOptions,      // Options out of their documented ranges
};

// A short lowercase name for messages, e.g. "unknown key".
const char* error_name(Errc e);

// A value or an Errc (std::expected is C++23; this is the C++20 subset we need).
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Errc error) : data_(error) {}          // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }
  // pre: ok()
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  // pre: !ok()
  Errc error() const { return std::get<Errc>(data_); }

 private:
  std::variant<T, Errc> data_;
};

struct Done {};
using Status = Expected<Done>;

struct Options {
  // Largest payload accepted, in bytes (1 .. 1 GiB); the largest slot class is this rounded up
  // to a power of two >= 16.
  std::size_t max_payload = 4096;
  // Size of each mmap'd region in bytes; rounded up to a power of two that is at least one
  // page and at least the largest slot. Range up to 1 GiB.
  std::size_t region_bytes = std::size_t{4} << 20;
  // Align regions of >= 2 MiB to 2 MiB and ask for transparent huge pages (MADV_HUGEPAGE).
  // Off by default: on the machine we measured (docs/offheap.md) it made puts slower (more
  // system time per fault), and it rounds RSS up to 2 MiB per partly filled region. Only takes
  // effect when THP is "madvise" or "always".
  bool huge_pages = false;
  // Publish the process-wide gauges through arenalab_gauge_set when that symbol exists.
  bool publish_gauges = true;
};

// Names one slot: its size class (0 = 16-byte slots, 1 = 32, ...) and its index in that class.
struct SlotRef {
  std::uint32_t size_class = 0;
  std::uint32_t index = 0;
};

// One mapped region (for diagnostics and tests).
struct RegionInfo {
  const void* base = nullptr;
  std::size_t bytes = 0;
  std::size_t slot_bytes = 0;
};

namespace detail {
struct State;
}

class Store {
 public:
  // A closed store: every operation returns Errc::kClosed.
  Store() noexcept;
  // An open, empty store (maps nothing until the first put). Errc::kBadOptions on bad options.
  static Expected<Store> open(const Options& options = {});

  Store(Store&& other) noexcept;
  Store& operator=(Store&& other) noexcept;  // closes this store's regions first
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();  // close()

  // Stores a copy of `payload` under `key`, replacing any previous payload.
  // Errors: kClosed, kTooLarge, kMapFailed, kCapacity.
  Status put(std::uint64_t key, std::span<const std::byte> payload);
  Status put(std::uint64_t key, const void* data, std::size_t bytes) {
    return put(key, std::span(static_cast<const std::byte*>(data), bytes));
  }

  // Copies the payload into `out` and returns its length in bytes.
  // Errors: kClosed, kUnknownKey, kBufferTooSmall (nothing is copied then).
  Expected<std::size_t> get(std::uint64_t key, std::span<std::byte> out) const;
  Expected<std::size_t> get(std::uint64_t key, void* out, std::size_t capacity) const {
    return get(key, std::span(static_cast<std::byte*>(out), capacity));
  }
  // Length of the payload under `key`. Errors: kClosed, kUnknownKey.
  Expected<std::size_t> size_of(std::uint64_t key) const;
  // Removes the payload; its slot is reused by a later put. Errors: kClosed, kUnknownKey.
  Status erase(std::uint64_t key);

  // Slot-level access (the seed's slot-indexed API): where a key's payload lives, and a raw
  // copy of a whole slot (slot-size bytes, payload first, then stale bytes). read_slot checks
  // the reference against what was carved: kOutOfRange, kSlotFree, kBufferTooSmall, kClosed.
  Expected<SlotRef> slot_of(std::uint64_t key) const;
  Expected<std::size_t> read_slot(SlotRef slot, std::span<std::byte> out) const;

  // Unmaps every region and drops the index; idempotent. Later calls return kClosed.
  void close() noexcept;
  bool is_open() const noexcept;

  // Live gauges of this store, in bytes: bytes of regions mapped now, and payload bytes stored.
  std::uint64_t bytes_mapped() const noexcept;
  std::uint64_t bytes_in_use() const noexcept;
  // Bytes of this store's regions resident in RAM now (mincore(2) over every region).
  Expected<std::uint64_t> resident_bytes() const;
  // Number of keys stored (0 when closed).
  std::size_t size() const;
  // Number of size classes and the slot size of each.
  std::size_t size_classes() const;
  std::vector<RegionInfo> regions() const;

  // Sums over every Store of this process; these are what is published as the gauges
  // "offheap.bytes_mapped" and "offheap.bytes_in_use".
  static std::uint64_t process_bytes_mapped() noexcept;
  static std::uint64_t process_bytes_in_use() noexcept;
  // Publishes the two process gauges now (the store also does it on every region map/unmap,
  // at close and every 1024 mutations). No-op when arenalab_gauge_set is absent.
  static void publish_gauges() noexcept;
  // Whether arenalab_gauge_set is defined in the process (arenalab/gauge.h declares it weak).
  static bool gauge_sink_present() noexcept;

 private:
  explicit Store(std::unique_ptr<detail::State> state) noexcept;
  std::unique_ptr<detail::State> state_;
};

}  // namespace arenalab::offheap
