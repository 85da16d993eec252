// SPDX-License-Identifier: Apache-2.0
// SignalThinner (thin.h): a bounded, order-statistic-preserving subset of a run's sample rows,
// built as the rows stream in.
#include "arenalab/analysis/thin.h"

#include <algorithm>

namespace arenalab::analysis {

namespace {

constexpr std::size_t kHeadRows = 3;  // the start baseline (the lowest of the first three)
constexpr std::size_t kKeys = kSignalCount + 2;  // every signal, then held and the gap

// The value of key k in a row: a signal, or what the decision derives from them.
double key_value(const SignalRow& r, std::size_t k) {
  if (k < kSignalCount) return r.v[k];
  const double books = std::isfinite(r.v[kLiveBytesIdx]) ? r.v[kLiveBytesIdx] : r.v[kAllocatedIdx];
  const double held = books + (std::isfinite(r.v[kMmapBytesIdx]) ? r.v[kMmapBytesIdx] : 0.0);
  if (k == kSignalCount) return held;
  const double rss = std::isfinite(r.v[kRssAnonIdx]) ? r.v[kRssAnonIdx] : r.v[kRssIdx];
  return rss - held;
}

}  // namespace

SignalThinner::SignalThinner(std::size_t max_rows)
    : max_rows_(std::max<std::size_t>(max_rows, 64)) {}

void SignalThinner::add(const SignalRow& row) {
  const Kept k{seen_++, row};
  if (head_.size() < kHeadRows) head_.push_back(k);
  open_.push_back(k);
  if (open_.size() >= block_rows_) close_block();
}

void SignalThinner::close_block() {
  starts_.push_back(kept_.size());
  pick(open_, 0, open_.size(), kept_);
  open_.clear();
  // Room for the rows to come: halve until the picks fill at most half the bound. Each round
  // halves the number of micro-blocks, so this ends; amortised it is O(1) a row.
  if (kept_.size() > max_rows_) {
    while (kept_.size() > max_rows_ / 2 && starts_.size() > 1) compact();
  }
}

void SignalThinner::compact() {
  block_rows_ *= 2;
  std::vector<Kept> kept;
  std::vector<std::size_t> starts;
  kept.reserve(kept_.size());
  for (std::size_t i = 0; i < starts_.size(); i += 2) {
    const std::size_t b = starts_[i];
    const std::size_t e = i + 2 < starts_.size() ? starts_[i + 2] : kept_.size();
    starts.push_back(kept.size());
    pick(kept_, b, e, kept);
  }
  kept_.swap(kept);
  starts_.swap(starts);
}

namespace {

// pick_rows on rows row(0) .. row(n - 1); keep[i] set for the picked ones.
template <typename Row>
void mark_picks(std::size_t n, Row&& row, std::vector<char>& keep) {
  keep.assign(n, 0);
  if (n <= 5) {  // every row is some order statistic already
    keep.assign(n, 1);
    return;
  }
  std::vector<std::pair<double, std::size_t>> vals;
  vals.reserve(n);
  for (std::size_t k = 0; k < kKeys; ++k) {
    vals.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const double v = key_value(row(i), k);
      if (std::isfinite(v)) vals.emplace_back(v, i);
    }
    if (vals.empty()) continue;
    // Minimum, quartiles, median, maximum (ties broken by position: the earliest row). The
    // median splits the rest: each quartile is selected within its half.
    const auto lo = std::min_element(vals.begin(), vals.end());
    const auto hi = std::max_element(vals.begin(), vals.end());
    keep[lo->second] = keep[hi->second] = 1;
    const std::ptrdiff_t m = static_cast<std::ptrdiff_t>(vals.size()) - 1;
    const auto mid = vals.begin() + m / 2;
    std::nth_element(vals.begin(), mid, vals.end());
    keep[mid->second] = 1;
    const auto q1 = vals.begin() + m / 4, q3 = vals.begin() + (3 * m) / 4;
    std::nth_element(vals.begin(), q1, mid);
    keep[q1->second] = 1;
    if (q3 > mid) {
      std::nth_element(mid + 1, q3, vals.end());
      keep[q3->second] = 1;
    }
  }
}

}  // namespace

std::vector<std::size_t> pick_rows(const std::vector<SignalRow>& rows) {
  std::vector<char> keep;
  mark_picks(
      rows.size(), [&](std::size_t i) -> const SignalRow& { return rows[i]; }, keep);
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) out.push_back(i);
  return out;
}

void SignalThinner::pick(const std::vector<Kept>& in, std::size_t b, std::size_t e,
                         std::vector<Kept>& out) {
  std::vector<char> keep;
  mark_picks(
      e - b, [&](std::size_t i) -> const SignalRow& { return in[b + i].row; }, keep);
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) out.push_back(in[b + i]);
}

template <typename F>
void SignalThinner::for_each_kept(F&& f) const {
  std::uint64_t last = 0;
  bool any = false;
  auto emit = [&](const Kept& k) {
    if (any && k.seq <= last) return;  // a head row also kept by its micro-block
    any = true, last = k.seq;
    f(k.row);
  };
  // head_ < kept_ < open_ by position, but head rows may sit inside the first micro-block.
  std::size_t h = 0;
  // The micro-block being filled is thinned like the others (its picks), so that the latest
  // minutes weigh no more than any other stretch of the window.
  std::vector<Kept> open;
  pick(open_, 0, open_.size(), open);
  for (const std::vector<Kept>* part : {&kept_, static_cast<const std::vector<Kept>*>(&open)})
    for (const auto& k : *part) {
      while (h < head_.size() && head_[h].seq <= k.seq) emit(head_[h++]);
      emit(k);
    }
  while (h < head_.size()) emit(head_[h++]);
}

std::size_t SignalThinner::rows_kept() const {
  std::size_t n = 0;
  for_each_kept([&](const SignalRow&) { ++n; });
  return n;
}

Signals SignalThinner::signals() const {
  Signals sig;
  Series* const series[kSignalCount] = {
      &sig.rss,    &sig.rss_anon, &sig.live_bytes, &sig.allocated, &sig.active,    &sig.resident,
      &sig.mapped, &sig.retained, &sig.mmap_bytes, &sig.rss_file,  &sig.rss_shmem, &sig.vm_size};
  for_each_kept([&](const SignalRow& r) {
    for (std::size_t j = 0; j < kSignalCount; ++j)
      if (std::isfinite(r.v[j])) {
        series[j]->t_ms.push_back(r.t_ms);
        series[j]->value.push_back(r.v[j]);
      }
  });
  return sig;
}

}  // namespace arenalab::analysis
