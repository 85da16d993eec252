// SPDX-License-Identifier: Apache-2.0
// The verdict of an attach: the existing classifier on the sampled timeline (RSS only at level
// rss), saying in its reason what the level cannot tell, and verdict.json beside the timeline.
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/attach/attach.h"
#include "arenalab/core/files.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::attach {

Result<AttachVerdict> classify_outcome(const Outcome& outcome, const analysis::Options& options) {
  auto tl = timeline::read_timeline(outcome.timeline_path);
  if (!tl) return tl.error();
  AttachVerdict v;
  v.classification = analysis::classify(analysis::signals_from_timeline(*tl), options);
  auto& c = v.classification;
  c.reason += c.reason.empty() ? kRssLevelLimit : std::string("; ") + kRssLevelLimit;
  auto j = analysis::to_json(c, options, outcome.timeline_path);
  j["attach"] = {{"pid", outcome.target.pid},
                 {"command", outcome.target.command},
                 {"level", "rss"},
                 {"samples", outcome.samples},
                 {"ended", outcome.ended},
                 {"attached_ms", outcome.attached_ms},
                 {"out_dir", outcome.out_dir}};
  v.verdict_path = outcome.out_dir + "/verdict.json";
  if (auto st = write_file_atomic(v.verdict_path, j.dump(2) + "\n"); !st) return st.error();
  return v;
}

}  // namespace arenalab::attach
