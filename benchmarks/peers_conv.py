"""PyTorch peers of the conv family's benchmarks (bench_conv.cpp, bench_linear.cpp).

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


def linear_forward_peer(rows, n_in, n_out):
    x, w, b = torch.randn(rows, n_in), torch.randn(n_out, n_in), torch.randn(n_out)
    return lambda: F.linear(x, w, b)


def linear_backward_peer(rows, n_in, n_out):
    x, w, g = torch.randn(rows, n_in), torch.randn(n_out, n_in), torch.randn(rows, n_out)
    # What autograd's linear backward does: grad_x, grad_w, grad_b.
    return lambda: (g.mm(w), g.t().mm(x), g.sum(0))


def matmul_small_peer(batch, m, k, n):
    a, b = torch.randn(batch, m, k), torch.randn(batch, k, n)
    return lambda: torch.matmul(a, b)


def matmul_small_backward_peer(batch, m, k, n):
    a, b, dc = torch.randn(batch, m, k), torch.randn(batch, k, n), torch.randn(batch, m, n)
    return lambda: (torch.matmul(dc, b.transpose(1, 2)), torch.matmul(a.transpose(1, 2), dc))


def transpose_peer(a, b, c, d, dim0, dim1):
    x = torch.randn(a, b, c, d)
    return lambda: x.transpose(dim0, dim1).contiguous()


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_conv2d_forward": conv_forward_peer,
    "BM_conv2d_backward_input": conv_backward_peer([True, False, False]),
    "BM_conv2d_backward_weight": conv_backward_peer([False, True, True]),
    "BM_conv_gemm_reference": conv_gemm_peer,
    "BM_linear_forward": linear_forward_peer,
    "BM_linear_backward": linear_backward_peer,
    "BM_matmul_small": matmul_small_peer,
    "BM_matmul_small_backward": matmul_small_backward_peer,
    "BM_transpose": transpose_peer,
}
