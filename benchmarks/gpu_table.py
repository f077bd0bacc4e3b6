#!/usr/bin/env python3
"""Assembles the GPU check's table: every CUDA benchmark of fh_cuda_bench (its JSON) next to
its PyTorch peer (torch_compare.py --device cuda's JSON), with the ratio and the share of the
ceiling measured in the same run (bench_cuda_ceiling.cpp).

usage: benchmarks/gpu_table.py --ours CUDA_BENCH.json [--torch TORCH_CUDA.json] [--markdown FILE] [--title TEXT]

Needs no PyTorch. Benchmarks follow benchmarks/cuda_bench_util.h: a rate counter ("FLOP/s",
or Google Benchmark's "bytes_per_second") and a label "ceiling=<name>;shape=<text>"; the
ceiling benchmarks (family BM_cuda_ceiling_*) carry "measures=<name>" instead. Any benchmark
family in the JSON joins the table; nothing here names one.
"""
import argparse
import json
import os
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
CEILING_PREFIX = "BM_cuda_ceiling"


def parse_label(label):
    """'a=1;b=x y' -> {'a': '1', 'b': 'x y'}; text without '=' is kept under 'text'."""
    fields = {}
    for part in (label or "").split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            fields[key.strip()] = value.strip()
        elif part.strip():
            fields["text"] = part.strip()
    return fields


def load_ours(report):
    """The benchmarks of a Google Benchmark JSON report as dicts, in their order. With
    repetitions only the median aggregate is kept."""
    runs = report.get("benchmarks", [])
    has_median = any(b.get("aggregate_name") == "median" for b in runs)
    rows = []
    for b in runs:
        if b.get("error_occurred"):
            rows.append({"name": b.get("run_name", b.get("name")), "error": b.get("error_message", "error")})
            continue
        if has_median and b.get("aggregate_name") != "median":
            continue
        if not has_median and b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        label = parse_label(b.get("label", ""))
        if "FLOP/s" in b:
            rate, kind = float(b["FLOP/s"]), "flops"
        elif "bytes_per_second" in b:
            rate, kind = float(b["bytes_per_second"]), "bytes"
        else:
            rate, kind = None, None
        rows.append({
            "name": name,
            "family": parts[0],
            "args": [p for p in parts[1:] if p not in ("manual_time", "real_time")],
            "seconds": float(b["real_time"]) * UNIT_SECONDS[b.get("time_unit", "ns")],
            "rate": rate,
            "kind": kind,
            "label": label,
        })
    return rows


def measured_ceilings(rows):
    """{ceiling name: rate} from the ceiling benchmarks (the best when measured twice)."""
    ceilings = {}
    for r in rows:
        if r.get("error") or not r["family"].startswith(CEILING_PREFIX) or r["rate"] is None:
            continue
        name = r["label"].get("measures")
        if name:
            ceilings[name] = max(ceilings.get(name, 0.0), r["rate"])
    return ceilings


def format_rate(rate, kind):
    if rate is None:
        return "—"
    return f"{rate / 1e12:.2f} TFLOP/s" if kind == "flops" else f"{rate / 1e9:.0f} GB/s"


def format_ms(seconds):
    return "—" if seconds is None else f"{seconds * 1e3:.4f}"


def op_name(family):
    for prefix in ("BM_cuda_", "BM_"):
        if family.startswith(prefix):
            return family[len(prefix):]
    return family


def build_table(ours, torch_report=None, title=None):
    """The markdown text: a header, the ceilings, then one row per benchmark."""
    torch_results = (torch_report or {}).get("results", {})
    ceilings = measured_ceilings(ours)
    lines = []
    if title:
        lines += [title, ""]
    if torch_report:
        lines += [f"PyTorch {torch_report.get('torch', '?')} (CUDA {torch_report.get('cuda', '?')}, cuDNN "
                  f"{torch_report.get('cudnn', '?')}, cudnn.benchmark={torch_report.get('cudnn_benchmark', False)}) "
                  f"on {torch_report.get('device', '?')}", ""]
    lines += ["Ceilings measured in this run:", "", "| ceiling | rate | shape |", "|---|---:|---|"]
    for r in ours:
        if r.get("error") or not r["family"].startswith(CEILING_PREFIX):
            continue
        lines.append(f"| {r['label'].get('measures', op_name(r['family']))} | {format_rate(r['rate'], r['kind'])} | "
                     f"{r['label'].get('shape', '/'.join(r['args']))} |")
    lines += ["",
              "ratio = ours / PyTorch (below 1 means freehead is faster); % of ceiling = our rate / the ceiling named "
              "by the benchmark.", "",
              "| op | shape | ours ms | PyTorch ms | ratio | our rate | % of ceiling |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for r in ours:
        if r.get("error"):
            lines.append(f"| {r['name']} | error: {r['error']} | — | — | — | — | — |")
            continue
        if r["family"].startswith(CEILING_PREFIX):
            continue
        theirs = torch_results.get(r["name"], {}).get("seconds")
        ratio = f"{r['seconds'] / theirs:.2f}" if theirs else "—"
        ceiling = ceilings.get(r["label"].get("ceiling", ""))
        pct = f"{100.0 * r['rate'] / ceiling:.0f}%" if ceiling and r["rate"] is not None else "—"
        shape = r["label"].get("shape") or "/".join(r["args"])
        lines.append(f"| {op_name(r['family'])} | {shape} | {format_ms(r['seconds'])} | {format_ms(theirs)} | {ratio} | "
                     f"{format_rate(r['rate'], r['kind'])} | {pct} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ours", required=True, help="fh_cuda_bench --benchmark_out JSON")
    parser.add_argument("--torch", help="torch_compare.py --device cuda --json output")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--title", help="first line of the table (date, commit, GPU)")
    args = parser.parse_args(argv)
    with open(args.ours) as f:
        ours = load_ours(json.load(f))
    torch_report = None
    if args.torch and os.path.exists(args.torch):
        with open(args.torch) as f:
            torch_report = json.load(f)
    text = build_table(ours, torch_report, args.title)
    sys.stdout.write(text)
    if args.markdown:
        tmp = args.markdown + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
