#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab profile --profiler tcmalloc on a target that execs the real program (a wrapper script,
# as a pyenv shim for python3): the wrapper catches SIGUSR2 (libtcmalloc is preloaded into it
# too), then execs, and the new image has SIGUSR2 at its default action until its own
# libtcmalloc installs the handler. The profile must not kill it with SIGUSR2, and its series
# is the exec'd program's dumps (gperftools_<pid>.NNNN.heap): leak named, exit 3.
# Usage: profile_exec_test.sh ARENALAB PROGRAM
set -uo pipefail
arenalab=$1 prog=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
cat >"$out/wrapper" <<'WRAP'
#!/usr/bin/env bash
# A launcher: some work of its own first (long enough to be signalled), then the real program.
sleep 0.5
exec "$@"
WRAP
chmod +x "$out/wrapper"
"$arenalab" profile -q --profiler tcmalloc --no-tools --out "$out/p" \
  -- "$out/wrapper" "$prog" --seconds 4 >"$out/p.txt" 2>"$out/p.err"
rc=$?
if grep -q 'killed by SIGUSR2' "$out/p.txt"; then
  echo "FAIL: the profile killed the exec'd target with SIGUSR2: $(grep -m1 '^profile:' "$out/p.txt")"; fail=1
fi
if [[ $rc -ne 3 ]]; then echo "FAIL: exited $rc, expected 3 (leak)"; fail=1; fi
if ! grep -E '^  leak .*leak_some_records' "$out/p.txt" >/dev/null; then
  echo "FAIL: leak_some_records not named a leak:"; sed -n 1,12p "$out/p.txt"; fail=1
fi
[[ $fail -eq 0 ]] && echo "ok: $(grep -m1 -E '^  leak ' "$out/p.txt")"
exit $fail
