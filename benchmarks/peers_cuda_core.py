"""PyTorch peers of the core family's CUDA benchmarks that have no CPU twin
(bench_cuda_elementwise.cpp: fill, copy, cast, broadcast_to, sums), on the same GPU. The
tensors are NHWC as freehead's; `device` is there for running them elsewhere.
"""
import torch

# DType's values in runtime/dtype.h.
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
# BM_cuda_sum's modes: all dims, the last (C), H and W.
SUM_DIMS = (None, (3,), (1, 2))


def fill_peer(value, n, h, w, c, device="cuda"):
    x = torch.empty(n, h, w, c, device=device)
    return lambda: x.fill_(value)


def copy_peer(n, h, w, c, device="cuda"):
    x = torch.randn(n, h, w, c, device=device)
    return lambda: x.clone()


def cast_peer(source, target, n, h, w, c, device="cuda"):
    x = torch.randn(n, h, w, c, device=device).to(DTYPES[source])
    return lambda: x.to(DTYPES[target])


def broadcast_to_peer(n, h, w, c, device="cuda"):
    x = torch.randn(n, 1, 1, c, device=device)
    return lambda: x.expand(n, h, w, c).contiguous()


def sum_peer(mode, n, h, w, c, device="cuda"):
    x = torch.randn(n, h, w, c, device=device)
    dims = SUM_DIMS[mode]
    return (lambda: x.sum()) if dims is None else (lambda: x.sum(dim=dims))


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_cuda_fill": fill_peer,
    "BM_cuda_copy": copy_peer,
    "BM_cuda_cast": cast_peer,
    "BM_cuda_broadcast_to": broadcast_to_peer,
    "BM_cuda_sum": sum_peer,
}
