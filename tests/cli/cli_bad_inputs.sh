#!/usr/bin/env bash
# Hostile inputs that once crashed, hung or misled: each is refused with exit status 1 (a bad
# file) or 2 (a bad flag) and a message naming the file, tensor or flag, in bounded time.
# usage: tests/cli/cli_bad_inputs.sh path/to/freehead
set -uo pipefail
freehead=${1:?usage: cli_bad_inputs.sh path/to/freehead}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"

weights=$work/kp.safetensors
"$freehead" init --net kp --config tiny --seed 1 --out "$weights" >/dev/null || { echo "FAIL init"; exit 1; }
run_kp() { "$freehead" run --net kp --config tiny --weights "$weights" --output "$work/out.safetensors" "$@"; }
image_bytes=$((3 * 64 * 64 * 4))

# Sizes multiplying past 2^64 once wrapped to 0 elements and were read out of bounds.
st_file "$work/wrap.safetensors" '{"image":{"dtype":"F16","shape":[4,3,2147483648,2147483648],"data_offsets":[0,0]}}' </dev/null
expect "sizes multiplying past 2^64 are refused" 1 "wrap\.safetensors: tensor 'image' has more than 2\^48 elements" \
  run_kp --inputs "$work/wrap.safetensors"

# Integer flags are range-checked before any size is computed from them.
expect "--iters beyond int is a usage error naming the flag" 2 "--iters must be 1\.\.[0-9]+, got 2147483648" \
  "$freehead" bench --net kp --config tiny --iters 2147483648
expect "a huge --batch is a usage error naming the flag" 2 "--batch must be 1\.\.[0-9]+, got 4611686018427387904" \
  "$freehead" bench --net kp --config tiny --batch 4611686018427387904
expect "--fps beyond its range names the flag" 2 "--fps must be 1\.\.100, got 9223372036854775807" \
  "$freehead" reenact --source x.png --driving y.png --out "$work/r" --fps 9223372036854775807
expect "an integer past 64 bits names the flag" 2 "--seed expects an integer, got '99999999999999999999'" \
  "$freehead" init --net kp --config tiny --seed 99999999999999999999 --out "$work/x.safetensors"

# A 12 MB header of 200,000 zero-size tensors parses in linear time (it took minutes).
{
  printf '{'
  seq 0 199999 | awk '{ printf "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}", (NR > 1 ? "," : ""), $1 }'
  printf '}'
} >"$work/many.json"
st_file "$work/many.safetensors" "$(cat "$work/many.json")" </dev/null
expect "a header of 200,000 keys is read in bounded time" 1 "input tensor 'image' is missing" \
  timeout 60 "$freehead" run --net kp --config tiny --weights "$weights" --inputs "$work/many.safetensors" \
  --output "$work/out.safetensors"

# The atomic writer never writes through a link planted where its temporary might go: the
# temporary's name is unpredictable and created exclusively. (The old, predictable name
# was <out>.tmp.<pid>; the subshell's pid is the one freehead runs under after exec.)
echo "precious" >"$work/victim"
(
  ln -s "$work/victim" "$work/planted.safetensors.tmp.$BASHPID"
  exec "$freehead" init --net kp --config tiny --seed 1 --out "$work/planted.safetensors" >/dev/null
)
if [ "$(cat "$work/victim")" = "precious" ] && [ -s "$work/planted.safetensors" ]; then
  echo "ok   a link at the old temporary name is left alone"
else
  echo "FAIL the writer followed a planted link"; failures=$((failures + 1))
fi
leftovers=$(find "$work" -name 'planted.safetensors.tmp.*' ! -type l | wc -l)
[ "$leftovers" -eq 0 ] && echo "ok   no temporary file is left behind" || {
  echo "FAIL $leftovers temporary files left"; failures=$((failures + 1)); }

mkdir "$work/folder"
expect "a folder given as a file is named as such" 1 "'$work/folder' is a directory, not a file" \
  run_kp --inputs "$work/folder"
expect "a folder given as weights is named as such" 1 "'$work/folder' is a directory, not a file" \
  "$freehead" bench --net kp --config tiny --weights "$work/folder"

st_file "$work/int.safetensors" '{"image":{"dtype":"I64","shape":[1,3,64,64],"data_offsets":[0,98304]}}' \
  < <(head -c 98304 /dev/zero)
expect "an integer input names the tensor and its dtype" 1 "int\.safetensors: input tensor 'image' of kp has dtype int64" \
  run_kp --inputs "$work/int.safetensors"

st_file "$work/nan.safetensors" "{\"image\":{\"dtype\":\"F32\",\"shape\":[1,3,64,64],\"data_offsets\":[0,$image_bytes]}}" \
  < <(head -c 400 /dev/zero; printf '\000\000\300\177'; head -c $((image_bytes - 404)) /dev/zero)
expect "a NaN input names the tensor and the element" 1 "nan\.safetensors: tensor 'image' \[1, 3, 64, 64\] element 100 is not finite" \
  run_kp --inputs "$work/nan.safetensors"
st_file "$work/inf.safetensors" "{\"image\":{\"dtype\":\"F32\",\"shape\":[1,3,64,64],\"data_offsets\":[0,$image_bytes]}}" \
  < <(printf '\000\000\200\377'; head -c $((image_bytes - 4)) /dev/zero)
expect "an infinite input names the tensor" 1 "inf\.safetensors: tensor 'image' .* element 0 is not finite \(-inf\)" \
  run_kp --inputs "$work/inf.safetensors"
[ ! -e "$work/out.safetensors" ] || { echo "FAIL a refused run left an output file"; failures=$((failures + 1)); }

expect "cost with an unknown --net names the value" 2 "--net must be one of .*got 'bogus'" "$freehead" cost --net bogus
expect "cost with an unknown --config names the value" 2 "--config must be .*got 'huge'" "$freehead" cost --config huge

expect "synth refuses an absurd size up front" 1 "1000000000 clips; at most 1000000 are supported" \
  "$freehead" synth --out "$work/absurd" --identities 1000000 --clips-per-identity 1000 --frames 1000 --size 64 \
  --seed 1 --quiet
expect "synth refuses triples from a single person" 1 "--pairs needs at least 2 --identities" \
  "$freehead" synth --out "$work/one" --identities 1 --clips-per-identity 1 --frames 1 --size 64 --seed 1 --pairs 2 --quiet

finish "bad-input"
