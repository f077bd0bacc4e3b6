#!/usr/bin/env bash
# Builds freehead and its CPU test suite under sanitizers and runs it with CTest:
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included), build-asan/
#   thread   ThreadSanitizer, build-tsan/; by default only the tests that run threads
#            (the thread pool, the data loader, training, the pipeline, determinism)
# Any sanitizer report aborts the process, so the test that triggered it fails.
#   scripts/sanitize.sh address|thread [ctest options...]     e.g. -R 'hostile|safetensors'
# FH_SANITIZE_BUILD_DIR overrides the build folder.
set -euo pipefail
FH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$FH_ROOT/scripts/common.sh"
kind=${1:-}
case "$kind" in
  address) build=${FH_SANITIZE_BUILD_DIR:-$FH_ROOT/build-asan} ;;
  thread) build=${FH_SANITIZE_BUILD_DIR:-$FH_ROOT/build-tsan} ;;
  *) echo "usage: scripts/sanitize.sh address|thread [ctest options...]" >&2; exit 2 ;;
esac
shift
fh_ensure_packages "${FH_BUILD_PACKAGES[@]}" "${FH_TEST_PACKAGES[@]}"

generator=()
[ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)
mkdir -p "$build"
# RelWithDebInfo without NDEBUG: assertions stay on; CMakeLists.txt adds -O1 -g1.
cmake -S "$FH_ROOT" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="" -DFH_SANITIZE="$kind" \
  -DFH_CUDA=OFF -DFH_BUILD_BENCHMARKS=OFF >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --parallel "$(nproc)"

# abort_on_error: a report ends the process with a signal CTest shows as a failure; the
# symbolizer turns the stacks into file:line.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
# Leaks inside Open MPI (what MPI_Init keeps until exit) are its own: suppressed by library.
# Its plugins stay loaded so their frames have names; the MPI tests also unwind fully
# (tests/CMakeLists.txt), so each leaked block's stack reaches the library it came from.
export LSAN_OPTIONS=suppressions=$FH_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0
export OMPI_MCA_mca_base_component_disable_dlclose=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
args=("$@")
if [ "$kind" = thread ] && [ ${#args[@]} -eq 0 ]; then
  # The 100-step training loops are left out: they run the same threads as the shorter
  # training tests, for an hour or more under TSan.
  args=(-R 'thread_pool|parallel_for|pool can be resized|loader:|determinism|train:|pipeline:|demo_smoke|cli_reenact'
        -E 'steps cut')
fi
# Sanitized code runs 2-15x slower than the release build: longer per-test limits.
ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" --timeout 3000 "${args[@]}"
