"""Damages a safetensors file in one named way, for the bad-input matrix (cli_input_matrix.sh).

    craft_safetensors.py IN OUT dtype|shape|nan|inf

dtype: the first float tensor is relabelled I32 (F32) or I16 (F16): the element size stays, only
       the type is wrong;
shape: the first tensor with two different sizes has its sizes reversed (same element count);
nan / inf: the first float32 or float16 element becomes NaN / +Inf.
Prints the name of the tensor it changed. Needs only the standard library.
"""
import json
import struct
import sys


def main():
    src, dst, how = sys.argv[1:4]
    data = open(src, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    names = [k for k in header if k != "__metadata__"]
    names.sort(key=lambda k: header[k]["data_offsets"][0])
    floats = [k for k in names if header[k]["dtype"] in ("F32", "F16") and header[k]["data_offsets"][1] > header[k]["data_offsets"][0]]
    if how == "dtype":
        name = floats[0]
        header[name]["dtype"] = "I32" if header[name]["dtype"] == "F32" else "I16"
    elif how == "shape":
        name = next(k for k in names if len(set(header[k]["shape"])) > 1)
        header[name]["shape"] = header[name]["shape"][::-1]
    elif how in ("nan", "inf"):
        name = floats[0]
        at = header[name]["data_offsets"][0]
        if header[name]["dtype"] == "F32":
            body[at:at + 4] = struct.pack("<f", float(how))
        else:
            body[at:at + 2] = b"\x00\x7e" if how == "nan" else b"\x00\x7c"
    else:
        sys.exit(f"craft_safetensors.py: unknown damage '{how}' (dtype, shape, nan or inf)")
    text = json.dumps(header, separators=(",", ":")).encode()
    open(dst, "wb").write(struct.pack("<Q", len(text)) + text + bytes(body))
    print(name)


main()
