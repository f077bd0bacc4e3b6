#!/usr/bin/env bash
# `mpirun -np 2 freehead train` end to end (docs/distributed.md): two 2-rank runs give the
# same bits; rank 0 alone writes the run folder and logs the all-reduce time; a batch that
# does not split over the ranks is refused; one rank's error ends the whole job with that
# error (no hang) and leaves the last checkpoint whole; a killed rank ends the job; SIGTERM
# to one rank stops both at one step with a checkpoint; a 2-rank run resumes on one
# process and a 1-process run on 2 ranks.
# usage: tests/cli/cli_distributed.sh path/to/freehead path/to/mpirun
set -uo pipefail
freehead=${1:?usage: cli_distributed.sh path/to/freehead path/to/mpirun}
mpirun=${2:?usage: cli_distributed.sh path/to/freehead path/to/mpirun}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"

# Two ranks on however many cores there are, as root where CI runs; a hung job fails after
# five minutes instead of hanging the suite.
export FH_NUM_THREADS=${FH_NUM_THREADS:-1}
mpi2=(timeout 300 "$mpirun" -np 2 --oversubscribe --allow-run-as-root)
data=$work/data
"$freehead" synth --out "$data" --identities 10 --clips-per-identity 1 --frames 40 --size 64 --seed 7 --pairs 4 --quiet \
  >/dev/null || { echo "FAIL synth"; exit 1; }
base=(train kp --data "$data" --config tiny --seed 3 --log-every 1 --sample-every 0 --validate-every 3 --val-batches 1
      --workers 0 --quiet)
train_kp=("${base[@]}" --batch 4 --steps 3 --checkpoint-every 1)

expect "2 ranks train E_can; rank 0 reports the all-reduce time" 0 "data-parallel: 2 ranks; rank 0 spent .* in 3 gradient all-reduces of [0-9.e+]+ values" \
  "${mpi2[@]}" "$freehead" "${train_kp[@]}" --out "$work/a"
expect "a second 2-rank run" 0 "finished at step 3" "${mpi2[@]}" "$freehead" "${train_kp[@]}" --out "$work/b"
for f in weights.safetensors adam_kp.safetensors state.json; do
  if cmp -s "$work/a/checkpoints/step_0000003/$f" "$work/b/checkpoints/step_0000003/$f"; then
    echo "ok   two 2-rank runs: identical $f"
  else
    echo "FAIL two 2-rank runs differ in $f"
    failures=$((failures + 1))
  fi
done
expect "config.json records 2 ranks" 0 '"ranks": ?2' cat "$work/a/config.json"
expect "log lines carry the all-reduce time per step" 0 '"allreduce_s_per_step": ?[0-9.e-]+' head -1 "$work/a/log.jsonl"
lines=$(wc -l <"$work/a/log.jsonl")
[ "$lines" -eq 3 ] && echo "ok   one log line per step (rank 0 alone writes)" ||
  { echo "FAIL log.jsonl has $lines lines, want 3"; failures=$((failures + 1)); }

expect "a batch that does not split over the ranks is refused" 1 "--batch 3 does not split over 2 ranks" \
  "${mpi2[@]}" "$freehead" "${base[@]}" --steps 3 --out "$work/c" --batch 3

# One rank's loss turns NaN at step 2 while the other waits in the all-reduce.
expect "one rank's error ends the job with that error" 1 "rank 1 of 2: .*step 2: loss term 'points' of E_can is nan" \
  "${mpi2[@]}" "$freehead" "${train_kp[@]}" --out "$work/d" --inject-nan-at 2
[ -s "$work/d/checkpoints/step_0000001/weights.safetensors" ] && ! ls "$work/d/checkpoints" | grep -q '^\.tmp' &&
  echo "ok   the failed job left its step-1 checkpoint whole" ||
  { echo "FAIL the failed job's checkpoints: $(ls -a "$work/d/checkpoints")"; failures=$((failures + 1)); }

# The process id of rank $1 of the job writing run folder $2, once it has logged a step.
rank_pid() {
  local pid="" _
  for _ in $(seq 1 120); do
    pid=$(pgrep -f -- "--out $2" | while read -r p; do
      [ "$(cat /proc/"$p"/comm 2>/dev/null)" = freehead ] &&
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$p"
    done | head -1)
    [ -n "$pid" ] && [ -s "$2/log.jsonl" ] && break
    sleep 1
  done
  echo "$pid"
}

# A rank killed mid-run: the launcher ends the job (non-zero), no hang.
"${mpi2[@]}" "$freehead" "${base[@]}" --batch 4 --out "$work/e" --steps 100000 >"$work/e.log" 2>&1 &
job=$!
victim=$(rank_pid 1 "$work/e")
if [ -n "$victim" ]; then
  kill -KILL "$victim"
  wait "$job"
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then echo "ok   a killed rank ends the job (exit $rc)"; else
    echo "FAIL a killed rank: the job exited $rc"; failures=$((failures + 1)); fi
else
  echo "FAIL could not find rank 1 of the running job"; failures=$((failures + 1))
  kill "$job" 2>/dev/null; wait "$job"
fi

# SIGTERM to rank 1 alone: both ranks stop after the same step, rank 0 checkpoints, exit 0.
"${mpi2[@]}" "$freehead" "${base[@]}" --batch 4 --out "$work/g" --steps 100000 >"$work/g.log" 2>&1 &
job=$!
victim=$(rank_pid 1 "$work/g")
if [ -n "$victim" ]; then
  kill -TERM "$victim"
  wait "$job"
  rc=$?
  step=$(sed -nE 's/.*interrupted; checkpoint written at step ([0-9]+).*/\1/p' "$work/g.log")
  if [ "$rc" -eq 0 ] && [ -n "$step" ] && [ -s "$work/g/checkpoints/step_$(printf %07d "$step")/weights.safetensors" ]; then
    echo "ok   SIGTERM to one rank: the job stopped at step $step with a checkpoint"
  else
    echo "FAIL SIGTERM to one rank: exit $rc; output:"; sed 's/^/    /' "$work/g.log"; failures=$((failures + 1))
  fi
else
  echo "FAIL could not find rank 1 of the running job"; failures=$((failures + 1))
  kill "$job" 2>/dev/null; wait "$job"
fi

expect "a 2-rank run resumes on one process" 0 "finished at step 5" \
  "$freehead" train --resume "$work/a" --steps 5 --quiet
expect "a 1-process run resumes on 2 ranks" 0 "finished at step 4" \
  bash -c "\"$freehead\" ${train_kp[*]} --out \"$work/f\" >/dev/null && ${mpi2[*]} \"$freehead\" train --resume \"$work/f\" --steps 4 --quiet"

finish "distributed CLI"
