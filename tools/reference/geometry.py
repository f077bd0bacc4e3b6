"""PyTorch/NumPy reference of freehead's geometry, written from the text of docs/geometry.md
alone, not from the C++ code: key-point algebra, the eye-mesh template and gaze, the sketch
rasteriser, eye and mouth crops.

Tensors follow PyTorch's conventions except where noted: key-points [B, 68, 3], rotations
[B, 3, 3], images NCHW. Sketches are returned as NumPy arrays [S, S, 3].
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

# ---- Key-points -------------------------------------------------------------------------


def rotation_matrix(yaw, pitch, roll):
    """R = Rx(pitch) Ry(yaw) Rz(roll); [B] radians -> [B, 3, 3]."""
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)

    def mat(*entries):
        return torch.stack(entries, dim=-1).reshape(-1, 3, 3)

    cp, sp, cy, sy, cr, sr = pitch.cos(), pitch.sin(), yaw.cos(), yaw.sin(), roll.cos(), roll.sin()
    rx = mat(one, zero, zero, zero, cp, -sp, zero, sp, cp)
    ry = mat(cy, zero, sy, zero, one, zero, -sy, zero, cy)
    rz = mat(cr, -sr, zero, sr, cr, zero, zero, zero, one)
    return rx @ ry @ rz


def bins_to_degrees(logits):
    """66 angle-bin logits -> degrees: 3 * sum_i softmax_i * i - 99."""
    idx = torch.arange(logits.shape[-1], dtype=logits.dtype, device=logits.device)
    return 3 * (torch.softmax(logits, dim=-1) * idx).sum(-1) - 99


def canonical_from_posed(p, R, t, s, d):
    """Eq. 1: (1/s) R^T (p - d - t) per point."""
    q = p - d - t[:, None, :]
    return torch.einsum("bij,bni->bnj", R, q) / s[:, :, None]


def posed_from_canonical(p_can, R, t, s, d):
    """Eq. 2: s R p_can + t + d per point."""
    return s[:, :, None] * torch.einsum("bij,bnj->bni", R, p_can) + t[:, None, :] + d


def euler_from_rotation(R):
    """(yaw, pitch, roll) of R = Rx(pitch) Ry(yaw) Rz(roll), |yaw| < pi/2; [B, 3, 3] -> [B, 3]."""
    R = R.double()
    yaw = torch.asin(R[:, 0, 2].clamp(-1, 1))
    pitch = torch.atan2(-R[:, 1, 2], R[:, 2, 2])
    roll = torch.atan2(-R[:, 0, 1], R[:, 0, 0])
    return torch.stack((yaw, pitch, roll), dim=1)


# ---- Eyes ---------------------------------------------------------------------------------

EYE_RINGS, EYE_SEGMENTS, IRIS_RING, EQUATOR_RING = 15, 32, 3, 7
EYE_VERTICES = 2 + EYE_RINGS * EYE_SEGMENTS  # 482


def eye_template():
    """(vertices [482, 3] float64, triangles [960, 3] int64, edges [2880, 2] int64)."""
    v = [(0.0, 0.0, -1.0)]
    for r in range(EYE_RINGS):
        a = (r + 1) * math.pi / 16
        for k in range(EYE_SEGMENTS):
            b = 2 * math.pi * k / EYE_SEGMENTS
            v.append((math.sin(a) * math.cos(b), math.sin(a) * math.sin(b), -math.cos(a)))
    v.append((0.0, 0.0, 1.0))
    tris = [(0, 1 + k, 1 + (k + 1) % 32) for k in range(32)]
    for r in range(14):
        for k in range(32):
            a, b = 1 + 32 * r + k, 1 + 32 * r + (k + 1) % 32
            tris += [(a, a + 32, b), (b, a + 32, b + 32)]
    tris += [(481, 449 + (k + 1) % 32, 449 + k) for k in range(32)]
    edges = []
    for t in tris:
        edges += [(t[0], t[1]), (t[0], t[2]), (t[1], t[2])]
    return (torch.tensor(v, dtype=torch.float64), torch.tensor(tris, dtype=torch.int64),
            torch.tensor(edges, dtype=torch.int64))


def ring(vertices, r):
    first = 1 + EYE_SEGMENTS * r
    return vertices[:, first:first + EYE_SEGMENTS]


def gaze_from_mesh(vertices):
    """normalise(mean of the iris ring - mean of the equator ring); [B, 482, 3] -> [B, 3]."""
    g = ring(vertices, IRIS_RING).mean(1) - ring(vertices, EQUATOR_RING).mean(1)
    return g / g.norm(dim=-1, keepdim=True)


def gaze_to_angles(g):
    """(theta, phi) = (asin(-g_y), atan2(-g_x, -g_z)) of the normalised vector."""
    g = g.double()
    g = g / g.norm(dim=-1, keepdim=True)
    return torch.stack((torch.asin((-g[:, 1]).clamp(-1, 1)), torch.atan2(-g[:, 0], -g[:, 2])), dim=1)


def angles_to_gaze(a):
    theta, phi = a[:, 0], a[:, 1]
    return torch.stack((-theta.cos() * phi.sin(), -theta.sin(), -theta.cos() * phi.cos()), dim=1)


def edge_lengths(vertices):
    """[B, 482, 3] -> [B, 2880]: the length of every template edge."""
    edges = eye_template()[2]
    return (vertices[:, edges[:, 1]] - vertices[:, edges[:, 0]]).norm(dim=-1)


# ---- Sketch -------------------------------------------------------------------------------

POLYLINES = [(0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False), (31, 35, False),
             (36, 41, True), (42, 47, True), (48, 59, True), (60, 67, True)]


def gaze_colour(theta, phi):
    lim = math.radians(45)
    return (0.5 + 0.5 * min(max(theta / lim, -1.0), 1.0), 0.5 + 0.5 * min(max(phi / lim, -1.0), 1.0), 0.0)


def _inside_polygon(poly, xs, ys):
    """Pixel centres inside a polygon: even-odd rule, an edge a->b crossing row y when
    (a_y <= y) != (b_y <= y), the pixel counted when its x is below the crossing."""
    inside = np.zeros(xs.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % n]
        crosses = (ay <= ys) != (by <= ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = ax + (ys - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (xs < x_cross)
    return inside


def _segment_distance(ax, ay, bx, by, xs, ys):
    px, py = xs - ax, ys - ay
    ux, uy = bx - ax, by - ay
    len2 = ux * ux + uy * uy
    t = np.clip((px * ux + py * uy) / len2, 0.0, 1.0) if len2 > 0 else np.zeros_like(xs)
    dx, dy = px - t * ux, py - t * uy
    return np.sqrt(dx * dx + dy * dy)


def draw_sketch(points_xy, gaze_angles, size):
    """points_xy [68, 2] image-normalised, gaze_angles [2, 2] (theta, phi) per eye (right eye
    36-41 first) -> float32 [S, S, 3] in [0, 1]. Evaluated over the whole image in float64."""
    pts = (np.asarray(points_xy, dtype=np.float64) + 1.0) * (0.5 * (size - 1))
    ys, xs = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    img = np.zeros((size, size, 3), dtype=np.float64)
    for eye, first in enumerate((36, 42)):
        colour = np.array(gaze_colour(*map(float, gaze_angles[eye])), dtype=np.float32).astype(np.float64)
        img[_inside_polygon(pts[first:first + 6], xs, ys)] = colour
    width = max(1.0, size / 128.0)
    dist = np.full((size, size), np.inf)
    for first, last, closed in POLYLINES:
        segs = [(i, i + 1) for i in range(first, last)] + ([(last, first)] if closed else [])
        for i, j in segs:
            dist = np.minimum(dist, _segment_distance(*pts[i], *pts[j], xs, ys))
    alpha = np.clip(0.5 * width + 0.5 - dist, 0.0, 1.0)[..., None]
    return (img * (1 - alpha) + alpha).astype(np.float32)


# ---- Crops --------------------------------------------------------------------------------


def to_pixels(points, width, height):
    return torch.stack(((points[..., 0] + 1) * (width - 1) / 2, (points[..., 1] + 1) * (height - 1) / 2), dim=-1)


def eye_crop_boxes(points, width, height):
    """[B, 68, 2|3] -> [B, 2, 3]: (c_x, c_y, L) in pixels for the right eye then the left."""
    px = to_pixels(points.double(), width, height)
    boxes = []
    for first in (36, 42):
        centre = px[:, first:first + 6].mean(1)
        side = 2 * (px[:, first + 3] - px[:, first]).norm(dim=-1)
        boxes.append(torch.cat((centre, side[:, None]), dim=1))
    return torch.stack(boxes, dim=1)


def crop_boxes(images, boxes, size):
    """images NCHW [B, C, H, W], boxes [B, K, 3] -> [B*K, C, E, E] by grid_sample (bilinear,
    border, align_corners=True) at x = c_x + (2j/(E-1) - 1) L/2, evaluated in float64."""
    b, c, h, w = images.shape
    k = boxes.shape[1]
    boxes = boxes.double().reshape(b * k, 3)
    steps = 2 * torch.arange(size, dtype=torch.float64) / (size - 1) - 1
    xs = boxes[:, 0, None] + steps[None] * boxes[:, 2, None] / 2  # [M, E] pixel x per column
    ys = boxes[:, 1, None] + steps[None] * boxes[:, 2, None] / 2
    grid = torch.stack((2 * xs[:, None, :].expand(-1, size, -1) / (w - 1) - 1,
                        2 * ys[:, :, None].expand(-1, -1, size) / (h - 1) - 1), dim=-1)
    src = images.double().repeat_interleave(k, dim=0)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True).to(images.dtype)


def image_to_crop_points(points, boxes, width, height):
    """Image-normalised [M, N, 3] -> crop-normalised: u = (x_px - c_x)/(L/2), z scaled like x."""
    cx, cy, side = boxes[:, 0, None], boxes[:, 1, None], boxes[:, 2, None]
    x = ((points[..., 0] + 1) * (width - 1) / 2 - cx) / (side / 2)
    y = ((points[..., 1] + 1) * (height - 1) / 2 - cy) / (side / 2)
    z = points[..., 2] * (width - 1) / 2 / (side / 2)
    return torch.stack((x, y, z), dim=-1)


def crop_to_image_points(points, boxes, width, height):
    cx, cy, side = boxes[:, 0, None], boxes[:, 1, None], boxes[:, 2, None]
    x = (points[..., 0] * side / 2 + cx) * 2 / (width - 1) - 1
    y = (points[..., 1] * side / 2 + cy) * 2 / (height - 1) - 1
    z = points[..., 2] * side / 2 * 2 / (width - 1)
    return torch.stack((x, y, z), dim=-1)


def mouth_crops(images, points):
    """images NCHW -> [B, C, H/4, W/4] centred (rounded, halves up) on the mean of points
    48-67, clamped inside the image."""
    b, c, h, w = images.shape
    ch, cw = h // 4, w // 4
    px = to_pixels(points.double(), w, h)[:, 48:68].mean(1)
    out = []
    for i in range(b):
        cx, cy = math.floor(float(px[i, 0]) + 0.5), math.floor(float(px[i, 1]) + 0.5)
        top = min(max(cy - ch // 2, 0), h - ch)
        left = min(max(cx - cw // 2, 0), w - cw)
        out.append(images[i:i + 1, :, top:top + ch, left:left + cw])
    return torch.cat(out, dim=0)
