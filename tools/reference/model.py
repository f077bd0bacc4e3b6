"""PyTorch reference of freehead's networks, written from the model's description in
docs/networks.md and docs/geometry.md: KeypointNet (E_can), GazeNet (E_gaze), the
generator (flow and rendering networks, N-shot fusion), the PatchGAN discriminators and the
VGG19 feature extractor.

Module attribute names are chosen so that `state_dict()` keys are exactly the parameter
names of docs/networks.md; a weights file adds the network's prefix (`kp.`, `gaze.`, `gen.`,
`disc_image.`, `disc_mouth.`, `vgg.`). Files never hold BatchNorm's `num_batches_tracked`
(`file_state` drops it, `load_file_state` ignores it).

Initialisation is PyTorch's default for every layer: conv and linear weights
kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases
U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm and affine InstanceNorm weight 1, bias 0;
running mean 0, running variance 1; spectral-norm `weight_u` = normalise(N(0, 1)).

Spectral normalisation (`SpectralConv2d`) keeps three tensors:
  weight_orig  parameter, the trained weight W
  weight_u     buffer [out], the power-iteration vector u
  weight       buffer, the effective weight that eval mode (inference) uses as it is
Training forward: v = normalise(W^T u), u = normalise(W v) (W reshaped [out, -1], eps 1e-12,
no gradient), u stored, sigma = u^T W v (gradient flows through sigma), conv with W / sigma;
identical to torch.nn.utils.spectral_norm with one power iteration.
File `weight` = W / sigma0(W, u) with the current u and no iteration:
v = normalise(W^T u), sigma0 = u^T W v. Loading: `weight` is required and is what eval
uses; `weight_orig` and `weight_u` are optional but come together. With them training
resumes from W = weight_orig and u = weight_u; without them W := weight and u is drawn at
random (normalise(N(0, 1))), so train-mode parity needs files that hold them.
"""
import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import geometry as G  # the key-point and eye-mesh reference beside this file

CONFIGS = {
    "paper": dict(S=256, E=128, alpha=1.0, ngf=32, spade_hidden=128, ndf=64),
    "small": dict(S=128, E=64, alpha=0.5, ngf=16, spade_hidden=64, ndf=32),
    "tiny": dict(S=64, E=32, alpha=0.25, ngf=8, spade_hidden=32, ndf=16),
}

NUM_KEYPOINTS = 68
ANGLE_BINS = 66
SN_EPS = 1e-12
LRELU_SLOPE = 0.2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def width(base, alpha):
    return int(round(base * alpha))


# ---- spectral normalisation -----------------------------------------------------------------

def _normalise(x):
    return F.normalize(x, dim=0, eps=SN_EPS)


class SpectralConv2d(nn.Module):
    """Conv2d with spectral normalisation; see the module docstring for weight/weight_orig/weight_u."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, bias=True):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.in_channels, self.out_channels, self.kernel_size = cin, cout, (kernel, kernel)
        self.weight_orig = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(cout)) if bias else None
        self.register_buffer("weight_u", torch.empty(cout))
        self.register_buffer("weight", torch.empty(cout, cin, kernel, kernel))
        # True once a training forward ran: `weight` must then be recomputed from weight_orig
        # and u (the optimiser may also have changed weight_orig) before eval or saving.
        self.stale = False
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight_orig, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight_orig[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)
        with torch.no_grad():
            self.weight_u.copy_(_normalise(torch.randn(self.out_channels)))
        self.refresh_weight()

    def sigma_without_iteration(self):
        w = self.weight_orig.detach().reshape(self.out_channels, -1)
        v = _normalise(torch.mv(w.t(), self.weight_u))
        return torch.dot(self.weight_u, torch.mv(w, v))

    @torch.no_grad()
    def refresh_weight(self):
        self.weight.copy_(self.weight_orig / self.sigma_without_iteration())
        self.stale = False

    def current_weight(self):
        if not self.training:
            if self.stale:
                self.refresh_weight()
            return self.weight
        w = self.weight_orig.reshape(self.out_channels, -1)
        with torch.no_grad():
            v = _normalise(torch.mv(w.t(), self.weight_u))
            u = _normalise(torch.mv(w, v))
            self.weight_u.copy_(u)
        sigma = torch.dot(u, torch.mv(w, v))
        self.stale = True
        return self.weight_orig / sigma

    def forward(self, x):
        return F.conv2d(x, self.current_weight(), self.bias, self.stride, self.padding)


def spectral_modules(net):
    return [(name, m) for name, m in net.named_modules() if isinstance(m, SpectralConv2d)]


# ---- KeypointNet (E_can), prefix kp. ----------------------------------------------------------

class ConvBN(nn.Module):
    """`conv` (no bias) then `bn`; the caller applies the activation."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)

    def forward(self, x):
        return self.bn(self.conv(x))


