#!/usr/bin/python3
"""PyTorch reference for freehead's parity tests.

usage: torch_oracle.py IN.safetensors OUT.safetensors

IN holds, for each case i, tensors "c{i}.in{j}" and "c{i}.grad_output", and metadata
"cases": a JSON list of {"op", "args", "requires_grad"}. OUT receives "c{i}.out" and, for
each input that requires grad, "c{i}.grad{j}" (PyTorch's gradient of <out, grad_output>).
Safetensors is read and written here with numpy alone, so only python3-torch is needed.
"""
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def save(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        arr = t.detach().cpu().numpy().copy(order="C")  # (ascontiguousarray turns 0-d into 1-d)
        raw = arr.tobytes()
        header[name] = {"dtype": NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def dims(args):
    d = args.get("dims", [])
    return tuple(d) if d else None


def reduce_sum(x, args):
    d = dims(args)
    return x.sum() if d is None and not args.get("keepdim") else x.sum(dim=d or tuple(range(x.dim())), keepdim=bool(args.get("keepdim")))


def reduce_mean(x, args):
    d = dims(args)
    return x.mean() if d is None and not args.get("keepdim") else x.mean(dim=d or tuple(range(x.dim())), keepdim=bool(args.get("keepdim")))


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "add": lambda x, a: x[0] + x[1],
    "sub": lambda x, a: x[0] - x[1],
    "mul": lambda x, a: x[0] * x[1],
    "div": lambda x, a: x[0] / x[1],
    "neg": lambda x, a: -x[0],
    "relu": lambda x, a: torch.relu(x[0]),
    "exp": lambda x, a: torch.exp(x[0]),
    "log": lambda x, a: torch.log(x[0]),
    "scale": lambda x, a: x[0] * a["alpha"],
    "add_scalar": lambda x, a: x[0] + a["alpha"],
    "matmul": lambda x, a: torch.matmul(x[0], x[1]),
    "sum": lambda x, a: reduce_sum(x[0], a),
    "mean": lambda x, a: reduce_mean(x[0], a),
    "reshape": lambda x, a: x[0].reshape(a["shape"]),
}


def main():
    inputs, meta = load(sys.argv[1])
    cases = json.loads(meta["cases"])
    out = {}
    for i, case in enumerate(cases):
        p = f"c{i}."
        xs = []
        j = 0
        while f"{p}in{j}" in inputs:
            xs.append(inputs[f"{p}in{j}"].clone().requires_grad_(bool(case["requires_grad"][j])))
            j += 1
        if case["op"] not in OPS:
            sys.exit(f"torch_oracle: unknown op '{case['op']}' in case {i}")
        y = OPS[case["op"]](xs, case["args"])
        out[p + "out"] = y
        if any(case["requires_grad"]):
            y.backward(inputs[p + "grad_output"])
            for j, x in enumerate(xs):
                if case["requires_grad"][j]:
                    out[f"{p}grad{j}"] = x.grad if x.grad is not None else torch.zeros_like(x)
    save(sys.argv[2], out)


if __name__ == "__main__":
    main()
