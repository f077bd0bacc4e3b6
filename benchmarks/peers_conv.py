"""PyTorch peers of the conv family's benchmarks (bench_conv.cpp).

PyTorch runs its convolutions in its natural layout, NCHW with [out, in, kh, kw] weights;
the gradients go through aten's convolution_backward with an output mask, so each peer
computes exactly what its freehead benchmark computes.
"""
import torch
import torch.nn.functional as F


def conv_inputs(n, h, cin, cout, k, stride, pad):
    x = torch.randn(n, cin, h, h)
    w = torch.randn(cout, cin, k, k)
    b = torch.randn(cout)
    ho = (h + 2 * pad - k) // stride + 1
    grad = torch.randn(n, cout, ho, ho)
    return x, w, b, grad


def conv_forward_peer(n, h, cin, cout, k, stride, pad):
    x, w, b, _ = conv_inputs(n, h, cin, cout, k, stride, pad)
    return lambda: F.conv2d(x, w, b, stride=stride, padding=pad)


def conv_backward_peer(mask):
    def peer(n, h, cin, cout, k, stride, pad):
        x, w, _, grad = conv_inputs(n, h, cin, cout, k, stride, pad)
        return lambda: torch.ops.aten.convolution_backward(
            grad, x, w, [cout], [stride, stride], [pad, pad], [1, 1], False, [0, 0], 1, mask)
    return peer


def conv_gemm_peer(n, h, cin, cout, k, stride, pad):
    """The GEMM of the same M, N, K ([N·Ho·Wo, kh·kw·Cin] · [kh·kw·Cin, Cout] + bias), done in
    row blocks of a reused column block, as freehead's reference reuses its column tile."""
    ho = (h + 2 * pad - k) // stride + 1
    m, kk = n * ho * ho, k * k * cin
    rows = min(m, 1 << 14)
    cols = torch.randn(rows, kk)
    wt = torch.randn(kk, cout)
    b = torch.randn(cout)
    out = torch.empty(m, cout)

    def run():
        for r0 in range(0, m, rows):
            r1 = min(m, r0 + rows)
            torch.addmm(b, cols[: r1 - r0], wt, out=out[r0:r1])
    return run


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_conv2d_forward": conv_forward_peer,
    "BM_conv2d_backward_input": conv_backward_peer([True, False, False]),
    "BM_conv2d_backward_weight": conv_backward_peer([False, True, True]),
    "BM_conv_gemm_reference": conv_gemm_peer,
}
