#!/usr/bin/env bash
# Crash safety: freehead killed with SIGKILL at random moments while it writes weights, a
# training checkpoint or a dataset never leaves a damaged file under a real name:
#   - weights: the file is always either the old one or the complete new one, byte for byte;
#   - checkpoints: `train --resume` always finds a complete latest checkpoint and goes on;
#   - datasets: the output folder is either absent or identical to an uninterrupted run's.
# Half the kills land at moments drawn from a fixed seed over each command's measured
# duration; the other half the moment the write is seen in progress (its temporary file or
# staging folder exists), so every run kills some writes midway whatever the machine's speed.
# usage: tests/cli/cli_kill_safety.sh path/to/freehead
set -uo pipefail
freehead=$(realpath "${1:?usage: cli_kill_safety.sh path/to/freehead}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"
export FH_NUM_THREADS=1
RANDOM=20260101

# kill_after MILLISECONDS COMMAND...: runs COMMAND, SIGKILLs it after the delay; prints
# "killed" when it was still running then, "finished" otherwise.
kill_after() {
  local ms=$1
  shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -KILL "$pid" 2>/dev/null; then echo killed; else echo finished; fi
  wait "$pid" 2>/dev/null
}
# kill_when GLOB COMMAND...: runs COMMAND and SIGKILLs it as soon as a path matching GLOB
# exists (a write in progress); prints "midway" when the kill found the write still going.
kill_when() {
  local glob=$1
  shift
  "$@" >/dev/null 2>&1 &
  local pid=$! state=finished
  for _ in $(seq 1 200000); do
    if compgen -G "$glob" >/dev/null; then
      kill -KILL "$pid" 2>/dev/null && state=midway
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
  done
  echo "$state"
  wait "$pid" 2>/dev/null
}
ms_of() {  # wall milliseconds of a command
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

# ---- Weights ------------------------------------------------------------------------------
"$freehead" init --net gen --config small --seed 1 --out "$work/old.safetensors" >/dev/null
new_ms=$(ms_of "$freehead" init --net gen --config small --seed 2 --out "$work/new.safetensors")
old=$(sum "$work/old.safetensors") new=$(sum "$work/new.safetensors")
killed=0 midway=0 bad=0
for i in $(seq 1 16); do
  cp "$work/old.safetensors" "$work/w.safetensors"
  cmd=("$freehead" init --net gen --config small --seed 2 --out "$work/w.safetensors")
  if [ $((i % 2)) -eq 0 ]; then state=$(kill_after $((RANDOM % (new_ms + 20))) "${cmd[@]}")
  else state=$(kill_when "$work/w.safetensors.tmp.*" "${cmd[@]}"); fi
  [ "$state" = killed ] && killed=$((killed + 1))
  [ "$state" = midway ] && midway=$((midway + 1))
  got=$(sum "$work/w.safetensors")
  if [ "$got" != "$old" ] && [ "$got" != "$new" ]; then
    echo "FAIL weights: after kill $i the file is neither the old nor the new one"
    bad=$((bad + 1))
  fi
  rm -f "$work"/w.safetensors.tmp.*  # what a killed writer leaves: its temporary, never the file
done
[ "$bad" -eq 0 ] && echo "ok   weights: 16 kills ($killed at random moments of a ${new_ms} ms run, $midway while writing) left the old or the new file" ||
  failures=$((failures + bad))
[ "$midway" -ge 4 ] || { echo "FAIL weights: only $midway kills landed while writing"; failures=$((failures + 1)); }

# ---- Checkpoints ----------------------------------------------------------------------------
"$freehead" synth --out "$work/data" --identities 4 --clips-per-identity 1 --frames 4 --size 64 --seed 3 \
  --quiet >/dev/null
train=("$freehead" train kp --data "$work/data" --out "$work/run" --steps 100000 --batch 2 --workers 0
       --checkpoint-every 1 --keep-checkpoints 2 --log-every 1 --validate-every 0 --sample-every 0 --quiet)
"${train[@]:0:2}" kp --data "$work/data" --out "$work/run" --steps 3 --batch 2 --workers 0 --checkpoint-every 1 \
  --keep-checkpoints 2 --validate-every 0 --sample-every 0 --quiet >/dev/null || { echo "FAIL first run"; exit 1; }
killed=0 midway=0 bad=0
for i in $(seq 1 8); do
  # Each round resumes the run for many more steps (a checkpoint every step, the oldest
  # pruned) and is killed 0.3-1.5 s in, or as a checkpoint folder is being written.
  cmd=("$freehead" train --resume "$work/run" --steps 100000 --quiet)
  if [ $((i % 2)) -eq 0 ]; then state=$(kill_after $((300 + RANDOM % 1200)) "${cmd[@]}")
  else state=$(kill_when "$work/run/checkpoints/.tmp_step_*/adam_*" "${cmd[@]}"); fi
  [ "$state" = killed ] && killed=$((killed + 1))
  [ "$state" = midway ] && midway=$((midway + 1))
  last=$(ls -d "$work"/run/checkpoints/step_* 2>/dev/null | tail -1)
  step=$((10#${last##*step_}))
  if ! out=$("$freehead" train --resume "$work/run" --steps $((step + 1)) --quiet 2>&1); then
    echo "FAIL checkpoints: after kill $i, resuming from $(basename "$last") failed:"
    echo "$out" | sed 's/^/    /' | head -5
    bad=$((bad + 1))
  fi
done
[ "$bad" -eq 0 ] && echo "ok   checkpoints: 8 kills ($killed while training, $midway while writing a checkpoint), every resume found a complete checkpoint" ||
  failures=$((failures + bad))
[ "$((killed + midway))" -ge 6 ] && [ "$midway" -ge 2 ] ||
  { echo "FAIL checkpoints: only $killed + $midway kills landed while training"; failures=$((failures + 1)); }

# ---- Datasets --------------------------------------------------------------------------------
synth=(--identities 3 --clips-per-identity 2 --frames 12 --size 64 --seed 4 --pairs 4 --quiet)
synth_ms=$(ms_of "$freehead" synth --out "$work/reference" "${synth[@]}")
killed=0 midway=0 bad=0 complete=0
for i in $(seq 1 10); do
  cmd=("$freehead" synth --out "$work/d$i" "${synth[@]}")
  if [ $((i % 2)) -eq 0 ]; then state=$(kill_after $((RANDOM % (synth_ms + 20))) "${cmd[@]}")
  else state=$(kill_when "$work/.d$i.partial-*/triples/source/000000.png" "${cmd[@]}"); fi
  [ "$state" = killed ] && killed=$((killed + 1))
  [ "$state" = midway ] && midway=$((midway + 1))
  if [ -e "$work/d$i" ]; then
    if diff -r -q "$work/reference" "$work/d$i" >/dev/null; then complete=$((complete + 1)); else
      echo "FAIL datasets: after kill $i, '$work/d$i' exists but differs from an uninterrupted run"
      bad=$((bad + 1))
    fi
  fi
done
[ "$bad" -eq 0 ] && echo "ok   datasets: 10 kills ($killed at random moments of a ${synth_ms} ms run, $midway while writing): $complete complete, the rest absent" ||
  failures=$((failures + bad))
[ "$midway" -ge 3 ] || { echo "FAIL datasets: only $midway kills landed while writing"; failures=$((failures + 1)); }

finish "kill-safety"
