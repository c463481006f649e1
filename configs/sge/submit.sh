#!/bin/bash
# Submits a sweep as a Grid Engine array job of N tasks (-t 1-N), plus a job that merges the
# shards once the array has ended (-hold_jid). Run it from the repository's top folder:
#
#   configs/sge/submit.sh CONFIG.toml N [qsub options for the array]
#   configs/sge/submit.sh configs/circles_overfit.toml 4 -pe smp 8 -l s_rt=01:58:00,h_rt=02:00:00
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

# Grid Engine passes no environment unless told: only the binary's path, when set.
pass=()
[ -n "${NNSWEEP:-}" ] && pass=(-v NNSWEEP)
# -terse prints "123.1-4:1" for an array job and "124" for a plain one.
array=$(qsub -terse -t "1-$tasks" "${pass[@]}" "$@" "$here/sweep.sge" "$config")
array=${array%%.*}
merge=$(qsub -terse -hold_jid "$array" "${pass[@]}" "$here/merge.sge" "$config" "$tasks")
echo "array job $array: $tasks tasks of $config, shards in results/$name.shard-*-of-$tasks.csv"
echo "merge job $merge (after the array, if every planned run is in the shards): results/$name.csv, results/$name/summary.md"
echo "$array $merge" >"results/$name.jobs"
