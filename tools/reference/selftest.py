#!/usr/bin/python3
"""Self-test of the PyTorch reference model (model.py, run.py, convert_torchvision.py).

The expected parameter names and shapes are written here from the tables of
docs/networks.md (one section per network, and its configurations), independently of
model.py. Exits 0 when every check passes, 1 on a failure, 77 (CTest: skipped) when torch
cannot be imported.
usage: selftest.py [-k SUBSTRING]   (runs only the checks whose name contains it)
"""
import contextlib
import io
import math
import os
import sys
import tempfile
import time
import traceback

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"[fh skip] reference selftest: {sys.executable} cannot import torch/numpy ({e})")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))

import convert_torchvision  # noqa: E402
import geometry as G  # noqa: E402
import model as M  # noqa: E402
import run  # noqa: E402
from safetensors_io import load, save  # noqa: E402

# ---- expected names, from the tables of docs/networks.md ----------------------------------------

DOC_CONFIGS = {  # docs/networks.md#configurations: S, E, alpha, ngf, SPADE hidden, D ndf
    "paper": (256, 128, 1.0, 32, 128, 64),
    "small": (128, 64, 0.5, 16, 64, 32),
    "tiny": (64, 32, 0.25, 8, 32, 16),
}


class Names(dict):
    def conv(self, name, cout, cin, k, bias):
        self[name + ".weight"] = [cout, cin, k, k]
        if bias:
            self[name + ".bias"] = [cout]

    def sn_conv(self, name, cout, cin, k, bias):
        self.conv(name, cout, cin, k, bias)
        self[name + ".weight_orig"] = [cout, cin, k, k]
        self[name + ".weight_u"] = [cout]

    def bn(self, name, c):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            self[f"{name}.{leaf}"] = [c]

    def affine(self, name, c):
        self[name + ".weight"] = [c]
        self[name + ".bias"] = [c]

    def linear(self, name, out, cin):
        self[name + ".weight"] = [out, cin]
        self[name + ".bias"] = [out]


def expected_kp(config):
    a = DOC_CONFIGS[config][2]
    w32, w64, w128, w256, w512 = (int(c * a) for c in (32, 64, 128, 256, 512))
    n = Names()
    n.conv("stem.conv", w32, 3, 7, False)
    n.bn("stem.bn", w32)
    table = [(w32, w64, 2), (w64, w64, 1), (w64, w128, 2), (w128, w128, 1), (w128, w256, 2), (w256, w256, 1),
             (w256, w512, 2), (w512, w512, 1)]
    for i, (cin, cout, stride) in enumerate(table):
        mid, p = cout // 4, f"blocks.{i}."
        n.conv(p + "conv1", mid, cin, 1, False)
        n.bn(p + "bn1", mid)
        n.conv(p + "conv2", mid, mid, 3, False)
        n.bn(p + "bn2", mid)
        n.conv(p + "conv3", cout, mid, 1, False)
        n.bn(p + "bn3", cout)
        if cin != cout or stride != 1:
            n.conv(p + "skip.conv", cout, cin, 1, False)
            n.bn(p + "skip.bn", cout)
    for head, out in (("yaw", 66), ("pitch", 66), ("roll", 66), ("translation", 3), ("scale", 1),
                      ("expression", 204), ("points", 204)):
        n.linear(head, out, w512)
    return n


def expected_gaze(config):
    _, e, a = DOC_CONFIGS[config][:3]
    n = Names()
    widths = [int(64 * a), int(128 * a), int(256 * a), int(512 * a)]
    n.conv("backbone.conv1", widths[0], 3, 7, False)
    n.bn("backbone.bn1", widths[0])
    cin = widths[0]
    for layer, (c, blocks) in enumerate(zip(widths, (3, 4, 6, 3)), start=1):
        for b in range(blocks):
            p = f"backbone.layer{layer}.{b}."
            n.conv(p + "conv1", c, cin if b == 0 else c, 3, False)
            n.bn(p + "bn1", c)
            n.conv(p + "conv2", c, c, 3, False)
            n.bn(p + "bn2", c)
            if b == 0 and layer > 1:
                n.conv(p + "downsample.0", c, cin, 1, False)
                n.bn(p + "downsample.1", c)
        cin = c
    n.conv("neck.conv", cin, cin, 3, False)
    n.bn("neck.bn", cin)
    side = math.ceil(e / 64)
    n.linear("head", 3 * 482, cin * side * side)
    return n


def spade(n, name, c, label, hidden):
    n.conv(name + ".mlp_shared.0", hidden, label, 3, True)
    n.conv(name + ".mlp_gamma", c, hidden, 3, True)
    n.conv(name + ".mlp_beta", c, hidden, 3, True)


