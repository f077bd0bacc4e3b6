#!/usr/bin/env bash
# One network, freehead against PyTorch on the same CPU threads, weights and inputs.
#
# usage: benchmarks/network_vs_torch.sh [NET] [CONFIG] [THREADS] [ITERS] [MODE]
#   defaults: gen paper <all cores> 5 forward. MODE `forward` times the eval-mode forward
#   without gradients; `train` times a train-mode forward+backward (every parameter and input
#   gradient) on both sides.
# Needs a built `build/bin/freehead` (FREEHEAD overrides) and a python with torch
# (FH_ORACLE_PYTHON overrides; default /usr/bin/python3). Prints both timings and the ratio.
set -euo pipefail
net=${1:-gen}
config=${2:-paper}
threads=${3:-$(nproc)}
iters=${4:-5}
mode=${5:-forward}
case $mode in forward | train) ;; *) echo "network_vs_torch.sh: MODE must be forward or train, got '$mode'" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
freehead=${FREEHEAD:-$root/build/bin/freehead}
python=${FH_ORACLE_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$freehead" init --net "$net" --config "$config" --seed 1 --out "$work/weights.safetensors" >/dev/null
# Random inputs in PyTorch's layout, written by the reference's own helper.
"$python" - "$root/tools/reference" "$net" "$config" "$work/inputs.safetensors" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/../oracle")
import torch
import model as M
from safetensors_io import save
gen = torch.Generator().manual_seed(2)
save(sys.argv[4], M.random_inputs(sys.argv[2], sys.argv[3], 1, 1, generator=gen, device=torch.device("cpu")))
PY

echo "== $net $config, batch 1, $threads threads, $(nproc) cores, $mode"
fh_flags=(--forward-only)
torch_flags=()
if [ "$mode" = train ]; then
  fh_flags=()
  torch_flags=(--train)
fi
fh_log=$(FH_NUM_THREADS=$threads "$freehead" bench --net "$net" --config "$config" --weights "$work/weights.safetensors" \
  --inputs "$work/inputs.safetensors" --iters "$iters" "${fh_flags[@]}" | tee /dev/stderr)
torch_json=$("$python" "$root/tools/reference/run.py" bench --net "$net" --config "$config" --threads "$threads" \
  --weights "$work/weights.safetensors" --inputs "$work/inputs.safetensors" --repeats "$iters" --warmup 1 \
  "${torch_flags[@]}" | tee /dev/stderr)
if [ "$mode" = train ]; then
  ours=$(awk '/forward\+backward /{print $2}' <<<"$fh_log")
  theirs=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["forward_backward_ms"])' "$torch_json")
else
  ours=$(awk '/^ *forward /{print $2}' <<<"$fh_log")
  theirs=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["forward_ms"])' "$torch_json")
fi
"$python" -c "import sys; o,t=float(sys.argv[1]),float(sys.argv[2]); print(f'{sys.argv[3]}: freehead {o:.1f} ms, PyTorch {t:.1f} ms, freehead/PyTorch {o/t:.3f}')" \
  "$ours" "$theirs" "$([ "$mode" = train ] && echo 'forward+backward (train mode)' || echo 'forward (eval mode)')"
