#!/bin/bash
# Submits a sweep as a SLURM job array of N tasks, plus a job that merges the shards once every
# task has succeeded (afterok). Run it from the repository's top folder:
#
#   configs/slurm/submit.sh CONFIG.toml N [sbatch options for the array]
#   configs/slurm/submit.sh configs/circles_overfit.toml 4 --cpus-per-task=8 --time=02:00:00
#
# Prints the two job ids. Submitting again after a time-out resumes every shard.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 CONFIG.toml N [sbatch options for the array]" >&2
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

array=$(sbatch --parsable --array="0-$((tasks - 1))" "$@" "$here/sweep.sbatch" "$config")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    "$here/merge.sbatch" "$name" "$tasks")
merge=${merge%%;*}
echo "array job $array: $tasks tasks of $config, shards in results/$name.shard-*-of-$tasks.csv"
echo "merge job $merge (after every task succeeded): results/$name.csv, results/$name/summary.md"
echo "watch: squeue -u \$USER; logs: nnsweep-nnsweep-${array}_*.out, nnsweep-nnsweep-merge-$merge.out"
echo "$array $merge" >"results/$name.jobs"
