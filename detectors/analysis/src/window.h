// SPDX-License-Identifier: Apache-2.0
// The entry check of the classifier (issue 21): a window whose times or values would make an
// intermediate figure non-finite is refused with a reason, never classified into "+inf %".
#pragma once

#include <string>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis::detail {

// Why `s` cannot be classified ("" when it can): finite times beyond 1e15 ms, finite values
// beyond 2^64 in magnitude, or two sample times closer than 1 ns but not equal (rates per
// second and squared slopes overflow there; t_ms = i x 1e-300 made every slope +inf).
// Non-finite samples are not reasons: the classifier drops them.
std::string unusable_window(const Series& s);

// Whether every figure of the verdict (levels, slopes, percentages, rates, confidence) is a
// finite number: what is printed and written to verdict.json never says inf or nan.
bool finite_figures(const SeriesVerdict& v);
bool finite_figures(const Classification& c);

// classify_series and classify without these checks (classify.cc); the public functions
// (window.cc) check the window first and the figures after.
SeriesVerdict classify_series_unchecked(const Series& s, const Options& o);
Classification classify_unchecked(const Signals& sig, const Options& o);

}  // namespace arenalab::analysis::detail
