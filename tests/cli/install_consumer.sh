#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then a program outside the tree built against it, by
# find_package(freehead) (examples/consumer) and by pkg-config, and run: the installed CLI
# renders a clip, the program reenacts it with the installed models (found from the prefix).
# usage: tests/cli/install_consumer.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=${1:?usage: install_consumer.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install_consumer.sh BUILD_DIR SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"
prefix=$work/prefix
export FH_NUM_THREADS=1

expect "cmake --install into a fresh prefix" 0 "Installing: .*libfreehead\.a" cmake --install "$build" --prefix "$prefix"
libdir=$(dirname "$(find "$prefix" -name libfreehead.a | head -1)")
for f in bin/freehead include/freehead/pipeline/reenactor.h include/freehead/runtime/tensor.h \
  share/freehead/models/tiny/models.json share/freehead/models/tiny/kp.safetensors; do
  [ -e "$prefix/$f" ] || { echo "FAIL the install lacks $f"; failures=$((failures + 1)); }
done
[ -e "$libdir/cmake/freehead/freeheadConfig.cmake" ] && [ -e "$libdir/pkgconfig/freehead.pc" ] ||
  { echo "FAIL the install lacks the CMake package or freehead.pc"; failures=$((failures + 1)); }

# The installed CLI finds its own tree's models, not the copy in the sources.
expect "the installed CLI uses the installed models" 0 "models: +$prefix/share/freehead/models/tiny" \
  "$prefix/bin/freehead" info
"$prefix/bin/freehead" synth --out "$work/data" --identities 2 --clips-per-identity 1 --frames 3 --size 64 --seed 5 \
  --quiet >/dev/null

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
expect "a CMake project outside the tree configures with find_package(freehead)" 0 "Build files have been written" \
  cmake -S "$src/examples/consumer" -B "$work/consumer" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
expect "and builds" 0 "" cmake --build "$work/consumer"
expect "and reenacts with the installed models" 0 "turned" \
  "$work/consumer/reenact_photo" "$work/data/clips/id0000_c00/000000.png" "$work/data/clips/id0001_c00" "$work/out1" \
  "$prefix/share/freehead/models/tiny"
[ -s "$work/out1/turned.png" ] || { echo "FAIL the consumer wrote no turned.png"; failures=$((failures + 1)); }

if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs freehead)
  # shellcheck disable=SC2086
  expect "a program builds with pkg-config's flags" 0 "" \
    c++ -O1 "$src/examples/reenact_photo.cpp" -o "$work/pc_reenact" $flags
  expect "and runs" 0 "turned" "$work/pc_reenact" "$work/data/clips/id0000_c00/000000.png" \
    "$work/data/clips/id0001_c00" "$work/out2" "$prefix/share/freehead/models/tiny"
else
  echo "FAIL pkg-config is not installed (Debian package pkgconf)"; failures=$((failures + 1))
fi
finish "install"
