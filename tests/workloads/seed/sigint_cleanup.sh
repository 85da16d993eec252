#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# wl_mmap_scan removes its temp file when interrupted: start a large run in a private temp
# dir, send SIGINT once the file exists, and require the dir to be empty afterwards.
prog=$1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
"$prog" --size 4G --dir "$dir" 2>/dev/null >/dev/null &
pid=$!
i=0
while [ -z "$(ls -A "$dir")" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ -z "$(ls -A "$dir")" ]; then
  echo "FAIL: no temp file appeared in $dir"; kill $pid 2>/dev/null; exit 1
fi
kill -INT $pid
wait $pid
rc=$?
left=$(ls -A "$dir")
if [ -n "$left" ]; then echo "FAIL: left behind after SIGINT: $left"; exit 1; fi
if [ $rc -ne 130 ]; then echo "FAIL: expected death by SIGINT (130), got $rc"; exit 1; fi
echo "temp file removed after SIGINT (exit $rc)"
