#!/usr/bin/python3
"""Times one driving frame of the reenactment pipeline in the PyTorch reference: the same
per-frame work as `Reenactor::reenact` (pipeline/reenactor.cpp) with sources prepared once,
so that benchmarks/pipeline_vs_torch.sh can put the two side by side.

  pipeline_step.py --config tiny|small|paper [--sources M] [--threads N] [--frames F]
                   [--warmup W] [--driver-size D] [--seed N] [--shared-label] [--check]

Prepared once, not timed (Reenactor::prepare, plus the relative-motion reference that
`freehead reenact` reads from a clip's first frame before its loop):
  M random source images (D×D, resized to S for E_can and G): E_can, E_gaze on the eye
  crops, the source sketch, and the flow network's encoder on concat(source, source sketch)
  for the M sources as one batch; E_can and E_gaze on one reference driver frame.

Timed per driving frame (a random 8-bit D×D image, D = 2·S by default as in the demo):
  kp_ms         E_can on the S×S driver (the outputs it needs read out).
  gaze_ms       the two eye crops from the full D×D driver (geometry.eye_crop_boxes and
                geometry.crop_boxes) and E_gaze on them as one batch of 2.
  sketch_ms     the adapted target sketch (geometry.draw_sketch, NumPy) into a tensor.
  generator_ms  G given the cached encoder features: flow decoder, flow and fusion heads,
                warps of the sources and of h1..h3, N-shot fusion (M > 1), rendering network.
  ms_per_frame  the whole frame: the 8-bit image to a float tensor, the resize to S (2×2
                block mean when D = 2·S), the four parts above, the relative motion and Eq. 2
                (geometry.posed_from_canonical), and ŷ, x̄ back to 8-bit images.

model.py's Generator has no separate encoder call: FlowNet.forward runs the encoder and the
decoder together. `encode_sources` and `forward_encoded` below split Generator.forward at
the encoder, calling its submodules in the order model.py's forward does; --check compares
their composition with Generator.forward on one frame (exit 2 if they differ).

Networks are randomly initialised (timing does not depend on the values), eval mode, under
torch.no_grad. Prints one JSON line: config, sources, threads, frames, ms_per_frame_median,
kp_ms, gaze_ms, sketch_ms, generator_ms (medians over F frames after W warm-up frames).
Errors go to stderr with exit status 2.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import geometry as G  # noqa: E402
import model as M  # noqa: E402


class CliError(ValueError):
    pass


# ---- the generator in two halves ----------------------------------------------------------------

def encode_sources(gen, sources, source_sketches):
    """The source side of Generator.forward: sources and sketches [B, M, 3, S, S] -> the
    merged sources [B·M, 3, S, S] and the flow encoder's (h1, h2, h3), as FlowNet.forward
    computes them before its decoder."""
    b, m, _, h, w = sources.shape
    x = sources.reshape(b * m, 3, h, w)
    h1 = gen.flow.enc[0](torch.cat([x, source_sketches.reshape(b * m, 3, h, w)], dim=1))
    h2 = gen.flow.enc[1](h1)
    h3 = gen.flow.enc[2](h2)
    return {"batch": b, "sources": m, "x": x, "features": (h1, h2, h3)}


def forward_encoded(gen, enc, target_sketch, shared_label=False):
    """The rest of Generator.forward for a target sketch [B, 3, S, S]: FlowNet.forward from
    its decoder on, then the warps, fusion and rendering network exactly as model.py.
    shared_label (B = 1 only): the decoder's SPADEs take the one target sketch unrepeated,
    so γ and β are computed once and broadcast over the M source rows, as freehead's decoder
    computes them (layers/spade.h); otherwise the sketch is repeated per source, as
    model.py's Generator.forward does. Same result; torch 1.13 runs the repeated form faster
    at M = 2 (its batch-1 convolutions take slow paths), so that is the default."""
    b, m = enc["batch"], enc["sources"]
    x, (h1, h2, h3) = enc["x"], enc["features"]
    _, _, h, w = x.shape
    if shared_label and b != 1:
        raise CliError("shared_label needs one target sketch")
    label = target_sketch if shared_label else target_sketch.unsqueeze(1).expand(b, m, 3, h, w).reshape(b * m, 3, h, w)
    fuse = m > 1
    d = h3
    for block in gen.flow.dec[:3]:
        d = block(d, label)
    d = gen.flow.dec[3](F.pixel_shuffle(d, 2), label)
    d = M.lrelu(F.pixel_shuffle(d, 2))
    logits = gen.flow.weight_head(d) if fuse else None
    flow = gen.flow.flow_head(d)

    _, flow2, flow3 = M.flow_pyramid(flow)
    warped = [M.warp(src, f, gen.exact_warp) for src, f in ((x, flow), (h1, flow), (h2, flow2), (h3, flow3))]
    out = {}
    if fuse:
        _, m2, m3 = M.weight_pyramid(logits)
        w1, w2, w3 = [torch.softmax(mi.reshape(b, m, 1, *mi.shape[2:]), dim=1) for mi in (logits, m2, m3)]
        fused = [(wi * t.reshape(b, m, *t.shape[1:])).sum(dim=1) for wi, t in zip((w1, w1, w2, w3), warped)]
        out["weights"] = w1
    else:
        fused = warped
    x_bar, hb1, hb2, hb3 = fused
    y = gen.render(target_sketch, hb1, hb2, hb3, x_bar)
    return {"output": y, "warped": x_bar, "flows": flow.reshape(b, m, 2, h, w), **out}


# ---- the pipeline's pieces -----------------------------------------------------------------------

def image_tensor(image):
    """uint8 [D, D, 3] -> float32 [1, 3, D, D] in [-1, 1] (pipeline::image_tensor)."""
    return (image.permute(2, 0, 1).unsqueeze(0).to(torch.float32) * (2.0 / 255.0) - 1.0).contiguous()


def resize_square(full, size):
    """pipeline::resize_square: the mean of k×k blocks when D = k·S, bilinear over pixel
    centres otherwise."""
    d = full.shape[-1]
    if d == size:
        return full
    if d % size == 0:
        return F.avg_pool2d(full, d // size)
    return F.interpolate(full, size=(size, size), mode="bilinear", align_corners=False)


def to_image(t):
    """float [1, 3, S, S] in [-1, 1] -> uint8 [S, S, 3] (the result images reenact returns)."""
    return ((t[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class Pipeline:
    def __init__(self, config, nshot):
        cfg = M.CONFIGS[config]
        self.size, self.eye = cfg["S"], cfg["E"]
        self.kp = M.build("kp", config).eval()
        self.gaze = M.build("gaze", config).eval()
        self.gen = M.build("gen-nshot" if nshot else "gen", config).eval()

    def read_kp(self, full):
        """E_can on the S×S image; the reading as the C++ FaceReading keeps it."""
        k = self.kp(resize_square(full, self.size))
        return {"points": k["points"], "canonical": k["canonical"], "deformation": k["expression"],
                "rotation": k["rotation"], "translation": k["translation"], "scale": k["scale"]}

    def read_gaze(self, full, points):
        """E_gaze on both eyes cropped from the full-resolution image: (theta, phi) [2, 2]."""
        h, w = full.shape[-2:]
        eyes = G.crop_boxes(full, G.eye_crop_boxes(points, w, h), self.eye)  # [2, 3, E, E]
        g = self.gaze(eyes)
        return torch.stack((g["theta"], g["phi"]), dim=1)

    def sketch(self, points, angles):
        s = G.draw_sketch(points[0, :, :2].numpy(), angles.numpy(), self.size)  # [S, S, 3] NumPy
        return torch.from_numpy(s).permute(2, 0, 1).unsqueeze(0).contiguous()

    def prepare(self, images):
        """Reenactor::prepare: readings, sketches and G's encoder features, once."""
        readings, sources, sketches = [], [], []
        for image in images:
            full = image_tensor(image)
            r = self.read_kp(full)
            r["gaze"] = self.read_gaze(full, r["points"])
            readings.append(r)
            sources.append(resize_square(full, self.size))
            sketches.append(self.sketch(r["points"], r["gaze"]))
        m = len(images)
        src = torch.cat(sources, 0).reshape(1, m, 3, self.size, self.size)
        skt = torch.cat(sketches, 0).reshape(1, m, 3, self.size, self.size)
        return readings, src, skt, encode_sources(self.gen, src, skt)


