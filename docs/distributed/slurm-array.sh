#!/usr/bin/env bash
# Run a diegolab benchmark spec as a Slurm job array: array task k runs shard k of the
# matrix (run i of the matrix belongs to shard i mod N). Submit, then merge when every
# task has finished (docs/distributed.md):
#
#   jid=$(sbatch --parsable --export=ALL,SPEC=my-spec.toml,OUT=$PWD/out/my-spec slurm-array.sh)
#   sbatch --dependency=afterok:$jid --wrap "diegolab bench merge $PWD/out/my-spec/shard-* -o $PWD/out/my-spec/merged"
#
# The array must be one contiguous range (--array=0-9 or 1-10, no step); its size is N.
# A rerun of a task resumes its shard (the runs already in its results.csv are kept).
#SBATCH --job-name=diegolab-bench
#SBATCH --array=0-9
#SBATCH --cpus-per-task=8
#SBATCH --mem-per-cpu=2G
#SBATCH --time=04:00:00
#SBATCH --output=diegolab-bench-%A_%a.out
set -euo pipefail

spec=${SPEC:?set SPEC to a spec file on a shared file system, or a shipped spec name}
out=${OUT:-out/bench-shards}
diegolab=${DIEGOLAB:-diegolab}
task=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch (it is a job array task)}
first=${SLURM_ARRAY_TASK_MIN:-0}
count=${SLURM_ARRAY_TASK_COUNT:?submit this script with sbatch --array}
shard=$((task - first))

exec "$diegolab" bench "$spec" --shard "$shard/$count" --out "$out/shard-$shard" \
  -j "${SLURM_CPUS_PER_TASK:-1}" -q
