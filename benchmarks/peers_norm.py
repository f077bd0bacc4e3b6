"""PyTorch peers of the normalisation benchmarks (bench_norm.cpp): the same work on NCHW
tensors, PyTorch's natural layout. Benchmark args are N, H, W, C. Backward peers time
torch.autograd.grad of every input through the graph PyTorch builds for the op; SPADE's is
the unfused formula the reference implementation writes."""
import torch
import torch.nn.functional as F


def image(n, h, w, c, grad=False):
    return torch.randn(n, c, h, w, requires_grad=grad)


def channel(c, grad=False):
    return torch.randn(c, requires_grad=grad)


def spade(x, gamma, beta):
    return F.instance_norm(x) * (1 + gamma) + beta


def grads_of(y, inputs):
    g = torch.randn_like(y)
    return lambda: torch.autograd.grad(y, inputs, g, retain_graph=True)


def batch_norm_forward_peer(n, h, w, c):
    x, weight, bias = image(n, h, w, c), channel(c), channel(c)
    running_mean, running_var = torch.zeros(c), torch.ones(c)
    return lambda: F.batch_norm(x, running_mean, running_var, weight, bias, training=True)


def batch_norm_backward_peer(n, h, w, c):
    x, weight, bias = image(n, h, w, c, True), channel(c, True), channel(c, True)
    return grads_of(F.batch_norm(x, None, None, weight, bias, training=True), (x, weight, bias))


def instance_norm_forward_peer(n, h, w, c):
    x, weight, bias = image(n, h, w, c), channel(c), channel(c)
    return lambda: F.instance_norm(x, weight=weight, bias=bias)


def instance_norm_backward_peer(n, h, w, c):
    x, weight, bias = image(n, h, w, c, True), channel(c, True), channel(c, True)
    return grads_of(F.instance_norm(x, weight=weight, bias=bias), (x, weight, bias))


def spade_modulation_forward_peer(n, h, w, c):
    x, gamma, beta = image(n, h, w, c), image(n, h, w, c), image(n, h, w, c)
    return lambda: spade(x, gamma, beta)


def spade_modulation_backward_peer(n, h, w, c):
    x, gamma, beta = image(n, h, w, c, True), image(n, h, w, c, True), image(n, h, w, c, True)
    return grads_of(spade(x, gamma, beta), (x, gamma, beta))


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_batch_norm_forward": batch_norm_forward_peer,
    "BM_batch_norm_backward": batch_norm_backward_peer,
    "BM_instance_norm_forward": instance_norm_forward_peer,
    "BM_instance_norm_backward": instance_norm_backward_peer,
    "BM_spade_modulation_forward": spade_modulation_forward_peer,
    "BM_spade_modulation_backward": spade_modulation_backward_peer,
}
