#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/check-layers fails on an upward include: a tree made here with one include of each
# kind it must refuse (a lower layer including a higher one, analysis including another
# detectors part, a part including a later one) and one it must accept; exit 1 naming each
# refused FILE:LINE, and 0 once they are gone.
set -u
checker=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/layers_test.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/core/src" "$dir/formats/src" "$dir/detectors/analysis/src" \
         "$dir/detectors/runner/src" "$dir/cli"
printf '#include "arenalab/core/result.h"\n#include "arenalab/formats/run.h"\n' > "$dir/core/src/up.cc"
printf '#include "arenalab/analysis/analysis.h"\n#include "arenalab/runner/runner.h"\n' \
  > "$dir/detectors/analysis/src/side.cc"
printf '#include "arenalab/attach/attach.h"\n' > "$dir/detectors/runner/src/later.cc"
printf '#include "arenalab/core/result.h"\n#include "arenalab/matrix/matrix.h"\n' > "$dir/cli/top.cc"
printf '#include "arenalab/core/files.h"\n' > "$dir/formats/src/down.cc"
fail=0
out=$("$checker" "$dir"); rc=$?
[ "$rc" = 1 ] || { echo "FAIL: exit $rc on a tree with upward includes"; fail=1; }
for line in "core/src/up.cc:2: core/ includes arenalab/formats/ from the higher layer formats/" \
            "detectors/analysis/src/side.cc:2: detectors/analysis may include no other part (arenalab/runner/)" \
            "detectors/runner/src/later.cc:1: detectors/runner includes the later part detectors/attach" \
            "check-layers: 5 files, 3 upward includes"; do
  printf '%s\n' "$out" | grep -qxF "$line" || { echo "FAIL: missing '$line' in:"; echo "$out"; fail=1; }
done
rm "$dir/core/src/up.cc" "$dir/detectors/analysis/src/side.cc" "$dir/detectors/runner/src/later.cc"
out=$("$checker" "$dir"); rc=$?
[ "$rc" = 0 ] || { echo "FAIL: exit $rc once the upward includes are gone: $out"; fail=1; }
[ "$fail" = 0 ] && echo "PASS: check-layers refuses upward includes and accepts the rest"
exit $fail
