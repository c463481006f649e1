#!/bin/bash
# Submits a sweep as an LSF job array of N elements ([1-N]), plus a job that merges the shards
# once every element is DONE. Run it from the repository's top folder:
#
#   configs/lsf/submit.sh CONFIG.toml N [bsub options for the array]
#   configs/lsf/submit.sh configs/circles_overfit.toml 4 -n 8 -W 02:00
#
# Prints the two job ids. Submitting again after a time-out resumes every shard.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 CONFIG.toml N [bsub options for the array]" >&2
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

# The array range, decided here once: given to bsub -J, and to nnsweep as NNSWEEP_ARRAY (LSF
# tells an element its index, the last index and the step, but not the first index).
range="1-$tasks"
export NNSWEEP_CONFIG=$config NNSWEEP_ARRAY=$range NNSWEEP_TASKS=$tasks
# bsub prints "Job <123> is submitted to queue <normal>."
id() { sed -n 's/^Job <\([0-9]*\)>.*/\1/p'; }
array=$(bsub -J "nnsweep[$range]" "$@" <"$here/sweep.lsf" | id)
[ -n "$array" ] || { echo "bsub did not submit the array" >&2; exit 1; }
merge=$(bsub -w "done($array)" -ti <"$here/merge.lsf" | id)
[ -n "$merge" ] || { echo "bsub did not submit the merge job" >&2; exit 1; }
echo "array job $array: $tasks elements of $config, shards in results/$name.shard-*-of-$tasks.csv"
echo "merge job $merge (after every element is DONE): results/$name.csv, results/$name/summary.md"
echo "$array $merge" >"results/$name.jobs"
