#!/usr/bin/env bash
# The main job: installs what a CPU build needs, builds freehead and runs it: what the build
# is (`freehead info`), then the tiny generator on random inputs (`freehead bench`).
set -euo pipefail
source "$(dirname "$0")/common.sh"
fh_ensure_packages "${FH_BUILD_PACKAGES[@]}"
fh_build -DFH_BUILD_TESTS=OFF -DFH_BUILD_BENCHMARKS=OFF
"$FH_BUILD_DIR/bin/freehead" info
"$FH_BUILD_DIR/bin/freehead" bench --net gen-nshot --config tiny --sources 2 --iters 3