def spade_block(n, name, fin, fout, label, hidden):
    fmid = min(fin, fout)
    spade(n, name + ".norm_0", fin, label, hidden)
    n.sn_conv(name + ".conv_0", fmid, fin, 3, True)
    spade(n, name + ".norm_1", fmid, label, hidden)
    n.sn_conv(name + ".conv_1", fout, fmid, 3, True)
    if fin != fout:
        spade(n, name + ".norm_s", fin, label, hidden)
        n.sn_conv(name + ".conv_s", fout, fin, 1, False)


def expected_gen(config, nshot):
    ngf, hidden = DOC_CONFIGS[config][3:5]
    n = Names()
    for net, cin in (("flow", 6), ("render", 3)):
        for i, (o, ci, k) in enumerate(((ngf, cin, 7), (4 * ngf, ngf, 3), (16 * ngf, 4 * ngf, 3))):
            n.conv(f"{net}.enc.{i}.conv", o, ci, k, False)
            n.affine(f"{net}.enc.{i}.norm", o)
    for i in range(3):
        spade_block(n, f"flow.dec.{i}", 16 * ngf, 16 * ngf, 3, hidden)
    spade_block(n, "flow.dec.3", 4 * ngf, 4 * ngf, 3, hidden)
    n.conv("flow.flow_head", 2, ngf, 7, True)
    if nshot:
        n.conv("flow.weight_head", 1, ngf, 7, True)
    spade_block(n, "render.dec.0", 16 * ngf, 16 * ngf, 16 * ngf, hidden)
    spade_block(n, "render.dec.1", 4 * ngf, 4 * ngf, 4 * ngf, hidden)
    spade_block(n, "render.dec.2", ngf, ngf, ngf, hidden)
    spade_block(n, "render.dec.3", ngf, ngf, 3, hidden)
    n.conv("render.out_conv", 3, ngf, 7, True)
    return n


def expected_disc(config, cin):
    ndf = DOC_CONFIGS[config][5]
    n = Names()
    for k in range(2):
        p = f"scales.{k}.layers."
        n.conv(p + "0.conv", ndf, cin, 4, True)
        n.sn_conv(p + "1.conv", 2 * ndf, ndf, 4, False)
        n.sn_conv(p + "2.conv", 4 * ndf, 2 * ndf, 4, False)
        n.sn_conv(p + "3.conv", 8 * ndf, 4 * ndf, 4, False)
        n.conv(p + "4.conv", 1, 8 * ndf, 4, True)
    return n


def expected_vgg(config):
    n = Names()
    convs = {0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128), 10: (256, 128), 12: (256, 256), 14: (256, 256),
             16: (256, 256), 19: (512, 256), 21: (512, 512), 23: (512, 512), 25: (512, 512), 28: (512, 512)}
    for i, (o, ci) in convs.items():
        n.conv(f"features.{i}", o, ci, 3, True)
    return n


EXPECTED = {
    "kp": (expected_kp, "kp."), "gaze": (expected_gaze, "gaze."),
    "gen": (lambda c: expected_gen(c, False), "gen."), "gen-nshot": (lambda c: expected_gen(c, True), "gen."),
    "disc_image": (lambda c: expected_disc(c, 6), "disc_image."),
    "disc_mouth": (lambda c: expected_disc(c, 3), "disc_mouth."), "vgg": (expected_vgg, "vgg."),
}

# ---- helpers ----------------------------------------------------------------------------------


def close(a, b, atol, rtol=0.0, what=""):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert a.shape == b.shape, f"{what}: shapes {list(a.shape)} vs {list(b.shape)}"
    err = (a - b).abs()
    bad = err > atol + rtol * b.abs()
    assert not bad.any(), f"{what}: {int(bad.sum())} elements differ, worst {float(err.max()):.3g} (atol {atol})"


