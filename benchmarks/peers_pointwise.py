"""PyTorch peers of the pointwise benchmarks (bench_pointwise.cpp), in PyTorch's NCHW layout.

Forward peers call the public op; backward peers call the ATen backward kernel that
PyTorch's autograd runs for that op (losses, which PyTorch differentiates as a chain of
ops, go through torch.autograd.grad on a retained graph, differentiating the first operand).
"""
import torch
import torch.nn.functional as F


def nchw(n, h, w, c):
    return torch.randn(n, c, h, w)


def leaky_relu_forward(n, h, w, c):
    x = nchw(n, h, w, c)
    return lambda: F.leaky_relu(x, 0.2)


def leaky_relu_backward(n, h, w, c):
    x, g = nchw(n, h, w, c), nchw(n, h, w, c)
    return lambda: torch.ops.aten.leaky_relu_backward(g, x, 0.2, False)


def tanh_forward(n, h, w, c):
    x = nchw(n, h, w, c)
    return lambda: torch.tanh(x)


def tanh_backward(n, h, w, c):
    y, g = torch.tanh(nchw(n, h, w, c)), nchw(n, h, w, c)
    return lambda: torch.ops.aten.tanh_backward(g, y)


def softmax_forward(shape, dim):
    x = torch.randn(*shape) * 3
    return lambda: torch.softmax(x, dim)


def softmax_backward(shape, dim):
    y, g = torch.softmax(torch.randn(*shape) * 3, dim), torch.randn(*shape)
    return lambda: torch.ops.aten._softmax_backward_data(g, y, dim, torch.float32)


# bench_pointwise.cpp's kOtherActivations, by ActivationOp value: (input, forward, backward).
# Backward peers are the formulas PyTorch's autograd evaluates for each op (clamp's and the
# composition's through where()).
_unit = lambda s: torch.rand(*s) * 2 - 1
OTHER = {
    2: (torch.randn, torch.sigmoid, lambda g, x, y: torch.ops.aten.sigmoid_backward(g, y)),
    3: (lambda s: torch.rand(*s) * 3.99 + 0.01, torch.sqrt, lambda g, x, y: g / (2 * y)),
    4: (torch.randn, torch.sin, lambda g, x, y: g * x.cos()),
    5: (torch.randn, torch.cos, lambda g, x, y: g * -x.sin()),
    6: (_unit, torch.acos, lambda g, x, y: g * -((-x * x + 1).rsqrt())),
    7: (torch.randn, lambda x: torch.clamp(x, -0.5, 0.5),
        lambda g, x, y: torch.where((x >= -0.5) & (x <= 0.5), g, 0.0)),
    8: (_unit, lambda x: torch.acos(torch.clamp(x, -1 + 1e-7, 1 - 1e-7)),
        lambda g, x, y: torch.where((x >= -1 + 1e-7) & (x <= 1 - 1e-7), g * -((-x * x + 1).rsqrt()), 0.0)),
}


def other_activation(direction):
    def peer(op, n, h, w, c):
        make, forward, backward = OTHER[op]
        x = make((n, c, h, w))
        if direction == "forward":
            return lambda: forward(x)
        y, g = forward(x), torch.randn(n, c, h, w)
        return lambda: backward(g, x, y)
    return peer


# Softmax args: last (N, M, H, W) over W; sources (N, M, H, W) over M of [N, M, H, W] (the
# weights' channel dim is 1); channels (N, H, W, C) over C, which in NCHW is dim 1.
SOFTMAX = {
    "last": lambda n, m, h, w: ((n, m, h, w), -1),
    "sources": lambda n, m, h, w: ((n, m, h, w), 1),
    "channels": lambda n, h, w, c: ((n, c, h, w), 1),
}

LOSSES = {
    "l1_loss": lambda a, b: F.l1_loss(a, b),
    "mse_loss": lambda a, b: F.mse_loss(a, b),
    "hinge_real": lambda d, _: torch.relu(1 - d).mean(),
    "hinge_fake": lambda d, _: torch.relu(1 + d).mean(),
    "hinge_generator": lambda d, _: -d.mean(),
}


def loss_forward(name):
    def peer(n, h, w, c):
        a, b = nchw(n, h, w, c), nchw(n, h, w, c)
        return lambda: LOSSES[name](a, b)
    return peer


def loss_backward(name):
    def peer(n, h, w, c):
        a, b = nchw(n, h, w, c).requires_grad_(), nchw(n, h, w, c)
        loss = LOSSES[name](a, b)
        return lambda: torch.autograd.grad(loss, [a], retain_graph=True)
    return peer


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_leaky_relu_forward": leaky_relu_forward,
    "BM_leaky_relu_backward": leaky_relu_backward,
    "BM_tanh_forward": tanh_forward,
    "BM_tanh_backward": tanh_backward,
    "BM_other_activation_forward": other_activation("forward"),
    "BM_other_activation_backward": other_activation("backward"),
}
for _axis, _layout in SOFTMAX.items():
    PEERS[f"BM_softmax_{_axis}_forward"] = lambda *a, _l=_layout: softmax_forward(*_l(*a))
    PEERS[f"BM_softmax_{_axis}_backward"] = lambda *a, _l=_layout: softmax_backward(*_l(*a))
for _name in LOSSES:
    PEERS[f"BM_{_name}_forward"] = loss_forward(_name)
    PEERS[f"BM_{_name}_backward"] = loss_backward(_name)
