#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The latency CDF plots from a real small matrix (issue 24): larson and xmalloc under glibc and
# jemalloc, one repeat each at smoke sizes; arenalab report must draw one CDF per workload and
# operation (malloc, free) with one line per configuration (two), from the cells' merged
# histograms, embedded in report.html. Skips (77) without gnuplot.
# usage: report_cdf_test.sh ARENALAB
set -euo pipefail
arenalab=$1
command -v gnuplot >/dev/null || { echo "SKIPPED: gnuplot not installed (scripts/bootstrap)"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$arenalab" matrix --workloads larson,xmalloc --allocators glibc,jemalloc --repeats 1 --smoke \
  --quiet --out "$out/m" >"$out/matrix.log" 2>&1 || { cat "$out/matrix.log"; exit 1; }
"$arenalab" report "$out/m" --out "$out/r" >"$out/report.log" 2>&1 || {
  cat "$out/report.log"; exit 1; }
python3 - "$out/m" "$out/r" <<'PY'
import base64, json, os, re, sys
m, r = sys.argv[1], sys.argv[2]
cells = json.load(open(os.path.join(m, "results.json")))["cells"]
ok = [c for c in cells if c["status"] == "ok"]
assert len(ok) == 4, [(c["workload"], c["configuration"], c["status"]) for c in cells]
for c in ok:  # every cell carries the full histogram, and it adds up to the samples
    for op in ("malloc", "free"):
        h = c["measurements"][op + "_latency_histogram"]
        assert sum(n for _, n in h) == c["measurements"][op + "_latency_samples"], (c["workload"], op)
html = open(os.path.join(r, "report.html")).read()
figures = re.findall(r'<figure class="plot"><img class="plot" alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]*)"', html)
cdfs = {alt: base64.b64decode(data).decode() for alt, data in figures if "latency CDF" in alt}
want = {f"{w}: {op} latency CDF" for w in ("larson", "xmalloc") for op in ("malloc", "free")}
got = {alt.split(" per configuration")[0] for alt in cdfs}
assert got == want, (got, want)
for alt, svg in cdfs.items():
    # gnuplot's SVG terminal puts each plotted line in its own <g id="gnuplot_plot_N...">.
    series = set(re.findall(r'id="gnuplot_plot_(\d+)[a-z]*"', svg))
    assert len(series) == 2, (alt, sorted(series))
    for conf in ("glibc", "jemalloc"):
        assert re.search(conf + r" \(\d+ calls, 1 repeats\)", svg), (alt, conf)
for f in os.listdir(os.path.join(r, "plots")):
    assert not f.endswith(".dat"), f  # the work files are gone
print(f"ok: {len(cdfs)} CDF plots, 2 series each")
PY
