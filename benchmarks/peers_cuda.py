"""PyTorch peers of the CUDA benchmarks of the pointwise, norm, pool and warp families
(bench_cuda_*.cpp). Each BM_cuda_<name> does on the GPU the work of the CPU benchmark
BM_<name>, with the same arguments, so its peer is the CPU peer (peers_<family>.py) with its
tensors made on the GPU: the peer is built inside `torch.device("cuda")`, which makes the
factory calls (randn, zeros, ...) allocate there. Peers that allocate when called get a GPU
version here.

A peer's callable only enqueues work on the current CUDA stream. Time it with time_cuda
below, which does what benchmarks/gpu_bench.h does for freehead's side: batches of
back-to-back calls between two synchronisations, about a millisecond per batch, the median
of the per-call times.
"""
import time

import torch

import peers_norm
import peers_pointwise
import peers_pool
import peers_warp


def on_cuda(make):
    """The CPU peer `make`, its tensors created on the GPU."""
    def peer(*args):
        with torch.device("cuda"):
            return make(*args)
    return peer


def crop2d_backward_peer(n, h, w, c, crop):
    # peers_pool's version allocates its zeros when called: here on the gradient's device.
    g = torch.randn(n, c, crop, crop, device="cuda")
    tops = peers_pool.crop_offsets(n, h, crop, 1)
    lefts = peers_pool.crop_offsets(n, w, crop, -1)

    def run():
        dx = torch.zeros(n, c, h, w, device=g.device)
        for i in range(n):
            dx[i, :, tops[i]:tops[i] + crop, lefts[i]:lefts[i] + crop].copy_(g[i])
        return dx
    return run


def time_cuda(fn, min_seconds=0.3):
    """Median seconds per call of fn, which enqueues GPU work (see the module's docstring)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    once = max(time.perf_counter() - t0, 1e-7)
    batch = int(min(max(1e-3 / once, 1), 1000))
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(samples) < 5:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) / batch)
    samples.sort()
    return samples[len(samples) // 2]


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {}
for _module in (peers_pointwise, peers_norm, peers_pool, peers_warp):
    for _name, _make in _module.PEERS.items():
        PEERS["BM_cuda_" + _name[len("BM_"):]] = on_cuda(_make)
PEERS["BM_cuda_crop2d_backward"] = crop2d_backward_peer
