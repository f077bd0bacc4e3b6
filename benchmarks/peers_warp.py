"""PyTorch peers of the warp-family benchmarks (bench_warp.cpp), in PyTorch's own layout:
NCHW images, the flow as a conv head emits it ([N, 2, H, W]) turned into grid_sample's
normalised grid on every call, as a Resample2d module built on grid_sample does. Backward
peers time autograd's backward alone, on a graph kept alive with retain_graph."""
import torch
import torch.nn.functional as F


def motion_flow(n, h, w):
    return torch.rand(n, 2, h, w) * 6 - 3


def resample2d(src, flow):
    """out(y, x) = bilinear(src, x + dx, y + dy), border-clamped: grid_sample on the grid
    2(x + dx)/(W - 1) - 1, 2(y + dy)/(H - 1) - 1 (the base grid is built once)."""
    n, _, h, w = flow.shape
    key = (h, w, flow.device)  # the same sizes may be timed on the CPU and on a GPU
    if key not in resample2d.base:
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=flow.device),
                                torch.arange(w, dtype=torch.float32, device=flow.device), indexing="ij")
        resample2d.base[key] = (torch.stack((xs, ys), dim=-1).unsqueeze(0),
                                torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=flow.device))
    base, scale = resample2d.base[key]
    grid = (base + flow.permute(0, 2, 3, 1)) * scale - 1
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)


resample2d.base = {}


def backward_of(out, inputs):
    g = torch.randn_like(out)
    return lambda: torch.autograd.grad(out, inputs, g, retain_graph=True)


def warp_forward_peer(n, h, w, c):
    src, flow = torch.randn(n, c, h, w), motion_flow(n, h, w)
    return lambda: resample2d(src, flow)


def warp_backward_peer(n, h, w, c):
    src = torch.randn(n, c, h, w, requires_grad=True)
    flow = motion_flow(n, h, w).requires_grad_()
    return backward_of(resample2d(src, flow), (src, flow))


def fuse(m, x):
    return (torch.softmax(m, dim=1) * x).sum(dim=1)


def nshot_fusion_forward_peer(n, m_sources, h, w, c):
    m, x = torch.randn(n, m_sources, 1, h, w), torch.randn(n, m_sources, c, h, w)
    return lambda: fuse(m, x)


def nshot_fusion_backward_peer(n, m_sources, h, w, c):
    m = torch.randn(n, m_sources, 1, h, w, requires_grad=True)
    x = torch.randn(n, m_sources, c, h, w, requires_grad=True)
    return backward_of(fuse(m, x), (m, x))


def pixel_shuffle_forward_peer(n, h, w, c, r):
    x = torch.randn(n, c, h, w)
    return lambda: F.pixel_shuffle(x, r)


def pixel_shuffle_backward_peer(n, h, w, c, r):
    # Autograd's backward of pixel_shuffle is pixel_unshuffle of the gradient.
    g = torch.randn(n, c // (r * r), h * r, w * r)
    return lambda: F.pixel_unshuffle(g, r)


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_warp_forward": warp_forward_peer,
    "BM_warp_backward": warp_backward_peer,
    "BM_nshot_fusion_forward": nshot_fusion_forward_peer,
    "BM_nshot_fusion_backward": nshot_fusion_backward_peer,
    "BM_pixel_shuffle_forward": pixel_shuffle_forward_peer,
    "BM_pixel_shuffle_backward": pixel_shuffle_backward_peer,
}
