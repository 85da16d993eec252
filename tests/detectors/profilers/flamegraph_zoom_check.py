#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Clicks a frame of the inline flame graphs of a page (report.html) in headless Chromium and
# checks the zoom from the DOM after it: a copy of the page gets a script that, once loaded,
# clicks the frame named FRAME in every flame graph and records what the zoom did, then clicks
# the background (unzoom); the result is read from --dump-dom. Fails on any console output.
# Usage: flamegraph_zoom_check.py PAGE.html FRAME-PREFIX. Exit 77 without Chromium.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = r"""
<script>
window.addEventListener('load', function () {
  var out = [];
  var graphs = document.querySelectorAll('svg.arenalab-flamegraph');
  for (var i = 0; i < graphs.length; i++) {
    var svg = graphs[i], r = {ready: svg.getAttribute('data-zoom')};
    var target = null, frames = svg.querySelectorAll('g.fg');
    for (var k = 0; k < frames.length; k++)
      if (frames[k].getAttribute('data-n').indexOf(%(frame)s) === 0) { target = frames[k]; break; }
    r.found = !!target;
    if (target) {
      var before = +target.querySelector('rect').getAttribute('width');
      target.querySelector('rect').dispatchEvent(new MouseEvent('click', {bubbles: true}));
      var hidden = 0, visible = 0, all = null;
      for (var k = 0; k < frames.length; k++) {
        if (frames[k].style.display === 'none') hidden++; else visible++;
        if (frames[k].getAttribute('data-n') === 'all') all = frames[k];
      }
      r.before = before;
      r.after = +target.querySelector('rect').getAttribute('width');
      r.label = target.querySelector('text').textContent;
      r.hidden = hidden;
      r.visible = visible;
      r.zoomed = svg.getAttribute('data-zoomed');
      r.all_width = all ? +all.querySelector('rect').getAttribute('width') : -1;
      r.reset_shown = svg.querySelector('.fg-reset').style.display !== 'none';
      svg.querySelector('rect').dispatchEvent(new MouseEvent('click', {bubbles: true}));
      r.restored = +target.querySelector('rect').getAttribute('width');
      r.unzoomed = !svg.hasAttribute('data-zoomed');
    }
    out.push(r);
  }
  document.documentElement.setAttribute('data-zoomtest', JSON.stringify(out));
});
</script>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def main():
    page, frame = sys.argv[1], sys.argv[2]
    exe = chromium()
    if not exe:
        print("SKIP: chromium not installed")
        return 77
    html = open(page).read()
    with tempfile.TemporaryDirectory(prefix="arenalab-zoom-") as tmp:
        probe_page = os.path.join(tmp, "page.html")
        with open(probe_page, "w") as f:
            f.write(html.replace("</body>", PROBE % {"frame": json.dumps(frame)} + "</body>"))
        run = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--user-data-dir=" + os.path.join(tmp, "profile"), "--enable-logging=stderr",
             "--v=0", "--virtual-time-budget=5000", "--dump-dom", "file://" + probe_page],
            capture_output=True, text=True, timeout=120)
    fail = []
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    if console:
        fail.append("console output: " + " | ".join(console[:3]))
    m = re.search(r'data-zoomtest="([^"]*)"', run.stdout)
    if not m:
        fail.append("the probe did not run (no data-zoomtest in the DOM): " + run.stderr[-300:])
        results = []
    else:
        results = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    if m and not results:
        fail.append("no inline flame graph (svg.arenalab-flamegraph) in the page")
    for i, r in enumerate(results):
        print(f"flame graph {i}: {r}")
        if r.get("ready") != "ready":
            fail.append(f"graph {i}: the zoom script did not run")
        if not r.get("found"):
            continue
        # Zoomed: the frame fills the width (1180 px between the 10 px pads), its label is
        # written out, what is neither it, its callees nor its callers is hidden, the callers
        # (down to "all") stay full width, and "Reset zoom" shows; unzoomed: back as it was.
        if abs(r["after"] - 1180) > 0.2:
            fail.append(f"graph {i}: zoomed frame is {r['after']} px wide, expected 1180")
        if not r["label"].startswith(frame[:10]):
            fail.append(f"graph {i}: zoomed label '{r['label']}'")
        if r["zoomed"] is None or not r["zoomed"].startswith(frame):
            fail.append(f"graph {i}: data-zoomed is {r['zoomed']}")
        if abs(r["all_width"] - 1180) > 0.2 or not r["reset_shown"]:
            fail.append(f"graph {i}: callers or the reset link wrong: {r}")
        if abs(r["restored"] - r["before"]) > 0.2 or not r["unzoomed"]:
            fail.append(f"graph {i}: unzoom did not restore {r['before']} px (got {r['restored']})")
    if not any(r.get("found") and r.get("hidden", 0) > 0 for r in results):
        fail.append(f"no graph where a click on {frame} hid the frames outside it")
    for f in fail:
        print("FAIL:", f)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
