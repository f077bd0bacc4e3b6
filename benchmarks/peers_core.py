"""PyTorch peers of the core benchmarks (bench_matmul.cpp, bench_elementwise.cpp)."""
import torch


def matmul_peer(m, n, k, batch):
    a = torch.randn(batch, m, k) if batch > 1 else torch.randn(m, k)
    b = torch.randn(batch, k, n) if batch > 1 else torch.randn(k, n)
    return lambda: torch.matmul(a, b)


def add_bias_peer(n, h, w, c):
    # The same NHWC work: channels innermost.
    x, bias = torch.randn(n, h, w, c), torch.randn(c)
    return lambda: x + bias


def sum_to_channels_peer(n, h, w, c):
    x = torch.randn(n, h, w, c)
    return lambda: x.sum(dim=(0, 1, 2))


def binary_full_peer(op, n, h, w, c):
    a, b = torch.randn(n, c, h, w), torch.rand(n, c, h, w) * 1.5 + 0.5
    return (lambda: a * b) if op == 0 else (lambda: a / b)


def core_unary_peer(op, n, h, w, c):
    x = torch.rand(n, c, h, w) * 3.9 + 0.1 if op == 2 else torch.randn(n, c, h, w)
    if op == 3:
        # relu's backward as autograd runs it: threshold_backward(grad, result, 0).
        y, g = torch.relu(x), torch.randn(n, c, h, w)
        return lambda: torch.ops.aten.threshold_backward(g, y, 0)
    return [lambda: torch.relu(x), lambda: torch.exp(x), lambda: torch.log(x)][op]


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_binary_full": binary_full_peer,
    "BM_core_unary": core_unary_peer,
    "BM_matmul": matmul_peer,
    "BM_add_bias": add_bias_peer,
    "BM_sum_to_channels": sum_to_channels_peer,
}
