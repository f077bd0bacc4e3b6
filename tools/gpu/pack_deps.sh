#!/usr/bin/env bash
# Packs the Debian-packaged build dependencies (Eigen, stb, nlohmann-json, CLI11, doctest, Google Benchmark) into
# .deps/usr, laid out like /usr, so that a GPU machine without Debian packages or network
# can build freehead from them: carry .deps with the working tree and run tools/gpu/check.sh
# there. Run this on a Debian machine (it installs what is missing, like scripts/test.sh).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
fh_ensure_packages libeigen3-dev libstb-dev nlohmann-json3-dev libcli11-dev doctest-dev libbenchmark-dev

deps=$FH_ROOT/.deps/usr
rm -rf "$FH_ROOT/.deps"
mkdir -p "$deps/include" "$deps/share" "$deps/lib/cmake" "$deps/lib/x86_64-linux-gnu/cmake"
cp -r /usr/include/eigen3 /usr/include/stb /usr/include/nlohmann /usr/include/CLI /usr/include/doctest /usr/include/benchmark "$deps/include/"
mkdir -p "$deps/share/cmake"
cp -r /usr/share/eigen3 "$deps/share/"               # its config finds the headers relative to itself
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$deps/share/cmake/"  # so do these
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark "$deps/lib/x86_64-linux-gnu/cmake/"
cp -P /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  "$deps/lib/x86_64-linux-gnu/"
cp -r /usr/lib/cmake/doctest "$deps/lib/cmake/"
# doctest's exported targets name /usr outright; make them relative to their own folder.
sed -i 's|^set(_IMPORT_PREFIX "/usr")|get_filename_component(_IMPORT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)|' \
  "$deps/lib/cmake/doctest/doctestTargets.cmake"
grep -q '^get_filename_component(_IMPORT_PREFIX' "$deps/lib/cmake/doctest/doctestTargets.cmake" || {
  echo "pack_deps: could not relocate doctest's CMake targets" >&2
  exit 1
}
echo "pack_deps: $(du -sh "$FH_ROOT/.deps" | cut -f1) in .deps; copy it to the GPU machine with the source tree"
