#!/usr/bin/env bash
# The bad-input matrix: every command that reads or writes files, fed each kind of bad input
# a user or a stranger's file can give it — a missing file, an empty one, a truncated one, a
# wrong dtype, a wrong shape, NaN/Inf values, the wrong format (text for an image, an image
# for a tensor file), a folder where a file belongs, a read-only output folder, a full disk,
# an unknown or malformed flag. Every row must end with:
#   - the exit status it names (1: a bad file or a failed write, 2: a bad flag), never a signal;
#   - exactly one line of error, matching the row's pattern (the file, tensor, shape or flag);
#   - no output under the row's output name, and no temporary or staging file anywhere;
#   - for the full-disk rows, the file an earlier run wrote there unchanged.
# Read-only and full-disk rows mount a small tmpfs in a private mount namespace (as root;
# unprivileged runs use a chmod-ed folder instead of the read-only mount and say which rows
# they could not run). docs/reliability.md has the matrix as a table.
# usage: tests/cli/cli_input_matrix.sh path/to/freehead
set -uo pipefail
freehead=$(realpath "${1:?usage: cli_input_matrix.sh path/to/freehead}")
here=$(cd "$(dirname "$0")" && pwd)
models=$(cd "$here/../../models/tiny" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$here/expect.sh"
craft() { /usr/bin/python3 "$here/craft_safetensors.py" "$@" >/dev/null; }
export FH_NUM_THREADS=1

rows=0
# row COMMAND KIND STATUS PATTERN OUTPUT -- ARGS...: OUTPUT ("" for none) must not exist after.
row() {
  local cmd=$1 kind=$2 status=$3 pattern=$4 out=$5
  shift 6
  local text rc problems=() n
  text=$(cd "$work" && "$freehead" "$cmd" "$@" 2>&1)
  rc=$?
  rows=$((rows + 1))
  [ "$rc" -eq "$status" ] || problems+=("exit $rc, want $status")
  grep -Eq -- "$pattern" <<<"$text" || problems+=("no line matches /$pattern/")
  n=$(grep -Ec "^freehead [a-z-]+: " <<<"$text")
  [ "$n" -eq 1 ] || problems+=("$n error lines, want 1")
  [ -z "$out" ] || [ ! -e "$out" ] || problems+=("'$out' was written")
  local left
  left=$(find "$work" \( -name '*.tmp.*' -o -name '.*.partial-*' -o -name '.tmp_*' -o -name core \) -print | head -3)
  [ -z "$left" ] || problems+=("left behind: $left")
  if [ ${#problems[@]} -eq 0 ]; then
    echo "ok   $cmd × $kind"
  else
    echo "FAIL $cmd × $kind: $(IFS=';'; echo "${problems[*]}")"
    sed 's/^/    /' <<<"$text" | head -8
    failures=$((failures + 1))
    find "$work" \( -name '*.tmp.*' -o -name '.*.partial-*' -o -name '.tmp_*' \) -exec rm -rf {} + 2>/dev/null
  fi
}

# ---- Fixtures: good files, then one damaged copy per kind ---------------------------------
"$freehead" init --net kp --config tiny --seed 1 --out "$work/kp.safetensors" >/dev/null || { echo "FAIL init"; exit 1; }
"$freehead" synth --out "$work/data" --identities 6 --clips-per-identity 1 --frames 4 --size 64 --seed 2 --pairs 2 \
  --quiet >/dev/null || { echo "FAIL synth"; exit 1; }
clip=$work/data/clips/id0000_c00
src=$clip/000000.png
image_bytes=$((3 * 64 * 64 * 4))
st_file "$work/image.safetensors" "{\"image\":{\"dtype\":\"F32\",\"shape\":[1,3,64,64],\"data_offsets\":[0,$image_bytes]}}" \
  < <(head -c "$image_bytes" /dev/zero)
st_file "$work/points.safetensors" '{"points":{"dtype":"F32","shape":[68,2],"data_offsets":[0,544]}}' \
  < <(head -c 544 /dev/zero)
: >"$work/empty"
mkdir -p "$work/folder" "$work/empty-folder"
echo "this is not an image" >"$work/text.png"
half() { head -c $(($(stat -c %s "$1") / 2)) "$1" >"$2"; }
half "$work/kp.safetensors" "$work/kp-cut.safetensors"
half "$src" "$work/cut.png"
half "$work/points.safetensors" "$work/points-cut.safetensors"
half "$work/image.safetensors" "$work/image-cut.safetensors"
for how in dtype shape nan inf; do
  craft "$work/kp.safetensors" "$work/kp-$how.safetensors" "$how"
  craft "$work/image.safetensors" "$work/image-$how.safetensors" "$how"
done
craft "$work/points.safetensors" "$work/points-dtype.safetensors" dtype
st_file "$work/points-shape.safetensors" '{"points":{"dtype":"F32","shape":[10,2],"data_offsets":[0,80]}}' \
  < <(head -c 80 /dev/zero)
craft "$work/points.safetensors" "$work/points-nan.safetensors" nan
"$freehead" sketch --points "$work/points.safetensors" --out "$work/small.png" --size 32 >/dev/null
# Models folders with one damaged weights file each (float16 tensors).
for how in cut dtype shape nan; do
  cp -r "$models" "$work/models-$how"
  if [ "$how" = cut ]; then half "$models/kp.safetensors" "$work/models-$how/kp.safetensors"
  else craft "$models/kp.safetensors" "$work/models-$how/kp.safetensors" "$how"; fi
done
cp -r "$models" "$work/models-json"; head -c 40 "$models/models.json" >"$work/models-json/models.json"
# Datasets: a truncated manifest, a frame that is not an image, damaged annotations.
for how in manifest frame dtype shape nan; do cp -r "$work/data" "$work/data-$how"; done
half "$work/data/manifest.json" "$work/data-manifest/manifest.json"
for f in "$work"/data-frame/clips/*/00000[0-3].png; do cp "$work/text.png" "$f"; done
for how in dtype shape nan; do
  craft "$work/data/clips/id0000_c00/annotations.safetensors" "$work/data-$how/clips/id0000_c00/annotations.safetensors" "$how"
done
# A run with a checkpoint, and copies with a damaged one.
"$freehead" train kp --data "$work/data" --out "$work/run" --steps 1 --batch 2 --workers 0 --validate-every 0 \
  --sample-every 0 --quiet >/dev/null || { echo "FAIL train fixture"; exit 1; }
ckpt=$(ls -d "$work"/run/checkpoints/step_* | tail -1)
cp -r "$work/run" "$work/run-cut"
half "$ckpt/weights.safetensors" "$work/run-cut/checkpoints/$(basename "$ckpt")/weights.safetensors"
cp -r "$work/run" "$work/run-shape"
craft "$ckpt/weights.safetensors" "$work/run-shape/checkpoints/$(basename "$ckpt")/weights.safetensors" shape
mkdir -p "$work/run-empty"

W=$work
# ---- sketch ------------------------------------------------------------------------------------
o=$W/s.png
row sketch missing 1 "absent\.safetensors" "$o" -- --points "$W/absent.safetensors" --out "$o"
row sketch empty 1 "$W/empty: file is 0 bytes" "$o" -- --points "$W/empty" --out "$o"
row sketch truncated 1 "points-cut\.safetensors" "$o" -- --points "$W/points-cut.safetensors" --out "$o"
row sketch dtype 1 "points-dtype\.safetensors: tensor 'points' has unsupported dtype 'I32'" "$o" -- --points "$W/points-dtype.safetensors" --out "$o"
row sketch shape 1 "points.*\[10, 2\]" "$o" -- --points "$W/points-shape.safetensors" --out "$o"
row sketch nonfinite 1 "points-nan\.safetensors.*not finite" "$o" -- --points "$W/points-nan.safetensors" --out "$o"
row sketch format 1 "000000\.png" "$o" -- --points "$src" --out "$o"
row sketch directory 1 "'$W/folder' is a directory" "$o" -- --points "$W/folder" --out "$o"
row sketch output-is-folder 1 "'$W/folder'" "" -- --points "$W/points.safetensors" --out "$W/folder"
row sketch flag 2 "--size expects an integer, got 'big'" "$o" -- --points "$W/points.safetensors" --out "$o" --size big
row sketch flag 2 "unknown option --colour" "$o" -- --points "$W/points.safetensors" --out "$o" --colour red

# ---- init ----------------------------------------------------------------------------------------
o=$W/i.safetensors
row init missing 1 "absent\.safetensors" "$o" -- --net kp --config tiny --pretrained "$W/absent.safetensors" --out "$o"
row init empty 1 "$W/empty: file is 0 bytes" "$o" -- --net kp --config tiny --pretrained "$W/empty" --out "$o"
row init truncated 1 "kp-cut\.safetensors" "$o" -- --net kp --config tiny --pretrained "$W/kp-cut.safetensors" --out "$o"
row init dtype 1 "kp-dtype\.safetensors: tensor 'kp\.stem\.conv\.weight' has unsupported dtype 'I32'" "$o" -- --net kp --config tiny --pretrained "$W/kp-dtype.safetensors" --out "$o"
row init shape 1 "kp-shape\.safetensors' does not fit \(kp\)" "$o" -- --net kp --config tiny --pretrained "$W/kp-shape.safetensors" --out "$o"
row init nonfinite 1 "kp-nan\.safetensors' holds non-finite weights" "$o" -- --net kp --config tiny --pretrained "$W/kp-nan.safetensors" --out "$o"
row init format 1 "000000\.png" "$o" -- --net kp --config tiny --pretrained "$src" --out "$o"
row init directory 1 "'$W/folder' is a directory" "$o" -- --net kp --config tiny --pretrained "$W/folder" --out "$o"
row init output-is-folder 1 "'$W/folder'" "" -- --net kp --config tiny --out "$W/folder"
row init flag 2 "--net must be one of" "$o" -- --net kq --config tiny --out "$o"
row init flag 2 "--seed expects an integer" "$o" -- --net kp --config tiny --seed 1.5 --out "$o"

# ---- run -----------------------------------------------------------------------------------------
o=$W/r.safetensors
run_kp() { row run "$1" "$2" "$3" "$o" -- --net kp --config tiny "${@:4}" --output "$o"; }
run_kp missing-weights 1 "absent\.safetensors" --weights "$W/absent.safetensors" --inputs "$W/image.safetensors"
run_kp missing-inputs 1 "absent\.safetensors" --weights "$W/kp.safetensors" --inputs "$W/absent.safetensors"
run_kp empty 1 "$W/empty: file is 0 bytes" --weights "$W/kp.safetensors" --inputs "$W/empty"
run_kp truncated-weights 1 "kp-cut\.safetensors" --weights "$W/kp-cut.safetensors" --inputs "$W/image.safetensors"
run_kp truncated-inputs 1 "image-cut\.safetensors" --weights "$W/kp.safetensors" --inputs "$W/image-cut.safetensors"
run_kp dtype-weights 1 "kp-dtype\.safetensors: tensor 'kp\.stem\.conv\.weight' has unsupported dtype" --weights "$W/kp-dtype.safetensors" --inputs "$W/image.safetensors"
run_kp dtype-inputs 1 "image-dtype\.safetensors: tensor 'image' has unsupported dtype 'I32'" --weights "$W/kp.safetensors" --inputs "$W/image-dtype.safetensors"
run_kp shape-weights 1 "kp-shape\.safetensors' does not fit" --weights "$W/kp-shape.safetensors" --inputs "$W/image.safetensors"
run_kp shape-inputs 1 "image-shape\.safetensors: kp: input 'image' must be \[\.\.\., 3, 64, 64\], got \[64, 64, 3, 1\]" --weights "$W/kp.safetensors" --inputs "$W/image-shape.safetensors"
run_kp nonfinite-weights 1 "kp-nan\.safetensors' holds non-finite weights" --weights "$W/kp-nan.safetensors" --inputs "$W/image.safetensors"
run_kp nonfinite-inputs 1 "image-inf\.safetensors.*not finite" --weights "$W/kp.safetensors" --inputs "$W/image-inf.safetensors"
run_kp format 1 "000000\.png" --weights "$W/kp.safetensors" --inputs "$src"
run_kp directory 1 "'$W/folder' is a directory" --weights "$W/folder" --inputs "$W/image.safetensors"
row run output-is-folder 1 "'$W/folder'" "" -- --net kp --config tiny --weights "$W/kp.safetensors" \
  --inputs "$W/image.safetensors" --output "$W/folder"
row run flag 2 "--device must be" "$o" -- --net kp --config tiny --weights "$W/kp.safetensors" \
  --inputs "$W/image.safetensors" --output "$o" --device gpu7
row run flag 2 "--inputs is required" "$o" -- --net kp --config tiny --weights "$W/kp.safetensors" --output "$o"

# ---- bench ---------------------------------------------------------------------------------------
row bench missing 1 "absent\.safetensors" "" -- --net kp --config tiny --iters 1 --weights "$W/absent.safetensors"
row bench truncated 1 "kp-cut\.safetensors" "" -- --net kp --config tiny --iters 1 --weights "$W/kp-cut.safetensors"
row bench shape 1 "image-shape\.safetensors: kp: input 'image' must be" "" -- --net kp --config tiny --iters 1 --inputs "$W/image-shape.safetensors"
row bench nonfinite 1 "image-nan\.safetensors.*not finite" "" -- --net kp --config tiny --iters 1 --inputs "$W/image-nan.safetensors"
row bench flag 2 "--iters must be" "" -- --net kp --config tiny --iters 0

# ---- cost, info ------------------------------------------------------------------------------------
row cost flag 2 "--net must be one of" "" -- --net bogus
row cost flag 2 "--config: 1 required VALUE missing" "" -- --config
row info flag 2 "unknown option '--verbose'" "" -- --verbose

# ---- synth ---------------------------------------------------------------------------------------
synth_args=(--identities 2 --clips-per-identity 1 --frames 2 --size 64 --seed 1 --quiet)
row synth existing-output 1 "'$W/data' is not empty" "" -- --out "$W/data" "${synth_args[@]}"
row synth output-is-file 1 "'$W/empty' exists and is not a folder" "" -- --out "$W/empty" "${synth_args[@]}"
row synth flag 2 "--size must be 64\.\.512, got 63" "$W/d2" -- --out "$W/d2" --identities 2 --clips-per-identity 1 \
  --frames 2 --size 63 --seed 1 --quiet
row synth flag 2 "--seed is required" "$W/d2" -- --out "$W/d2" --identities 2 --clips-per-identity 1 \
  --frames 2 --size 64 --quiet

# ---- train ---------------------------------------------------------------------------------------
o=$W/t
train_kp() { row train "$1" "$2" "$3" "$o-$1" -- kp --out "$o-$1" --steps 1 --batch 2 --workers 0 --quiet "${@:4}"; }
train_kp missing 1 "absent" --data "$W/absent"
train_kp empty 1 "empty-folder/manifest\.json" --data "$W/empty-folder"
train_kp truncated 1 "data-manifest/manifest\.json" --data "$W/data-manifest"
train_kp dtype 1 "id0000_c00/annotations\.safetensors: tensor 'keypoints' has unsupported dtype 'I32'" --data "$W/data-dtype"
train_kp shape 1 "id0000_c00/annotations\.safetensors" --data "$W/data-shape"
train_kp nonfinite 1 "id0000_c00/annotations\.safetensors': tensor 'keypoints' holds a non-finite value" --data "$W/data-nan"
train_kp format 1 "clips/id[0-9_c]+/00000[0-3]\.png' is not a readable PNG" --data "$W/data-frame" --validate-every 0
train_kp directory 1 "cannot open '$W/empty/manifest\.json': Not a directory" --data "$W/empty"
train_kp init-truncated 1 "kp-cut\.safetensors" --data "$W/data" --init "$W/kp-cut.safetensors"
train_kp init-shape 1 "kp-shape\.safetensors' does not fit" --data "$W/data" --init "$W/kp-shape.safetensors"
train_kp init-nonfinite 1 "kp-nan\.safetensors' holds non-finite weights" --data "$W/data" --init "$W/kp-nan.safetensors"
row train resume-missing 1 "'$W/absent' is not a run folder" "" -- --resume "$W/absent" --quiet
row train resume-empty 1 "'$W/run-empty' is not a run folder" "" -- --resume "$W/run-empty" --quiet
row train resume-truncated 1 "run-cut/checkpoints/step_[0-9]+/weights\.safetensors" "" -- --resume "$W/run-cut" --steps 2 --quiet
row train resume-shape 1 "run-shape/checkpoints/step_[0-9]+/weights\.safetensors' does not fit" "" -- --resume "$W/run-shape" --steps 2 --quiet
row train existing-output 1 "'$W/run' already holds a run" "" -- kp --data "$W/data" --out "$W/run" --steps 1 \
  --batch 2 --workers 0 --quiet
row train flag 2 "--batch must be" "$o" -- kp --data "$W/data" --out "$o" --batch 0 --quiet
row train flag 2 "kp, gaze or gen|unknown task" "" -- kq --data "$W/data" --out "$o"

# ---- reenact, edit, demo --------------------------------------------------------------------------
o=$W/out
# --no-crop: the rendered 64² faces are crops already (face detection has its own tests,
# tests/cli/cli_real_images.sh).
re() { row reenact "$1" "$2" "$3" "$o" -- -o "$o" --no-crop "${@:4}"; }
re missing 1 "absent\.png" -s "$W/absent.png" -d "$clip"
re empty 1 "'$W/empty'|empty" -s "$W/empty" -d "$clip"
re truncated 1 "cut\.png" -s "$W/cut.png" -d "$clip"
re shape 1 "source 1 = .*small\.png: reenact: source 1 is 32x32, smaller than" -s "$W/small.png" -d "$clip"
re format 1 "text\.png" -s "$src" -d "$W/text.png"
re directory 1 "'$W/folder'" -s "$W/folder" -d "$clip"
re empty-folder 1 "empty-folder" -s "$src" -d "$W/empty-folder"
re models-missing 1 "absent" -s "$src" -d "$clip" --models "$W/absent"
re models-empty 1 "empty-folder' is not a models folder \(no models\.json\)" -s "$src" -d "$clip" --models "$W/empty-folder"
re models-json 1 "models-json/models\.json" -s "$src" -d "$clip" --models "$W/models-json"
re models-truncated 1 "models-cut/kp\.safetensors" -s "$src" -d "$clip" --models "$W/models-cut"
re models-dtype 1 "models-dtype/kp\.safetensors.*(int16|I16)" -s "$src" -d "$clip" --models "$W/models-dtype"
re models-shape 1 "models-shape/kp\.safetensors' does not fit" -s "$src" -d "$clip" --models "$W/models-shape"
re models-nonfinite 1 "models-nan/kp\.safetensors' holds non-finite weights" -s "$src" -d "$clip" --models "$W/models-nan"
row reenact existing-output 1 "'$W/data' is not empty" "" -- -s "$src" -d "$clip" -o "$W/data" --no-crop
re flag 2 "--gaze" -s "$src" -d "$clip" --gaze sideways
re flag 2 "--relative and --absolute" -s "$src" -d "$clip" --relative --absolute
row edit missing 1 "absent\.png" "$o" -- -s "$W/absent.png" -o "$o" --yaw 10 --no-crop
row edit format 1 "text\.png" "$o" -- -s "$W/text.png" -o "$o" --yaw 10 --no-crop
row edit models-nonfinite 1 "models-nan/kp\.safetensors' holds non-finite weights" "$o" -- -s "$src" -o "$o" --models "$W/models-nan" --no-crop
row edit flag 2 "--sweep" "$o" -- -s "$src" -o "$o" --sweep yaw=-30:30 --no-crop
row edit flag 2 "--sweep" "$o" -- -s "$src" -o "$o" --sweep height=1:2:3 --no-crop
row demo models-truncated 1 "models-cut/kp\.safetensors" "$o" -- --out "$o" --frames 2 --models "$W/models-cut"
row demo existing-output 1 "'$W/data' is not empty" "" -- --out "$W/data" --frames 2
row demo flag 2 "--frames must be" "$o" -- --out "$o" --frames 0

# ---- pack-models, eval ------------------------------------------------------------------------------
o=$W/packed
pk() { row pack-models "$1" "$2" "$3" "$o" -- --config tiny --out "$o" --gen-nshot "$models/gen-nshot.safetensors" "${@:4}"; }
pk missing 1 "absent\.safetensors" --kp "$W/absent.safetensors" --gaze "$models/gaze.safetensors"
pk truncated 1 "kp-cut\.safetensors" --kp "$W/kp-cut.safetensors" --gaze "$models/gaze.safetensors"
pk shape 1 "kp-shape\.safetensors' does not fit" --kp "$W/kp-shape.safetensors" --gaze "$models/gaze.safetensors"
pk nonfinite 1 "kp-nan\.safetensors' holds non-finite weights" --kp "$W/kp-nan.safetensors" --gaze "$models/gaze.safetensors"
pk wrong-network 1 "gaze\.safetensors.*kp\." --kp "$models/gaze.safetensors" --gaze "$models/gaze.safetensors"
row pack-models existing-output 1 "'$W/data' is not empty" "" -- --config tiny --kp "$W/kp.safetensors" \
  --gaze "$models/gaze.safetensors" --gen-nshot "$models/gen-nshot.safetensors" --out "$W/data"
o=$W/ev
ev() { row eval "$1" "$2" "$3" "$o" -- --out "$o" --tables components --max-clips 1 "${@:4}"; }
ev missing 1 "absent/manifest\.json" --data "$W/absent"
ev truncated 1 "data-manifest/manifest\.json" --data "$W/data-manifest"
ev nonfinite 1 "annotations\.safetensors': tensor 'keypoints' holds a non-finite value" --data "$W/data-nan" --split train
ev models-truncated 1 "models-cut/kp\.safetensors" --data "$W/data" --models "$W/models-cut"
ev flag 2 "--tables" --data "$W/data" --tables everything

# ---- Read-only output folders and a full disk ------------------------------------------------------------
# ON_MOUNT OPTIONS SETUP COMMAND...: runs in a private mount namespace with a tmpfs mounted
# at $W/mnt (OPTIONS: "ro", or a size), after SETUP (a shell snippet run on the mount).
mounted=0
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then mounted=1; fi
mkdir -p "$W/mnt"
# disk_row COMMAND KIND STATUS PATTERN OUTPUT KEEP OPTIONS -- ARGS...: KEEP (a file under
# $W/mnt written before, or "") must be byte-identical afterwards.
disk_row() {
  local cmd=$1 kind=$2 status=$3 pattern=$4 out=$5 keep=$6 opts=$7
  shift 8
  if [ "$mounted" -eq 0 ]; then
    echo "not run: $cmd × $kind (needs root and mount namespaces)"
    return
  fi
  rows=$((rows + 1))
  local text rc
  text=$(unshare -m bash -s -- "$freehead" "$W" "$opts" "$keep" "$status" "$pattern" "$out" "$@" 2>&1 <<'INNER'
freehead=$1 W=$2 opts=$3 keep=$4 status=$5 pattern=$6 out=$7; shift 7
mount --make-rprivate / 2>/dev/null
if [ "$opts" = ro ]; then
  mount -t tmpfs -o size=4m tmpfs "$W/mnt" && mkdir -p "$W/mnt/sub" && mount -o remount,ro "$W/mnt" || exit 90
else
  mount -t tmpfs -o "size=$opts" tmpfs "$W/mnt" || exit 90
  mkdir -p "$W/mnt/sub"
  [ -z "$keep" ] || cp "$W/keep-source" "$keep"
  # Fill what is left, so the next write fails with ENOSPC.
  dd if=/dev/zero of="$W/mnt/filler" bs=4k 2>/dev/null
fi
before=""; [ -z "$keep" ] || before=$(sha256sum <"$keep")
text=$(cd "$W" && "$freehead" "$@" 2>&1); rc=$?
problems=()
[ "$rc" -eq "$status" ] || problems+=("exit $rc, want $status")
grep -Eq -- "$pattern" <<<"$text" || problems+=("no line matches /$pattern/")
n=$(grep -Ec "^freehead [a-z-]+: " <<<"$text"); [ "$n" -eq 1 ] || problems+=("$n error lines, want 1")
[ -z "$out" ] || [ ! -e "$out" ] || problems+=("'$out' was written")
[ -z "$keep" ] || [ "$(sha256sum <"$keep")" = "$before" ] || problems+=("the earlier '$keep' changed")
left=$(find "$W/mnt" \( -name '*.tmp.*' -o -name '.*.partial-*' -o -name '.tmp_*' \) -print | head -3)
[ -z "$left" ] || problems+=("left behind: $left")
if [ ${#problems[@]} -eq 0 ]; then echo "ROW-OK"; else echo "ROW-FAIL $(IFS=';'; echo "${problems[*]}")"; echo "$text" | head -8; fi
INNER
)
  rc=$?
  if [ "$rc" -eq 90 ]; then
    echo "not run: $cmd × $kind (mounting a tmpfs failed)"
    rows=$((rows - 1))
  elif grep -q "^ROW-OK" <<<"$text"; then
    echo "ok   $cmd × $kind"
  else
    echo "FAIL $cmd × $kind: $(grep "^ROW-FAIL" <<<"$text" | cut -c10-)"
    grep -v "^ROW-" <<<"$text" | sed 's/^/    /' | head -8
    failures=$((failures + 1))
  fi
}
M=$W/mnt/sub
cp "$W/kp.safetensors" "$W/keep-source"
disk_row init read-only 1 "Read-only file system" "" "" ro -- init --net kp --config tiny --out "$M/w.safetensors"
disk_row init disk-full 1 "w\.safetensors' failed: No space left on device \(the previous file, if any, is kept\)" "" \
  "$M/w.safetensors" 512k -- init --net kp --config small --out "$M/w.safetensors"
disk_row run disk-full 1 "r\.safetensors' failed: No space left on device" "$M/r.safetensors" "" 256k -- \
  run --net kp --config tiny --weights "$W/kp.safetensors" --inputs "$W/image.safetensors" --output "$M/r.safetensors"
disk_row sketch read-only 1 "Read-only file system" "$M/s.png" "" ro -- sketch --points "$W/points.safetensors" --out "$M/s.png"
disk_row sketch disk-full 1 "s\.png' failed: No space left on device" "$M/s.png" "" 64k -- \
  sketch --points "$W/points.safetensors" --out "$M/s.png" --size 512
disk_row synth read-only 1 "Read-only file system" "$M/d" "" ro -- synth --out "$M/d" "${synth_args[@]}"
disk_row synth disk-full 1 "No space left on device" "$M/d" "" 128k -- synth --out "$M/d" --identities 2 \
  --clips-per-identity 1 --frames 8 --size 128 --seed 1 --quiet
disk_row reenact read-only 1 "Read-only file system" "$M/o" "" ro -- reenact -s "$src" -d "$clip" -o "$M/o" --no-crop
disk_row reenact disk-full 1 "No space left on device" "$M/o" "" 64k -- reenact -s "$src" -d "$clip" -o "$M/o" --no-crop
disk_row edit disk-full 1 "No space left on device" "$M/o" "" 64k -- edit -s "$src" -o "$M/o" --sweep yaw=-20:20:5 --no-crop
disk_row demo read-only 1 "Read-only file system" "$M/o" "" ro -- demo --out "$M/o" --frames 2
disk_row pack-models disk-full 1 "No space left on device" "$M/p" "" 512k -- pack-models --config tiny \
  --kp "$models/kp.safetensors" --gaze "$models/gaze.safetensors" --gen-nshot "$models/gen-nshot.safetensors" --out "$M/p"
disk_row eval read-only 1 "Read-only file system" "" "" ro -- eval --data "$W/data" --out "$M/ev" --tables components \
  --max-clips 1
disk_row train read-only 1 "Read-only file system" "$M/t" "" ro -- train kp --data "$W/data" --out "$M/t" --steps 1 \
  --batch 2 --workers 0 --quiet

echo "$rows rows"
finish "bad-input matrix"
