#!/usr/bin/env bash
# The main job: installs what a CPU build needs, builds freehead and runs its demo with the
# shipped models — a held-out person reenacted by another one's driving clip (one source
# and two), a head-pose sweep and a gaze sweep — into build/demo.
set -euo pipefail
source "$(dirname "$0")/common.sh"
fh_ensure_packages "${FH_BUILD_PACKAGES[@]}" "${FH_MEDIA_PACKAGES[@]}"
fh_build -DFH_BUILD_TESTS=OFF -DFH_BUILD_BENCHMARKS=OFF
"$FH_BUILD_DIR/bin/freehead" info | head -3
rm -rf "$FH_BUILD_DIR/demo"
"$FH_BUILD_DIR/bin/freehead" demo --out "$FH_BUILD_DIR/demo"
