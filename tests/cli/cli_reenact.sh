#!/usr/bin/env bash
# reenact, edit, demo and pack-models end to end on freshly initialised tiny models (what the
# commands do, not how well: the shipped models are judged in tests/test_pipeline.cpp), and
# every bad input a user meets first — a missing or mismatched models folder, a non-image, an
# empty frame folder, a blank frame, conflicting flags — each a clear error naming the file
# or flag, a non-zero exit and no output folder left behind.
# usage: tests/cli/cli_reenact.sh path/to/freehead
set -uo pipefail
freehead=${1:?usage: cli_reenact.sh path/to/freehead}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"
absent() {  # absent NAME PATH: a failed command left nothing behind
  if [ -e "$2" ] || compgen -G "$(dirname "$2")/.$(basename "$2").partial-*" >/dev/null; then
    echo "FAIL $1: '$2' was written"
    failures=$((failures + 1))
  fi
}

for net in kp gaze gen gen-nshot; do
  "$freehead" init --net "$net" --config tiny --seed 1 --out "$work/$net.safetensors" >/dev/null
done
expect "pack-models writes a models folder that loads" 0 "loads cleanly" \
  "$freehead" pack-models --config tiny --kp "$work/kp.safetensors" --gaze "$work/gaze.safetensors" \
  --gen "$work/gen.safetensors" --gen-nshot "$work/gen-nshot.safetensors" --out "$work/models" --float16
"$freehead" synth --out "$work/data" --identities 3 --clips-per-identity 1 --frames 6 --size 64 --seed 1 --quiet >/dev/null
clip=$(ls -d "$work"/data/clips/*/ | head -1)
src=$(ls "$work"/data/clips/*/000000.png | tail -1)

expect "reenact a folder of frames with two sources" 0 "reenacted 6 frames with 2 source\(s\), relative motion" \
  "$freehead" reenact -s "$src" -s "$clip/000003.png" -d "$clip" -o "$work/out" --models "$work/models" --no-crop
for f in frames/000005.png sheet.png animation.gif; do
  [ -s "$work/out/$f" ] || { echo "FAIL reenact did not write $f"; failures=$((failures + 1)); }
done
# The animation decodes (by an independent reader, Debian's python3-pil) to one frame per
# driving frame.
expect "animation.gif decodes to 6 frames" 0 "^6 frames" /usr/bin/python3 -c "
from PIL import Image, ImageSequence
im = Image.open('$work/out/animation.gif')
print(sum(1 for _ in ImageSequence.Iterator(im)), 'frames', im.size)"
expect "edit with a yaw sweep writes a strip" 0 "edited 7 frame" \
  "$freehead" edit -s "$src" -o "$work/edit" --sweep yaw=-30:30:7 --models "$work/models" --no-crop
[ -s "$work/edit/strip.png" ] || { echo "FAIL edit did not write strip.png"; failures=$((failures + 1)); }
expect "a pose edit with models that have no head pivot says so" 0 "models\.json has no head_pivot" \
  "$freehead" edit -s "$src" -o "$work/edit2" --yaw 10 --models "$work/models" --no-crop
# The head pivot measured for the shipped weights on this test's frames (their true poses).
shipped="$(cd "$(dirname "$0")/../../models/tiny" && pwd)"
expect "pack-models measures the head pivot on a dataset" 0 "head pivot \(.*\) in E_can's canonical frame, from [0-9]+ train frames" \
  "$freehead" pack-models --config tiny --kp "$shipped/kp.safetensors" --gaze "$shipped/gaze.safetensors" \
  --gen-nshot "$shipped/gen-nshot.safetensors" --out "$work/pivoted" --pivot-data "$work/data" --pivot-frames 16
expect "the measured pivot is in models.json" 0 '"head_pivot":\[' cat "$work/pivoted/models.json"
expect "pack-models with a missing pivot dataset is refused by name, nothing written" 1 "'$work/nodata/manifest\.json'" \
  "$freehead" pack-models --config tiny --kp "$shipped/kp.safetensors" --gaze "$shipped/gaze.safetensors" \
  --gen-nshot "$shipped/gen-nshot.safetensors" --out "$work/pivoted2" --pivot-data "$work/nodata"
