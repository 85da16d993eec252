#!/usr/bin/env bash
# `arenalab allocators --json` lists the nine shipped configurations, each available and
# verified by a probe run under it. A configuration whose library is missing here skips.
set -euo pipefail
arenalab=$1
out=$("$arenalab" allocators --json)
python3 - "$out" <<'PY'
import json, sys
doc = json.loads(sys.argv[1])
assert doc["schema"] == "arenalab.allocators/1", doc.get("schema")
configs = {c["name"]: c for c in doc["configurations"]}
need = ["glibc", "glibc-arena2", "jemalloc", "jemalloc-nodecay", "jemalloc-bgthread",
        "mimalloc", "mimalloc-nopurgedelay", "tcmalloc", "tbbmalloc"]
missing = [n for n in need if n not in configs]
assert not missing, f"configurations missing from the file: {missing}"
unavailable = [n for n in need if not configs[n]["available"]]
if unavailable:
    print("SKIPPED: libraries not installed for " + ", ".join(unavailable))
    sys.exit(77)
bad = [f'{n}: {configs[n].get("problem")}' for n in need if not configs[n]["verified"]]
assert not bad, "not verified: " + "; ".join(bad)
for n in need:
    c = configs[n]
    assert c["identified"]["backend"] == c["backend"], (n, c["identified"])
    if c["backend"] in ("jemalloc", "mimalloc", "tcmalloc", "glibc"):
        assert c.get("version"), f"{n}: no version reported"
print(f"all {len(need)} configurations available and verified")
PY
