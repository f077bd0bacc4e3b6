"""PyTorch reference of freehead's warp family: bilinear warp (grid_sample with border
padding), softmax-weighted N-shot fusion, pixel shuffle and unshuffle.

Cases flag the 4-d NHWC images (src, the shuffle input, the outputs) so the script hands
these ops NCHW tensors. The flow stays [N, H, W, 2] (channel 0 = dx, 1 = dy, in pixels),
already grid_sample's grid layout. The fusion inputs are 5-d [N, M, H, W, C] (m has C = 1),
which the NHWC flags do not cover: the op permutes them to PyTorch's [N, M, C, H, W] itself,
so their gradients come back in freehead's layout through the permutation.
"""
import torch
import torch.nn.functional as F


def flow_grid(flow):
    """grid_sample's grid for sampling at (x + dx, y + dy), align_corners=True:
    x_n = 2u / (W - 1) - 1. On a one-pixel axis any finite x_n samples pixel 0 (grid_sample
    scales by W - 1 = 0), so the divisor is clamped to 1 there to keep the grid finite. The
    pixel grid and the divisors are made once per size, dtype and device, as a Resample2d
    module built on grid_sample keeps them."""
    _, h, w, _ = flow.shape
    key = (h, w, flow.dtype, flow.device)
    if key not in flow_grid.cache:
        ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype, device=flow.device),
                                torch.arange(w, dtype=flow.dtype, device=flow.device), indexing="ij")
        flow_grid.cache[key] = (torch.stack((xs, ys), dim=-1),
                                torch.tensor([max(w - 1, 1), max(h - 1, 1)], dtype=flow.dtype, device=flow.device))
    pixels, divisor = flow_grid.cache[key]
    return 2 * (pixels + flow) / divisor - 1


flow_grid.cache = {}


def warp(src_nchw, flow, peer=False):
    """Evaluated in float64: in float32 the round trip u -> x_n -> u loses about (W - 1) / 2
    ulps of the coordinate, an error of PyTorch's that would swamp freehead's own. In float64
    the reference is the exact value of the same formula (border clamping and its zero
    gradient included), so the comparison measures freehead's float32 error alone. As a
    benchmark's peer (peer=True) the same in float32: the work a PyTorch model does."""
    dtype = torch.float32 if peer else torch.float64
    y = F.grid_sample(src_nchw.to(dtype), flow_grid(flow.to(dtype)), mode="bilinear", padding_mode="border",
                      align_corners=True)
    return y.float()


def nshot_fusion(m, x):
    m = m.permute(0, 1, 4, 2, 3)  # [N, M, 1, H, W]
    x = x.permute(0, 1, 4, 2, 3)  # [N, M, C, H, W]
    return (torch.softmax(m, dim=1) * x).sum(dim=1)  # [N, C, H, W]


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "warp": lambda x, a: warp(x[0], x[1], a.get("peer", False)),
    "nshot_fusion": lambda x, a: nshot_fusion(x[0], x[1]),
    "pixel_shuffle": lambda x, a: F.pixel_shuffle(x[0], a["r"]),
    "pixel_unshuffle": lambda x, a: F.pixel_unshuffle(x[0], a["r"]),
}