absent "pack-models without pivot data" "$work/pivoted2"

expect "a missing models folder is named" 1 "models folder '$work/nowhere' does not exist" \
  "$freehead" reenact -s "$src" -d "$clip" -o "$work/bad1" --models "$work/nowhere" --no-crop
absent "missing models" "$work/bad1"
mkdir -p "$work/mismatch" && cp "$work"/models/* "$work/mismatch/"
sed -i 's/"tiny"/"small"/' "$work/mismatch/models.json"
expect "weights of another config are refused naming the tensor" 1 "mismatch/kp\.safetensors' does not fit \(network prefix" \
  "$freehead" reenact -s "$src" -d "$clip" -o "$work/bad2" --models "$work/mismatch" --no-crop
absent "mismatched models" "$work/bad2"
echo "not a picture" >"$work/text.png"
expect "a non-image source is refused by name" 1 "text\.png" \
  "$freehead" reenact -s "$work/text.png" -d "$clip" -o "$work/bad3" --models "$work/models" --no-crop
absent "non-image" "$work/bad3"
mkdir -p "$work/empty"
expect "an empty frame folder is refused by name" 1 "'$work/empty' holds no \.png or \.jpg frames" \
  "$freehead" reenact -s "$src" -d "$work/empty" -o "$work/bad4" --models "$work/models" --no-crop
absent "empty folder" "$work/bad4"
mkdir -p "$work/blank" && cp "$clip"/00000[0-2].png "$work/blank/"
/usr/bin/python3 - "$work/blank/000002.png" <<'PY' 2>/dev/null || cp "$work/blank/000000.png" "$work/blank/000002.png"
import struct, sys, zlib
w = h = 64
raw = b"".join(b"\x00" + b"\x80\x80\x80" * w for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                             + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
expect "a grey frame is refused naming the frame" 1 "000002\.png.*blank frame" \
  "$freehead" reenact -s "$src" -d "$work/blank" -o "$work/bad5" --models "$work/models" --no-crop
absent "grey frame" "$work/bad5"
expect "--relative with --absolute is a usage error" 2 "--relative and --absolute exclude each other" \
  "$freehead" reenact -s "$src" -d "$clip" -o "$work/bad6" --relative --absolute --models "$work/models" --no-crop
expect "--gaze must be a choice or angles" 2 "--gaze must be driver, source or THETA,PHI" \
  "$freehead" reenact -s "$src" -d "$clip" -o "$work/bad7" --gaze sideways --models "$work/models" --no-crop
expect "a sweep conflicting with its offset is a usage error" 2 "--sweep yaw conflicts with --yaw" \
  "$freehead" edit -s "$src" -o "$work/bad8" --sweep yaw=-30:30:7 --yaw 10 --models "$work/models" --no-crop
expect "a malformed sweep is a usage error" 2 "--sweep must be NAME=FROM:TO:COUNT" \
  "$freehead" edit -s "$src" -o "$work/bad9" --sweep yaw=-30:30 --models "$work/models" --no-crop
expect "a used output folder is refused" 1 "output folder '$work/out' is not empty" \
  "$freehead" reenact -s "$src" -d "$clip" -o "$work/out" --models "$work/models" --no-crop
expect "no source is a usage error" 2 "give at least one source image" \
  "$freehead" reenact -d "$clip" -o "$work/bad10" --models "$work/models" --no-crop
rm "$work/models/gen-nshot.safetensors"
sed -i 's/, *"gen_nshot": *"gen-nshot.safetensors"//' "$work/models/models.json"
expect "two sources without an N-shot generator are refused" 1 "2 sources need an N-shot generator" \
  "$freehead" reenact -s "$src" -s "$src" -d "$clip" -o "$work/bad11" --models "$work/models" --no-crop
absent "one-shot models" "$work/bad11"

finish "reenactment CLI"
