#!/usr/bin/python3
"""Runs freehead's benchmarks and the same work through PyTorch on the CPU, in one run,
and prints a table of time ratios (freehead / PyTorch: below 1.0 means freehead is faster).

usage: /usr/bin/python3 benchmarks/torch_compare.py BUILD/bin/fh_bench [--filter REGEX] [--markdown FILE]

Each benchmark family in fh_bench has a peer in a peers_*.py module beside this script (its
PEERS table: family name -> function of the benchmark's integer arguments returning a
zero-argument callable that does the same work in PyTorch). Both sides use the same number of threads (FH_NUM_THREADS, or
every CPU this process may use).
"""
import argparse
import glob
import importlib
import json
import os
import platform
import subprocess
import sys
import time

import torch


def load_peers():
    """Merges the PEERS tables of every peers_*.py module beside this script (one per op family)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    peers = {}
    for path in sorted(glob.glob(os.path.join(here, "peers_*.py"))):
        peers.update(importlib.import_module(os.path.basename(path)[:-3]).PEERS)
    return peers


def time_torch(fn, min_seconds=0.3):
    """Median seconds per call over enough calls to fill min_seconds, after a warm-up."""
    for _ in range(3):
        fn()
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(samples) < 5:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", help="path to the fh_bench binary")
    parser.add_argument("--filter", default=".", help="benchmark filter regex (Google Benchmark syntax)")
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()

    threads = int(os.environ.get("FH_NUM_THREADS", len(os.sched_getaffinity(0))))
    torch.set_num_threads(threads)
    env = dict(os.environ, FH_NUM_THREADS=str(threads))
    run = subprocess.run([args.bench, "--benchmark_format=json", f"--benchmark_filter={args.filter}",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         capture_output=True, text=True, env=env, check=True)
    report = json.loads(run.stdout)
    peers = load_peers()

    rows = []
    for b in report["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")
        family, nums = parts[0], [int(p) for p in parts[1:] if p.isdigit()]
        if family not in peers:
            print(f"torch_compare: no PyTorch peer for {family}; skipped", file=sys.stderr)
            continue
        ours = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        theirs = time_torch(peers[family](*nums))
        if "FLOP/s" in b:
            rate, ceiling, unit = b["FLOP/s"], b["peak_FLOP/s"], "GFLOP/s"
        else:
            rate, ceiling, unit = b["bytes_per_second"], b["peak_bytes/s"], "GB/s"
        peak = 100.0 * rate / ceiling
        rows.append((b["run_name"], ours * 1e3, theirs * 1e3, ours / theirs, rate / 1e9, unit, peak))

    head = (f"machine: {platform.processor() or platform.machine()}, {threads} threads; "
            f"torch {torch.__version__}; {time.strftime('%Y-%m-%d')}")
    lines = [head, "",
             "| benchmark | freehead ms | PyTorch ms | ratio | freehead rate | % of ceiling |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, ours, theirs, ratio, rate, unit, peak in rows:
        lines.append(f"| {name} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} | {rate:.1f} {unit} | {peak:.0f}% |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        tmp = args.markdown + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.markdown)


if __name__ == "__main__":
    main()
