#!/bin/bash
# The Grid Engine job-array path against a real Grid Engine (Son of Grid Engine 8.1.9, Debian's
# gridengine-* packages) on this one machine: installs it non-interactively when missing,
# starts sge_qmaster and sge_execd without systemd, makes this host an execution and submit
# host with one queue (all.q, 2 slots), then submits configs/sge/submit.sh's 3-task array plus
# its -hold_jid merge job, and checks that the merged results hold every planned run exactly
# once and that each task took its shard from the SGE_TASK_* variables. Then a task stopped by
# its soft run-time limit (-l s_rt: SIGUSR1) must end with exit status 3, and a resubmission
# must resume it. Stops the daemons by PID at the end.
#
#   bash tests/gridengine/run.sh        (as root, Debian 12; NNSWEEP=path skips the build)
#
# Environment:
#   SGE_TEST_USER     the user that submits (default sgeci, created when missing, uid >= 1000);
#                     "root" lowers the cluster's min_uid/min_gid to 0 so root may run jobs
#   SGE_TEST_TIMEOUT  seconds to wait for the daemons and for the jobs (default 180)
#   SGE_TEST_BASE     folder for pid files, logs and the jobs' folder (default /var/spool/nnsweep-sge-test)
#   SGE_TEST_KEEP=1   leave the daemons running at the end (the next run stops them first)
#
# Idempotent: packages, cluster, hosts and queue are created only when missing; daemons this
# script started on an earlier run (PID files in $SGE_TEST_BASE, checked against the command
# name) are stopped first; jobs left in the spool by an aborted run are deleted.
# The cluster set-up follows the notes of a checked one-node install (host_aliases for a
# hostname that resolves to 127.0.0.1, no load thresholds, the scheduler run every second).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
base=${SGE_TEST_BASE:-/var/spool/nnsweep-sge-test}
timeout=${SGE_TEST_TIMEOUT:-180}
user=${SGE_TEST_USER:-sgeci}
t0=$EPOCHREALTIME

since() { awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $1 }"; }
say() { printf '[sge-test %6ss] %s\n' "$(since "$t0")" "$*" >&2; }
fail() {
    say "FAIL: $*"
    for f in "$base"/qmaster.out "$base"/execd.out /var/spool/gridengine/qmaster/messages \
        /var/spool/gridengine/execd/*/messages "$base"/work/nnsweep*.o*; do
        [ -f "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (to install packages and run sge_execd)"
mkdir -p "$base" && chmod 755 "$base"   # the submitting user must reach $base/work

# --- the binary --------------------------------------------------------------------------
if [ -z "${NNSWEEP:-}" ]; then
    # The release build the README's quick start makes (and .ci/run before this): no rebuild.
    say "building nnsweep"
    (cd "$repo" && cargo build --quiet --release --locked --bin nnsweep)
    NNSWEEP="${CARGO_TARGET_DIR:-$repo/target}/release/nnsweep"
fi
[ -x "$NNSWEEP" ] || fail "no nnsweep binary at $NNSWEEP"

# --- the host name Grid Engine will use -----------------------------------------------------
# SGE resolves names itself and compares them: the name a client claims (gethostname, then a
# forward lookup) must equal what the server gets from a reverse lookup of the client's IP.
host=$(hostname)
if ! getent hosts "$host" >/dev/null; then
    say "$host does not resolve: adding it to /etc/hosts"
    echo "127.0.0.1 $host # added by gridengine-one-node.sh" >>/etc/hosts
fi
sge_host=$(getent hosts "$host" | awk '{ print $2; exit }')
ip=$(getent ahostsv4 "$sge_host" | awk '{ print $1; exit }')
reverse=$(getent hosts "$ip" | awk '{ print $2; exit }')
say "host $host: SGE name $sge_host, address $ip, which resolves back to ${reverse:-nothing}"

export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
export SGE_QMASTER_PORT=${SGE_QMASTER_PORT:-6444} SGE_EXECD_PORT=${SGE_EXECD_PORT:-6445}
common=$SGE_ROOT/$SGE_CELL/common

# --- packages -------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if ! installed gridengine-master || ! installed gridengine-exec || ! installed gridengine-client; then
    say "installing gridengine-master, gridengine-exec, gridengine-client"
    # The three questions the packages ask (shared by all four gridengine packages).
    debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string $SGE_CELL
gridengine-common shared/gridenginemaster string $sge_host
EOF
    # The postinst of -master and -exec runs "invoke-rc.d gridengine-... start || exit 1". With
    # no init system (a container) invoke-rc.d says "could not determine current runlevel" and
    # starts nothing; under systemd or a sysvinit runlevel it would start the daemons itself
    # (before host_aliases exists), and a failed start would fail the install. A policy-rc.d
    # that exits 101 stops that; put one in place for the install if there is none.
    ours_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# temporary, gridengine-one-node.sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        ours_policy=1
    fi
    # mailutils satisfies gridengine-common's "bsd-mailx | mailx" without pulling in an MTA
    # (bsd-mailx would bring exim4-daemon-light).
    pkgs=(mailutils gridengine-master gridengine-exec gridengine-client)
    export DEBIAN_FRONTEND=noninteractive
    rc=0
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$base/apt.log" 2>&1; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
            >"$base/apt.log" 2>&1 || rc=$?
    fi
    [ -n "$ours_policy" ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || { tail -n 20 "$base/apt.log" >&2; fail "apt-get install failed"; }
fi
say "$(dpkg-query -W -f='${Package} ${Version}' gridengine-master)"

# --- the cell: spool, act_qmaster, host_aliases ---------------------------------------------
# gridengine-master's postinst initialises it when shared/gridengineconfig was true; do it here
# when it was not (or when the packages were installed before without it).
if [ ! -e /var/spool/gridengine/spooldb/sge ]; then
    say "initialising the cell $SGE_CELL"
    for d in "$SGE_ROOT/$SGE_CELL" "$common" /var/spool/gridengine/qmaster/job_scripts \
        /var/spool/gridengine/spooldb /var/spool/gridengine/execd; do
        mkdir -p "$d" && chown sgeadmin:sgeadmin "$d"
    done
    [ -f "$common/bootstrap" ] || install -m 644 -o sgeadmin -g sgeadmin \
        /usr/share/gridengine/default-bootstrap "$common/bootstrap"
    runuser -u sgeadmin -- /usr/share/gridengine/scripts/init_cluster \
        "$SGE_ROOT" "$SGE_CELL" /var/spool/gridengine/spooldb sgeadmin >/dev/null
fi
echo "$sge_host" >"$common/act_qmaster"
if [ -n "$reverse" ] && [ "$reverse" != "$sge_host" ]; then
    # e.g. hostname -> 127.0.0.1 -> "localhost": without this, every client gets "commlib error:
    # access denied (client IP resolved to host name "localhost". This is not identical to
    # clients host name ...)".
    echo "$sge_host $reverse" >"$common/host_aliases"
fi
chown sgeadmin:sgeadmin "$common/act_qmaster" "$common"/host_aliases 2>/dev/null || true

# --- stop what an earlier run left, then start afresh ---------------------------------------
stop_pid() { # name pidfile seconds
    local name=$1 file=$2 wait=$3 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq $((wait * 10))); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}
stop_all() {
    local execd kids shepherds=''
    # qdel -f retries for 60 s when no qmaster answers: only ask a live one, with a time limit
    if [ -f "$base/qmaster.pid.ours" ] &&
        [ "$(cat "/proc/$(cat "$base/qmaster.pid.ours")/comm" 2>/dev/null)" = sge_qmaster ]; then
        timeout 20 qdel -f -u '*' >/dev/null 2>&1 || true
    fi
    if [ -f "$base/execd.pid.ours" ]; then
        execd=$(cat "$base/execd.pid.ours")
        # sge_shepherd processes of jobs still running are children of sge_execd and outlive it
        [ "$(cat "/proc/$execd/comm" 2>/dev/null)" = sge_execd ] &&
            shepherds=$(ps -o pid= --ppid "$execd" 2>/dev/null || true)
        stop_pid sge_execd "$base/execd.pid.ours" 10
        for p in $shepherds; do
            [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sge_shepherd ] || continue
            kids=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
            # shellcheck disable=SC2086  # a list of PIDs
            kill $kids "$p" 2>/dev/null || true
        done
    fi
    stop_pid sge_qmaster "$base/qmaster.pid.ours" 20   # shuts down cleanly in ~7 s on TERM
}
stop_at_exit() { stop_all; say "daemons stopped"; }
stop_all
if (exec 3<>"/dev/tcp/127.0.0.1/$SGE_QMASTER_PORT") 2>/dev/null; then
    fail "port $SGE_QMASTER_PORT is taken: a sge_qmaster this script did not start is running"
fi
rm -rf "$base/work" "$base"/*.out
[ "${SGE_TEST_KEEP:-0}" = 1 ] || trap 'stop_at_exit' EXIT

# The daemons inherit this environment and sge_execd passes it on to the jobs: keep it small.
# SGE_ND=1: do not daemonise, so $! is the daemon's PID (the wrapper in /usr/sbin execs the
# binary in /usr/lib/gridengine); the jobs see SGE_ND=1 too.
daemon_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    SGE_ROOT="$SGE_ROOT" SGE_CELL="$SGE_CELL" SGE_QMASTER_PORT="$SGE_QMASTER_PORT"
    SGE_EXECD_PORT="$SGE_EXECD_PORT" SGE_ND=1)

setsid "${daemon_env[@]}" /usr/sbin/sge_qmaster >"$base/qmaster.out" 2>&1 </dev/null &
echo $! >"$base/qmaster.pid.ours"
for _ in $(seq 300); do qstat >/dev/null 2>&1 && break; sleep 0.1; done
qstat >/dev/null 2>&1 || fail "sge_qmaster did not answer: $(qstat 2>&1 | tail -n 2)"
say "sge_qmaster up (pid $(cat "$base/qmaster.pid.ours"))"

# --- configuration (before sge_execd starts, so that it reads it at start) ------------------
quiet() { local out; out=$("$@" 2>&1) || fail "$*: $out"; }   # qconf reports success on stderr
mkdir -p "$base/conf"
# The scheduler runs every 15 s by default: every second, and on each submit and finish.
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
    -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
    >"$base/conf/sched"
quiet qconf -Msconf "$base/conf/sched"
# Global configuration: accounting file flushed every second (qacct); root allowed to run jobs
# only when asked (min_uid/min_gid are 1000 by default: "your user id 0 is lower than minimum").
min=1000
[ "$user" = root ] && min=0
qconf -sconf global | sed -e "s/^min_uid .*/min_uid $min/" -e "s/^min_gid .*/min_gid $min/" \
    -e 's/flush_time=[0-9:]*/flush_time=00:00:01/' >"$base/conf/global"
quiet qconf -Mconf "$base/conf/global"   # -Mconf takes the configuration's name from the file name
if ! qconf -se "$sge_host" >/dev/null 2>&1; then
    printf '%-21s %s\n' hostname "$sge_host" load_scaling NONE complex_values NONE user_lists NONE \
        xuser_lists NONE projects NONE xprojects NONE usage_scaling NONE report_variables NONE \
        >"$base/conf/exechost"
    quiet qconf -Ae "$base/conf/exechost"
fi
submit_hosts=$(qconf -ss 2>/dev/null || true)
grep -qx "$sge_host" <<<"$submit_hosts" || quiet qconf -as "$sge_host"
# The queue: the template of "qconf -aq" names the PEs make, smp and mpi, which do not exist, and
# sets load_thresholds np_load_avg=1.75, which puts the queue in alarm state (no jobs start) on
# a busy CI machine.
cat >"$base/conf/all.q" <<EOF
qname                 all.q
hostlist              $sge_host
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               NONE
rerun                 FALSE
slots                 2
tmpdir                /tmp
shell                 /bin/sh
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
if qconf -sq all.q >/dev/null 2>&1; then
    quiet qconf -Mq "$base/conf/all.q"
else
    quiet qconf -Aq "$base/conf/all.q"
fi
# Jobs an aborted earlier run left in the spool would run again: delete them.
timeout 20 qdel -f -u '*' >/dev/null 2>&1 || true

# --- sge_execd ------------------------------------------------------------------------------
setsid "${daemon_env[@]}" /usr/sbin/sge_execd >"$base/execd.out" 2>&1 </dev/null &
echo $! >"$base/execd.pid.ours"
queue_state() { qstat -f -q "all.q@$sge_host" 2>/dev/null | awk '$1 ~ /^all\.q@/ { print $3, $4, $6 }'; }
for _ in $(seq 300); do
    read -r slots load state <<<"$(queue_state)" || true
    [ -n "${load:-}" ] && [ "$load" != -NA- ] && [ -z "${state:-}" ] && break
    sleep 0.1
done
read -r slots load state <<<"$(queue_state)" || true
[ -n "${load:-}" ] && [ "$load" != -NA- ] && [ -z "${state:-}" ] ||
    fail "queue all.q@$sge_host not ready: $(qstat -f 2>&1 | tail -n 1)"
say "sge_execd up (pid $(cat "$base/execd.pid.ours")); all.q@$sge_host: used/total slots $slots, load $load"

# --- the user that submits --------------------------------------------------------------------
if [ "$user" != root ] && ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$user"
fi
as_user() { if [ "$user" = root ]; then "$@"; else runuser -u "$user" -- "$@"; fi; }
mkdir -m 755 "$base/work"
chown "$user:" "$base/work"
cd "$base/work"

# --- the jobs' folder: the binary, the scripts and the sweeps, readable by the user ----------
mkdir -p "$base/work/bin" "$base/work/configs"
install -m 755 "$NNSWEEP" "$base/work/bin/nnsweep"
cp -r "$repo/configs/sge" "$base/work/configs/"
cp "$repo/tests/fixtures/slurm_small.toml" "$repo/tests/fixtures/slurm_slow.toml" "$base/work/"
# The stopped sweep must outlast s_rt (4 s) and the execd's next check of its jobs (seen to stop
# it at about 8 s) on an idle machine: the SLURM test's 6000 steps train all 24 runs in about
# 4 s, so this test takes ten times the steps (the resubmitted rest takes about 30 s).
sed -i 's/^steps = 6000$/steps = 60000/' "$base/work/slurm_slow.toml"
grep -q '^steps = 60000$' "$base/work/slurm_slow.toml" || fail "slurm_slow.toml: steps not found"
chown -R "$user:" "$base/work"
export NNSWEEP=$base/work/bin/nnsweep

# --- helpers ----------------------------------------------------------------------------------
wait_gone() { # job ids... : wait until qstat lists none of them
    local end=$(($(date +%s) + timeout))
    while qstat -u '*' | awk -v ids=" $* " 'NR > 2 && index(ids, " " $1 " ") { found = 1 } END { exit !found }'; do
        [ "$(date +%s)" -lt "$end" ] || fail "jobs $* still queued or running after ${timeout}s: $(qstat -u '*' | tail -n +3)"
        sleep 0.2
    done
}
# "3 x 0:0": failed:exit_status of a job's tasks in qacct (written within a second or so; the
# first flush after sge_qmaster starts can take ~15 s).
acct() { qacct -j "$1" 2>/dev/null | awk '$1 == "failed" { f = $2 } $1 == "exit_status" { print f ":" $2 }' | sort | uniq -c | awk '{ printf "%s%s x %s", s, $1, $2; s = ", " }'; }
wait_acct() { # job want
    for _ in $(seq $((timeout * 5))); do [ "$(acct "$1")" = "$2" ] && return 0; sleep 0.2; done
    fail "job $1 in qacct: $(acct "$1"), not $2"
}
plan_ids() { as_user "$NNSWEEP" plan --no-measure "$1" | awk '$1 ~ /^[0-9]+$/ { print $2 }' | sort; }
result_ids() { tail -n +2 "$1" | cut -d, -f1 | sort; }

# --- 1. a 3-task array and its -hold_jid merge job, by configs/sge/submit.sh ------------------
start=$EPOCHREALTIME
as_user env NNSWEEP="$NNSWEEP" configs/sge/submit.sh slurm_small.toml 3 >&2
read -r array merge <results/slurm_small.jobs
wait_gone "$array" "$merge"
took=$(since "$start")
wait_acct "$array" "3 x 0:0"
wait_acct "$merge" "1 x 0:0"
say "array $array: $(acct "$array"); merge $merge: $(acct "$merge") (failed:exit_status); ${took}s from submission to merged"
for i in 1 2 3; do
    log="nnsweep.o$array.$i"
    grep -q "shard $((i - 1))/3: 4 of 12 runs" "$log" || fail "task $i did not train shard $((i - 1))/3: $(head -n 2 "$log")"
    grep -q "shard from Grid Engine (SGE_TASK_ID=$i SGE_TASK_FIRST=1 SGE_TASK_LAST=3 SGE_TASK_STEPSIZE=1), threads from NSLOTS=1" "$log" ||
        fail "task $i's first line does not name the SGE variables: $(sed -n 2p "$log")"
done
plan_ids slurm_small.toml >plan.ids
result_ids results/slurm_small.csv >merged.ids
[ "$(wc -l <plan.ids)" = 12 ] || fail "plan lists $(wc -l <plan.ids) runs, not 12"
[ -z "$(uniq -d merged.ids)" ] || fail "runs merged twice: $(uniq -d merged.ids | tr '\n' ' ')"
cmp -s plan.ids merged.ids || fail "merged runs differ from the plan: $(diff plan.ids merged.ids | tr '\n' ' ')"
grep -q "over 12 runs" results/slurm_small/summary.md || fail "the merged report does not count 12 runs"
say "ok: the merged results hold each of the 12 planned runs exactly once"

# --- 2. the soft run-time limit: SIGUSR1 at s_rt, exit 3, the merge refuses, a resubmit resumes --
start=$EPOCHREALTIME
as_user env NNSWEEP="$NNSWEEP" configs/sge/submit.sh slurm_slow.toml 1 -l s_rt=0:0:4,h_rt=0:2:0 >&2
read -r slow slow_merge <results/slurm_slow.jobs
wait_gone "$slow" "$slow_merge"
wait_acct "$slow" "1 x 0:3"
wait_acct "$slow_merge" "1 x 0:1"
out=results/slurm_slow.shard-0-of-1.csv
rows=$(($(wc -l <"$out") - 1))
say "s_rt=4s: task $slow ended with $(acct "$slow") after $(since "$start")s, $rows of 24 runs written; merge $slow_merge: $(acct "$slow_merge")"
grep -q "stopped by SIGUSR1" "nnsweep.o$slow.1" || fail "the task's log lacks the stop line: $(tail -n 3 "nnsweep.o$slow.1")"
grep -q "submit again to finish" "nnsweep-merge.o$slow_merge" || fail "the merge did not refuse the incomplete sweep"
[ "$rows" -lt 24 ] || fail "the task finished before its limit"
as_user env NNSWEEP="$NNSWEEP" configs/sge/submit.sh slurm_slow.toml 1 >&2
read -r again again_merge <results/slurm_slow.jobs
wait_gone "$again" "$again_merge"
wait_acct "$again" "1 x 0:0"
wait_acct "$again_merge" "1 x 0:0"
grep -q "$rows already in" "nnsweep.o$again.1" || fail "the resubmitted task did not resume"
plan_ids slurm_slow.toml >slow-plan.ids
result_ids results/slurm_slow.csv >slow.ids
[ -z "$(uniq -d slow.ids)" ] || fail "runs written twice after resuming"
cmp -s slow-plan.ids slow.ids || fail "resumed results differ from the plan"
say "ok: stopped at s_rt with exit status 3 after $rows runs, merge refused, resubmitted and merged all 24 exactly once"
say "passed"
