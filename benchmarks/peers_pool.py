"""PyTorch peers of the pool family's benchmarks (bench_pool.cpp), in PyTorch's NCHW layout.
Backward peers call the ATen backward kernels autograd would run (or, where autograd
returns views, make the same contiguous gradients freehead does)."""
import torch
import torch.nn.functional as F

aten = torch.ops.aten


def pooled(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def avg_pool2d_peer(n, h, w, c, k, s, p, include_pad):
    x = torch.randn(n, c, h, w)
    return lambda: F.avg_pool2d(x, k, s, p, count_include_pad=bool(include_pad))


def avg_pool2d_backward_peer(n, h, w, c, k, s, p, include_pad):
    x = torch.randn(n, c, h, w)
    g = torch.randn(n, c, pooled(h, k, s, p), pooled(w, k, s, p))
    return lambda: aten.avg_pool2d_backward(g, x, [k, k], [s, s], [p, p], False, bool(include_pad), None)


def max_pool2d_peer(n, h, w, c, k, s, p):
    # On the CPU, F.max_pool2d computes the indices too (max_pool2d_with_indices).
    x = torch.randn(n, c, h, w)
    return lambda: F.max_pool2d(x, k, s, p)


def max_pool2d_backward_peer(n, h, w, c, k, s, p):
    x = torch.randn(n, c, h, w)
    out, indices = F.max_pool2d(x, k, s, p, return_indices=True)
    g = torch.randn_like(out)
    return lambda: aten.max_pool2d_with_indices_backward(g, x, [k, k], [s, s], [p, p], [1, 1], False, indices)


def global_avg_pool_peer(n, h, w, c):
    x = torch.randn(n, c, h, w)
    return lambda: x.mean((2, 3))


def global_avg_pool_backward_peer(n, h, w, c):
    # mean's backward: the gradient expanded over the image, divided by its size.
    g = torch.randn(n, c)
    return lambda: g[:, :, None, None].expand(n, c, h, w) / (h * w)


def resize_nearest_peer(n, h, w, c, oh, ow):
    x = torch.randn(n, c, h, w)
    return lambda: F.interpolate(x, size=(oh, ow), mode="nearest")


def resize_nearest_backward_peer(n, h, w, c, oh, ow):
    g = torch.randn(n, c, oh, ow)
    return lambda: aten.upsample_nearest2d_backward(g, [oh, ow], [n, c, h, w], None, None)


def concat_peer(n, h, w, c):
    a, b = torch.randn(n, c, h, w), torch.randn(n, c, h, w)
    return lambda: torch.cat([a, b], dim=1)


def concat_backward_peer(n, h, w, c):
    # Autograd hands each input a view of the gradient; freehead makes contiguous tensors,
    # and so does this peer (for n = 1 the views already are contiguous: no copy at all).
    g = torch.randn(n, 2 * c, h, w)
    return lambda: [t.contiguous() for t in g.split(c, dim=1)]


def crop_offsets(n, size, crop, sign):
    return [(size - crop) // 2 + sign * (i % 3 - 1) for i in range(n)]


def crop2d_peer(n, h, w, c, crop):
    x = torch.randn(n, c, h, w)
    tops, lefts = crop_offsets(n, h, crop, 1), crop_offsets(n, w, crop, -1)
    return lambda: torch.stack([x[i, :, tops[i]:tops[i] + crop, lefts[i]:lefts[i] + crop] for i in range(n)])


def crop2d_backward_peer(n, h, w, c, crop):
    g = torch.randn(n, c, crop, crop)
    tops, lefts = crop_offsets(n, h, crop, 1), crop_offsets(n, w, crop, -1)

    def run():
        dx = torch.zeros(n, c, h, w, device=g.device)
        for i in range(n):
            dx[i, :, tops[i]:tops[i] + crop, lefts[i]:lefts[i] + crop].copy_(g[i])
        return dx
    return run


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_avg_pool2d": avg_pool2d_peer,
    "BM_avg_pool2d_backward": avg_pool2d_backward_peer,
    "BM_max_pool2d": max_pool2d_peer,
    "BM_max_pool2d_backward": max_pool2d_backward_peer,
    "BM_global_avg_pool": global_avg_pool_peer,
    "BM_global_avg_pool_backward": global_avg_pool_backward_peer,
    "BM_resize_nearest": resize_nearest_peer,
    "BM_resize_nearest_backward": resize_nearest_backward_peer,
    "BM_concat": concat_peer,
    "BM_concat_backward": concat_backward_peer,
    "BM_crop2d": crop2d_peer,
    "BM_crop2d_backward": crop2d_backward_peer,
}
