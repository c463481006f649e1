#!/bin/bash
# The SLURM job-array path against a real SLURM: starts a one-node cluster on localhost
# (munged, slurmctld, slurmd, no systemd), submits configs/slurm/sweep.sbatch as a 3-task array
# plus the afterok merge job, and checks that the merged results hold every run of the plan
# exactly once. Then stops a one-task array with USR1 through SLURM (as --signal=B:USR1@120
# would before a time limit), checks exit code 3, resubmits and checks that it resumes; and
# once more with the requeue on: the task requeues itself (scontrol requeue) and resumes.
# SLURM_TEST_TIMELIMIT=1 adds a sweep that needs several starts of --time=1 (minutes).
#
#   bash tests/slurm/run.sh        (as root; installs slurm-wlm and munge when missing)
#
# Everything lives in /var/spool/nnsweep-slurm-test (config, state, logs, the jobs' folder);
# the daemons it starts are stopped by PID at the end, and leftovers of an earlier run are
# stopped at the start, so it can run again on the same machine. NNSWEEP=path skips the build.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
base=/var/spool/nnsweep-slurm-test
timeout=${SLURM_TEST_TIMEOUT:-180}
t0=$EPOCHREALTIME

since() { awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $1 }"; }
say() { printf '[slurm-test %6ss] %s\n' "$(since "$t0")" "$*" >&2; }
fail() {
    say "FAIL: $*"
    for f in "$base"/slurmctld.log "$base"/slurmd.log "$base"/work/nnsweep-*.out; do
        [ -f "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (to install packages and run slurmd)"

# --- the binary --------------------------------------------------------------------------
if [ -z "${NNSWEEP:-}" ]; then
    # The release build the README's quick start makes (and .ci/run before this): no rebuild.
    say "building nnsweep"
    (cd "$repo" && cargo build --quiet --release --locked --bin nnsweep)
    NNSWEEP="${CARGO_TARGET_DIR:-$repo/target}/release/nnsweep"
fi
[ -x "$NNSWEEP" ] || fail "no nnsweep binary at $NNSWEEP"
NNSWEEP=$(cd "$(dirname "$NNSWEEP")" && pwd)/$(basename "$NNSWEEP")
export NNSWEEP

# --- packages ----------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    fi
fi
say "$(slurmctld -V), $(munged -V 2>&1 | awk '{print $1}')"

# --- stop what an earlier run may have left, then start afresh ---------------------------
# Only processes this script started: their PIDs are in $base/*.pid, and the command name
# must match (a PID may have been reused since).
stop_pid() { # name pidfile
    local name=$1 file=$2 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}
stop_all() {
    if [ -f "$base/slurmctld.pid.ours" ]; then
        SLURM_CONF=$base/slurm.conf scancel --quiet --user=root 2>/dev/null || true
    fi
    stop_pid slurmd "$base/slurmd.pid.ours"
    stop_pid slurmctld "$base/slurmctld.pid.ours"
    stop_pid munged "$base/munged.pid.ours"
}
mkdir -p "$base"
stop_all
rm -rf "$base/state" "$base/spool" "$base/work" "$base"/*.log
mkdir -p "$base/state" "$base/spool" "$base/work"
trap 'stop_all' EXIT

# --- munge -------------------------------------------------------------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running: using it"
else
    [ -f /etc/munge/munge.key ] || { mungekey --create >/dev/null 2>&1 || fail "no /etc/munge/munge.key"; }
    chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    setpriv --reuid=munge --regid=munge --clear-groups /usr/sbin/munged --foreground \
        >"$base/munged.log" 2>&1 </dev/null &
    echo $! >"$base/munged.pid.ours"
    for _ in $(seq 100); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null 2>&1 || fail "munged did not start: $(tail -n 3 "$base/munged.log")"
fi

# --- slurm.conf: one node, this machine's CPU layout -------------------------------------
host=$(hostname -s)
layout=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
memory=$(echo "$layout" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
layout=$(echo "$layout" | sed "s/RealMemory=[0-9]*/RealMemory=$((memory * 9 / 10))/")
cat >"$base/slurm.conf" <<CONF
ClusterName=nnsweep-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${SLURM_TEST_PORT:-6817}
SlurmdPort=$((${SLURM_TEST_PORT:-6817} + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (120 by default): short
# here, so that the requeue test takes seconds.
AuthInfo=cred_expire=10
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/slurmctld.log
SlurmdLogFile=$base/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 $layout State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$base/slurm.conf

# --- daemons -----------------------------------------------------------------------------
setsid slurmctld -D -i >"$base/slurmctld.out" 2>&1 </dev/null &
echo $! >"$base/slurmctld.pid.ours"
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q UP || fail "slurmctld did not come up: $(tail -n 3 "$base/slurmctld.out")"
setsid slurmd -D >"$base/slurmd.out" 2>&1 </dev/null &
echo $! >"$base/slurmd.pid.ours"
for _ in $(seq 150); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.1; done
[ "$(sinfo -h -o %T)" = idle ] || fail "node not idle: $(sinfo -h -o '%T %E'); $(tail -n 3 "$base/slurmd.out")"
say "one-node cluster up: $host, $(sinfo -h -o '%c CPUs, %m MB')"

# --- helpers ------------------------------------------------------------------------------
wait_gone() { # job ids... : wait until squeue lists none of them
    local ids; ids=$(IFS=,; echo "$*")
    local end=$(($(date +%s) + timeout))
    while [ -n "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt "$end" ] || fail "jobs $ids still queued or running after ${timeout}s: $(squeue -h -j "$ids")"
        sleep 0.5
    done
}
count() { sort | uniq -c | awk '{ printf "%s%s x %s", sep, $1, $2; sep = ", " }'; }
# "3 x COMPLETED": the states of a job's tasks; "1 x 3:0": their exit codes.
states() { scontrol show job "$1" | grep -o 'JobState=[A-Z_]*' | sed 's/JobState=//' | count; }
exit_codes() { scontrol show job "$1" | grep -o ' ExitCode=[0-9:]*' | sed 's/ ExitCode=//' | count; }
plan_ids() { "$NNSWEEP" plan "$1" | awk '$1 ~ /^[0-9]+$/ { print $2 }' | sort; }
result_ids() { tail -n +2 "$1" | cut -d, -f1 | sort; }

# --- 1. a 3-task array and its merge job ------------------------------------------------
work=$base/work
cp "$repo/tests/fixtures/slurm_small.toml" "$repo/tests/fixtures/slurm_slow.toml" "$work/"
cd "$work"
start=$EPOCHREALTIME
"$repo/configs/slurm/submit.sh" slurm_small.toml 3 --cpus-per-task=1 --time=00:05:00 >&2
read -r array merge <results/slurm_small.jobs
wait_gone "$array" "$merge"
took=$(since "$start")
say "array $array: $(states "$array"); merge $merge: $(states "$merge"); ${took}s from submission to merged"
[ "$(states "$array")" = "3 x COMPLETED" ] || fail "array tasks not all COMPLETED"
[ "$(states "$merge")" = "1 x COMPLETED" ] || fail "merge job not COMPLETED"
for i in 0 1 2; do
    n=$(($(wc -l <"results/slurm_small.shard-$i-of-3.csv") - 1))
    [ "$n" = 4 ] || fail "shard $i holds $n runs, not 4"
done
plan_ids slurm_small.toml >plan.ids
result_ids results/slurm_small.csv >merged.ids
[ "$(wc -l <plan.ids)" = 12 ] || fail "plan lists $(wc -l <plan.ids) runs, not 12"
[ -z "$(uniq -d merged.ids)" ] || fail "runs merged twice: $(uniq -d merged.ids | tr '\n' ' ')"
cmp -s plan.ids merged.ids || fail "merged runs differ from the plan: $(diff plan.ids merged.ids | tr '\n' ' ')"
grep -q "over 12 runs" results/slurm_small/summary.md || fail "the merged report does not count 12 runs"
say "ok: the merged results hold each of the 12 planned runs exactly once"

# --- 2. USR1 through SLURM to the batch shell: clean stop, exit 3, resume ---------------
# (NNSWEEP_MAX_REQUEUE=0: the task does not requeue itself; part 3 tests that.)
slow=$(NNSWEEP_MAX_REQUEUE=0 sbatch --parsable --array=0 --cpus-per-task=1 --time=00:05:00 \
    "$repo/configs/slurm/sweep.sbatch" slurm_slow.toml)
slow=${slow%%;*}
out=results/slurm_slow.shard-0-of-1.csv
end=$(($(date +%s) + timeout))
until [ -f "$out" ] && [ "$(wc -l <"$out")" -ge 3 ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "no rows in $out after ${timeout}s"
    [ -n "$(squeue -h -j "$slow" -o %i)" ] || fail "job $slow ended before it could be stopped"
    sleep 0.2
done
scancel --batch --signal=USR1 "${slow}_0" || fail "scancel: job $slow ended before USR1 reached it"
wait_gone "$slow"
done_rows=$(($(wc -l <"$out") - 1))
say "job $slow after USR1: $(states "$slow"), exit code $(exit_codes "$slow"); $done_rows of 24 runs in $out"
[ "$(exit_codes "$slow")" = "1 x 3:0" ] || fail "job $slow did not exit with code 3"
grep -q "stopped by SIGUSR1" "nnsweep-nnsweep-${slow}_0.out" || fail "log lacks the stop line"
[ "$done_rows" -lt 24 ] || fail "the sweep finished before USR1 stopped it"
again=$(sbatch --parsable --array=0 --cpus-per-task=2 --time=00:05:00 \
    "$repo/configs/slurm/sweep.sbatch" slurm_slow.toml)
again=${again%%;*}
wait_gone "$again"
say "resubmitted as $again: $(states "$again"), exit code $(exit_codes "$again")"
grep -q "$done_rows already in" "nnsweep-nnsweep-${again}_0.out" || fail "the resubmission did not resume"
plan_ids slurm_slow.toml >slow-plan.ids
result_ids "$out" >slow.ids
[ -z "$(uniq -d slow.ids)" ] || fail "runs written twice after resuming"
cmp -s slow-plan.ids slow.ids || fail "resumed results differ from the plan"
say "ok: stopped by USR1 with exit code 3 after $done_rows runs, resumed to all 24 exactly once"

# --- 3. USR1 again, now the task requeues itself (NNSWEEP_MAX_REQUEUE=1) and resumes -------
sed -e 's/^name = .*/name = "slurm_requeue"/' slurm_slow.toml >slurm_requeue.toml
start=$EPOCHREALTIME
requeue=$(NNSWEEP_MAX_REQUEUE=1 sbatch --parsable --array=0 --cpus-per-task=1 --time=00:05:00 \
    "$repo/configs/slurm/sweep.sbatch" slurm_requeue.toml)
requeue=${requeue%%;*}
out=results/slurm_requeue.shard-0-of-1.csv
end=$(($(date +%s) + timeout))
until [ -f "$out" ] && [ "$(wc -l <"$out")" -ge 3 ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "no rows in $out after ${timeout}s"
    [ -n "$(squeue -h -j "$requeue" -o %i)" ] || fail "job $requeue ended before it could be stopped"
    sleep 0.2
done
scancel --batch --signal=USR1 "${requeue}_0" || fail "scancel: job $requeue ended before USR1 reached it"
wait_gone "$requeue"
log="nnsweep-nnsweep-${requeue}_0.out"
restarts=$(scontrol show job "$requeue" | grep -o 'Restarts=[0-9]*' | head -n 1)
say "job $requeue after USR1: $(states "$requeue"), exit code $(exit_codes "$requeue"), $restarts, $(since "$start")s in all"
grep -q "requeueing job" "$log" || fail "the task did not requeue itself: $(tail -n 5 "$log")"
[ "$restarts" = Restarts=1 ] || fail "job $requeue: $restarts, not Restarts=1"
[ "$(states "$requeue")" = "1 x COMPLETED" ] || fail "the requeued task did not complete"
grep -q "already in" "$log" || fail "the requeued start did not resume"
result_ids "$out" >requeue.ids
[ -z "$(uniq -d requeue.ids)" ] || fail "runs written twice after the requeue"
cmp -s slow-plan.ids requeue.ids || fail "requeued results differ from the plan"
say "ok: USR1 → exit 3 → scontrol requeue → resumed and completed all 24 runs exactly once"

# --- 4. (SLURM_TEST_TIMELIMIT=1 only: 2-5 min) real --time limits: USR1, requeue, resume,
# requeue, ... until the sweep is done, then the afterok merge, without a human -------------
if [ "${SLURM_TEST_TIMELIMIT:-0}" = 1 ]; then
    # 24 runs of 15 000 steps: about 25 s of an idle CPU (minutes on a busy one), more than
    # one start of --time=1, whose USR1 comes 15-45 s after the start (SLURM checks limits
    # every 30 s). Each requeue waits cred_expire (10 s) and the next scheduling pass.
    sed -e 's/^name = .*/name = "slurm_limit"/' -e 's/^steps = .*/steps = 15000/' \
        slurm_slow.toml >slurm_limit.toml
    start=$EPOCHREALTIME
    NNSWEEP_MAX_REQUEUE=10 "$repo/configs/slurm/submit.sh" slurm_limit.toml 1 \
        --cpus-per-task=1 --time=1 --signal=B:USR1@45 >&2
    read -r limit limit_merge <results/slurm_limit.jobs
    timeout=$((timeout > 900 ? timeout : 900)) wait_gone "$limit" "$limit_merge"
    restarts=$(scontrol show job "$limit" | grep -o 'Restarts=[0-9]*' | head -n 1)
    say "time-limited job $limit: $(states "$limit"), $restarts; merge $limit_merge: $(states "$limit_merge"); $(since "$start")s from submission to merged"
    [ "$(states "$limit")" = "1 x COMPLETED" ] || fail "the time-limited task did not complete"
    [ "$restarts" != Restarts=0 ] || fail "the task never hit its limit (finished in one start)"
    [ "$(states "$limit_merge")" = "1 x COMPLETED" ] || fail "the merge did not run"
    plan_ids slurm_limit.toml >limit-plan.ids
    result_ids results/slurm_limit.csv >limit.ids
    [ -z "$(uniq -d limit.ids)" ] || fail "runs merged twice"
    cmp -s limit-plan.ids limit.ids || fail "merged runs differ from the plan"
    say "ok: stopped at its limit, requeued and resumed ($restarts), merged all 24 runs exactly once"
else
    say "SKIPPED part 4 (a real --time limit with requeues, 2-5 min): set SLURM_TEST_TIMELIMIT=1 to run it"
fi
say "passed"
