#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety: a matrix killed with SIGKILL at several points (before its first cell, after
# 2, 5 and 9 recorded cells, a random few ms into the next one) and resumed each time ends with
# the same results.json as an uninterrupted run: the same cells in the same order with the same
# sequence numbers, every one ok, none duplicated or lost, one record per cell.
set -euo pipefail
arenalab=$1
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=(matrix --workloads touch --allocators glibc --repeats 12 --smoke --quiet)
total=12

"$arenalab" "${args[@]}" --out "$out/ref" >/dev/null

records() { find "$out/k/cells" -name cell.json 2>/dev/null | wc -l; }
partial=0
for target in 0 2 5 9; do
  "$arenalab" "${args[@]}" --resume --out "$out/k" >/dev/null 2>"$out/err" &
  pid=$!
  # Wait for `target` records (new ones: a resumed run starts from the previous kill's), then
  # a random few ms more, so the kill lands inside a cell or a merge, not only between cells.
  for _ in $(seq 600); do
    (( $(records) >= target )) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  sleep "0.0$((RANDOM % 6))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  n=$(records)
  echo "killed with target $target: $n of $total cells recorded"
  (( n > 0 && n < total )) && partial=$((partial + 1))
done
(( partial >= 2 )) || { echo "FAIL: fewer than 2 kills landed mid-matrix (machine too slow or fast?)"; exit 1; }
"$arenalab" "${args[@]}" --resume --out "$out/k" >/dev/null 2>"$out/err" || {
  cat "$out/err"; echo "FAIL: the final resume failed"; exit 1; }
if grep -q "recorded twice\|left out" "$out/err"; then cat "$out/err"; echo "FAIL: merge notes"; exit 1; fi

python3 - "$out/ref" "$out/k" "$total" <<'PY'
import json, os, sys
ref_dir, k_dir, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
ref = json.load(open(os.path.join(ref_dir, "results.json")))
got = json.load(open(os.path.join(k_dir, "results.json")))
key = lambda c: (c["workload"], c["configuration"], c["threads"], c["repeat"])
for doc, name in ((ref, "uninterrupted"), (got, "killed and resumed")):
    assert doc["complete"] is True, name
    keys = [key(c) for c in doc["cells"]]
    assert len(keys) == total and len(set(keys)) == total, (name, keys)
    assert [c["sequence"] for c in doc["cells"]] == list(range(total)), name
    bad = [(key(c), c["status"], c.get("message")) for c in doc["cells"] if c["status"] != "ok"]
    assert not bad, (name, bad)
assert [key(c) for c in got["cells"]] == [key(c) for c in ref["cells"]]
drop = ("identification", "identification_note")
assert {k: v for k, v in got["plan"].items() if k not in drop} == \
       {k: v for k, v in ref["plan"].items() if k not in drop}
shape = lambda d: sorted((s["workload"], s["configuration"], s["metric"], s["value"]["n"]) for s in d["summaries"])
assert shape(got) == shape(ref), (shape(got), shape(ref))
# One record per cell, equal to the merged cell.
for c in got["cells"]:
    rec = os.path.join(k_dir, "cells", c["workload"], c["configuration"], "t%d" % c["threads"],
                       "r%d" % c["repeat"], "cell.json")
    r = json.load(open(rec))
    assert r.pop("schema") == "arenalab.matrix-cell/1"
    assert r == c, (rec, r, c)
print("crash safety: %d cells after 4 kills and resumes, same as the uninterrupted run" % total)
PY
