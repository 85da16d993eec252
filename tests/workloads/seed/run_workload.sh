#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one seed workload with --json and passes when its checks hold (exit 0) AND the
# allocator identified inside the process is the expected backend (a preload that did not
# take effect must not pass as that backend). On failure the workload's JSON is shown.
# usage: run_workload.sh BACKEND PROGRAM [ARGS...]
backend=$1
shift
out=$("$@" --json)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  echo "FAIL: $* exited $rc (a check failed or the run broke)" >&2
  exit 1
fi
case "$out" in
  *"\"backend\":\"$backend\""*) ;;
  *) echo "FAIL: malloc was not served by $backend" >&2; exit 1 ;;
esac
exit 0
