#!/usr/bin/python3
"""Runs freehead's benchmarks and the same work through PyTorch, in one run, and prints a
table of time ratios (freehead / PyTorch: below 1.0 means freehead is faster).

CPU:  /usr/bin/python3 benchmarks/torch_compare.py BUILD/bin/fh_bench [--filter REGEX] [--markdown FILE]
CUDA: python3 benchmarks/torch_compare.py --device cuda --bench-json CUDA_BENCH.json --op-cases CASES.json --json OUT.json

The op table's benchmarks (benchmarks/op_table_bench.cpp) get their peers from op_peers.py:
the binary lists its cases (--fh_op_cases), and each peer runs the parity oracle's own op
(tools/oracle/ops_*.py) on the same shapes. The other benchmark families have a peer in a
peers_*.py module beside this script (its PEERS table: family name -> function of the
benchmark's integer arguments returning a zero-argument callable that does the same work in
PyTorch): the conv family's (peers_conv.py) and, for fh_cuda_bench's benchmarks without
a CPU twin, peers_cuda_<family>.py. On the CPU both sides use the same number of threads
(FH_NUM_THREADS, or every CPU this process may use).

With --device cuda the benchmarks have already run (fh_cuda_bench's JSON, as
tools/gpu/check.sh writes it); each is timed again through its PyTorch peer on the same GPU
with CUDA events, the same way fh_cuda_bench times its side (a warm-up, then samples of
enough calls to last ~200 us, the mean per call), with TF32 off unless the peer callable has
`tf32 = True`. The timings go to --json for benchmarks/gpu_table.py.
"""
import argparse
import glob
import importlib
import json
import math
import os
import platform
import subprocess
import sys
import time

import torch

import op_peers  # beside this script


def load_peers():
    """Merges the PEERS tables of every peers_*.py module beside this script: the CPU peers
    (BM_<name>) and the CUDA ones (BM_cuda_<name>, peers_cuda_<family>.py), so that either
    device finds its benchmarks' peers by name. A family with two peers is an error."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    peers, source = {}, {}
    for path in sorted(glob.glob(os.path.join(here, "peers_*.py"))):
        module = os.path.basename(path)[:-3]
        for family, make in importlib.import_module(module).PEERS.items():
            if family in peers:
                raise SystemExit(f"torch_compare: {family} has peers in both {source[family]} and {module}")
            peers[family], source[family] = make, module
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


def time_cuda(fn, min_seconds):
    """Mean seconds per call on the GPU, timed with CUDA events as fh_cuda_bench does."""
    tf32 = bool(getattr(fn, "tf32", False))
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    once = start.elapsed_time(stop) * 1e-3
    inner = int(min(256, max(1, math.ceil(2e-4 / max(once, 1e-7)))))
    samples = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min_seconds or len(samples) < 3:
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop) * 1e-3 / inner)
    return sum(samples) / len(samples), tf32


def benchmark_args(run_name):
    parts = run_name.split("/")
    return parts[0], [int(p) for p in parts[1:] if p.lstrip("-").isdigit()]


def main_cuda(args):
    """Times the PyTorch peer of every benchmark in fh_cuda_bench's JSON; writes --json."""
    if not torch.cuda.is_available():
        sys.exit("torch_compare: --device cuda but PyTorch sees no GPU")
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    with open(args.bench_json) as f:
        report = json.load(f)
    peers = load_peers()
    cases = op_peers.read_cases(args.op_cases) if args.op_cases else {}
    ops = op_peers.oracle_ops() if cases else {}
    results, missing, failed = {}, set(), {}
    for b in report.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        if b["run_name"] in results or b["run_name"] in failed:
            continue  # another repetition of a benchmark whose peer is timed already
        family, nums = benchmark_args(b["run_name"])
        case = cases.get(op_peers.base_name(b["run_name"]))
        if case is None and family not in peers:
            missing.add(family)
            continue
        try:
            fn = op_peers.make_peer(case, ops, "cuda") if case else peers[family](*nums)
            seconds, tf32 = time_cuda(fn, args.min_time)
            del fn
        except Exception as e:  # one failing peer (out of memory, an op PyTorch lacks) costs its row only
            failed[b["run_name"]] = f"{type(e).__name__}: {e}"
            print(f"torch_compare: {b['run_name']}: peer failed: {failed[b['run_name']]}", file=sys.stderr)
            continue
        results[b["run_name"]] = {"seconds": seconds, "tf32": tf32}
        print(f"torch_compare: {b['run_name']}: {seconds * 1e3:.4f} ms", file=sys.stderr)
    for family in sorted(missing):
        print(f"torch_compare: no PyTorch peer for {family}; skipped", file=sys.stderr)
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
           "device": torch.cuda.get_device_name(), "cudnn_benchmark": args.cudnn_benchmark,
           "date": time.strftime("%Y-%m-%d"), "results": results, "missing_peers": sorted(missing),
           "failed_peers": failed}
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, args.json)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", nargs="?", help="path to the fh_bench binary (CPU)")
    parser.add_argument("--filter", default=".", help="benchmark filter regex (Google Benchmark syntax)")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--bench-json", help="CUDA: fh_cuda_bench's JSON output")
    parser.add_argument("--json", help="CUDA: where to write PyTorch's timings")
    parser.add_argument("--op-cases", help="CUDA: the op table's cases (fh_cuda_bench --fh_op_cases=FILE)")
    parser.add_argument("--min-time", type=float, default=0.05, help="CUDA: seconds of samples per peer")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="CUDA: let PyTorch autotune cuDNN algorithms (torch.backends.cudnn.benchmark)")
    args = parser.parse_args()
    if args.device == "cuda":
        if not args.bench_json or not args.json:
            parser.error("--device cuda needs --bench-json and --json")
        main_cuda(args)
        return
    if not args.bench:
        parser.error("the fh_bench binary is required on the CPU")

    threads = int(os.environ.get("FH_NUM_THREADS", len(os.sched_getaffinity(0))))
    torch.set_num_threads(threads)
    env = dict(os.environ, FH_NUM_THREADS=str(threads))
    run = subprocess.run([args.bench, "--benchmark_format=json", f"--benchmark_filter={args.filter}",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         capture_output=True, text=True, env=env, check=True)
    report = json.loads(run.stdout)
    peers = load_peers()
    cases = op_peers.cases_of(args.bench)
    ops = op_peers.oracle_ops()

    rows = []
    for b in report["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")
        family, nums = parts[0], [int(p) for p in parts[1:] if p.isdigit()]
        case = cases.get(op_peers.base_name(b["run_name"]))
        if case is None and family not in peers:
            print(f"torch_compare: no PyTorch peer for {family}; skipped", file=sys.stderr)
            continue
        ours = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        theirs = time_torch(op_peers.make_peer(case, ops, "cpu") if case else peers[family](*nums))
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
