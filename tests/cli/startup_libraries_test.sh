#!/usr/bin/env bash
# The arenalab executable does not link the fleet's network stack (libcurl, prometheus-cpp,
# civetweb): those live in libarenalab_fleet_net.so, loaded only by --metrics and
# classify --prometheus, because relocating them was most of every command's start-up
# (docs/interposer.md, "The start-up floor"). Checks the executable's NEEDED entries and what
# the dynamic loader maps for `arenalab --help`.
set -uo pipefail
arenalab=$1
module=$2
command -v readelf >/dev/null || { echo "skipped: readelf not installed"; exit 77; }
fail=0
needed=$(readelf -d "$arenalab" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[[ -n $needed ]] || { echo "FAIL: no NEEDED entries read from $arenalab"; exit 1; }
for lib in libcurl libprometheus-cpp libcivetweb; do
  if grep -q "^$lib" <<<"$needed"; then echo "FAIL: $arenalab links $lib"; fail=1; fi
done
# What is mapped at start (LD_DEBUG=files lists every object the loader opens).
opened=$(LD_DEBUG=files "$arenalab" --help 2>&1 >/dev/null | grep -o 'file=[^ ]*' | sort -u)
[[ -n $opened ]] || { echo "FAIL: LD_DEBUG=files printed nothing for $arenalab --help"; exit 1; }
for lib in libcurl libprometheus-cpp libcivetweb libgnutls libkrb5 libldap libssh2; do
  if grep -q "file=$lib" <<<"$opened"; then echo "FAIL: $arenalab --help loads $lib"; fail=1; fi
done
# The module does link them (else the split moved nothing).
mneeded=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in libcurl libprometheus-cpp-pull; do
  grep -q "^$lib" <<<"$mneeded" || { echo "FAIL: $module does not link $lib"; fail=1; }
done
echo "arenalab --help opens $(grep -c '' <<<"$opened") objects: $(tr '\n' ' ' <<<"$opened")"
exit $fail