class ResBottleneck(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        mid = cout // 4
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.skip = ConvBN(cin, cout, 1, stride) if (cin != cout or stride != 1) else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (self.skip(x) if self.skip is not None else x))


class KeypointNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        a = cfg["alpha"]
        w = [width(c, a) for c in (32, 64, 128, 256, 512)]
        self.stem = ConvBN(3, w[0], 7, 2, 3)
        plan = [(w[0], w[1], 2), (w[1], w[1], 1), (w[1], w[2], 2), (w[2], w[2], 1),
                (w[2], w[3], 2), (w[3], w[3], 1), (w[3], w[4], 2), (w[4], w[4], 1)]
        self.blocks = nn.ModuleList([ResBottleneck(cin, cout, s) for cin, cout, s in plan])
        f = w[4]
        self.yaw = nn.Linear(f, ANGLE_BINS)
        self.pitch = nn.Linear(f, ANGLE_BINS)
        self.roll = nn.Linear(f, ANGLE_BINS)
        self.translation = nn.Linear(f, 3)
        self.scale = nn.Linear(f, 1)
        self.expression = nn.Linear(f, 3 * NUM_KEYPOINTS)
        self.points = nn.Linear(f, 3 * NUM_KEYPOINTS)

    def forward(self, image):
        h = F.relu(self.stem(image))
        for block in self.blocks:
            h = block(h)
        f = h.mean(dim=(2, 3))
        b = f.shape[0]
        yaw = G.bins_to_degrees(self.yaw(f))
        pitch = G.bins_to_degrees(self.pitch(f))
        roll = G.bins_to_degrees(self.roll(f))
        t = self.translation(f)
        s = torch.exp(self.scale(f))
        d = self.expression(f).reshape(b, NUM_KEYPOINTS, 3)
        p = self.points(f).reshape(b, NUM_KEYPOINTS, 3)
        r = G.rotation_matrix(*(torch.deg2rad(a) for a in (yaw, pitch, roll)))
        canonical = G.canonical_from_posed(p, r, t, s, d)
        return {"yaw": yaw, "pitch": pitch, "roll": roll, "translation": t, "scale": s,
                "expression": d, "points": p, "canonical": canonical, "rotation": r}


# ---- GazeNet (E_gaze), prefix gaze. -----------------------------------------------------------

