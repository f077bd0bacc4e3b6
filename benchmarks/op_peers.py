"""PyTorch peers of the op table's benchmarks (tests/ops/op_case.h, benchmarks/op_table_bench.cpp).

A benchmark binary writes its op-table cases with `--fh_op_cases=FILE`: for each benchmark
name, the oracle's op name and arguments, the inputs (shape, how the values are drawn, which
are NHWC images) and whether it times the forward or the backward. The peer is built from
the same op the parity tests check against (tools/oracle/ops_*.py), so the two sides of a
comparison do the same work by construction:
  forward   the op under torch.no_grad(), on NCHW tensors where freehead's are NHWC (PyTorch's
            natural layout, as freehead's NHWC is its own; 5-d stacks of images are stored
            [N, M, C, H, W]);
  backward  torch.autograd.grad of the op's output, recorded once, with retain_graph: the
            op's backward kernels, as freehead's benchmark applies the op's autograd node. A
            gradient PyTorch returns as a view is made contiguous, as freehead's are.
"""
import json
import math
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "tools", "oracle")


def oracle_ops():
    """The oracle's op table: name -> f(list of input tensors, args dict) -> output."""
    if ORACLE not in sys.path:
        sys.path.insert(0, ORACLE)
    import torch_oracle  # noqa: E402 (found through the path above)
    return torch_oracle.load_ops()


def read_cases(path):
    """name -> case, from a --fh_op_cases file."""
    with open(path) as f:
        return {c["name"]: c for c in json.load(f)}


def cases_of(binary):
    """The op-table cases a benchmark binary registers (it runs nothing to list them)."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"fh_op_cases.{os.getpid()}.json")
    try:
        subprocess.run([binary, f"--fh_op_cases={path}"], check=True, capture_output=True, text=True)
        return read_cases(path)
    finally:
        if os.path.exists(path):
            os.remove(path)


def base_name(run_name):
    """A run's benchmark name without Google Benchmark's timing suffix."""
    for suffix in ("/real_time", "/manual_time"):
        if run_name.endswith(suffix):
            return run_name[: -len(suffix)]
    return run_name


def draw(spec, device):
    shape, a, b = spec["shape"], spec["a"], spec["b"]
    values = spec["values"]
    if values == "normal":
        x = torch.randn(shape, device=device) * b + a
    elif values == "uniform":
        x = torch.rand(shape, device=device) * (b - a) + a
    elif values == "distinct":
        n = max(1, math.prod(shape))
        x = (torch.randperm(n, device=device).float() * (2.0 / n) - 1.0).reshape(shape)
    elif values == "tied":
        x = torch.round((torch.rand(shape, device=device) * (b - a) + a) * 2) / 2
    else:
        raise ValueError(f"op_peers: values '{values}' cannot be drawn for a benchmark")
    if spec["nhwc"] and len(shape) == 4:
        x = x.permute(0, 3, 1, 2).contiguous()  # the oracle's 4-d image ops take NCHW
    elif spec["nhwc"] and len(shape) == 5:
        # [N, M, H, W, C] stacks of images, which the oracle's op permutes itself: stored
        # [N, M, C, H, W] as PyTorch keeps them, handed over as a view in freehead's order.
        x = x.permute(0, 1, 4, 2, 3).contiguous().permute(0, 1, 3, 4, 2)
    return x


def make_peer(case, ops, device):
    """A zero-argument callable doing the case's work in PyTorch on `device`."""
    if case["op"] not in ops:
        raise KeyError(f"op_peers: the oracle has no op '{case['op']}' (tools/oracle/ops_*.py)")
    # peer: an op the oracle evaluates in higher precision for parity does float32 work.
    f, args = ops[case["op"]], dict(case["args"], peer=True)
    backward = case["pass"] == "backward"
    xs = [draw(spec, device) for spec in case["inputs"]]
    if not backward:
        def forward():
            with torch.no_grad():
                return f(xs, args)
        return forward
    for x, spec in zip(xs, case["inputs"]):
        x.requires_grad_(spec["requires_grad"])
    y = f(xs, args)
    g = torch.randn_like(y)
    wanted = [x for x in xs if x.requires_grad]

    def run():
        return [t.contiguous() for t in torch.autograd.grad(y, wanted, g, retain_graph=True)]
    return run
