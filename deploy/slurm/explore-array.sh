#!/bin/sh
# faultline race explore as a Slurm job array: task k runs shard k of the array's tasks
# ($SLURM_ARRAY_TASK_ID → --shard k/N) and writes its JSON lines to shard-k.jsonl; merge
# them once every task is done (docs/scale.md):
#   jid=$(sbatch --parsable deploy/slurm/explore-array.sh)
#   sbatch --dependency=afterany:$jid --wrap 'faultline race merge shard-*.jsonl > merged.txt'
#SBATCH --job-name=faultline-explore
#SBATCH --array=0-15
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --output=shard-%a.jsonl
#SBATCH --error=shard-%a.err

N=${SLURM_ARRAY_TASK_COUNT:-16}
faultline race explore "${TARGET:-seq-check}" --scheduler pct --depth 2 --budget "${BUDGET:-100000}" --shard "$SLURM_ARRAY_TASK_ID/$N" --json
rc=$?
# Exit 1 (this shard found a violation) is a result: race merge reports it.
[ "$rc" -le 1 ] || exit "$rc"
