"""PyTorch reference of freehead's pool family: pooling, nearest resizing, concat, stack,
slice, per-image crops and index_select. Image ops receive NCHW tensors (their cases flag NHWC inputs);
the shape ops run on freehead's tensors as they are."""
import torch
import torch.nn.functional as F


def avg_pool2d(x, a):
    return F.avg_pool2d(x[0], a["kernel"], a["stride"], a["padding"], ceil_mode=False,
                        count_include_pad=a["count_include_pad"])


def max_pool2d(x, a):
    return F.max_pool2d(x[0], a["kernel"], a["stride"], a["padding"], ceil_mode=False)


class Crop2d(torch.autograd.Function):
    """One window per image. Written out so that its backward is one zero-filled gradient
    with each image's window copied in (autograd of a stack of slices would zero a whole
    image-sized gradient per image), the work freehead's backward does."""

    @staticmethod
    def forward(ctx, x, tops, lefts, h, w):
        ctx.shape, ctx.tops, ctx.lefts, ctx.h, ctx.w = x.shape, tops, lefts, h, w
        return torch.stack([x[i, :, tops[i]:tops[i] + h, lefts[i]:lefts[i] + w] for i in range(x.shape[0])])

    @staticmethod
    def backward(ctx, g):
        dx = g.new_zeros(ctx.shape)
        for i in range(ctx.shape[0]):
            dx[i, :, ctx.tops[i]:ctx.tops[i] + ctx.h, ctx.lefts[i]:ctx.lefts[i] + ctx.w].copy_(g[i])
        return dx, None, None, None, None


def crop2d(x, a):
    # x is NCHW here; one offset given for all images applies to each.
    n = x[0].shape[0]
    tops = a["tops"] * n if len(a["tops"]) == 1 else a["tops"]
    lefts = a["lefts"] * n if len(a["lefts"]) == 1 else a["lefts"]
    return Crop2d.apply(x[0], tops, lefts, a["height"], a["width"])


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "avg_pool2d": avg_pool2d,
    "max_pool2d": max_pool2d,
    "global_avg_pool": lambda x, a: x[0].mean((2, 3)),
    "resize_nearest": lambda x, a: F.interpolate(x[0], size=(a["height"], a["width"]), mode="nearest"),
    "concat": lambda x, a: torch.cat(x, dim=a["axis"]),
    "stack": lambda x, a: torch.stack(x, dim=a["axis"]),
    "slice": lambda x, a: x[0].narrow(a["axis"], a["start"], a["length"]),
    "crop2d": crop2d,
    "index_select": lambda x, a: x[0].index_select(
        a["axis"], torch.tensor(a["index"], dtype=torch.int64, device=x[0].device)),
}
