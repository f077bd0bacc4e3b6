#!/usr/bin/env bash
# The reenactment pipeline per driving frame, freehead (`freehead reenact`) against the
# PyTorch reference (tools/reference/pipeline_step.py) on the same CPU threads.
#
# usage: benchmarks/pipeline_vs_torch.sh [CONFIG] [SOURCES] [THREADS] [FRAMES] [RUNS]
#   defaults: tiny 1 <all cores> 24 3. SOURCES > 1 runs the N-shot generator (gen-nshot);
#   FRAMES is the length of the driving clip (and the number of source frames to pick from,
#   so SOURCES <= FRAMES). Each side runs RUNS times, alternating, and its fastest run is
#   reported: on a shared 2-core machine one process's time per frame varies by up to 1.7x
#   from run to run (PyTorch's more than freehead's), and the best run is the one least
#   disturbed.
# Needs a built `build/bin/freehead` (FREEHEAD overrides) and a python with torch
# (FH_ORACLE_PYTHON overrides; default /usr/bin/python3). Prints the commands it runs to
# stderr, then a Markdown table (FH_TABLE_HEADER=0 leaves out the header, for collecting
# several rows).
#
# Both sides use randomly initialised networks: the time per frame does not depend on the
# weights, and freshly initialised files need no training run.
#
# What each number is:
# - freehead ms/frame: the "X ms per frame" of `freehead reenact`, the MEAN of
#   Reenactor::last_timing().total_ms over every frame of the clip (the first included:
#   freehead has no warm-up frame, though prepare() and the reference read of frame 0 have
#   already run E_can and E_gaze once). The timer starts in reenact() after the PNG was
#   decoded (FrameSource::frame), so file reading and decoding are out; it includes the
#   8-bit image to a float tensor, the resize to S, E_can, the eye crops and E_gaze, the
#   relative motion and Eq. 2, the target sketch, G's forward_encoded, and turning ŷ, x̄, the
#   sketches and the flow into 8-bit images. Writing PNGs, the sheet and the GIF is out.
#   The split (E_can / E_gaze / sketch / G) is the "per frame:" line, also means; E_gaze
#   includes the eye crops, G is forward_encoded alone. Sources are prepared once, untimed.
# - PyTorch ms/frame: pipeline_step.py's MEDIANS over FRAMES frames after 2 warm-up frames,
#   of the same work on random 8-bit driver images at 2·S (the sources' encoder features are
#   cached as in freehead; see the script's docstring). Its sketch is geometry.draw_sketch
#   in NumPy (float64, one thread whatever THREADS is), its eye crops geometry.crop_boxes
#   (grid_sample in float64), both the reference's exact evaluations rather than tuned code;
#   of the result images it converts ŷ and x̄ only.
# - ratio: freehead ms / PyTorch ms per frame (below 1: freehead is faster), each side's
#   fastest of RUNS runs.
set -euo pipefail
config=${1:-tiny}
sources=${2:-1}
threads=${3:-$(nproc)}
frames=${4:-24}
runs=${5:-3}
case $config in
  tiny) size=64 ;;
  small) size=128 ;;
  paper) size=256 ;;
  *) echo "pipeline_vs_torch.sh: CONFIG must be tiny, small or paper, got '$config'" >&2; exit 2 ;;
esac
for v in "$sources" "$threads" "$frames" "$runs"; do
  if ! [ "$v" -ge 1 ] 2>/dev/null; then
    echo "pipeline_vs_torch.sh: SOURCES, THREADS, FRAMES and RUNS must be positive integers, got '$v'" >&2
    exit 2
  fi
done
if [ "$sources" -gt "$frames" ]; then
  echo "pipeline_vs_torch.sh: SOURCES ($sources) must not exceed FRAMES ($frames): sources are frames of a clip" >&2
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

# Random weights for every network a models folder can hold; gen-nshot is packed even for
# one source (reenact then uses gen), so the folder is the same whatever SOURCES is.
for net in kp gaze gen gen-nshot; do
  cmd=("$freehead" init --net "$net" --config "$config" --seed 1 --out "$work/$net.safetensors")
  show "${cmd[@]}"
  "${cmd[@]}" >/dev/null
done
cmd=("$freehead" pack-models --config "$config" --kp "$work/kp.safetensors" --gaze "$work/gaze.safetensors"
     --gen "$work/gen.safetensors" --gen-nshot "$work/gen-nshot.safetensors" --out "$work/models")
