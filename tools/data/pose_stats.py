#!/usr/bin/python3
"""How different the two frames of a training pair are, against the evaluation triples.

usage: tools/data/pose_stats.py DATASET [--split train] [--gap G ...] [--pairs-per-clip N] [--clips C]

Draws pairs as freehead's loader does for the generator (a target frame and another frame of
the same clip at least G frames away; any other frame when none is that far) and prints the
median, 90th percentile and maximum of |Δyaw| and of the largest of |Δyaw|, |Δpitch|,
|Δroll| in degrees, and the median largest change of an expression parameter; then the
same angles between each evaluation triple's source and target (the driver's pose on the
source's face). Reads the dataset's annotations directly (docs/data.md).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def angles_deg(a, t):
    return np.degrees(np.array([a["yaw"][t], a["pitch"][t], a["roll"][t]], dtype=np.float64))


def summary(label, dyaw, dmax, dexpr=None):
    line = (f"{label}: |Δyaw| median {np.median(dyaw):.1f}° p90 {np.percentile(dyaw, 90):.1f}° max {np.max(dyaw):.1f}°; "
            f"largest angle change median {np.median(dmax):.1f}° p90 {np.percentile(dmax, 90):.1f}°")
    if dexpr is not None:
        line += f"; largest expression change median {np.median(dexpr):.2f}"
    print(line)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset")
    p.add_argument("--split", default="train")
    p.add_argument("--gap", type=int, nargs="+", default=[0, 16, 32])
    p.add_argument("--pairs-per-clip", type=int, default=20)
    p.add_argument("--clips", type=int, default=300, help="clips sampled from the split")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    manifest = json.load(open(os.path.join(args.dataset, "manifest.json")))
    clips = [c for c in manifest["clips"] if c["split"] == args.split][: args.clips]
    if not clips:
        sys.exit(f"pose_stats: no clips in split '{args.split}' of {args.dataset}")
    annotations = [load_safetensors(os.path.join(args.dataset, c["name"], "annotations.safetensors")) for c in clips]
    print(f"{args.dataset}: {len(clips)} clips of split '{args.split}', {args.pairs_per_clip} pairs each")
    for gap in args.gap:
        rng = np.random.default_rng(args.seed)
        dyaw, dmax, dexpr = [], [], []
        for c, a in zip(clips, annotations):
            frames = c["frames"]
            for _ in range(args.pairs_per_clip):
                t = int(rng.integers(frames))
                others = [s for s in range(frames) if abs(s - t) >= max(1, gap)] or [s for s in range(frames) if s != t]
                s = others[int(rng.integers(len(others)))]
                d = np.abs(angles_deg(a, t) - angles_deg(a, s))
                dyaw.append(d[0])
                dmax.append(d.max())
                dexpr.append(np.abs(a["expression"][t] - a["expression"][s]).max())
        summary(f"training pairs, gap >= {gap}", dyaw, dmax, dexpr)
    if manifest.get("triples"):
        s = load_safetensors(os.path.join(args.dataset, "triples/source/annotations.safetensors"))
        t = load_safetensors(os.path.join(args.dataset, "triples/target/annotations.safetensors"))
        d = np.abs(np.degrees(np.stack([s["yaw"] - t["yaw"], s["pitch"] - t["pitch"], s["roll"] - t["roll"]], 1)))
        summary(f"evaluation triples ({len(d)}), source vs target", d[:, 0], d.max(1))


if __name__ == "__main__":
    main()
