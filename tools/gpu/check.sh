#!/usr/bin/env bash
# The whole GPU check in one invocation, on a CUDA machine that has nvcc, CMake, ninja and a
# python3 with PyTorch but no Debian packages and no network. Build dependencies come from
# .deps (made by tools/gpu/pack_deps.sh and carried along); a build folder carried along is
# reused.
#
# usage: tools/gpu/check.sh OUTDIR [CUDA_ARCHS]   (default architectures: 90)
#
# Steps, each logged to OUTDIR/<step>.log: configure, build, `freehead info`, the CUDA tests
# (fh_cuda_tests: every CUDA kernel against its CPU twin), the CUDA benchmarks (fh_cuda_bench:
# every bench_cuda_*.cpp and the ceilings, JSON in OUTDIR/cuda_bench.json), the same work
# through PyTorch on the same GPU (OUTDIR/torch_cuda.json), then ONE table (op, shape, ours,
# PyTorch, ratio, % of the measured ceiling) printed and written to OUTDIR/table.md.
# Exits non-zero if the build or a test fails.
#
# Environment:
#   FH_CHECK_MIN_TIME    seconds each benchmark (and each PyTorch peer) is sampled, default 0.05
#   FH_CHECK_FILTER      benchmark regex (Google Benchmark syntax), default: all
#   FH_CHECK_FULL=1      also build and run the whole CTest suite (CPU tests, oracle parity)
#   FH_CHECK_BUILD       build folder, default build-gpu in the source tree
#   FH_CHECK_CMAKE_ARGS  extra configure arguments (split on spaces), e.g.
#                        -DCMAKE_IGNORE_PREFIX_PATH=/usr to rehearse on a Debian machine with .deps only
set -uo pipefail
out=${1:?usage: tools/gpu/check.sh OUTDIR [CUDA_ARCHS]}
archs=${2:-90}
root=$(cd "$(dirname "$0")/../.." && pwd)
deps=$root/.deps/usr
build=${FH_CHECK_BUILD:-$root/build-gpu}
min_time=${FH_CHECK_MIN_TIME:-0.05}
filter=${FH_CHECK_FILTER:-.}
full=${FH_CHECK_FULL:-0}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ ! -d "$deps" ]; then
  echo "check.sh: $deps is missing: run tools/gpu/pack_deps.sh on a Debian machine and carry .deps" >&2
  exit 2
fi
export LD_LIBRARY_PATH=$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
python=$(command -v python3 || true)
jobs=$(nproc)
status=0
started=$SECONDS

step() {  # step NAME COMMAND...: runs, logs to OUTDIR/NAME.log, shows its tail, remembers failure
  local name=$1
  shift
  local t0=$SECONDS
  echo "== $name: $*"
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  tail -n 8 "$out/$name.log"
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || { echo "== $name FAILED"; status=1; }
  return $rc
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true

# cuDNN for the cuDNN backend: next to the CUDA toolkit, else the one PyTorch's wheels ship.
cmake_extra=()
nvcc_dir=$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")
if [ ! -f "$nvcc_dir/../include/cudnn.h" ] && [ -n "$python" ]; then
  cudnn_root=$("$python" -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null || true)
  if [ -n "$cudnn_root" ] && [ -f "$cudnn_root/include/cudnn.h" ]; then
    cmake_extra+=("-DFH_CUDNN_ROOT=$cudnn_root")
    export LD_LIBRARY_PATH=$cudnn_root/lib:$LD_LIBRARY_PATH
  fi
fi

# shellcheck disable=SC2086  # FH_CHECK_CMAKE_ARGS is a list of words
step configure cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFH_CUDA=ON \
  "-DCMAKE_CUDA_ARCHITECTURES=$archs" "-DCMAKE_PREFIX_PATH=$deps" "-DFH_ORACLE_PYTHON=$python" \
  ${cmake_extra[@]+"${cmake_extra[@]}"} ${FH_CHECK_CMAKE_ARGS:-} || exit 1
targets=(freehead_cli fh_cuda_tests fh_cuda_bench)
[ "$full" = 1 ] && targets=(all)
step build cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" || exit 1
step info "$build/bin/freehead" info
# 77 = skipped (no usable GPU): that is a failure here, where a GPU is expected.
step cuda_tests "$build/bin/fh_cuda_tests" --duration=true
step cuda_bench "$build/bin/fh_cuda_bench" "--benchmark_min_time=$min_time" "--benchmark_filter=$filter" \
  "--benchmark_out=$out/cuda_bench.json" --benchmark_out_format=json
if [ -n "$python" ] && "$python" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  step op_cases "$build/bin/fh_cuda_bench" "--fh_op_cases=$out/op_cases.json"
  step torch_cuda "$python" "$root/benchmarks/torch_compare.py" --device cuda --bench-json "$out/cuda_bench.json" \
    --op-cases "$out/op_cases.json" --json "$out/torch_cuda.json" --min-time "$min_time"
else
  echo "== torch_cuda: skipped (no python3 with a CUDA-enabled PyTorch)" | tee "$out/torch_cuda.log"
fi

commit=$(sed -n 's/^commit: *//p' "$out/info.log" | head -n 1)
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
title="GPU check $(date +%Y-%m-%d), commit ${commit:-unknown}, ${gpu:-unknown GPU}, min time ${min_time} s per benchmark"
echo
if [ -f "$out/cuda_bench.json" ]; then
  "${python:-python3}" "$root/benchmarks/gpu_table.py" --ours "$out/cuda_bench.json" --torch "$out/torch_cuda.json" \
    --markdown "$out/table.md" --title "$title" || status=1
else
  echo "no benchmark results (see $out/cuda_bench.log)"
  status=1
fi
echo

if [ "$full" = 1 ]; then
  step ctest ctest --test-dir "$build" --output-on-failure --parallel "$jobs"
fi
echo "== logs in $out; $((SECONDS - started)) s in all; overall: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
