// SPDX-License-Identifier: Apache-2.0
// The verdict of an attach: the existing classifier on the sampled timeline (RSS only at level
// rss), saying in its reason what the level cannot tell, and verdict.json beside the timeline.
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/attach/attach.h"
#include "arenalab/core/files.h"

namespace arenalab::attach {

Result<AttachVerdict> classify_outcome(const Outcome& outcome, const analysis::Options& options) {
  // Streamed in one pass and bounded memory (a day's attach at 100 ms is 864,000 samples).
  auto tl = analysis::read_signals(outcome.timeline_path);
  if (!tl) return tl.error();
  AttachVerdict v;
  v.classification = analysis::classify(tl->signals, options);
  auto& c = v.classification;
  // The books paced to their CPU cost into too few samples to judge: said, and RSS judged.
  v.warning = analysis::account_for_sparse_books(*tl, c, options);
  // Level rss says what RSS alone cannot tell; level stats has the books, and its timeline's
  // header names the allocator identified from inside.
  if (outcome.level == Level::kRss)
    c.reason += c.reason.empty() ? kRssLevelLimit : std::string("; ") + kRssLevelLimit;
  if (outcome.level == Level::kCount)
    c.reason += c.reason.empty() ? kCountLevelLimit : std::string("; ") + kCountLevelLimit;
  if (outcome.level == Level::kSample)
    c.reason += c.reason.empty() ? kSampleLevelLimit : std::string("; ") + kSampleLevelLimit;
  auto doc = analysis::to_verdict(c, options, outcome.timeline_path);
  doc.attach =
      verdict_file::AttachPart{outcome.target.pid, outcome.target.command,
                               outcome.level,      static_cast<std::int64_t>(outcome.samples),
                               outcome.ended,      outcome.attached_ms,
                               outcome.out_dir};
  v.verdict_path = outcome.out_dir + "/verdict.json";
  if (auto st = verdict_file::write_verdict(v.verdict_path, doc); !st) return st.error();
  return v;
}

}  // namespace arenalab::attach
