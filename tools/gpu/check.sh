#!/usr/bin/env bash
# The whole GPU check in one invocation, on a CUDA machine that has nvcc, CMake, ninja and a
# python3 with PyTorch but no Debian packages and no network. Build dependencies come from
# .deps (made by tools/gpu/pack_deps.sh and carried along).
#
# usage: tools/gpu/check.sh OUTDIR [CUDA_ARCHS]   (default architectures: 90)
# Writes configure/build logs, freehead info, nvidia-smi, the CUDA tests' and the full
# suite's logs to OUTDIR; exits non-zero if the build or any test fails.
set -uo pipefail
out=${1:?usage: tools/gpu/check.sh OUTDIR [CUDA_ARCHS]}
archs=${2:-90}
root=$(cd "$(dirname "$0")/../.." && pwd)
deps=$root/.deps/usr
build=$root/build-gpu
mkdir -p "$out"
if [ ! -d "$deps" ]; then
  echo "check.sh: $deps is missing: run tools/gpu/pack_deps.sh on a Debian machine and carry .deps" >&2
  exit 2
fi
export LD_LIBRARY_PATH=$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
python=$(command -v python3 || true)
status=0

step() {  # step NAME COMMAND...: runs, logs to OUTDIR/NAME.log, remembers failure
  local name=$1
  shift
  echo "== $name: $*"
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  tail -n 25 "$out/$name.log"
  [ $rc -eq 0 ] || { echo "== $name FAILED (exit $rc)"; status=1; }
  return $rc
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
step configure cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFH_CUDA=ON \
  "-DCMAKE_CUDA_ARCHITECTURES=$archs" "-DCMAKE_PREFIX_PATH=$deps" "-DFH_ORACLE_PYTHON=$python" || exit 1
step build cmake --build "$build" --parallel "$(nproc)" || exit 1
step info "$build/bin/freehead" info
# 77 = skipped (no usable GPU): that is a failure here, where a GPU is expected.
step cuda_tests "$build/bin/fh_cuda_tests" --duration=true
step ctest ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)"
echo "== logs in $out; overall: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
