#!/usr/bin/env bash
# One full training step of a Free-HeadGAN component, freehead (`freehead train`) against the
# PyTorch reference (tools/reference/train_step.py) on the same CPU threads, plus the peak
# resident memory of each process.
#
# usage: benchmarks/train_step_vs_torch.sh [TASK] [CONFIG] [BATCH] [THREADS] [STEPS]
#   defaults: gen tiny 4 <all cores> 10. TASK kp, gaze or gen; STEPS >= 3 (the first two steps
#   of each side are warm-up and not timed).
# Needs a built `build/bin/freehead` (FREEHEAD overrides) and a python with torch
# (FH_ORACLE_PYTHON overrides; default /usr/bin/python3). Prints the commands it runs, then a
# Markdown table row (FH_TABLE_HEADER=0 leaves out the header, for collecting several rows).
#
# What each number is:
# - freehead ms/step: median of 1000/steps_per_s over RUN/log.jsonl after its first 2 lines
#   (--log-every 1: one line per step). The window of a line is everything the loop does
#   between two lines: waiting for the loader's batch (with --workers 1 one thread decodes
#   the synthetic dataset's PNG frames and, for gaze, resamples the eye crops), drawing the
#   sketches (gen), the step itself, and appending the log line. PyTorch's step uses random
#   tensors drawn once, so freehead's number carries its data loading and sketch drawing on
#   top of the same network work.
# - PyTorch ms/step: train_step.py's median over STEPS-2 steps after 2 warm-up steps, so both
#   sides time the same number of steps.
# - ratio: freehead ms / PyTorch ms (below 1: freehead is faster).
# - peak MiB: the maximum resident set of the whole process. freehead's includes the dataset
#   index, the held-out batches and writing the final checkpoint; PyTorch's includes the
#   interpreter and torch's shared libraries (a few hundred MiB before any tensor).
set -euo pipefail
task=${1:-gen}
config=${2:-tiny}
batch=${3:-4}
threads=${4:-$(nproc)}
steps=${5:-10}
case $task in kp | gaze | gen) ;; *) echo "train_step_vs_torch.sh: TASK must be kp, gaze or gen, got '$task'" >&2; exit 2 ;; esac
case $config in
  tiny) size=64 ;;
  small) size=128 ;;
  paper) size=256 ;;
  *) echo "train_step_vs_torch.sh: CONFIG must be tiny, small or paper, got '$config'" >&2; exit 2 ;;
esac
if ! [ "$steps" -ge 3 ] 2>/dev/null; then
  echo "train_step_vs_torch.sh: STEPS must be at least 3 (2 warm-up steps, then timed ones), got '$steps'" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
freehead=${FREEHEAD:-$root/build/bin/freehead}
python=${FH_ORACLE_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Echoes a command as it can be pasted into a shell, then runs it.
show() {
  printf '$' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
}

# The dataset is not timed; its thread count follows THREADS so that a run beside other jobs
# stays within what it was given.
synth=("$freehead" synth --out "$work/data" --identities 10 --clips-per-identity 1 --frames 40 --size "$size"
       --seed 1 --pairs 8 --quiet)
show env FH_NUM_THREADS="$threads" "${synth[@]}"
FH_NUM_THREADS=$threads "${synth[@]}" >/dev/null

train=("$freehead" train "$task" --data "$work/data" --out "$work/run" --config "$config" --batch "$batch"
       --threads "$threads" --steps "$steps" --validate-every 0 --sample-every 0 --checkpoint-every 0
       --log-every 1 --workers 1 --quiet)
if [ -x /usr/bin/time ]; then
  show /usr/bin/time -v "${train[@]}"
  /usr/bin/time -v -o "$work/time.txt" "${train[@]}" >"$work/train.out"
  fh_peak_kib=$(awk -F: '/Maximum resident set size/{gsub(/ /, "", $2); print $2}' "$work/time.txt")
else
  # No GNU time: poll the kernel's high-water mark of the running process. VmHWM never
  # decreases, so the last reading before exit is the peak up to then (growth in the final
  # poll interval can be missed).
  show "${train[@]}"
  "${train[@]}" >"$work/train.out" &
  pid=$!
  fh_peak_kib=0
  while kill -0 "$pid" 2>/dev/null; do
    hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$hwm" ] && fh_peak_kib=$hwm
    sleep 0.05
  done
  wait "$pid"
fi
ours=$("$python" - "$work/run/log.jsonl" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# The first two steps carry one-time costs (allocations, Adam's state, the loader filling).
rates = [l["steps_per_s"] for l in lines[2:] if l["steps_per_s"] > 0]
if not rates:
    sys.exit(f"{sys.argv[1]}: no step after the first 2 to time")
print(statistics.median(1000 / r for r in rates))
PY
)

torch_cmd=("$python" "$root/tools/reference/train_step.py" --task "$task" --config "$config" --batch "$batch"
           --threads "$threads" --steps $((steps - 2)) --warmup 2)
show "${torch_cmd[@]}"
torch_json=$("${torch_cmd[@]}")
echo "$torch_json" >&2

"$python" - "$task" "$config" "$batch" "$threads" "$ours" "$fh_peak_kib" "$torch_json" "${FH_TABLE_HEADER:-1}" <<'PY'
import json, sys
task, config, batch, threads, ours, fh_kib, torch_json, header = sys.argv[1:]
t = json.loads(torch_json)
ours, theirs = float(ours), t["step_ms_median"]
if header != "0":
    print("| task | config | batch | threads | freehead ms/step | PyTorch ms/step | ratio | freehead peak MiB | PyTorch peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {task} | {config} | {batch} | {threads} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.3f} | "
      f"{int(fh_kib) / 1024:.0f} | {t['peak_rss_mb']:.0f} |")
PY
