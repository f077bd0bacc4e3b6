#!/usr/bin/env python3
"""Every CUDA benchmark has a PyTorch peer that takes its arguments.

usage: test_cuda_peers.py FH_CUDA_BENCH [--run REGEX]

Lists fh_cuda_bench's benchmarks (listing needs no GPU) and checks, for each, that
torch_compare.py --device cuda finds its peer: an op-table benchmark's op in the oracle's
op table (op_peers.py), any other's family among the peers_*.py modules, taking the
benchmark's integer arguments. With --run, the peers of the benchmarks matching REGEX are
also built and called once on the CPU (op-table peers on the CPU, the CUDA-only peers with
device="cpu"): a check of their arguments' meaning that needs no GPU. Exits 77 (skipped)
when PyTorch cannot be imported.
"""
import argparse
import inspect
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "benchmarks"))

try:
    import torch  # noqa: F401
except ImportError:
    print("[fh skip] test_cuda_peers: this python3 cannot import torch")
    sys.exit(77)

import op_peers  # noqa: E402
import torch_compare  # noqa: E402


def listed_benchmarks(binary):
    out = subprocess.run([binary, "--benchmark_list_tests=true"], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.startswith("BM_")]


def on_cpu(peer, nums):
    """The callable of `peer` built on the CPU: a peer with a `device` parameter given "cpu"."""
    if "device" in inspect.signature(peer).parameters:
        return peer(*nums, device="cpu")
    return None  # a peer that only runs on a GPU (the conv family's, the ceilings')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", help="the fh_cuda_bench binary")
    parser.add_argument("--run", help="also build and call once on the CPU the peers of the families matching this")
    args = parser.parse_args()
    peers = torch_compare.load_peers()
    cases = op_peers.cases_of(args.bench)
    ops = op_peers.oracle_ops()
    problems, families, ran = [], set(), 0
    for name in listed_benchmarks(args.bench):
        family, nums = torch_compare.benchmark_args(name)
        families.add(family)
        case = cases.get(op_peers.base_name(name))
        if case is not None:
            # An op-table benchmark: its peer is the oracle's op on the case's inputs.
            if case["op"] not in ops:
                problems.append(f"{name}: the oracle has no op '{case['op']}'")
            elif args.run and re.search(args.run, family):
                op_peers.make_peer(case, ops, "cpu")()
                ran += 1
            continue
        if family not in peers:
            problems.append(f"{name}: no peer for {family}")
            continue
        try:
            inspect.signature(peers[family]).bind(*nums)
        except TypeError as e:
            problems.append(f"{name}: the peer does not take these arguments: {e}")
            continue
        if args.run and re.search(args.run, family):
            fn = on_cpu(peers[family], nums)
            if fn is not None:
                fn()
                ran += 1
    if not families:
        problems.append("fh_cuda_bench listed no benchmarks")
    for p in problems:
        print(p)
    print(f"test_cuda_peers: {len(families)} families, {len(problems)} problems"
          + (f", {ran} peers run on the CPU" if args.run else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