class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock (names conv1, bn1, conv2, bn2, downsample.0/.1)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet34Backbone(nn.Module):
    """torchvision ResNet-34 without avgpool and fc, widths scaled by alpha."""

    def __init__(self, alpha):
        super().__init__()
        w = [width(c, alpha) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        cin = w[0]
        for i, (cout, blocks) in enumerate(zip(w, (3, 4, 6, 3))):
            stride = 1 if i == 0 else 2
            layer = [BasicBlock(cin, cout, stride)] + [BasicBlock(cout, cout) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
            cin = cout
        self.out_channels = cin

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class GazeNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.eye_size = cfg["E"]
        self.backbone = ResNet34Backbone(cfg["alpha"])
        c = self.backbone.out_channels
        self.neck = ConvBN(c, c, 3, 2, 1)
        self.neck_size = -(-cfg["E"] // 64)  # ceil(E / 64)
        self.head = nn.Linear(c * self.neck_size ** 2, 3 * G.EYE_VERTICES)

    def forward(self, eye):
        h = F.relu(self.neck(self.backbone(eye)))
        if h.shape[2] != self.neck_size or h.shape[3] != self.neck_size:
            raise ValueError(f"gaze: eye crop {list(eye.shape)} gives a {h.shape[2]}x{h.shape[3]} neck map; "
                             f"this config's head expects {self.neck_size}x{self.neck_size} (crop {self.eye_size})")
        vertices = self.head(h.flatten(1)).reshape(eye.shape[0], G.EYE_VERTICES, 3)
        g = G.gaze_from_mesh(vertices)
        theta, phi = G.gaze_to_angles(g).to(g.dtype).unbind(1)
        return {"vertices": vertices, "gaze": g, "theta": theta, "phi": phi}


# ---- generator, prefix gen. -------------------------------------------------------------------

def lrelu(x):
    return F.leaky_relu(x, LRELU_SLOPE)


class SPADE(nn.Module):
    def __init__(self, channels, label_channels, hidden):
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x, label):
        if label.shape[2:] != x.shape[2:]:
            label = F.interpolate(label, size=x.shape[2:], mode="nearest")
        a = self.mlp_shared(label)
        return F.instance_norm(x, eps=1e-5) * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class SPADEResBlock(nn.Module):
    def __init__(self, fin, fout, label_channels, hidden):
        super().__init__()
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.norm_0 = SPADE(fin, label_channels, hidden)
        self.conv_0 = SpectralConv2d(fin, fmid, 3, padding=1)
        self.norm_1 = SPADE(fmid, label_channels, hidden)
        self.conv_1 = SpectralConv2d(fmid, fout, 3, padding=1)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_channels, hidden)
            self.conv_s = SpectralConv2d(fin, fout, 1, bias=False)

    def forward(self, x, label):
        shortcut = self.conv_s(self.norm_s(x, label)) if self.learned_shortcut else x
        h = self.conv_0(lrelu(self.norm_0(x, label)))
        h = self.conv_1(lrelu(self.norm_1(h, label)))
        return shortcut + h


class ConvIN(nn.Module):
    """`conv` (no bias), affine instance norm `norm`, ReLU: the encoders' stage."""

    def __init__(self, cin, cout, kernel, stride, padding):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.norm = nn.InstanceNorm2d(cout, eps=1e-5, affine=True)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


def encoder(cin, ngf):
    return nn.ModuleList([ConvIN(cin, ngf, 7, 1, 3), ConvIN(ngf, 4 * ngf, 3, 2, 1), ConvIN(4 * ngf, 16 * ngf, 3, 2, 1)])


class FlowNet(nn.Module):
    def __init__(self, ngf, hidden, nshot):
        super().__init__()
        self.enc = encoder(6, ngf)
        self.dec = nn.ModuleList([SPADEResBlock(16 * ngf, 16 * ngf, 3, hidden) for _ in range(3)]
                                 + [SPADEResBlock(4 * ngf, 4 * ngf, 3, hidden)])
        self.flow_head = nn.Conv2d(ngf, 2, 7, padding=3)
        self.weight_head = nn.Conv2d(ngf, 1, 7, padding=3) if nshot else None

    def forward(self, source_and_sketch, target_sketch, want_weight):
        h1 = self.enc[0](source_and_sketch)
        h2 = self.enc[1](h1)
        h3 = self.enc[2](h2)
        d = h3
        for block in self.dec[:3]:
            d = block(d, target_sketch)
        d = self.dec[3](F.pixel_shuffle(d, 2), target_sketch)
        d = lrelu(F.pixel_shuffle(d, 2))
        m = self.weight_head(d) if want_weight else None
        return self.flow_head(d), m, (h1, h2, h3)


class RenderNet(nn.Module):
    def __init__(self, ngf, hidden):
        super().__init__()
        self.enc = encoder(3, ngf)
        self.dec = nn.ModuleList([SPADEResBlock(16 * ngf, 16 * ngf, 16 * ngf, hidden),
                                  SPADEResBlock(4 * ngf, 4 * ngf, 4 * ngf, hidden),
                                  SPADEResBlock(ngf, ngf, ngf, hidden),
                                  SPADEResBlock(ngf, ngf, 3, hidden)])
        self.out_conv = nn.Conv2d(ngf, 3, 7, padding=3)

    def forward(self, target_sketch, h1, h2, h3, x):
        r = target_sketch
        for stage in self.enc:
            r = stage(r)
        d = self.dec[0](r, h3)
        d = self.dec[1](F.pixel_shuffle(d, 2), h2)
        d = self.dec[2](F.pixel_shuffle(d, 2), h1)
        d = self.dec[3](d, x)
        return torch.tanh(self.out_conv(lrelu(d)))


def flow_grid(flow):
    """grid_sample grid (align_corners=True) sampling pixel (x + dx, y + dy) for a pixel flow
    [N, 2, H, W]: x_n = 2u / (W - 1) - 1 (divisor clamped to 1 on a one-pixel axis)."""
    _, _, h, w = flow.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    u = xs + flow[:, 0]
    v = ys + flow[:, 1]
    return torch.stack((2 * u / max(w - 1, 1) - 1, 2 * v / max(h - 1, 1) - 1), dim=-1)


def warp(src, flow, exact=False):
    """out(y, x) = bilinear(src, x + dx, y + dy), coordinates clamped to the border.
    exact: evaluate in float64 so that the float32 round trip pixel -> normalised -> pixel
    inside grid_sample does not perturb the reference."""
    if exact and src.dtype != torch.float64:
        return warp(src.double(), flow.double()).to(src.dtype)
    return F.grid_sample(src, flow_grid(flow), mode="bilinear", padding_mode="border", align_corners=True)


def flow_pyramid(flow):
    """Flows for h1, h2, h3: full size, then average-pooled 2x2 and halved per halving."""
    flow2 = F.avg_pool2d(flow, 2) / 2
    return flow, flow2, F.avg_pool2d(flow2, 2) / 2


def weight_pyramid(m):
    """Fusion logits for h1, h2, h3: average-pooled like the flows, not divided."""
    m2 = F.avg_pool2d(m, 2)
    return m, m2, F.avg_pool2d(m2, 2)


class Generator(nn.Module):
    """Inputs sources [B, M, 3, S, S], source_sketches [B, M, 3, S, S], target_sketch
    [B, 3, S, S]. Outputs output (y_hat), warped (x_bar), flows [B, M, 2, S, S] and, with
    M > 1, weights [B, M, 1, S, S] (the softmax fusion weights at full resolution)."""

    def __init__(self, cfg, nshot):
        super().__init__()
        self.nshot = nshot
        self.exact_warp = False
        self.flow = FlowNet(cfg["ngf"], cfg["spade_hidden"], nshot)
        self.render = RenderNet(cfg["ngf"], cfg["spade_hidden"])

    def forward(self, sources, source_sketches, target_sketch):
        b, m_count, _, h, w = sources.shape
        if m_count > 1 and not self.nshot:
            raise ValueError(f"gen: {m_count} sources need the N-shot generator (gen-nshot, with weight_head)")
        if h % 4 or w % 4:
            raise ValueError(f"gen: image size {h}x{w} must be divisible by 4")
        x = sources.reshape(b * m_count, 3, h, w)
        flow_in = torch.cat([x, source_sketches.reshape(b * m_count, 3, h, w)], dim=1)
        label = target_sketch.unsqueeze(1).expand(b, m_count, 3, h, w).reshape(b * m_count, 3, h, w)
        fuse = m_count > 1
        flow, m, (h1, h2, h3) = self.flow(flow_in, label, want_weight=fuse)

        _, flow2, flow3 = flow_pyramid(flow)
        levels = [(x, flow), (h1, flow), (h2, flow2), (h3, flow3)]
        warped = [warp(src, f, self.exact_warp) for src, f in levels]

        out = {}
        if fuse:
            _, m2, m3 = weight_pyramid(m)
            w1, w2, w3 = [torch.softmax(mi.reshape(b, m_count, 1, *mi.shape[2:]), dim=1) for mi in (m, m2, m3)]
            fused = [(wi * t.reshape(b, m_count, *t.shape[1:])).sum(dim=1) for wi, t in zip((w1, w1, w2, w3), warped)]
            out["weights"] = w1
        else:
            fused = warped
        x_bar, hb1, hb2, hb3 = fused
        y = self.render(target_sketch, hb1, hb2, hb3, x_bar)
        return {"output": y, "warped": x_bar, "flows": flow.reshape(b, m_count, 2, h, w), **out}


# ---- PatchGAN discriminators, prefixes disc_image. / disc_mouth. -------------------------------

class DiscLayer(nn.Module):
    def __init__(self, cin, cout, stride, spectral, norm, act):
        super().__init__()
        if spectral:
            self.conv = SpectralConv2d(cin, cout, 4, stride, 2, bias=not norm)
        else:
            self.conv = nn.Conv2d(cin, cout, 4, stride, 2, bias=not norm)
        self.norm, self.act = norm, act

    def forward(self, x):
        x = self.conv(x)
        if self.norm:
            x = F.instance_norm(x, eps=1e-5)
        return lrelu(x) if self.act else x


class PatchGANScale(nn.Module):
    def __init__(self, cin, ndf):
        super().__init__()
        self.layers = nn.ModuleList([
            DiscLayer(cin, ndf, 2, spectral=False, norm=False, act=True),
            DiscLayer(ndf, 2 * ndf, 2, spectral=True, norm=True, act=True),
            DiscLayer(2 * ndf, 4 * ndf, 2, spectral=True, norm=True, act=True),
            DiscLayer(4 * ndf, 8 * ndf, 1, spectral=True, norm=True, act=True),
            DiscLayer(8 * ndf, 1, 1, spectral=False, norm=False, act=False)])

    def forward(self, x):
        feats = []
        for layer in self.layers[:4]:
            x = layer(x)
            feats.append(x)
        return self.layers[4](x), feats


class PatchGAN(nn.Module):
    def __init__(self, in_channels, ndf, num_scales=2):
        super().__init__()
        self.in_channels = in_channels
        self.scales = nn.ModuleList([PatchGANScale(in_channels, ndf) for _ in range(num_scales)])

    def forward(self, input):
        out = {}
        x = input
        for k, scale in enumerate(self.scales):
            if k > 0:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            score, feats = scale(x)
            out[f"scale{k}"] = score
            for i, f in enumerate(feats):
                out[f"scale{k}.feat{i}"] = f
        return out


# ---- VGG19 features, prefix vgg. --------------------------------------------------------------

VGG19_PLAN = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512]
VGG_OUTPUTS = {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 29: "relu5_1"}


