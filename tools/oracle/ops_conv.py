"""PyTorch reference of freehead's conv family (conv2d, linear, transpose).

conv2d's input and weight arrive in PyTorch's layout (the test flags them NHWC, so the
oracle has already permuted [N,H,W,C] -> [N,C,H,W] and [O,kh,kw,I] -> [O,I,kh,kw]).
"""
import torch.nn.functional as F


def optional(x, i):
    return x[i] if len(x) > i else None


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "conv2d": lambda x, a: F.conv2d(x[0], x[1], optional(x, 2), stride=a["stride"], padding=a["padding"]),
    "linear": lambda x, a: F.linear(x[0], x[1], optional(x, 2)),
    "transpose": lambda x, a: x[0].transpose(a["dim0"], a["dim1"]).contiguous(),
}
