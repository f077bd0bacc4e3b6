#!/usr/bin/env bash
# Fuzzes freehead's readers with libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer:
# builds fuzz/fuzz_*.cpp with Clang into build-fuzz/ (Debian: clang), runs each target for
# SECONDS (default 60) from its seed corpus in fuzz/corpus/<target>/, and prints one line per
# target: executions, corpus size, and whether it found a crash. A crashing input is kept in
# build-fuzz/findings/<target>/; replay it with `build-fuzz/bin/<target> FILE`.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Exits 1 when any target found a crash, a sanitizer report, a leak or a timeout.
set -euo pipefail
FH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$FH_ROOT/scripts/common.sh"
SECONDS_PER_TARGET=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then SECONDS_PER_TARGET=$1; shift; fi
fh_ensure_packages clang "${FH_BUILD_PACKAGES[@]}"

BUILD=$FH_ROOT/build-fuzz
mkdir -p "$BUILD"
CC=clang CXX=clang++ cmake -S "$FH_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFH_FUZZ=ON \
  -DFH_CUDA=OFF -DFH_BUILD_TESTS=OFF -DFH_BUILD_BENCHMARKS=OFF -DFH_NATIVE=OFF >"$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; exit 1; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$FH_ROOT"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cmake --build "$BUILD" --target "${targets[@]}"

# A leak, like a crash, is a finding (libFuzzer checks for leaks after inputs that allocate).
export ASAN_OPTIONS=abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
found=0
printf '%-22s %12s %10s %8s  %s\n' target executions "exec/s" corpus result
for t in "${targets[@]}"; do
  work=$BUILD/corpus/$t findings=$BUILD/findings/$t
  rm -rf "$findings"  # this run's findings only (replay older ones from fuzz/corpus)
  mkdir -p "$work" "$findings"
  log=$BUILD/$t.log
  rc=0
  "$BUILD/bin/$t" "$work" "$FH_ROOT/fuzz/corpus/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  size=$(find "$work" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then result="no findings"; else result="FINDING (exit $rc): $(ls "$findings" | head -3 | tr '\n' ' ')see $log"; found=1; fi
  printf '%-22s %12s %10s %8s  %s\n' "$t" "$execs" "$rate" "$size" "$result"
done
exit $found
