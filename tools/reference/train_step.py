#!/usr/bin/python3
"""Times one full training step of a Free-HeadGAN component in the PyTorch reference: the
same work as one step of `freehead train kp|gaze|gen` (train/task_keypoint.cpp,
train/task_gaze.cpp, train/task_generator.cpp), so that benchmarks/train_step_vs_torch.sh
can put the two side by side.

  train_step.py --task kp|gaze|gen --config tiny|small|paper --batch B [--sources M]
                [--threads N] [--steps S] [--warmup W] [--l1 X]

  kp    E_can on 2B images (B sources then B targets), keypoint_loss, backward, Adam
        (2e-4, betas 0.5/0.999).
  gaze  E_gaze on B eye crops E×E, gaze_loss against meshes near the eye template, backward,
        Adam (1e-4, betas 0.9/0.999).
  gen   G on B targets with M sources, then the G step (D_I, D_M frozen, VGG19, feature
        matching, optional --l1) and the D step (D_I, D_M on real and detached ŷ), each
        network with its own Adam (2e-4, betas 0.5/0.999). M > 1 is the N-shot stage
        (gen-nshot, flow network frozen but its weight head), as `train gen --nshot`.

Inputs are random tensors of the training shapes (NCHW), drawn once: the step's cost does
not depend on their values. Prints one JSON line: task, config, batch, sources, threads,
step_ms_median, step_ms_all (every timed step, ms) and peak_rss_mb (the process's peak
resident set, MiB, from getrusage: it includes the Python interpreter and torch's libraries).
Errors go to stderr with exit status 2.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import geometry as G  # noqa: E402
import losses as L  # noqa: E402
import model as M  # noqa: E402


class CliError(ValueError):
    pass


def adam(params, lr, betas):
    # Only what trains: frozen parameters (the discriminators during the G step are frozen
    # per call, the N-shot flow network for good) are left out as freehead's make_adam does.
    return torch.optim.Adam([p for p in params if p.requires_grad], lr=lr, betas=betas)


def optimise(what, loss, terms, optimizer):
    """As StepContext::optimise (train/trainer.cpp): every term read back and checked finite,
    backward, every gradient checked finite, then the Adam step. The reads and checks are
    part of freehead's step, so they are part of this one."""
    for name, t in terms.items():
        v = float(t)
        if not math.isfinite(v):
            raise RuntimeError(f"{what}: loss term '{name}' is {v}")
    loss.backward()
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                raise RuntimeError(f"{what}: a gradient is not finite")
    optimizer.step()


# ---- E_can ----------------------------------------------------------------------------------

def kp_step_fn(cfg_name, b, gen):
    cfg = M.CONFIGS[cfg_name]
    s = cfg["S"]
    net = M.build("kp", cfg_name).train()
    opt = adam(net.parameters(), 2e-4, (0.5, 0.999))
    # Sources and targets go through the network as one batch, as in task_keypoint.cpp.
    images = 2 * torch.rand(2 * b, 3, s, s, generator=gen) - 1
    l_s = torch.rand(b, M.NUM_KEYPOINTS, 3, generator=gen) - 0.5
    l_t = torch.rand(b, M.NUM_KEYPOINTS, 3, generator=gen) - 0.5
    angles_t = 0.5 * (torch.rand(b, 3, generator=gen) - 0.5)  # radians, within ±0.25

    def estimate(out, part):
        return {"yaw": torch.deg2rad(out["yaw"][part]), "pitch": torch.deg2rad(out["pitch"][part]),
                "roll": torch.deg2rad(out["roll"][part]), "t": out["translation"][part],
                "s": out["scale"][part], "d": out["expression"][part], "p": out["points"][part]}

    def step():
        opt.zero_grad(set_to_none=True)
        out = net(images)
        terms = L.keypoint_loss(estimate(out, slice(0, b)), estimate(out, slice(b, 2 * b)), l_s, l_t, angles_t)
        optimise("E_can", terms["total"], terms, opt)

    return step


