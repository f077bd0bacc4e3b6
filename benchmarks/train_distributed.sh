#!/usr/bin/env bash
# Data-parallel training's scaling on this machine (docs/distributed.md): the same global
# batch trained by 1 process and by K MPI ranks, each with THREADS CPU threads, and the time
# rank 0 spends in the gradient all-reduces; for comparison, 1 process with K·THREADS
# threads (the same cores used through the thread pool instead).
#
# usage: benchmarks/train_distributed.sh [TASK] [CONFIG] [BATCH] [RANKS] [THREADS] [STEPS]
#   defaults: kp tiny 16 2 1 30. BATCH is the global batch (a multiple of RANKS); STEPS >= 4
#   (the first 3 log lines are warm-up and not timed).
# Needs a built freehead with MPI (`build/bin/freehead`; FREEHEAD overrides) and mpirun
# (MPIRUN overrides). Prints the commands it runs, then one Markdown table row per run
# (FH_TABLE_HEADER=0 leaves out the header).
#
# What each number is:
# - steps/s: the median over RUN/log.jsonl (--log-every 1) after its first 3 lines of each
#   line's steps_per_s: everything the loop does per step on rank 0 — its share of the batch
#   loaded, forward, backward, the all-reduces, Adam, the log line.
# - all-reduce ms/step: the median of the lines' allreduce_s_per_step: rank 0's wall time
#   inside the gradient all-reduces (packing, the MPI exchange, and waiting for the slower
#   rank — the last is most of it when the ranks share cores with other work).
# - all-reduce wait ms/step: of that, the time until the last rank arrived (its first
#   collective returns then): the rest is the exchange itself.
# - speed-up: steps/s over the 1-process, THREADS-thread run's (same global batch).
set -euo pipefail
task=${1:-kp}
config=${2:-tiny}
batch=${3:-16}
ranks=${4:-2}
threads=${5:-1}
steps=${6:-30}
case $config in tiny) size=64 ;; small) size=128 ;; paper) size=256 ;;
  *) echo "train_distributed.sh: CONFIG must be tiny, small or paper, got '$config'" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
freehead=${FREEHEAD:-$root/build/bin/freehead}
mpirun=${MPIRUN:-mpirun}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

show() {
  printf '$' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
}

synth=("$freehead" synth --out "$work/data" --identities 10 --clips-per-identity 1 --frames 40 --size "$size"
       --seed 1 --pairs 8 --quiet)
show env FH_NUM_THREADS="$threads" "${synth[@]}"
FH_NUM_THREADS=$threads "${synth[@]}" >/dev/null
train=(train "$task" --data "$work/data" --config "$config" --batch "$batch" --steps "$steps" --log-every 1
       --sample-every 0 --validate-every 0 --checkpoint-every 0 --val-batches 1 --workers 1 --quiet)

# Median of the values of `key` over the lines of a log after the first 3.
median_of() {
  tail -n +4 "$1" | grep -Eo "\"$2\": ?[0-9.e+-]+" | sed -E 's/.*: ?//' | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

one=("$freehead" "${train[@]}" --threads "$threads" --out "$work/one")
show "${one[@]}"
"${one[@]}" >/dev/null
wide=("$freehead" "${train[@]}" --threads $((ranks * threads)) --out "$work/wide")
show "${wide[@]}"
"${wide[@]}" >/dev/null
many=("$mpirun" -np "$ranks" --oversubscribe --allow-run-as-root --bind-to none "$freehead" "${train[@]}" --threads "$threads"
      --out "$work/many")
show "${many[@]}"
"${many[@]}" >/dev/null

s1=$(median_of "$work/one/log.jsonl" steps_per_s)
sw=$(median_of "$work/wide/log.jsonl" steps_per_s)
sk=$(median_of "$work/many/log.jsonl" steps_per_s)
ar=$(median_of "$work/many/log.jsonl" allreduce_s_per_step)
aw=$(median_of "$work/many/log.jsonl" allreduce_wait_s_per_step)
if [ "${FH_TABLE_HEADER:-1}" != 0 ]; then
  echo "| task | config | global batch | processes × threads | steps/s | all-reduce ms/step | of which waiting | speed-up |"
  echo "|---|---|---:|---|---:|---:|---:|---:|"
fi
awk -v t="$task" -v c="$config" -v b="$batch" -v k="$ranks" -v th="$threads" -v s1="$s1" -v sw="$sw" -v sk="$sk" \
    -v ar="$ar" -v aw="$aw" 'BEGIN {
  printf "| %s | %s | %d | 1 × %d | %.2f | – | – | 1.00 |\n", t, c, b, th, s1
  printf "| %s | %s | %d | 1 × %d | %.2f | – | – | %.2f |\n", t, c, b, k * th, sw, sw / s1
  printf "| %s | %s | %d | %d × %d (MPI) | %.2f | %.2f | %.2f | %.2f |\n", t, c, b, k, th, sk, 1000 * ar, 1000 * aw, sk / s1
}'