show "${cmd[@]}"
"${cmd[@]}" >/dev/null

# Two people, one clip each, at twice the models' size: the eye crops then come from a larger
# image than E_can and G see, as in `freehead demo`. The first person drives, the second's
# frames are the sources (spread over the clip). Not timed; its threads follow THREADS so that
# a run beside other jobs stays within what it was given.
synth=("$freehead" synth --out "$work/data" --identities 2 --clips-per-identity 1 --frames "$frames"
       --size $((2 * size)) --seed 1 --quiet)
show env FH_NUM_THREADS="$threads" "${synth[@]}"
FH_NUM_THREADS=$threads "${synth[@]}" >/dev/null
source_flags=()
for ((i = 0; i < sources; i++)); do
  k=$((sources == 1 ? 0 : i * (frames - 1) / (sources - 1)))
  source_flags+=(-s "$(printf '%s/data/clips/id0001_c00/%06d.png' "$work" "$k")")
done

# --no-crop: the rendered frames are face crops already (the timing is of the networks).
# --single-reading: E_can reads each face once, as the reference does (by default freehead
# also reads the mirror image and averages, which doubles E_can's share).
reenact=("$freehead" reenact "${source_flags[@]}" -d "$work/data/clips/id0000_c00" -o "$work/out"
         --models "$work/models" --no-crop --single-reading)
torch_cmd=("$python" "$root/tools/reference/pipeline_step.py" --config "$config" --sources "$sources"
           --threads "$threads" --frames "$frames" --warmup 2 --driver-size $((2 * size)))
fh_logs=()
torch_jsons=()
for ((r = 1; r <= runs; r++)); do
  rm -rf "$work/out"
  show env FH_NUM_THREADS="$threads" "${reenact[@]}"
  # Captured, then echoed: `tee /dev/stderr` would reopen stderr and, when it is a file,
  # write over what the script already logged there.
  fh_log=$(FH_NUM_THREADS=$threads "${reenact[@]}")
  printf '%s\n' "$fh_log" >&2
  fh_logs+=("$fh_log")
  show "${torch_cmd[@]}"
  torch_json=$("${torch_cmd[@]}")
  echo "$torch_json" >&2
  torch_jsons+=("$torch_json")
done

"$python" - "$config" "$sources" "$threads" "$runs" "${FH_TABLE_HEADER:-1}" "${fh_logs[@]}" "${torch_jsons[@]}" <<'PY'
import json, re, sys
config, sources, threads, runs, header = sys.argv[1:6]
runs = int(runs)
fh_logs, torch_jsons = sys.argv[6:6 + runs], sys.argv[6 + runs:6 + 2 * runs]

def ours(log):
    total = re.search(r"([0-9.]+) ms per frame", log)
    if not total:
        sys.exit("pipeline_vs_torch.sh: no 'ms per frame' line in freehead reenact's output")
    # Older binaries print no "per frame:" split; the total is still comparable.
    split = re.search(r"per frame: E_can ([0-9.]+) ms, E_gaze ([0-9.]+) ms, sketch ([0-9.]+) ms, G ([0-9.]+) ms", log)
    return float(total.group(1)), (" / ".join(f"{float(v):.1f}" for v in split.groups()) if split else "n/a")

fh = [ours(log) for log in fh_logs]
th = [json.loads(j) for j in torch_jsons]
best_fh = min(fh)
best_th = min(th, key=lambda t: t["ms_per_frame_median"])
theirs = best_th["ms_per_frame_median"]
theirs_split = " / ".join(f"{best_th[k]:.1f}" for k in ("kp_ms", "gaze_ms", "sketch_ms", "generator_ms"))
spread = lambda xs: f"{min(xs):.1f}-{max(xs):.1f}"
if header != "0":
    print("| config | sources | threads | freehead ms/frame (E_can / E_gaze / sketch / G) "
          "| PyTorch ms/frame (E_can / E_gaze / sketch / G) | ratio | runs: freehead, PyTorch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
print(f"| {config} | {sources} | {threads} | {best_fh[0]:.1f} ({best_fh[1]}) | {theirs:.1f} ({theirs_split}) "
      f"| {best_fh[0] / theirs:.3f} | {runs}: {spread([f[0] for f in fh])}, "
      f"{spread([t['ms_per_frame_median'] for t in th])} |")
PY
