"""Oracle entries for freehead's training objectives (tools/reference/losses.py) and Adam.

A loss returns its terms stacked into one vector, in the order of freehead's term structs,
so one upstream gradient exercises every term. The generator and discriminator losses take
their many feature maps as a flat input list laid out by the "layout" argument.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import losses as L  # noqa: E402

ESTIMATE = ("yaw", "pitch", "roll", "t", "s", "d", "p")


def keypoint_loss(x, a):
    """Inputs: the source estimate (yaw, pitch, roll, t, s, d, p), the target's, then
    l_s, l_t, target angles."""
    src = dict(zip(ESTIMATE, x[0:7]))
    tgt = dict(zip(ESTIMATE, x[7:14]))
    r = L.keypoint_loss(src, tgt, x[14], x[15], x[16])
    return torch.stack([r[k] for k in ("points", "reconstruction", "rotation", "expression", "total")])


def gaze_loss(x, a):
    r = L.gaze_loss(x[0], x[1])
    return torch.stack([r[k] for k in ("vertices", "edges", "gaze", "total")])


def generator_loss(x, a):
    """Inputs: 5 VGG features each of ŷ, x̄, y; then per discriminator, per scale: fake
    logits, the fake features, the real features (layout: features per scale, per D)."""
    it = iter(x)
    vgg = [[next(it) for _ in range(5)] for _ in range(3)]
    fake, real = [], []
    for scales in a["layout"]:
        df, dr = [], []
        for n in scales:
            logits = next(it)
            ff = [next(it) for _ in range(n)]
            rf = [next(it) for _ in range(n)]
            df.append((logits, ff))
            dr.append((None, rf))
        fake.append(df)
        real.append(dr)
    r = L.generator_loss(vgg[0], vgg[1], vgg[2], fake, real)
    return torch.stack([r[k] for k in ("adversarial", "vgg_output", "vgg_warped", "feature_matching", "total")])


def discriminator_loss(x, a):
    n = a["scales"]
    r = L.discriminator_loss(x[:n], x[n:2 * n])
    return torch.stack([r[k] for k in ("real", "fake", "total")])


def adam_mlp(x, a):
    """Trains tanh(x W1^T + b1) W2^T + b2 towards y with MSE for a["steps"] Adam steps at a
    learning rate constant until decay_start and linear to zero at decay_end (LambdaLR);
    returns the final parameters, then every exp_avg, then every exp_avg_sq, flattened."""
    data, target = x[0], x[1]
    params = [t.detach().clone().requires_grad_() for t in x[2:6]]
    opt = torch.optim.Adam(params, lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                           weight_decay=a["weight_decay"], foreach=False)
    start, end = a["decay_start"], a["decay_end"]
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 1.0 if k < start else max(0.0, (end - k) / (end - start)))
    for _ in range(a["steps"]):
        opt.zero_grad()
        w1, b1, w2, b2 = params
        out = torch.tanh(data @ w1.t() + b1) @ w2.t() + b2
        F.mse_loss(out, target).backward()
        opt.step()
        sched.step()
    flat = [p.detach().reshape(-1) for p in params]
    flat += [opt.state[p]["exp_avg"].reshape(-1) for p in params]
    flat += [opt.state[p]["exp_avg_sq"].reshape(-1) for p in params]
    return torch.cat(flat)


def adam_given_grads(x, a):
    """torch.optim.Adam on one parameter (x[0]) whose gradient at step k is row k of x[1]:
    returns the final parameter, exp_avg and exp_avg_sq, concatenated."""
    p = x[0].detach().clone().requires_grad_()
    opt = torch.optim.Adam([p], lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                           weight_decay=a["weight_decay"], foreach=False)
    for g in x[1]:
        p.grad = g.clone()
        opt.step()
    s = opt.state[p]
    return torch.cat([p.detach(), s["exp_avg"], s["exp_avg_sq"]])


OPS = {
    "keypoint_loss": keypoint_loss,
    "gaze_loss": gaze_loss,
    "vgg_loss": lambda x, a: L.vgg_loss(x[0:5], x[5:10]),
    "generator_loss": generator_loss,
    "discriminator_loss": discriminator_loss,
    "adam_mlp": adam_mlp,
    "adam_given_grads": adam_given_grads,
}
