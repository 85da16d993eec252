#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Slurm engine against a real one-node Slurm started here: munge (its own key and socket),
# slurmctld and slurmd on 127.0.0.1 with a generated minimal slurm.conf (no cgroup plugins,
# proctrack/linuxproc, no accounting). A 3 workloads x 3 configurations x 2 repeats smoke matrix
# runs through sbatch --array and the dependent merge job, and its results.json must equal in
# shape and verification what the local engine produces for the same matrix. Then failures:
# a cell that exits non-zero, a task killed under Slurm and a task scancel'ed appear as failed
# with their reasons, and --resume resubmits only the groups without records. The daemons are
# stopped by pid. Skips (77) with the reason where they cannot start.
set -euo pipefail
arenalab=$(readlink -f "$1")
skip() { echo "SKIP: $*"; exit 77; }
for p in munged mungekey slurmctld slurmd; do
  [[ -x /usr/sbin/$p ]] || skip "/usr/sbin/$p missing (scripts/bootstrap installs slurm-wlm and munge)"
done
for p in sbatch squeue scontrol scancel sinfo; do
  command -v "$p" >/dev/null || skip "$p missing (slurm-client)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root: slurmd starts jobs as their user, and this slurm.conf runs as root"

# Nothing of a real cluster this may run under (a Slurm job's SLURM_*, a user's SLURM_CONF or
# SBATCH_* defaults) reaches the commands below: they talk to the test's own slurmctld only.
while read -r v; do unset "$v"; done < <(env | grep -oE '^(SLURM|SBATCH|SQUEUE|SACCT)_[A-Z_]*')
t=$(mktemp -d /tmp/arenalab-slurm.XXXXXX)
chmod 755 "$t"
started=()  # pid files of the daemons this test started
our_conf=""  # set once the test's slurm.conf exists
cleanup() {
  set +e
  [[ -n $our_conf ]] && SLURM_CONF=$our_conf scancel --quiet --user=root 2>/dev/null
  for f in "${started[@]}"; do
    [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null
  done
  for f in "${started[@]}"; do  # wait for each to go (5 s), then make sure
    [[ -s $f ]] || continue
    pid=$(cat "$f")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$t"
}
trap cleanup EXIT

# --- the one-node cluster ---
mkdir -p "$t/munge" "$t/state" "$t/spool" "$t/log"
chmod 700 "$t/munge"
mungekey -c -k "$t/munge/munge.key" >/dev/null 2>&1 || skip "mungekey cannot create a key"
started+=("$t/munge/munged.pid")
munged -f -S "$t/munge/munge.sock" --key-file="$t/munge/munge.key" \
  --log-file="$t/munge/munged.log" --pid-file="$t/munge/munged.pid" \
  --seed-file="$t/munge/munged.seed" 2>"$t/log/munged.err" ||
  skip "munged does not start: $(tail -2 "$t/log/munged.err" "$t/munge/munged.log" 2>/dev/null | tr '\n' ' ')"
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
node=$(/usr/sbin/slurmd -C 2>/dev/null | head -1)
cpus=$(grep -o 'CPUs=[0-9]*' <<<"$node" | cut -d= -f2)
mem=$(grep -o 'RealMemory=[0-9]*' <<<"$node" | cut -d= -f2)
[[ -n $cpus && -n $mem ]] || skip "slurmd -C did not describe this machine: $node"
cat >"$t/slurm.conf" <<CONF
ClusterName=arenalabtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$t/munge/munge.sock
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/log/slurmctld.log
SlurmdLogFile=$t/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=1
ReturnToService=2
MpiDefault=none
KillWait=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=bench Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
our_conf=$t/slurm.conf
export SLURM_CONF=$our_conf
started+=("$t/slurmctld.pid" "$t/slurmd.pid")
/usr/sbin/slurmctld -i 2>"$t/log/slurmctld.err" ||
  skip "slurmctld does not start: $(tail -3 "$t/log/slurmctld.err" "$t/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
/usr/sbin/slurmd -N localhost 2>"$t/log/slurmd.err" ||
  skip "slurmd does not start: $(tail -3 "$t/log/slurmd.err" "$t/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
# Wait (adaptively, 30 s at most) for the node to be idle.
for i in $(seq 300); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  if ((i == 300)); then
    skip "the node did not come up (sinfo: '$state'): $(tail -3 "$t/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
  fi
  sleep 0.1
done
echo "one-node Slurm up: localhost, $cpus CPUs, $mem MiB, slurmctld :$ctld_port, slurmd :$slurmd_port"

# Waits until Slurm has no job left (merge included) and `file` exists; deadline in seconds.
wait_done() {
  local file=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if [[ -z $(squeue -h -o %i 2>/dev/null) && -e $file ]]; then return 0; fi
    sleep 0.3
  done
  echo "timed out waiting for $file; squeue:"; squeue; tail -20 "$t"/*/slurm/*.log 2>/dev/null
  return 1
}

# --- the same matrix on both engines ---
# shellcheck disable=SC2054  # commas inside the words are arenalab's lists
matrix=(--workloads larson,xmalloc,cache_scratch --allocators glibc,jemalloc,mimalloc --repeats 2
        --smoke --quiet)
t0=$SECONDS
"$arenalab" matrix "${matrix[@]}" --out "$t/local" >/dev/null
t_local=$((SECONDS - t0))
t0=$SECONDS
"$arenalab" matrix "${matrix[@]}" --engine slurm --max-parallel 2 --out "$t/cluster" | tee "$t/submit.txt"
grep -q "planned 18 cells in 6 groups" "$t/submit.txt"
grep -q -- "--array=0-5%2" "$t/submit.txt"
wait_done "$t/cluster/results.json" 150
t_slurm=$((SECONDS - t0))
echo "local engine ${t_local} s, slurm engine ${t_slurm} s (submit to merged)"
grep -E "^(merged|node type|slurm:|  \()" "$t"/cluster/slurm/merge-*.log
"$arenalab" matrix --status "$t/cluster" | tee "$t/status.txt"
grep -Eq "done +18 +\(ok 18, not ok 0\)" "$t/status.txt"
python3 - "$t/local" "$t/cluster" <<'PY'
import json, os, sys
local = json.load(open(os.path.join(sys.argv[1], "results.json")))
slurm = json.load(open(os.path.join(sys.argv[2], "results.json")))
assert slurm["schema"] == local["schema"] == "arenalab.matrix/1"
assert slurm["complete"] and local["complete"]
for k in ("workloads", "configurations", "threads", "repeats", "smoke", "baseline", "identification"):
    assert slurm["plan"][k] == local["plan"][k], (k, slurm["plan"][k], local["plan"][k])
def shape(doc):
    return [(c["workload"], c["configuration"], c["threads"], c["repeat"], c["sequence"],
             c["status"], c["verified"], c["identified"]["backend"], c["identified"]["method"],
             sorted(k for k in c if k not in ("node", "timeline")), sorted(c["measurements"]))
            for c in doc["cells"]]
ls, ss = shape(local), shape(slurm)
assert len(ls) == len(ss) == 18, (len(ls), len(ss))
for a, b in zip(ls, ss):
    assert a == b, ("differs", a, b)
assert all(c[5] == "ok" and c[6] for c in ss), [c for c in ss if c[5] != "ok"]
# Summaries: the same groups and metrics over the same cells. A ratio's pair count depends on
# the figures (a baseline of 0 ms sys time has no ratio), so it is compared for wall time only.
def sums(doc):
    return [(s["workload"], s["configuration"], s["metric"], s["value"]["n"],
             s.get("ratio_to_baseline", {}).get("n") if s["metric"] == "wall_ms" else None)
            for s in doc["summaries"]]
assert sums(local) == sums(slurm), (sums(local)[:3], sums(slurm)[:3])
# Every cluster cell says where it ran; a group's cells ran on one node in one task.
tasks = {}
for c in slurm["cells"]:
    n = c["node"]
    assert n["host"] and n["cpu_model"] and n["kernel"] and n["task"], n
    assert c["identified"]["version"] or c["configuration"] == "glibc", c["identified"]
    tasks.setdefault((c["workload"], c["repeat"]), set()).add(n["task"])
assert all(len(v) == 1 for v in tasks.values()), tasks
assert len({next(iter(v)) for v in tasks.values()}) == 6
print("slurm matrix == local matrix: 18 cells, same order, statuses, verification, "
      "identification and summaries; every cell with its node and task")
PY

# --- failures ---
mkdir -p "$t/wl"
cat >"$t/wl/exit3" <<'SH'
#!/bin/sh
[ "$1" = --help ] && { echo "usage: exit3"; exit 0; }
echo "check failed" >&2
exit 3
SH
# Kills the task's arenalab the first time: the Slurm task fails with no record. arenalab is the
# nearest ancestor of that name (cells run under arenalab-launch, so it is not the parent).
cat >"$t/wl/killtask" <<SH
#!/bin/sh
[ "\$1" = --help ] && { echo "usage: killtask"; exit 0; }
if [ ! -e "$t/wl/killtask.ran" ]; then
  touch "$t/wl/killtask.ran"
  p=\$PPID
  while [ "\$p" -gt 1 ] && [ "\$(cat /proc/\$p/comm)" != arenalab ]; do
    p=\$(cut -d' ' -f4 /proc/\$p/stat)
  done
  kill -KILL \$p
  sleep 5
fi
exit 0
SH
# Runs until the test scancels its task, the first time.
cat >"$t/wl/sleeper" <<SH
#!/bin/sh
[ "\$1" = --help ] && { echo "usage: sleeper"; exit 0; }
if [ ! -e "$t/wl/sleeper.ran" ]; then touch "$t/wl/sleeper.ran"; sleep 60; fi
exit 0
SH
chmod +x "$t"/wl/*
cat >"$t/wl/workloads.json" <<JSON
{"workloads": [
 {"name": "exit3", "category": "real", "program": "$t/wl/exit3"},
 {"name": "killtask", "category": "real", "program": "$t/wl/killtask"},
 {"name": "sleeper", "category": "real", "program": "$t/wl/sleeper"}]}
JSON
"$arenalab" matrix --workloads-file "$t/wl/workloads.json" --workloads exit3,killtask,sleeper \
  --allocators glibc --repeats 1 --quiet --engine slurm --out "$t/fail" | tee "$t/fsubmit.txt"
job=$(grep -o 'array job [0-9]*' "$t/fsubmit.txt" | awk '{print $3}')
deadline=$((SECONDS + 60))
until [[ -e $t/wl/sleeper.ran ]]; do
  ((SECONDS < deadline)) || { echo "the sleeper task never started"; squeue; exit 1; }
  sleep 0.2
done
scancel "${job}_2"
wait_done "$t/fail/results.json" 60
"$arenalab" matrix --status "$t/fail" | tee "$t/fstatus.txt"
grep -Eq "done +1 +\(ok 0, not ok 1\)" "$t/fstatus.txt"
grep -Eq "failed +2 " "$t/fstatus.txt"
python3 - "$t/fail" "$job" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
job = sys.argv[2]
cells = {c["workload"]: c for c in doc["cells"]}
assert len(cells) == 3 and doc["complete"], doc["cells"]
e = cells["exit3"]
assert e["status"] == "failed" and e["exit_code"] == 3 and "exit 3" in e["message"], e
k = cells["killtask"]
assert k["status"] == "failed", k
assert k["message"].startswith("slurm task %s_1 FAILED (ExitCode 137:0), reason NonZeroExitCode" % job), k["message"]
s = cells["sleeper"]
assert s["status"] == "failed", s
assert s["message"].startswith("slurm task %s_2 CANCELLED" % job), s["message"]
for c in (k, s):
    print(c["workload"] + ": " + c["message"])
print("exit3: " + e["message"])
PY
# --resume resubmits the two groups without records only (exit3's failed cell is a result).
rm -f "$t/fail/results.json"  # the resubmission's merge job writes it again
"$arenalab" matrix --resume --engine slurm --out "$t/fail" | tee "$t/resume.txt"
grep -q "resubmitted 2 of 3 groups" "$t/resume.txt"
grep -q -- "--array=1-2" "$t/resume.txt"
wait_done "$t/fail/results.json" 60
python3 - "$t/fail" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
cells = {c["workload"]: c for c in doc["cells"]}
assert cells["exit3"]["status"] == "failed"   # not run again
# A program that prints no result is measured from outside (issue 24): recorded, exit 0, and
# unverified where a shell script's allocator cannot be identified.
for w in ("killtask", "sleeper"):
    assert cells[w]["status"] in ("ok", "unverified") and cells[w]["exit_code"] == 0, cells[w]
assert cells["killtask"]["node"]["task"] != cells["exit3"]["node"]["task"]
print("resume: only the two failed tasks' groups ran again; each now has its record")
PY
echo "matrix.slurm: $SECONDS s in all"
