// SPDX-License-Identifier: Apache-2.0
// The terminal table: medians with intervals and ratios per configuration, the interval's real
// coverage stated, and configurations without ok cells shown with the reason instead of figures.
#include <gtest/gtest.h>

#include "arenalab/matrix/results.h"

namespace arenalab::matrix {
namespace {

TEST(RenderTable, ShowsMediansRatiosCoverageAndExclusions) {
  Results r;
  r.plan.configurations = {"glibc", "jemalloc", "tcmalloc"};
  for (int rep = 0; rep < 3; ++rep) {
    for (const char* cfg : {"glibc", "jemalloc", "tcmalloc"}) {
      Cell c;
      c.workload = "larson";
      c.configuration = cfg;
      c.repeat = rep;
      c.wall_ms = (std::string(cfg) == "jemalloc" ? 50.0 : 100.0) + rep;
      c.peak_rss_bytes = 8.0 * (1 << 20);
      c.throughput = 1e6;
      c.throughput_unit = "ops/s";
      c.status = std::string(cfg) == "tcmalloc" ? CellStatus::kUnverified : CellStatus::kOk;
      if (c.status != CellStatus::kOk) c.mismatch = "asks for tcmalloc but the process calls glibc";
      r.cells.push_back(c);
    }
  }
  r.summaries = summarize(r.cells, r.plan);
  const std::string t = render_table(r);
  EXPECT_NE(t.find("larson"), std::string::npos) << t;
  // jemalloc: wall {50,51,52} -> "51.0 [50.0,52.0]"; paired ratios 50/100, 51/101, 52/102.
  EXPECT_NE(t.find("51.0 [50.0,52.0]"), std::string::npos) << t;
  EXPECT_NE(t.find("0.50 [0.50,0.51]"), std::string::npos) << t;
  EXPECT_NE(t.find("1.00M"), std::string::npos) << t;
  EXPECT_NE(t.find("0/3  3 unverified: asks for tcmalloc"), std::string::npos) << t;
  EXPECT_NE(t.find("coverage 75.0 %"), std::string::npos) << t;
}

}  // namespace
}  // namespace arenalab::matrix
