#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Mutation check: the leak test built against the ARENALAB_OFFHEAP_SKIP_UNMAP library (close()
# forgets munmap) must FAIL, and fail because it saw the leak, not because of a crash.
# Usage: leak_mutation_test.sh <offheap_leak_mutant binary>
bin=$1
out=$("$bin" 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 30
if [ "$rc" -eq 0 ]; then
  echo "MUTATION SURVIVED: the leak test passed although close() skipped munmap"
  exit 1
fi
if [ "$rc" -ne 1 ]; then
  echo "mutant exited $rc (expected 1, a test failure): crashed rather than detected the leak"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -q "offheap leak: .* bytes still mapped after close"; then
  echo "mutant failed, but not with the leak message (bytes still mapped after close)"
  exit 1
fi
echo "mutation killed: the leak test caught the missing munmap"
exit 0