def quiet(fn, argv):
    """Runs a CLI main() with its stdout and stderr captured; returns (status, stderr text)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = fn(argv)
    return status, err.getvalue()


def tiny_net(name, seed=0):
    torch.manual_seed(seed)
    return M.build(name, "tiny")


def tiny_inputs(name, batch=2, sources=1, seed=1):
    return M.random_inputs(name, "tiny", batch, sources, generator=torch.Generator().manual_seed(seed))


# ---- checks -----------------------------------------------------------------------------------

def check_names_and_shapes():
    for config in DOC_CONFIGS:
        for name, (expected_fn, prefix) in EXPECTED.items():
            assert M.PREFIXES[name] == prefix, f"{name}: prefix {M.PREFIXES[name]} vs {prefix}"
            net = M.build(name, config, init=False)
            got = {k: list(v.shape) for k, v in M.file_state(net, prefix).items()}
            want = {prefix + k: v for k, v in expected_fn(config).items()}
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            shapes = [f"{k}: {got[k]} vs {want[k]}" for k in want if k in got and got[k] != want[k]]
            assert not (missing or extra or shapes), \
                f"{name}/{config}: missing {missing[:5]}, extra {extra[:5]}, shapes {shapes[:5]}"
            assert not any("num_batches_tracked" in k for k in got)
            inference = M.file_state(net, prefix, spectral_state=False)
            assert not any(k.endswith(("weight_orig", "weight_u")) for k in inference)


def check_known_parameter_counts():
    # torchvision ResNet-34 has 21,797,672 parameters, 513,000 of them in fc; VGG19's
    # features hold 20,024,384, of which conv5_2..conv5_4 (features.30/32/34) 3 * 2,359,808.
    def count(n):
        return sum(p.numel() for p in n.parameters())
    assert count(M.build("gaze", "paper", init=False).backbone) == 21797672 - 513000
    assert count(M.build("vgg", "paper", init=False)) == 20024384 - 3 * 2359808


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def expected_output_shapes(name, b=2, m=1):
    s, e = DOC_CONFIGS["tiny"][:2]
    ndf = DOC_CONFIGS["tiny"][5]
    if name == "kp":
        return {"yaw": [b], "pitch": [b], "roll": [b], "translation": [b, 3], "scale": [b, 1],
                "expression": [b, 68, 3], "points": [b, 68, 3], "canonical": [b, 68, 3], "rotation": [b, 3, 3]}
    if name == "gaze":
        return {"vertices": [b, 482, 3], "gaze": [b, 3], "theta": [b], "phi": [b]}
    if name in ("gen", "gen-nshot"):
        out = {"output": [b, 3, s, s], "warped": [b, 3, s, s], "flows": [b, m, 2, s, s]}
        if m > 1:
            out["weights"] = [b, m, 1, s, s]
        return out
    if name in ("disc_image", "disc_mouth"):
        size = s if name == "disc_image" else s // 4
        out = {}
        for k in range(2):
            if k:
                size = conv_out(size, 3, 2, 1)
            n = size
            for i, (c, stride) in enumerate(((ndf, 2), (2 * ndf, 2), (4 * ndf, 2), (8 * ndf, 1))):
                n = conv_out(n, 4, stride, 2)
                out[f"scale{k}.feat{i}"] = [b, c, n, n]
            out[f"scale{k}"] = [b, 1, conv_out(n, 4, 1, 2), conv_out(n, 4, 1, 2)]
        return out
    if name == "vgg":
        return {f"relu{i + 1}_1": [b, c, s >> i, s >> i] for i, c in enumerate((64, 128, 256, 512, 512))}


def check_output_shapes():
    for name in M.NETS:
        for m in ((1, 3) if name == "gen-nshot" else (1,)):
            net = tiny_net(name).eval()
            with torch.no_grad():
                out = net(**tiny_inputs(name, sources=m))
            got = {k: list(v.shape) for k, v in out.items()}
            assert got == expected_output_shapes(name, m=m), f"{name} M={m}: {got}"
            assert all(torch.isfinite(v).all() for v in out.values()), f"{name}: non-finite output"


def documented_rotation(yaw, pitch, roll):
    """R = Rx(pitch) Ry(yaw) Rz(roll), radians, numpy, as docs/geometry.md#conventions writes it."""
    c, s = np.cos, np.sin
    rx = np.array([[1, 0, 0], [0, c(pitch), -s(pitch)], [0, s(pitch), c(pitch)]])
    ry = np.array([[c(yaw), 0, s(yaw)], [0, 1, 0], [-s(yaw), 0, c(yaw)]])
    rz = np.array([[c(roll), -s(roll), 0], [s(roll), c(roll), 0], [0, 0, 1]])
    return rx @ ry @ rz