class VGG19Features(nn.Module):
    """torchvision VGG19 `features.0` ... `features.29` (relu5_1); input in [-1, 1]."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in VGG19_PLAN:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)

    def forward(self, image):
        mean = torch.tensor(IMAGENET_MEAN, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        x = ((image + 1) / 2 - mean) / std
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_OUTPUTS:
                out[VGG_OUTPUTS[i]] = x
        return out


# ---- registry ---------------------------------------------------------------------------------

PREFIXES = {"kp": "kp.", "gaze": "gaze.", "gen": "gen.", "gen-nshot": "gen.", "disc_image": "disc_image.",
            "disc_mouth": "disc_mouth.", "vgg": "vgg."}
NETS = tuple(PREFIXES)


@contextlib.contextmanager
def skipped_init():
    """Layers keep torch.empty values: for networks whose every value is loaded next."""
    classes = (nn.Conv2d, nn.Linear, SpectralConv2d)
    saved = [cls.reset_parameters for cls in classes]
    try:
        for cls in classes:
            cls.reset_parameters = lambda self: None
        yield
    finally:
        for cls, fn in zip(classes, saved):
            cls.reset_parameters = fn


def build(net, config, init=True):
    """A freshly initialised network (draws from torch's global generator). init=False skips
    the random initialisation (values undefined) for a network that is loaded right after."""
    if not init:
        with skipped_init():
            return build(net, config)
    if config not in CONFIGS:
        raise ValueError(f"unknown config '{config}' (choose from {', '.join(CONFIGS)})")
    cfg = CONFIGS[config]
    if net == "kp":
        return KeypointNet(cfg)
    if net == "gaze":
        return GazeNet(cfg)
    if net in ("gen", "gen-nshot"):
        return Generator(cfg, nshot=net == "gen-nshot")
    if net == "disc_image":
        return PatchGAN(6, cfg["ndf"])
    if net == "disc_mouth":
        return PatchGAN(3, cfg["ndf"])
    if net == "vgg":
        return VGG19Features()
    raise ValueError(f"unknown net '{net}' (choose from {', '.join(NETS)})")


def input_shapes(net, config, batch=1, sources=1):
    """Shapes of the named inputs `forward` takes at this config's sizes."""
    cfg = CONFIGS[config]
    s, e = cfg["S"], cfg["E"]
    if net in ("kp", "vgg"):
        return {"image": [batch, 3, s, s]}
    if net == "gaze":
        return {"eye": [batch, 3, e, e]}
    if net in ("gen", "gen-nshot"):
        return {"sources": [batch, sources, 3, s, s], "source_sketches": [batch, sources, 3, s, s],
                "target_sketch": [batch, 3, s, s]}
    if net == "disc_image":
        return {"input": [batch, 6, s, s]}
    if net == "disc_mouth":
        return {"input": [batch, 3, s // 4, s // 4]}
    raise ValueError(f"unknown net '{net}'")


def input_names(net):
    return list(input_shapes(net, "tiny"))


def input_channels(net):
    """Expected (rank, channel axis, channels) per input, for checking files."""
    if net in ("gen", "gen-nshot"):
        return {"sources": (5, 2, 3), "source_sketches": (5, 2, 3), "target_sketch": (4, 1, 3)}
    if net == "disc_image":
        return {"input": (4, 1, 6)}
    return {name: (4, 1, 3) for name in input_names(net)}


def random_inputs(net, config, batch=1, sources=1, generator=None, dtype=torch.float32, device="cpu"):
    """Images uniform in [-1, 1], sketches in [0, 1]."""
    out = {}
    for name, shape in input_shapes(net, config, batch, sources).items():
        x = torch.rand(shape, generator=generator, dtype=dtype)
        out[name] = (x if "sketch" in name else 2 * x - 1).to(device)
    return out


# ---- weights files ----------------------------------------------------------------------------

def file_state(net, prefix, spectral_state=True):
    """The tensors a weights file holds: state_dict under `prefix`, float32 on the CPU, without
    num_batches_tracked; spectral `weight` recomputed where training made it stale.
    spectral_state=False leaves out weight_orig and weight_u (an inference file)."""
    sn_extra = set()
    for name, module in spectral_modules(net):
        if module.stale:
            module.refresh_weight()
        sn_extra |= {f"{name}.weight_orig", f"{name}.weight_u"}
    out = {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if not spectral_state and key in sn_extra:
            continue
        out[prefix + key] = value.detach().to("cpu", torch.float32).contiguous()
    return out


class WeightsError(ValueError):
    pass


def expected_file_names(net):
    """(required {name: shape}, optional {name: shape}) without prefix."""
    optional = set()
    for name, _ in spectral_modules(net):
        optional |= {f"{name}.weight_orig", f"{name}.weight_u"}
    required, opt = {}, {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        (opt if key in optional else required)[key] = list(value.shape)
    return required, opt


def load_file_state(net, tensors, prefix, source="weights"):
    """Strict load of the tensors under `prefix`: raises WeightsError listing every missing,
    unexpected and mis-shaped tensor (tensors outside the prefix belong to other networks and
    are ignored; num_batches_tracked is ignored). See the module docstring for spectral norm."""
    required, optional = expected_file_names(net)
    mine = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(prefix + k for k in required if k not in mine)
    unexpected, mismatched = [], []
    for k, v in mine.items():
        if k.endswith(".num_batches_tracked") and k[:-len("num_batches_tracked")] + "running_mean" in required:
            continue
        shape = required.get(k, optional.get(k))
        if shape is None:
            unexpected.append(prefix + k)
        elif list(v.shape) != shape:
            mismatched.append(f"{prefix}{k}: file {list(v.shape)} vs expected {shape}")
        elif not v.is_floating_point():
            mismatched.append(f"{prefix}{k}: file dtype {v.dtype}, expected a float tensor")
    for name, _ in spectral_modules(net):
        has_orig, has_u = f"{name}.weight_orig" in mine, f"{name}.weight_u" in mine
        if has_orig != has_u:
            missing.append(prefix + name + (".weight_u (needed with weight_orig)" if has_orig
                                            else ".weight_orig (needed with weight_u)"))
    if missing or unexpected or mismatched:
        lines = [f"{source}: cannot load '{prefix}' weights"]
        lines += [f"  missing: {k}" for k in missing]
        lines += [f"  unexpected: {k}" for k in sorted(unexpected)]
        lines += [f"  mis-shaped: {k}" for k in mismatched]
        raise WeightsError("\n".join(lines))
    state = net.state_dict()
    with torch.no_grad():
        for k, v in mine.items():
            if k in state:
                state[k].copy_(v.to(state[k].dtype))
        for name, module in spectral_modules(net):
            if f"{name}.weight_orig" not in mine:
                module.weight_orig.copy_(module.weight)
                module.weight_u.copy_(_normalise(torch.randn(module.out_channels)).to(module.weight_u))
            module.stale = False
    return sorted(mine)


def leaf_tensors(net, prefix, training):
    """{file name: tensor} of what a forward differentiates: the parameters, except that in
    eval mode a spectral conv's leaf is its effective `weight` instead of `weight_orig`."""
    sn = {name for name, _ in spectral_modules(net)}
    leaves = {}
    for key, p in net.named_parameters():
        owner, _, leaf = key.rpartition(".")
        if owner in sn and leaf == "weight_orig" and not training:
            continue
        leaves[prefix + key] = p
    if not training:
        for name, module in spectral_modules(net):
            leaves[f"{prefix}{name}.weight"] = module.weight
    return leaves


def state_buffers(net, prefix):
    """Buffers a training forward updates: BatchNorm running stats and spectral weight_u."""
    out = {}
    for key, value in net.state_dict().items():
        if key.endswith(("running_mean", "running_var", "weight_u")):
            out[prefix + key] = value
    return out
