// SPDX-License-Identifier: Apache-2.0
// The Prometheus HTTP API's query response (GET /api/v1/query_range, resultType "matrix";
// prometheus.io/docs/prometheus/latest/querying/api/): a validating reader, and the counter-reset
// correction Prometheus' own rate() applies. Times are seconds since the epoch, values as sent.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::prometheus {

using Labels = std::map<std::string, std::string>;  // includes "__name__" when the query kept it

// One series of a range query. Values the API sends as "NaN", "+Inf" or "-Inf" are kept as
// such (the classifier ignores non-finite values as missing samples).
struct RangeSeries {
  Labels labels;
  std::vector<double> t_s;     // strictly increasing, finite
  std::vector<double> value;   // same length as t_s
  std::size_t non_finite = 0;  // values that were NaN or infinite
};

struct RangeResult {
  std::vector<RangeSeries> series;
  std::vector<std::string> warnings;  // "warnings" of the response, as sent
};

// Parses the body of a query_range response. An error response ("status":"error") comes back as
// an Error carrying its errorType and error text; a body that is not the documented shape (not
// JSON, resultType other than "matrix", a sample not [time, "value"], times not increasing, a
// value that is not a number) as an Error naming `origin` and the first thing that was wrong.
Result<RangeResult> parse_range_response(std::string_view body, const std::string& origin);

// Holes in a series sampled every `step_s`: how many expected points are missing (a target
// that was down, a scrape that failed). Points closer than 1.5 steps count as consecutive.
std::size_t missing_points(const RangeSeries& s, double step_s);

// The indices where a counter fell (a reset: the process restarted). A gauge falls all the time;
// call this only on counters (names ending in _total, by Prometheus' conventions).
std::vector<std::size_t> counter_resets(const RangeSeries& s);

// The counter made monotonic the way rate() does: after a reset, the value before it is added
// to every later value. Non-finite values are left where they are and do not count as resets.
// A counter is never negative; on negative values the result need not be monotonic.
RangeSeries without_counter_resets(const RangeSeries& s);

}  // namespace arenalab::prometheus
