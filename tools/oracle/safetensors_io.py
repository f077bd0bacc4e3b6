"""Safetensors read and write with numpy alone (no `safetensors` package needed).

Shared by the parity oracle (torch_oracle.py) and the reference model (tools/reference/).
`load` returns torch tensors and the `__metadata__` dict; `save` writes atomically
(temporary file in the same folder, then rename). Errors name the file and the tensor.
"""
import json
import os
import struct
import tempfile

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "BOOL": np.bool_}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def _bf16_to_f32(raw):
    bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
    return bits.view(np.float32)


def load(path):
    """Returns ({name: torch tensor}, metadata dict). BF16 tensors are widened to float32."""
    with open(path, "rb") as f:
        # One read into writable memory: tensors view it without another copy.
        blob = bytearray(os.fstat(f.fileno()).st_size)
        got = f.readinto(blob)
        del blob[got:]
    if len(blob) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(blob)} bytes, need at least 8)")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header of {n} bytes runs past the end of the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{path}: header is not JSON ({e})") from None
    meta = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, e in header.items():
        dtype = e.get("dtype")
        shape = e.get("shape")
        begin, end = e.get("data_offsets", (0, -1))
        if dtype != "BF16" and dtype not in DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor '{name}' bytes [{begin}, {end}) lie outside the "
                             f"{len(data)} data bytes (truncated file?)")
        itemsize = 2 if dtype == "BF16" else np.dtype(DTYPES[dtype]).itemsize
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * itemsize:
            raise ValueError(f"{path}: tensor '{name}' of shape {shape} ({dtype}) needs {count * itemsize} "
                             f"bytes, the file gives {end - begin}")
        raw = data[begin:end]
        if dtype == "BF16":
            arr = _bf16_to_f32(raw)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[dtype])
            if (8 + n + begin) % arr.itemsize:
                arr = arr.copy()  # misaligned in the file: give torch aligned memory
        tensors[name] = torch.from_numpy(arr.reshape(shape))
    return tensors, meta


def save(path, tensors, metadata=None):
    """Writes {name: tensor} (float32/float64/int... as they are) and optional string metadata."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        arr = t.detach().cpu().numpy().copy(order="C")  # (ascontiguousarray turns 0-d into 1-d)
        if arr.dtype not in NAMES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {arr.dtype}, which safetensors_io cannot write")
        raw = arr.tobytes()
        header[name] = {"dtype": NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a weights file is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for c in chunks:
                f.write(c)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
