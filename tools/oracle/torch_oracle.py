#!/usr/bin/python3
"""PyTorch reference for freehead's parity tests.

usage: torch_oracle.py IN.safetensors OUT.safetensors

IN holds, for each case i, tensors "c{i}.in{j}" and "c{i}.grad_output", and metadata
"cases": a JSON list of {"op", "args", "requires_grad", "nhwc", "nhwc_output"}. OUT
receives "c{i}.out" and, for each input that requires grad, "c{i}.grad{j}" (PyTorch's
gradient of <out, grad_output>).

freehead keeps images NHWC (and conv weights [O, kh, kw, I]); inputs flagged in "nhwc" are
permuted to PyTorch's NCHW ([O, I, kh, kw]) before the op, and the output (if
"nhwc_output") and those inputs' gradients are permuted back, so both sides compare in
freehead's layout. Ops live in ops_*.py modules beside this script, one per op family,
each with an OPS table: name -> f(list of input tensors, args dict) -> output tensor.
Benchmarks build their PyTorch peers from the same OPS (benchmarks/op_peers.py) and pass
args["peer"] = True: an op that evaluates in higher precision for parity (warp) then does
the plain float32 work a PyTorch model would.
Safetensors is read and written with numpy alone (safetensors_io.py), so only python3-torch
is needed.
"""
import glob
import importlib
import json
import os
import sys

import torch

from safetensors_io import load, save  # beside this script


def load_ops():
    """Merges the OPS tables of every ops_*.py module beside this script (one per op family)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    ops = {}
    for path in sorted(glob.glob(os.path.join(here, "ops_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        for name in module.OPS:
            if name in ops:
                sys.exit(f"torch_oracle: op '{name}' is defined twice (second time in {path})")
        ops.update(module.OPS)
    return ops


def to_nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


def to_nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def main():
    ops = load_ops()
    inputs, meta = load(sys.argv[1])
    cases = json.loads(meta["cases"])
    out = {}
    for i, case in enumerate(cases):
        p = f"c{i}."
        n = len(case["requires_grad"])
        nhwc = case.get("nhwc") or [False] * n
        xs = []
        for j in range(n):
            x = inputs[f"{p}in{j}"]
            x = to_nchw(x) if nhwc[j] else x.clone()
            xs.append(x.requires_grad_(bool(case["requires_grad"][j]) and x.is_floating_point()))
        if case["op"] not in ops:
            sys.exit(f"torch_oracle: unknown op '{case['op']}' in case {i}")
        y = ops[case["op"]](xs, case["args"])
        if case.get("nhwc_output"):
            y = to_nhwc(y)
        out[p + "out"] = y
        if any(case["requires_grad"]):
            y.backward(inputs[p + "grad_output"])
            for j, x in enumerate(xs):
                if case["requires_grad"][j]:
                    g = x.grad if x.grad is not None else torch.zeros_like(x)
                    out[f"{p}grad{j}"] = to_nhwc(g) if nhwc[j] else g
    save(sys.argv[2], out)


if __name__ == "__main__":
    main()
