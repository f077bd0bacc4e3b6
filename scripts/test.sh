#!/usr/bin/env bash
# Builds freehead with its tests and runs the whole suite: CPU tests, float64 gradient
# checks, PyTorch parity (Debian's python3-torch), and the CUDA tests (which report
# "skipped" with the reason when no GPU is present). Extra arguments go to ctest.
set -euo pipefail
source "$(dirname "$0")/common.sh"
fh_ensure_packages "${FH_BUILD_PACKAGES[@]}" "${FH_MEDIA_PACKAGES[@]}" "${FH_TEST_PACKAGES[@]}"
fh_build -DFH_BUILD_TESTS=ON -DFH_BUILD_BENCHMARKS=ON
ctest --test-dir "$FH_BUILD_DIR" --output-on-failure --parallel "$(nproc)" "$@"
