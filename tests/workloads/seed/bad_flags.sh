#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every seed workload rejects a bad flag or value with exit 2 and one line on stderr.
bin=$1
fail=0
for w in boundary explicit_free deferred_release mmap_scan lazy_paging packed_records arena_retention; do
  for args in "--no-such-flag" "--smoke --json extra"; do
    err=$("$bin/wl_$w" $args 2>&1 >/dev/null)
    rc=$?
    lines=$(printf '%s\n' "$err" | wc -l)
    if [ $rc -ne 2 ] || [ "$lines" -ne 1 ]; then
      echo "FAIL: wl_$w $args: exit $rc, stderr: $err"; fail=1
    fi
  done
done
for cmd in "wl_boundary --heap 0" "wl_packed_records --records 0" "wl_arena_retention --threads 0" \
           "wl_lazy_paging --prefix 2G --file-size 1G" "wl_deferred_release --block 12Q"; do
  err=$("$bin"/$cmd 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne 2 ]; then echo "FAIL: $cmd: exit $rc, stderr: $err"; fail=1; fi
done
exit $fail
