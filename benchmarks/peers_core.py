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


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_matmul": matmul_peer,
    "BM_add_bias": add_bias_peer,
    "BM_sum_to_channels": sum_to_channels_peer,
}
