"""PyTorch reference of freehead's core ops (elementwise, matmul, reductions, views)."""
import torch


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
    "permute": lambda x, a: x[0].permute(a["dims"]).contiguous(),
    # Layout probe: multiplies NCHW channel c by (c + 1); proves the NHWC plumbing.
    "scale_channels": lambda x, a: x[0] * torch.arange(1, x[0].shape[1] + 1, dtype=x[0].dtype).view(1, -1, 1, 1),
}