def relative_adapted(src, d, ref):
    """Reenactor::reenact with a reference frame: the driver's change since it applied to the
    source's pose and deformation, then Eq. 2 on the source's canonical points."""
    R = d["rotation"] @ ref["rotation"].transpose(1, 2) @ src["rotation"]
    t = src["translation"] + (d["translation"] - ref["translation"])
    s = src["scale"] * d["scale"] / ref["scale"]
    dd = src["deformation"] + (d["deformation"] - ref["deformation"])
    return G.posed_from_canonical(src["canonical"], R, t, s, dd)


# ---- command line ------------------------------------------------------------------------------

def parser():
    p = argparse.ArgumentParser(prog="pipeline_step.py",
                                description="ms per driving frame of the reference's reenactment pipeline")
    p.add_argument("--config", required=True, choices=list(M.CONFIGS))
    p.add_argument("--sources", type=int, default=1, help="source images M (M > 1: gen-nshot)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    p.add_argument("--frames", type=int, default=24, help="timed driving frames")
    p.add_argument("--warmup", type=int, default=2, help="untimed driving frames first")
    p.add_argument("--driver-size", type=int, default=0, help="driver and source image side (0 = 2·S)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shared-label", action="store_true",
                   help="the flow decoder's SPADE modulation once per target, not once per source")
    p.add_argument("--check", action="store_true",
                   help="check encode_sources + forward_encoded against Generator.forward first")
    return p


def run(args):
    if args.sources < 1 or args.frames < 1 or args.warmup < 0 or args.threads < 0:
        raise CliError("--sources and --frames must be at least 1, --warmup and --threads at least 0")
    size = M.CONFIGS[args.config]["S"]
    dsize = args.driver_size or 2 * size
    if dsize < size:
        raise CliError(f"--driver-size must be at least the config's S = {size}, got {dsize}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)

    def random_image():
        # What the PNG decoder hands reenact(): 8-bit RGB, height × width × 3.
        return torch.randint(0, 256, (dsize, dsize, 3), dtype=torch.uint8, generator=gen)

    with torch.no_grad():
        p = Pipeline(args.config, nshot=args.sources > 1)
        readings, src_images, src_sketches, enc = p.prepare([random_image() for _ in range(args.sources)])
        src = readings[0]
        reference = p.read_kp(image_tensor(random_image()))  # the clip's first frame
        drivers = [random_image() for _ in range(args.warmup + args.frames)]

        if args.check:
            target = p.sketch(src["points"], src["gaze"])
            split = forward_encoded(p.gen, enc, target, args.shared_label)
            whole = p.gen(src_images, src_sketches, target)
            diff = max(float((split[k] - whole[k]).abs().max()) for k in whole)
            if diff > 1e-5:
                raise CliError(f"--check: encode_sources + forward_encoded differ from Generator.forward by {diff:g}")
            print(f"pipeline_step.py: --check: split generator matches Generator.forward (max |diff| {diff:g})",
                  file=sys.stderr)

        rows = []
        for i, image in enumerate(drivers):
            t_start = time.perf_counter()
            full = image_tensor(image)
            t0 = time.perf_counter()
            d = p.read_kp(full)
            t1 = time.perf_counter()
            angles = p.read_gaze(full, d["points"])
            t2 = time.perf_counter()
            adapted = relative_adapted(src, d, reference)
            t3 = time.perf_counter()
            target = p.sketch(adapted, angles)
            t4 = time.perf_counter()
            out = forward_encoded(p.gen, enc, target, args.shared_label)
            t5 = time.perf_counter()
            to_image(out["output"]), to_image(out["warped"])
            t_end = time.perf_counter()
            if i >= args.warmup:
                rows.append({"total": t_end - t_start, "kp": t1 - t0, "gaze": t2 - t1, "sketch": t4 - t3,
                             "gen": t5 - t4})

    def med(key):
        return round(1e3 * statistics.median(r[key] for r in rows), 3)

    print(json.dumps({"config": args.config, "sources": args.sources, "threads": torch.get_num_threads(),
                      "frames": args.frames, "ms_per_frame_median": med("total"), "kp_ms": med("kp"),
                      "gaze_ms": med("gaze"), "sketch_ms": med("sketch"), "generator_ms": med("gen")}))


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        run(args)
    except (CliError, ValueError, RuntimeError) as e:
        print(f"pipeline_step.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
