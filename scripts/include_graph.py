#!/usr/bin/env python3
"""Prints which top-level folders include which: the graph the README's architecture
diagram draws. Library folders only (the CLI, examples, tests, benchmarks and fuzz targets
sit on top and may include anything). kernels/cpu and kernels/cuda count as folders of
their own.

  scripts/include_graph.py          prints "folder -> folders it includes", one per line
  scripts/include_graph.py --check  also fails (exit 1) on an include that goes up the
                                    layering below, i.e. an arrow the diagram does not have
  scripts/include_graph.py --dot    the graph in Graphviz's language, for the README's picture:
      scripts/include_graph.py --dot | dot -Tpng -Gdpi=110 -o docs/images/architecture.png
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each library folder and the folders it may include: the README's diagram, as data.
LAYERS = {
    "runtime": [],
    "io": ["runtime"],
    "kernels": ["runtime", "kernels/cpu", "kernels/cuda"],
    "kernels/cpu": ["runtime", "kernels"],
    "kernels/cuda": ["runtime", "kernels"],
    "autograd": ["runtime", "kernels"],
    "weights": ["runtime", "io"],
    "dist": ["runtime"],
    "layers": ["runtime", "kernels", "autograd", "dist"],
    "geometry": ["runtime", "kernels", "autograd", "weights"],
    "nets": ["runtime", "autograd", "layers", "geometry"],
    "data": ["runtime", "io", "weights", "geometry"],
    "train": ["runtime", "io", "kernels", "autograd", "weights", "dist", "layers", "geometry", "nets", "data"],
    "pipeline": ["runtime", "io", "autograd", "weights", "geometry", "nets"],
    "eval": ["runtime", "io", "weights", "geometry", "data", "pipeline"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    parts = path.split("/")
    if parts[0] == "kernels" and len(parts) > 2 and parts[1] in ("cpu", "cuda"):
        return "kernels/" + parts[1]
    return parts[0]


def graph():
    edges = {f: set() for f in LAYERS}
    for folder in LAYERS:
        top = os.path.join(ROOT, folder)
        for dirpath, _, files in os.walk(top):
            for name in files:
                if not name.endswith((".h", ".cpp", ".cu", ".cuh", ".inc")):
                    continue
                path = os.path.join(dirpath, name)
                src = folder_of(os.path.relpath(path, ROOT))
                if src != folder:
                    continue  # kernels/cpu is walked as its own folder
                with open(path, encoding="utf-8", errors="replace") as f:
                    for inc in INCLUDE.findall(f.read()):
                        dst = folder_of(inc)
                        if dst in LAYERS and dst != src:
                            edges[src].add((dst, os.path.relpath(path, ROOT), inc))
    return edges


NOTES = {
    "runtime": "Tensor, storage, allocators,\\ndevices, thread pool, random",
    "io": "files written atomically, PNG, JPEG,\\nGIF, video, pictures, progress",
    "kernels": "pure ops: checks, dispatch",
    "kernels/cpu": "the reference\\n(Eigen, thread pool)",
    "kernels/cuda": "hand-written,\\ncuBLAS, cuDNN",
    "autograd": "differentiable ops, engine",
    "weights": "safetensors, JSON",
    "dist": "communicator (MPI)",
    "layers": "modules, parameters",
    "geometry": "key-points, sketches, crops",
    "nets": "E_can, E_gaze, G, D, VGG",
    "data": "synthetic heads, datasets, loader",
    "train": "losses, Adam, the loop",
    "pipeline": "reenactment, editing",
    "eval": "tables, metrics",
}


def dot(edges):
    lines = ["digraph freehead {", '  rankdir=TB; node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica", fontsize=11]; edge [color="#555555", arrowsize=0.7];',
             '  cli [label="tools/freehead (CLI), examples, tests,\\nbenchmarks, fuzz: may include any folder", '
             'fillcolor="#fff5e0"];',
             '  cli -> eval; cli -> train;']
    for folder in LAYERS:
        lines.append(f'  "{folder}" [label="{folder}/\\n{NOTES[folder]}"];')
    for src in LAYERS:
        for dst in sorted({d for d, _, _ in edges[src]}):
            # Every folder includes the runtime; drawing those arrows would hide the rest.
            if dst == "runtime" and src not in ("io", "dist", "kernels/cpu", "kernels/cuda"):
                continue
            style = ' [style=dashed, constraint=false]' if (src, dst) in (("kernels/cpu", "kernels"),
                                                                          ("kernels/cuda", "kernels")) else ""
            lines.append(f'  "{src}" -> "{dst}"{style};')
    lines.append('  label="Every folder also includes runtime/. Dashed: the backends include the shared op types.";')
    lines.append('  fontname="Helvetica"; fontsize=10;')
    lines.append("}")
    return "\n".join(lines)


def main():
    check = "--check" in sys.argv[1:]
    edges = graph()
    if "--dot" in sys.argv[1:]:
        sys.stdout.write(dot(edges) + "\n")
        return 0
    bad = []
    for src in LAYERS:
        dsts = sorted({d for d, _, _ in edges[src]})
        print(f"{src:13} -> {', '.join(dsts) if dsts else '(nothing)'}")
        for dst, path, inc in sorted(edges[src]):
            if dst not in LAYERS[src]:
                bad.append(f"{path} includes \"{inc}\": {src} may not include {dst}")
    if check:
        for line in bad:
            print("include_graph: " + line, file=sys.stderr)
        if bad:
            return 1
        print("include_graph: every include follows the layering")
    return 0


if __name__ == "__main__":
    sys.exit(main())