def check_rotation_and_angle_bins():
    deg = torch.tensor([[30.0, -20.0, 10.0], [-75.0, 44.0, -170.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    r = G.rotation_matrix(*torch.deg2rad(deg).unbind(1))
    for i in range(3):
        want = documented_rotation(*(np.deg2rad(deg[i].numpy())))
        close(r[i], want, 1e-12, what="rotation")
    for i in (0, 17, 33, 65):
        logits = torch.full((1, 66), -1e4, dtype=torch.float64)
        logits[0, i] = 0
        close(M.G.bins_to_degrees(logits), [3 * i - 99], 1e-9, what="angle bins")
    close(M.G.bins_to_degrees(torch.zeros(1, 66, dtype=torch.float64)), [3 * 32.5 - 99], 1e-9, what="uniform bins")


def check_kp_canonical_round_trip():
    net = tiny_net("kp").double().eval()
    with torch.no_grad():
        o = net(**{k: v.double() for k, v in tiny_inputs("kp").items()})
    r, s, t, d = o["rotation"], o["scale"], o["translation"], o["expression"]
    # p = s R p_can + t + d, per point
    p = s[:, :, None] * torch.einsum("bij,bnj->bni", r, o["canonical"]) + t[:, None, :] + d
    close(p, o["points"], 1e-10, what="p from canonical")
    for i in range(r.shape[0]):
        want = documented_rotation(*np.deg2rad([o["yaw"][i].item(), o["pitch"][i].item(), o["roll"][i].item()]))
        close(r[i], want, 1e-10, what="kp rotation")
    assert (s > 0).all()


def documented_eye_template():
    v = [(0.0, 0.0, -1.0)]
    for ring in range(15):
        a = (ring + 1) * math.pi / 16
        for k in range(32):
            b = 2 * math.pi * k / 32
            v.append((math.sin(a) * math.cos(b), math.sin(a) * math.sin(b), -math.cos(a)))
    v.append((0.0, 0.0, 1.0))
    return torch.tensor(v, dtype=torch.float64)


def check_gaze_from_mesh():
    template = documented_eye_template()
    g = G.gaze_from_mesh(template[None])
    theta, phi = G.gaze_to_angles(g).unbind(1)
    close(g, [[0, 0, -1]], 1e-12, what="template gaze")
    close(theta, [0], 1e-12, what="template theta")
    close(phi, [0], 1e-12, what="template phi")
    for th, ph in ((0.3, -0.5), (-0.2, 0.7), (0.05, 0.0)):
        want = torch.tensor([-math.cos(th) * math.sin(ph), -math.sin(th), -math.cos(th) * math.cos(ph)],
                            dtype=torch.float64)
        # a rotation taking (0,0,-1) to `want`: -theta about x, then phi about y
        rot = torch.tensor(documented_rotation(ph, 0.0, 0.0) @ documented_rotation(0.0, -th, 0.0))
        assert torch.allclose(rot @ torch.tensor([0, 0, -1.0], dtype=torch.float64), want, atol=1e-12)
        moved = 0.7 * template @ rot.T + torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
        g = G.gaze_from_mesh(moved[None])
        theta, phi = G.gaze_to_angles(g).unbind(1)
        close(g[0], want, 1e-12, what="rotated gaze")
        close(theta, [th], 1e-12, what="theta")
        close(phi, [ph], 1e-12, what="phi")


def check_warp():
    g = torch.Generator().manual_seed(5)
    src = torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64)
    zero = torch.zeros(2, 2, 5, 7, dtype=torch.float64)
    close(M.warp(src, zero), src, 1e-12, what="zero flow")
    shift = zero.clone()
    shift[:, 0] = 1.0   # dx = +1: out(y, x) = src(y, min(x + 1, W - 1))
    shift[:, 1] = -2.0  # dy = -2: clamped at the top
    idx_x = torch.clamp(torch.arange(7) + 1, max=6)
    idx_y = torch.clamp(torch.arange(5) - 2, min=0)
    close(M.warp(src, shift), src[:, :, idx_y][:, :, :, idx_x], 1e-12, what="integer shift")
    half = zero.clone()
    half[:, 0] = 0.5
    want = 0.5 * (src + src[:, :, :, torch.clamp(torch.arange(7) + 1, max=6)])
    close(M.warp(src, half), want, 1e-12, what="half-pixel shift")
    close(M.warp(src.float(), half.float(), exact=True), want, 1e-6, what="exact float32 warp")


def small_gen_inputs(size=32):
    """Generator inputs at half the tiny size (any multiple of 4 works): a quicker test."""
    g = torch.Generator().manual_seed(2)
    return {"sources": torch.rand(1, 1, 3, size, size, generator=g, dtype=torch.float64) * 2 - 1,
            "source_sketches": torch.rand(1, 1, 3, size, size, generator=g, dtype=torch.float64),
            "target_sketch": torch.rand(1, 3, size, size, generator=g, dtype=torch.float64)}


def check_nshot_identical_sources():
    """Identical sources give equal weights (softmax = 1/M), so the fused x_bar and h_bar are
    the single-source ones and the output equals the M = 1 output up to rounding."""
    net = tiny_net("gen-nshot").double().eval()
    x = small_gen_inputs()
    with torch.no_grad():
        one = net(**x)
        rep = {k: (v.expand(-1, 3, -1, -1, -1) if v.dim() == 5 else v) for k, v in x.items()}
        three = net(**rep)
    close(three["output"], one["output"], 1e-10, what="output M=3 vs M=1")
    close(three["warped"], one["warped"], 1e-10, what="warped M=3 vs M=1")
    close(three["weights"], torch.full_like(three["weights"], 1 / 3), 1e-12, what="equal weights")
    # distinct sources: weights are a softmax over M
    rep["sources"] = torch.rand_like(rep["sources"]) * 2 - 1
    with torch.no_grad():
        out = net(**rep)
    w, fused = out["weights"], out["warped"]
    close(w.sum(dim=1), torch.ones_like(w[:, 0]), 1e-12, what="weights sum")
    assert float(w.std()) > 1e-4, "weights of distinct sources should differ"
    # x_bar = sum_j softmax_j(m) warp(x_j, w_j); each source's warp is its own single-source x_bar
    with torch.no_grad():
        singles = [net(sources=rep["sources"][:, j:j + 1], source_sketches=rep["source_sketches"][:, j:j + 1],
                       target_sketch=rep["target_sketch"])["warped"] for j in range(3)]
    close(fused, sum(w[:, j] * singles[j] for j in range(3)), 1e-10, what="fused x_bar")


def check_zero_flow_passes_source():
    net = tiny_net("gen").double().eval()
    with torch.no_grad():
        net.flow.flow_head.weight.zero_()
        net.flow.flow_head.bias.zero_()
    x = small_gen_inputs()
    with torch.no_grad():
        out = net(**x)
    close(out["warped"], x["sources"][:, 0], 1e-12, what="x_bar with zero flow")
    close(out["flows"], torch.zeros_like(out["flows"]), 0, what="zero flows")
    try:
        M.build("gen", "tiny", init=False)(x["sources"].expand(-1, 2, -1, -1, -1), x["source_sketches"].expand(
            -1, 2, -1, -1, -1), x["target_sketch"])
    except ValueError as e:
        assert "gen-nshot" in str(e)
    else:
        raise AssertionError("gen with 2 sources should refuse")


def check_flow_pyramid():
    """h2 and h3 are warped with the flow average-pooled and halved: a flow of (4, -2) pixels
    at full size moves h2 by (2, -1) and h3 by (1, -0.5); the fusion logits are pooled only."""
    flow = torch.zeros(1, 2, 8, 8, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = 4.0, -2.0
    flow[0, 0, 0, 1] = 8.0  # one pixel of the first 2x2 block: its mean is 5, halved 2.5
    f1, f2, f3 = M.flow_pyramid(flow)
    assert f1 is flow and list(f2.shape) == [1, 2, 4, 4] and list(f3.shape) == [1, 2, 2, 2]
    want2 = torch.tensor([2.0, -1.0], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 4, 4).clone()
    want2[0, 0, 0, 0] = 2.5
    close(f2, want2, 1e-15, what="flow level 2")
    want3 = torch.tensor([1.0, -0.5], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 2, 2).clone()
    want3[0, 0, 0, 0] = (2.5 + 3 * 2.0) / 4 / 2
    close(f3, want3, 1e-15, what="flow level 3")
    m = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    m1, m2, m3 = M.weight_pyramid(m)
    close(m2, [[[[2.5, 4.5], [10.5, 12.5]]]], 1e-15, what="logits level 2")
    close(m3, [[[[7.5]]]], 1e-15, what="logits level 3")


def check_spectral_norm_matches_torch():
    torch.manual_seed(3)
    ours = M.SpectralConv2d(5, 6, 3, padding=1)
    plain = torch.nn.Conv2d(5, 6, 3, padding=1)
    with torch.no_grad():
        plain.weight.copy_(ours.weight_orig)
        plain.bias.copy_(ours.bias)
    ref = torch.nn.utils.spectral_norm(plain, n_power_iterations=1, eps=1e-12)
    with torch.no_grad():
        ref.weight_u.copy_(ours.weight_u)
    x = torch.randn(2, 5, 7, 7)
    for _ in range(3):
        a, b = ours(x), ref(x)
        close(a, b, 1e-6, what="SN output")
        close(ours.weight_u, ref.weight_u, 1e-7, what="SN u")
    cot = torch.randn_like(a)
    (a * cot).sum().backward()
    (b * cot).sum().backward()
    close(ours.weight_orig.grad, ref.weight_orig.grad, 1e-5, 1e-5, what="SN grad")
    assert ours.stale, "a training forward leaves the effective weight stale"


def check_spectral_norm_converges():
    torch.manual_seed(4)
    conv = M.SpectralConv2d(16, 8, 3).double()
    x = torch.zeros(1, 16, 3, 3, dtype=torch.float64)
    for _ in range(300):
        conv(x)
    conv.eval()
    conv(x)  # refreshes the effective weight from weight_orig and the converged u
    top = np.linalg.svd(conv.weight.reshape(8, -1).numpy(), compute_uv=False)[0]
    assert abs(top - 1) < 1e-6, f"spectral norm of the effective weight {top}"
    orig = np.linalg.svd(conv.weight_orig.detach().reshape(8, -1).numpy(), compute_uv=False)[0]
    close(conv.weight, conv.weight_orig.detach() / orig, 1e-8, what="W / sigma_max")


def check_spectral_norm_files():
    torch.manual_seed(6)
    net = M.build("disc_mouth", "tiny")
    x = tiny_inputs("disc_mouth")
    full = M.file_state(net, "disc_mouth.")
    key = "disc_mouth.scales.0.layers.2.conv"
    # the file's weight is W / sigma0(W, u): v = normalise(W^T u), sigma0 = u^T W v
    w = full[key + ".weight_orig"].double().reshape(full[key + ".weight_orig"].shape[0], -1)
    u = full[key + ".weight_u"].double()
    v = w.T @ u / torch.linalg.norm(w.T @ u)
    close(full[key + ".weight"], full[key + ".weight_orig"].double() / (u @ w @ v), 1e-6, what="file weight")
    # eval uses the file's weight as it is, whatever weight_orig says
    altered = dict(full)
    altered[key + ".weight"] = full[key + ".weight"] * 2
    a = M.build("disc_mouth", "tiny", init=False)
    M.load_file_state(a, altered, "disc_mouth.")
    b = M.build("disc_mouth", "tiny", init=False)
    M.load_file_state(b, full, "disc_mouth.")
    with torch.no_grad():
        oa, ob = a.eval()(**x), b.eval()(**x)
        on = net.eval()(**x)
    close(ob["scale0"], on["scale0"], 0, what="round trip")
    assert not torch.allclose(oa["scale0"], ob["scale0"]), "eval must read the file's weight"
    # an inference file (weight only): training starts from weight_orig = weight; saving keeps weight
    inference = M.file_state(net, "disc_mouth.", spectral_state=False)
    c = M.build("disc_mouth", "tiny", init=False)
    M.load_file_state(c, inference, "disc_mouth.")
    conv = c.scales[0].layers[2].conv
    close(conv.weight_orig, conv.weight, 0, what="weight_orig := weight")
    close(torch.linalg.norm(conv.weight_u), 1.0, 1e-6, what="random u")
    resaved = M.file_state(c, "disc_mouth.")
    close(resaved[key + ".weight"], inference[key + ".weight"], 0, what="untouched weight kept")
    c.train()(**x)
    assert conv.stale
    after = M.file_state(c, "disc_mouth.")
    assert not conv.stale
    wo = conv.weight_orig.detach().double().reshape(conv.out_channels, -1)
    u = conv.weight_u.double()
    v = wo.T @ u / torch.linalg.norm(wo.T @ u)
    close(after[key + ".weight"], conv.weight_orig.detach().double() / (u @ wo @ v), 1e-6, what="refreshed weight")


def check_strict_loading():
    net = M.build("disc_mouth", "tiny", init=False)
    full = M.file_state(tiny_net("disc_mouth"), "disc_mouth.")
    bad = dict(full)
    del bad["disc_mouth.scales.1.layers.0.conv.bias"]
    del bad["disc_mouth.scales.0.layers.1.conv.weight_u"]
    bad["disc_mouth.scales.0.layers.4.conv.weight"] = torch.zeros(1, 2, 3, 4)
    bad["disc_mouth.scales.0.extra"] = torch.zeros(1)
    bad["disc_image.scales.0.layers.0.conv.bias"] = torch.zeros(1)  # another network's: ignored
    try:
        M.load_file_state(net, bad, "disc_mouth.", source="bad.safetensors")
    except M.WeightsError as e:
        msg = str(e)
        for part in ("bad.safetensors", "missing: disc_mouth.scales.1.layers.0.conv.bias",
                     "disc_mouth.scales.0.layers.1.conv.weight_u (needed with weight_orig)",
                     "unexpected: disc_mouth.scales.0.extra", "mis-shaped: disc_mouth.scales.0.layers.4.conv.weight"):
            assert part in msg, f"'{part}' not in:\n{msg}"
        assert "disc_image" not in msg
    else:
        raise AssertionError("strict load accepted a bad file")
    # num_batches_tracked in a file is ignored
    kp = M.file_state(tiny_net("kp"), "kp.")
    kp["kp.stem.bn.num_batches_tracked"] = torch.tensor(7)
    M.load_file_state(M.build("kp", "tiny", init=False), kp, "kp.")


def check_batchnorm_training_update():
    net = tiny_net("kp").double()
    x = tiny_inputs("kp")["image"].double()
    conv_out_ = F.conv2d(x, net.stem.conv.weight.detach(), None, 2, 3)
    mean = conv_out_.mean(dim=(0, 2, 3))
    var = conv_out_.var(dim=(0, 2, 3), unbiased=True)
    net.train()(x)
    close(net.stem.bn.running_mean, 0.1 * mean, 1e-12, what="running mean")
    close(net.stem.bn.running_var, 0.9 + 0.1 * var, 1e-12, what="running var")


def check_disc_pyramid_and_vgg_normalisation():
    net = tiny_net("disc_image").double().eval()
    x = tiny_inputs("disc_image")["input"].double()
    with torch.no_grad():
        out = net(x)
        pooled = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        layer0 = net.scales[1].layers[0].conv
        want = F.leaky_relu(F.conv2d(pooled, layer0.weight, layer0.bias, 2, 2), 0.2)
    close(out["scale1.feat0"], want, 1e-12, what="scale 1 input")
    vgg = tiny_net("vgg").double().eval()
    img = tiny_inputs("vgg")["image"].double()[:1, :, :16, :16]  # the first layer is what is checked
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)
    with torch.no_grad():
        c0 = vgg.features[0]
        want = F.relu(F.conv2d(((img + 1) / 2 - mean) / std, c0.weight, c0.bias, padding=1))
        close(vgg(img)["relu1_1"], want, 1e-12, what="vgg normalisation")


def check_cli_round_trip():
    with tempfile.TemporaryDirectory() as d:
        def path(n):
            return os.path.join(d, n)
        for name, m in (("kp", 1), ("gen-nshot", 2), ("disc_image", 1)):
            assert quiet(run.main, ["init", "--net", name, "--config", "tiny", "--seed", "4", "--out", path("w")])[0] == 0
            weights, meta = load(path("w"))
            assert meta["net"] == name and all(v.dtype == torch.float32 for v in weights.values())
            xs = tiny_inputs(name, sources=m)
            torch.manual_seed(4)
            net = M.build(name, "tiny")
            net.exact_warp = True  # as run.py forward (only the generator reads it)
            with torch.no_grad():
                want = net.eval()(**xs)
            cot = {f"cotangent.{k}": torch.randn(v.shape) for k, v in list(want.items())[:2]}
            save(path("in"), {**xs, **cot})
            # eval forward equals the in-process network built from the same seed
            assert quiet(run.main, ["forward", "--net", name, "--config", "tiny", "--weights", path("w"), "--inputs",
                             path("in"), "--output", path("out")])[0] == 0
            got, _ = load(path("out"))
            assert set(got) == set(want), f"{name}: outputs {sorted(got)}"
            for k in want:
                close(got[k], want[k], 1e-5, 1e-5, what=f"{name} cli {k}")
            # train + backward: gradient of every parameter and input, updated buffers
            assert quiet(run.main, ["forward", "--net", name, "--config", "tiny", "--weights", path("w"), "--inputs",
                             path("in"), "--output", path("out"), "--train", "--backward"])[0] == 0
            got, _ = load(path("out"))
            params = {"grad." + M.PREFIXES[name] + k for k, _ in net.named_parameters()}
            inputs = {"grad.input." + k for k in xs}
            grads = {k for k in got if k.startswith("grad.")}
            assert grads == params | inputs, f"{name}: grads {sorted(grads ^ (params | inputs))[:6]}"
            states = {k for k in got if k.startswith("state.")}
            assert states == {"state." + k for k in M.state_buffers(net, M.PREFIXES[name])}
            # the input gradient agrees with autograd in-process (train mode, same start state)
            torch.manual_seed(4)
            net = M.build(name, "tiny").train()
            net.exact_warp = True
            x0 = {k: v.clone().requires_grad_(True) for k, v in xs.items()}
            o = net(**x0)
            sum((o[k[len("cotangent."):]] * c).sum() for k, c in cot.items()).backward()
            for k, v in x0.items():
                close(got["grad.input." + k], v.grad, 1e-5, 1e-4, what=f"{name} input grad {k}")
            # eval + backward: spectral convs report the gradient of their effective weight
            if name == "disc_image":
                assert quiet(run.main, ["forward", "--net", name, "--config", "tiny", "--weights", path("w"), "--inputs",
                                 path("in"), "--output", path("out"), "--backward"])[0] == 0
                got, _ = load(path("out"))
                assert "grad.disc_image.scales.0.layers.1.conv.weight" in got
                assert "grad.disc_image.scales.0.layers.1.conv.weight_orig" not in got
        # errors: exit status 2 and a message naming the tensor
        weights, _ = load(path("w"))
        del weights["disc_image.scales.0.layers.0.conv.bias"]
        save(path("w2"), weights)
        status, err = quiet(run.main, ["forward", "--net", "disc_image", "--config", "tiny", "--weights", path("w2"),
                                       "--inputs", path("in"), "--output", path("out")])
        assert status == 2 and "missing: disc_image.scales.0.layers.0.conv.bias" in err, err
        save(path("in2"), {"image": torch.zeros(1, 3, 8, 8)})
        status, err = quiet(run.main, ["forward", "--net", "disc_image", "--config", "tiny", "--weights", path("w"),
                                       "--inputs", path("in2"), "--output", path("out")])
        assert status == 2 and "missing ['input']" in err, err


def check_convert_torchvision():
    g = torch.Generator().manual_seed(9)
    resnet = {k[len("backbone."):]: torch.randn(v, generator=g)
              for k, v in expected_gaze("paper").items() if k.startswith("backbone.")}
    for k in [k for k in resnet if k.endswith("running_mean")]:
        resnet[k[:-len("running_mean")] + "num_batches_tracked"] = torch.tensor(5)
    resnet["fc.weight"], resnet["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    vgg = {k: torch.randn(v, generator=g) for k, v in expected_vgg("paper").items()}
    for i in (30, 32, 34):
        vgg[f"features.{i}.weight"], vgg[f"features.{i}.bias"] = torch.zeros(512, 512, 3, 3), torch.zeros(512)
    vgg["classifier.0.weight"], vgg["classifier.0.bias"] = torch.zeros(4, 3), torch.zeros(4)
    with tempfile.TemporaryDirectory() as d:
        for kind, state, prefix, net_name in (("resnet34", resnet, "gaze.backbone.", "gaze"), ("vgg19", vgg, "vgg.", "vgg")):
            src, dst = os.path.join(d, "in.pth"), os.path.join(d, "out.safetensors")
            torch.save(state, src)
            assert quiet(convert_torchvision.main, [kind, src, dst])[0] == 0
            got, _ = load(dst)
            want = {prefix + k: v for k, v in state.items()
                    if not k.startswith(("fc.", "classifier.", "features.30", "features.32", "features.34"))
                    and not k.endswith("num_batches_tracked")}
            assert set(got) == set(want), f"{kind}: {sorted(set(got) ^ set(want))[:5]}"
            for k in want:
                assert torch.equal(got[k], want[k].float()), k
            if net_name == "vgg":
                M.load_file_state(M.build("vgg", "paper", init=False), got, "vgg.")
            else:
                M.load_file_state(M.build("gaze", "paper", init=False).backbone, got, "gaze.backbone.")
        bad = dict(resnet)
        del bad["layer2.0.downsample.0.weight"]
        torch.save(bad, src)
        status, err = quiet(convert_torchvision.main, ["resnet34", src, dst])
        assert status == 2 and "layer2.0.downsample.0.weight" in err, err


def check_safetensors_errors():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        save(p, {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor(2.5, dtype=torch.float64)},
             metadata={"k": "v"})
        t, meta = load(p)
        assert meta == {"k": "v"} and torch.equal(t["a"], torch.arange(6.0).reshape(2, 3)) and t["b"].dim() == 0
        blob = open(p, "rb").read()
        open(p, "wb").write(blob[:-4])
        try:
            load(p)
        except ValueError as e:
            assert "t.safetensors" in str(e) and "'" in str(e)
        else:
            raise AssertionError("truncated file accepted")


CHECKS = [v for k, v in list(globals().items()) if k.startswith("check_")]


def main(argv):
    only = argv[argv.index("-k") + 1] if "-k" in argv else ""
    torch.set_num_threads(min(2, torch.get_num_threads() or 1))
    failed, start = [], time.time()
    for check in CHECKS:
        if only not in check.__name__:
            continue
        t0 = time.time()
        try:
            check()
            print(f"ok    {check.__name__} ({time.time() - t0:.2f} s)")
        except Exception:  # report every failing check, not just the first
            failed.append(check.__name__)
            print(f"FAIL  {check.__name__}\n{traceback.format_exc()}")
    print(f"{'FAILED ' + ', '.join(failed) if failed else 'all passed'} in {time.time() - start:.1f} s "
          f"(torch {torch.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
