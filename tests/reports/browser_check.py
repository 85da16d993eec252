#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Opens a report.html in headless Chromium: fails when the page logs anything to the console
# (errors, uncaught exceptions), records a script error, or any plot renders with zero size;
# keeps a full-page screenshot as the test artifact. Exit 77 (skip) when Chromium is missing.
import os, re, shutil, subprocess, sys, tempfile

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None

def main():
    if len(sys.argv) != 3:
        print("usage: browser_check.py REPORT.html SCREENSHOT.png", file=sys.stderr)
        return 2
    report, shot = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    exe = chromium()
    if not exe:
        print("SKIPPED: chromium not installed (scripts/bootstrap installs it)")
        return 77
    with tempfile.TemporaryDirectory(prefix="arenalab-chromium-") as profile:
        base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile, "--hide-scrollbars", "--window-size=1300,900",
                "--virtual-time-budget=5000"]
        dump = subprocess.run(base + ["--enable-logging=stderr", "--v=0", "--dump-dom",
                                      "file://" + report],
                              capture_output=True, text=True, timeout=120)
        if dump.returncode != 0:
            print("chromium --dump-dom failed (exit %d): %s" % (dump.returncode, dump.stderr[-500:]))
            return 1
        dom = dump.stdout
        console = [l for l in dump.stderr.splitlines() if ":CONSOLE" in l]
        m = re.search(r'<html[^>]*>', dom)
        root = m.group(0) if m else ""
        attr = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', root))
        sizes = re.findall(r'<img class="plot"[^>]*data-rendered="(\d+)x(\d+)"', dom)
        # A screenshot as tall as the page: height from the body's rendered plots is unknown
        # here, so take a generous fixed height.
        height = 900 + 480 * max(1, len(sizes))
        shot_run = subprocess.run([a if not a.startswith("--window-size") else
                                   "--window-size=1300,%d" % min(height, 16000) for a in base]
                                  + ["--screenshot=" + shot, "file://" + report],
                                  capture_output=True, text=True, timeout=120)
    problems = []
    if attr.get("ready") != "yes":
        problems.append("the page's load handler did not run (data-ready missing)")
    if console:
        problems.append("console output: " + " | ".join(console))
    if attr.get("errors"):
        problems.append("script errors: " + attr["errors"])
    plots = int(attr.get("plots", "0"))
    if plots == 0:
        problems.append("no plots in the report")
    if int(attr.get("plots-rendered", "-1")) != plots:
        problems.append("%s of %d plots rendered" % (attr.get("plots-rendered"), plots))
    zero = [s for s in sizes if int(s[0]) == 0 or int(s[1]) == 0]
    if len(sizes) != plots or zero:
        problems.append("plot sizes %s" % sizes)
    if shot_run.returncode != 0 or not os.path.exists(shot) or os.path.getsize(shot) == 0:
        problems.append("no screenshot written to " + shot)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("ok: %d plots rendered (%s), no console output; screenshot %s"
          % (plots, ", ".join("%sx%s" % s for s in sizes), shot))
    return 0

if __name__ == "__main__":
    sys.exit(main())
