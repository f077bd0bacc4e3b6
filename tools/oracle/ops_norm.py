"""PyTorch reference of freehead's normalisation ops (batch norm, instance norm, SPADE).

Image inputs arrive in NCHW (the test flags them NHWC). Batch-norm cases list their inputs
as x, then weight and bias when args["affine"], then running_mean and running_var when
args["running"]; the running statistics are cloned, so the caller's tensors stay as sent.
"""
import torch
import torch.nn.functional as F


class ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient.

    PyTorch 1.13's CPU instance-norm backward returns wrong input gradients for a batch of
    one when the incoming gradient has channels-last strides, which is what the script's
    NCHW->NHWC permute gives it (torch.autograd.gradcheck fails there too); every op here
    passes its output through this so that PyTorch's kernels see the layout they handle.
    """

    @staticmethod
    def forward(ctx, y):
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous()


def split_batch_norm_inputs(x, args):
    """(x, weight, bias, running_mean, running_var), None where absent."""
    rest = list(x[1:])
    weight, bias = (rest.pop(0), rest.pop(0)) if args.get("affine") else (None, None)
    rm, rv = (rest.pop(0).detach().clone(), rest.pop(0).detach().clone()) if args.get("running") else (None, None)
    return x[0], weight, bias, rm, rv


def batch_norm(x, args, training):
    inp, weight, bias, rm, rv = split_batch_norm_inputs(x, args)
    return F.batch_norm(inp, rm, rv, weight, bias, training=training, momentum=args.get("momentum", 0.1),
                        eps=args.get("eps", 1e-5))


def batch_norm_running_stats(x, args):
    """The running statistics after one training-mode call: cat(running_mean, running_var)."""
    inp, weight, bias, rm, rv = split_batch_norm_inputs(x, args)
    with torch.no_grad():
        F.batch_norm(inp, rm, rv, weight, bias, training=True, momentum=args.get("momentum", 0.1),
                     eps=args.get("eps", 1e-5))
    return torch.cat([rm, rv])


def instance_norm(x, args):
    weight, bias = (x[1], x[2]) if args.get("affine") else (None, None)
    return F.instance_norm(x[0], weight=weight, bias=bias, eps=args.get("eps", 1e-5))


def spade_modulation(x, args):
    # SPADE's formula, unfused, as the reference implementation writes it.
    return F.instance_norm(x[0], eps=args.get("eps", 1e-5)) * (1 + x[1]) + x[2]


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "batch_norm_train": lambda x, a: ContiguousGrad.apply(batch_norm(x, a, True)),
    "batch_norm_eval": lambda x, a: ContiguousGrad.apply(batch_norm(x, a, False)),
    "batch_norm_running_stats": batch_norm_running_stats,
    "instance_norm": lambda x, a: ContiguousGrad.apply(instance_norm(x, a)),
    "spade_modulation": lambda x, a: ContiguousGrad.apply(spade_modulation(x, a)),
}
