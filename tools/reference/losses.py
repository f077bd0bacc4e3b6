"""PyTorch reference of freehead's training objectives, written from the text of
docs/geometry.md#losses-trainlossesh: E_can (Eq. 3-6), E_gaze (Eq. 7-10), the generator
(Eq. 14-15) and the discriminators' hinge loss. Each returns a dict of named 0-d terms plus "total".
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import geometry as G  # noqa: E402  (the sibling reference module)


def keypoint_loss(src, tgt, l_s, l_t, angles_t, w=(1.0, 1.0, 1.0, 0.1)):
    """src, tgt: dicts with yaw, pitch, roll [B] (radians), t [B, 3], s [B, 1], d and p
    [B, 68, 3]. l_s, l_t: landmarks [B, 68, 3]; angles_t: target (yaw, pitch, roll) [B, 3]."""
    def rot(e):
        return G.rotation_matrix(e["yaw"], e["pitch"], e["roll"])

    def reposed(a, b):  # Eq. 1 with a's estimate, then Eq. 2 with b's
        can = G.canonical_from_posed(a["p"], rot(a), a["t"], a["s"], a["d"])
        return G.posed_from_canonical(can, rot(b), b["t"], b["s"], b["d"])

    lp = F.mse_loss(src["p"], l_s) + F.mse_loss(tgt["p"], l_t)
    lrec = F.mse_loss(reposed(tgt, src), l_s) + F.mse_loss(reposed(src, tgt), l_t)
    lr = F.mse_loss(torch.stack((tgt["yaw"], tgt["pitch"], tgt["roll"]), dim=1), angles_t)
    ld = (src["d"] ** 2).mean() + (tgt["d"] ** 2).mean()
    total = w[0] * lp + w[1] * lrec + w[2] * lr + w[3] * ld
    return {"points": lp, "reconstruction": lrec, "rotation": lr, "expression": ld, "total": total}


def gaze_loss(v, v_star, w=(0.1, 0.01, 1.0)):
    """Eye meshes [B, 482, 3]."""
    b = v.shape[0]
    lv = (v - v_star).abs().sum() / b
    le = (G.edge_lengths(v) - G.edge_lengths(v_star)).abs().sum() / b
    cos = (G.gaze_from_mesh(v) * G.gaze_from_mesh(v_star)).sum(-1)
    lg = (180 / math.pi * torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))).mean()
    return {"vertices": lv, "edges": le, "gaze": lg, "total": w[0] * lv + w[1] * le + w[2] * lg}


VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def vgg_loss(a, b):
    return sum(wl * F.l1_loss(x, y) for wl, x, y in zip(VGG_WEIGHTS, a, b))


def generator_loss(vgg_out, vgg_warped, vgg_target, fake, real, w_vgg=10.0, w_fm=10.0):
    """fake, real: per discriminator a list of scales, each (logits, [features of layers 0-3])."""
    adv, fm = 0.0, 0.0
    for d_fake, d_real in zip(fake, real):
        n = len(d_fake)
        adv = adv + sum(-lf.mean() for lf, _ in d_fake) / n
        fm = fm + sum(F.l1_loss(f, r.detach()) for (_, ff), (_, rf) in zip(d_fake, d_real)
                      for f, r in zip(ff, rf)) / n
    l_out, l_warp = vgg_loss(vgg_out, vgg_target), vgg_loss(vgg_warped, vgg_target)
    total = adv + w_vgg * (l_out + l_warp) + w_fm * fm
    return {"adversarial": adv, "vgg_output": l_out, "vgg_warped": l_warp, "feature_matching": fm, "total": total}


def discriminator_loss(real_logits, fake_logits):
    n = len(real_logits)
    real = sum(F.relu(1 - r).mean() for r in real_logits) / n
    fake = sum(F.relu(1 + f).mean() for f in fake_logits) / n
    return {"real": real, "fake": fake, "total": real + fake}
