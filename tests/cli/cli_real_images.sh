#!/usr/bin/env bash
# `freehead reenact` on a real photograph (face found, cropped, pasted back at the photo's
# size) and the errors of real-image input: a photo without a face, a video file that is
# text, a non-square picture with --no-crop, conflicting crop flags. The photographs are
# Debian's python3-skimage samples (the NASA astronaut portrait, a coffee cup), read from the
# installed package; without it the script prints "[fh skip]". A build without dlib or
# FFmpeg must say so when such input is given, which the same commands check.
# usage: tests/cli/cli_real_images.sh path/to/freehead
set -uo pipefail
freehead=${1:?usage: cli_real_images.sh path/to/freehead}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"
samples=/usr/lib/python3/dist-packages/skimage/data
if [ ! -f "$samples/astronaut.png" ] || [ ! -f "$samples/coffee.png" ]; then
  echo "[fh skip] $samples/astronaut.png or coffee.png is missing (Debian package python3-skimage)"
  exit 0
fi
absent() {  # absent NAME PATH: a failed command left nothing behind
  if [ -e "$2" ] || compgen -G "$(dirname "$2")/.$(basename "$2").partial-*" >/dev/null ||
     compgen -G "$2.tmp.*" >/dev/null; then
    echo "FAIL $1: '$2' was written"
    failures=$((failures + 1))
  fi
}
info=$("$freehead" info)
astronaut=$samples/astronaut.png

if grep -q "face finding:  dlib" <<<"$info"; then
  expect "a photograph is cropped, driven and pasted back" 0 "reenacted 1 frames" \
    "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/out" --concat
  expect "the pasted-back frame has the photo's height and both pictures' width" 0 "^\(1024, 512\)" \
    /usr/bin/python3 -c "from PIL import Image; print(Image.open('$work/out/frames/000000.png').size)"
  # A phone's portrait JPEG: stored turned left, with EXIF orientation 6 to turn it back.
  /usr/bin/python3 -c "
from PIL import Image
exif = Image.Exif(); exif[0x0112] = 6
Image.open('$astronaut').transpose(Image.ROTATE_90).save('$work/phone.jpg', 'JPEG', quality=92, exif=exif)"
  if grep -q "photos:        PNG and JPEG" <<<"$info"; then
    expect "a JPEG stored sideways is turned by its EXIF orientation and its face found" 0 "reenacted 1 frames" \
      "$freehead" reenact -s "$work/phone.jpg" -d "$astronaut" -o "$work/phone"
    expect "the phone photo's frame is upright at its own size" 0 "^\(512, 512\)" \
      /usr/bin/python3 -c "from PIL import Image; print(Image.open('$work/phone/frames/000000.png').size)"
  else
    expect "without libjpeg, a JPEG says what is missing" 1 "phone\.jpg' is a JPEG, and this freehead was built without libjpeg" \
      "$freehead" reenact -s "$work/phone.jpg" -d "$astronaut" -o "$work/phone"
  fi
  expect "edit turns the head in the photo and pastes it back" 0 "edited 1 frame" \
    "$freehead" edit -s "$astronaut" -o "$work/edit" --yaw 15
  expect "the edited frame has the photo's size" 0 "^\(512, 512\)" \
    /usr/bin/python3 -c "from PIL import Image; print(Image.open('$work/edit/frames/000000.png').size)"
  expect "a photo without a face is refused by name" 1 "no face found in the source '$samples/coffee\.png'" \
    "$freehead" reenact -s "$samples/coffee.png" -d "$astronaut" -o "$work/bad1"
  absent "no face" "$work/bad1"
  expect "--face past the faces found names the count" 1 "has 1 face\(s\); --face 3" \
    "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/bad2" --face 3
  absent "--face" "$work/bad2"
else
  expect "without dlib, cropping says what is missing" 1 "built without dlib.*--no-crop" \
    "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/bad1"
  absent "no dlib" "$work/bad1"
fi
expect "--no-crop takes square pictures only" 1 "coffee\.png.*600x400.*square" \
  "$freehead" reenact -s "$samples/coffee.png" -d "$astronaut" -o "$work/bad3" --no-crop
absent "--no-crop" "$work/bad3"
expect "--no-crop with --face is a usage error" 2 "--no-crop excludes --crop-scale, --crop-shift and --face" \
  "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/bad4" --no-crop --face 1
expect "--crop-scale out of range names the flag" 2 "--crop-scale must be within" \
  "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/bad5" --crop-scale 0

echo "this is not a video" >"$work/text.mp4"
if grep -q "video files:   FFmpeg" <<<"$info"; then
  expect "a text file named .mp4 is refused by name" 1 "'$work/text\.mp4' is not a video FFmpeg can read" \
    "$freehead" reenact -s "$astronaut" -d "$work/text.mp4" -o "$work/bad6.mp4" --no-crop
else
  expect "without FFmpeg, a video says what is missing" 1 "text\.mp4' is a video, and this freehead was built without FFmpeg" \
    "$freehead" reenact -s "$astronaut" -d "$work/text.mp4" -o "$work/bad6.mp4" --no-crop
fi
absent "text video" "$work/bad6.mp4"
expect "an output of an unknown video type is a usage error" 2 "bad7\.webm': videos are written as \.mp4" \
  "$freehead" reenact -s "$astronaut" -d "$astronaut" -o "$work/bad7.webm" --no-crop
absent "webm out" "$work/bad7.webm"

finish "real-image CLI"