# ---- E_gaze ---------------------------------------------------------------------------------

def gaze_step_fn(cfg_name, b, gen):
    cfg = M.CONFIGS[cfg_name]
    e = cfg["E"]
    if b < 2:
        # At tiny and small the trunk reaches 1×1 maps, where train-mode BatchNorm needs two
        # values per channel.
        raise CliError(f"--task gaze needs --batch >= 2 (BatchNorm in train mode), got {b}")
    net = M.build("gaze", cfg_name).train()
    opt = adam(net.parameters(), 1e-4, (0.9, 0.999))
    eyes = 2 * torch.rand(b, 3, e, e, generator=gen) - 1
    # The template eye plus small noise: a mesh whose gaze is defined (the iris ring stays in
    # front of the equator), so the angle term and its gradient are those of a real target.
    template = G.eye_template()[0].to(torch.float32)
    truth = template.expand(b, -1, -1) + 0.02 * torch.randn(b, G.EYE_VERTICES, 3, generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        out = net(eyes)
        terms = L.gaze_loss(out["vertices"], truth)
        optimise("E_gaze", terms["total"], terms, opt)

    return step


# ---- G and the discriminators -----------------------------------------------------------------

def scales(d_out, with_features=True):
    """PatchGAN's named outputs -> [(logits, [features of layers 0-3])] per scale (losses.py)."""
    out, k = [], 0
    while f"scale{k}" in d_out:
        feats = [d_out[f"scale{k}.feat{i}"] for i in range(4)] if with_features else []
        out.append((d_out[f"scale{k}"], feats))
        k += 1
    return out


def logits(d_out):
    return [lg for lg, _ in scales(d_out, with_features=False)]


def gen_step_fn(cfg_name, b, m, l1_weight, gen):
    cfg = M.CONFIGS[cfg_name]
    s = cfg["S"]
    g_net = M.build("gen-nshot" if m > 1 else "gen", cfg_name).train()
    if m > 1:  # the N-shot stage: the flow network is frozen except its new weight head
        for name, p in g_net.named_parameters():
            if name.startswith("flow.") and not name.startswith("flow.weight_head."):
                p.requires_grad_(False)
    d_image = M.build("disc_image", cfg_name).train()
    d_mouth = M.build("disc_mouth", cfg_name).train()
    vgg = M.build("vgg", cfg_name).eval().requires_grad_(False)
    opt_g = adam(g_net.parameters(), 2e-4, (0.5, 0.999))
    opt_di = adam(d_image.parameters(), 2e-4, (0.5, 0.999))
    opt_dm = adam(d_mouth.parameters(), 2e-4, (0.5, 0.999))

    sources = 2 * torch.rand(b, m, 3, s, s, generator=gen) - 1
    source_sketches = torch.rand(b, m, 3, s, s, generator=gen)
    target_sketch = torch.rand(b, 3, s, s, generator=gen)
    target = 2 * torch.rand(b, 3, s, s, generator=gen) - 1
    # Mouth crops: the reference's own per-image crop (geometry.mouth_crops, as freehead's
    # geometry::mouth_crops) on key-points all at the image centre, i.e. a fixed centred S/4
    # crop. freehead centres each crop on its target's mouth; where it lies does not change
    # the work.
    mouth_points = torch.zeros(b, M.NUM_KEYPOINTS, 3)

    def mouth(images):
        return G.mouth_crops(images, mouth_points)

    def step():
        out = g_net(sources, source_sketches, target_sketch)
        y_hat, x_bar = out["output"], out["warped"]
        mouth_real = mouth(target)

        # ---- G against the current discriminators (their parameters frozen for this pass).
        d_image.requires_grad_(False)
        d_mouth.requires_grad_(False)
        fake = [scales(d_image(torch.cat([target_sketch, y_hat], 1))), scales(d_mouth(mouth(y_hat)))]
        with torch.no_grad():
            real = [scales(d_image(torch.cat([target_sketch, target], 1))), scales(d_mouth(mouth_real))]
            vgg_target = list(vgg(target).values())
        # ŷ and x̄ share one VGG call, as in task_generator.cpp.
        both = list(vgg(torch.cat([y_hat, x_bar], 0)).values())
        vgg_out = [f[:b] for f in both]
        vgg_warped = [f[b:] for f in both]
        terms = L.generator_loss(vgg_out, vgg_warped, vgg_target, fake, real)
        total = terms.pop("total")
        if l1_weight > 0:
            terms["l1"] = F.l1_loss(y_hat, target)
            total = total + l1_weight * terms["l1"]
        terms["total"] = total
        opt_g.zero_grad(set_to_none=True)
        optimise("G", total, terms, opt_g)

        # ---- The discriminators on the real target and the detached ŷ.
        d_image.requires_grad_(True)
        d_mouth.requires_grad_(True)
        y_fake = y_hat.detach()
        opt_di.zero_grad(set_to_none=True)
        di = L.discriminator_loss(logits(d_image(torch.cat([target_sketch, target], 1))),
                                  logits(d_image(torch.cat([target_sketch, y_fake], 1))))
        optimise("D_I", di["total"], {"d_image_real": di["real"], "d_image_fake": di["fake"]}, opt_di)
        opt_dm.zero_grad(set_to_none=True)
        dm = L.discriminator_loss(logits(d_mouth(mouth_real)), logits(d_mouth(mouth(y_fake))))
        optimise("D_M", dm["total"], {"d_mouth_real": dm["real"], "d_mouth_fake": dm["fake"]}, opt_dm)

        # freehead logs the batch's PSNR every step; images in [-1, 1] have a peak-to-peak of 2.
        with torch.no_grad():
            mse = ((y_fake - target) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-12)
            float((10 * torch.log10(4 / mse)).mean())

    return step


# ---- command line -----------------------------------------------------------------------------

def parser():
    p = argparse.ArgumentParser(prog="train_step.py",
                                description="ms per training step of the PyTorch reference (freehead train's work)")
    p.add_argument("--task", required=True, choices=["kp", "gaze", "gen"])
    p.add_argument("--config", required=True, choices=list(M.CONFIGS))
    p.add_argument("--batch", type=int, required=True, help="kp: pairs, gaze: eyes, gen: targets")
    p.add_argument("--sources", type=int, default=1, help="gen: sources per target (M > 1: the N-shot stage)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    p.add_argument("--steps", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--l1", type=float, default=0.0, help="gen: weight of an extra L1(output, target) term")
    p.add_argument("--seed", type=int, default=0)
    return p


def run(args):
    if args.batch < 1 or args.steps < 1 or args.warmup < 0 or args.sources < 1 or args.threads < 0:
        raise CliError("--batch, --steps and --sources must be at least 1, --warmup and --threads at least 0")
    if args.task != "gen" and (args.sources != 1 or args.l1 != 0):
        raise CliError("--sources and --l1 apply to --task gen only")
    if args.l1 < 0:
        raise CliError(f"--l1 must be >= 0, got {args.l1}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    if args.task == "kp":
        step = kp_step_fn(args.config, args.batch, gen)
    elif args.task == "gaze":
        step = gaze_step_fn(args.config, args.batch, gen)
    else:
        step = gen_step_fn(args.config, args.batch, args.sources, args.l1, gen)
    # Warm-up steps absorb first-call costs (allocator growth, Adam's state creation), as the
    # shell script drops freehead's first log lines.
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(json.dumps({"task": args.task, "config": args.config, "batch": args.batch, "sources": args.sources,
                      "threads": torch.get_num_threads(), "step_ms_median": round(statistics.median(times), 3),
                      "step_ms_all": [round(t, 3) for t in times], "peak_rss_mb": round(peak_mb, 1)}))


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        run(args)
    except (CliError, ValueError, RuntimeError) as e:
        print(f"train_step.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
