"""PyTorch peers of the CUDA benchmarks that have a CPU twin: the core (bench_cuda_elementwise.cpp,
bench_cuda_matmul.cpp), pointwise, norm, pool and warp families. Each BM_cuda_<name> does on
the GPU the work of the CPU benchmark BM_<name>, with the same arguments, so its peer is the
CPU peer (peers_<family>.py) with its tensors made on the GPU: the peer is built inside
`torch.device("cuda")` (PyTorch 2), which makes the factory calls (randn, zeros, ...) allocate
there. The CPU peers make whatever they allocate when called on their inputs' device, so the
same callables run on either.

The conv family's CUDA benchmarks take a backend argument and have their own peers
(peers_cuda_conv.py); the CUDA-only benchmarks of the core family are in peers_cuda_core.py.
torch_compare.py --device cuda times every peer with CUDA events.
"""
import functools

import torch

import peers_conv
import peers_core

# The dense ops of bench_linear.cpp; the rest of peers_conv is the convolutions.
DENSE_FAMILIES = ("BM_linear_forward", "BM_linear_backward", "BM_matmul_small", "BM_matmul_small_backward",
                  "BM_transpose")


def on_cuda(make):
    """The CPU peer `make`, its tensors created on the GPU (its signature, and itself as
    __wrapped__, stay visible to inspect)."""
    @functools.wraps(make)
    def peer(*args):
        with torch.device("cuda"):
            return make(*args)
    return peer


def cuda_name(cpu_name):
    return "BM_cuda_" + cpu_name[len("BM_"):]


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {}
for _module in (peers_core,):
    for _name, _make in _module.PEERS.items():
        PEERS[cuda_name(_name)] = on_cuda(_make)
for _name in DENSE_FAMILIES:
    PEERS[cuda_name(_name)] = on_cuda(peers_conv.PEERS[_name])
