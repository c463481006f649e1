#!/bin/bash
# Submits a sweep as a PBS Pro (or Torque) job array of N subjobs, plus a job that merges the
# shards once every subjob has succeeded (afterok). Run it from the repository's top folder:
#
#   configs/pbs/submit.sh CONFIG.toml N [qsub options for the array]
#   configs/pbs/submit.sh configs/circles_overfit.toml 4 -l select=1:ncpus=8 -l walltime=02:00:00
#   (Torque: -l nodes=1:ppn=8 instead of -l select=1:ncpus=8)
#
# Prints the two job ids. Submitting again after a time-out resumes every shard.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 CONFIG.toml N [qsub options for the array]" >&2
    exit 2
fi
config=$1
tasks=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$config" ] || { echo "no config file $config" >&2; exit 2; }
name=$(sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" | head -n 1)
[ -n "$name" ] || { echo "$config has no name = \"...\" line" >&2; exit 2; }
mkdir -p results

# The array range, decided here once: given to qsub, and to nnsweep as NNSWEEP_ARRAY (PBS tells
# a subjob its index but not the array's size). PBS Pro wants at least two subjobs in an
# array; one task is a plain job told its shard.
range="0-$((tasks - 1))"
run_args=${NNSWEEP_ARGS:-}
# PBS Pro says "pbs_version = ..."; Torque says "Version: ...".
if [ "$tasks" = 1 ]; then
    array_option=() after=afterok run_args="--shard 0/1${run_args:+ $run_args}"
elif qstat --version 2>&1 | grep -qi pbs_version; then
    array_option=(-J "$range") after=afterok
else
    array_option=(-t "$range") after=afterokarray
fi
vars="NNSWEEP_CONFIG=$config,NNSWEEP_ARRAY=$range${NNSWEEP:+,NNSWEEP=$NNSWEEP}${run_args:+,NNSWEEP_ARGS=$run_args}"
array=$(qsub "${array_option[@]}" -v "$vars" "$@" "$here/sweep.pbs")
merge=$(qsub -W depend="$after:$array" \
    -v "NNSWEEP_CONFIG=$config,NNSWEEP_TASKS=$tasks${NNSWEEP:+,NNSWEEP=$NNSWEEP}" "$here/merge.pbs")
echo "array job $array: $tasks subjobs of $config, shards in results/$name.shard-*-of-$tasks.csv"
echo "merge job $merge (after every subjob succeeded): results/$name.csv, results/$name/summary.md"
echo "$array $merge" >"results/$name.jobs"
