#!/usr/bin/env bash
# Regenerates the golden dumps in this folder with the real libraries (Debian 12: jemalloc
# 5.3.0, gperftools 2.10, heaptrack 1.4.0) running build/bin/profilers_leaky_program.
# Usage: tests/data/profilers/generate.sh [BUILD_DIR]   (then review and commit)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../../build}
prog=$(find "$build" -name profilers_leaky_program -type f -perm -u+x | head -1)
[[ -x $prog ]] || { echo "build profilers_leaky_program first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# jemalloc: sampled every 2^17 bytes on average; a dump per 2^22 bytes allocated, plus the final.
MALLOC_CONF=prof:true,lg_prof_sample:17,lg_prof_interval:22,prof_final:true,prof_prefix:$tmp/jeprof \
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 "$prog" --seconds 0.4 >/dev/null
first=$(ls -tr "$tmp"/jeprof.*.i0.heap | head -1)
final=$(ls -tr "$tmp"/jeprof.*.f.heap | tail -1)
cp "$first" "$here/jemalloc.first.heap"
cp "$final" "$here/jemalloc.final.heap"

# gperftools: the full libtcmalloc with its heap profiler, a dump per second plus one at exit.
HEAPPROFILE=$tmp/gperftools HEAP_PROFILE_TIME_INTERVAL=1 HEAP_PROFILE_ALLOCATION_INTERVAL=0 \
  HEAP_PROFILE_INUSE_INTERVAL=0 LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4 \
  "$prog" --seconds 1.5 >/dev/null 2>&1
cp "$tmp/gperftools.0001.heap" "$here/gperftools.first.heap"
cp "$(ls "$tmp"/gperftools.*.heap | sort | tail -1)" "$here/gperftools.final.heap"

# heaptrack: its interpreted trace (zstd-compressed text, file format 3).
heaptrack -o "$tmp/heaptrack" "$prog" --seconds 0.4 >/dev/null 2>&1
cp "$tmp/heaptrack.zst" "$here/heaptrack.leaky.zst"
ls -l "$here"
