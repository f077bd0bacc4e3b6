"""Oracle entries for freehead's geometry (tools/reference/geometry.py holds the reference
itself): key-point algebra, eye meshes and gaze, eye and mouth crops, sketches.

Images are flagged NHWC by the cases, so the crop ops receive NCHW tensors here. Functions
without a gradient in freehead (Euler angles, gaze angles, crop boxes, sketches) are
compared by value only.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import geometry as G  # noqa: E402


def sketches(points, angles, size):
    out = [G.draw_sketch(points[b, :, :2].double().numpy(), angles[b].double().numpy(), size)
           for b in range(points.shape[0])]
    return torch.from_numpy(np.stack(out))


# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "rotation_matrix": lambda x, a: G.rotation_matrix(x[0], x[1], x[2]),
    "bins_to_degrees": lambda x, a: G.bins_to_degrees(x[0]),
    "canonical_from_posed": lambda x, a: G.canonical_from_posed(*x),
    "posed_from_canonical": lambda x, a: G.posed_from_canonical(*x),
    "euler_from_rotation": lambda x, a: G.euler_from_rotation(x[0]).to(x[0].dtype),
    "gaze_from_mesh": lambda x, a: G.gaze_from_mesh(x[0]),
    "gaze_to_angles": lambda x, a: G.gaze_to_angles(x[0]).to(x[0].dtype),
    "angles_to_gaze": lambda x, a: G.angles_to_gaze(x[0]),
    "edge_lengths": lambda x, a: G.edge_lengths(x[0]),
    "eye_crop_boxes": lambda x, a: G.eye_crop_boxes(x[0], a["width"], a["height"]).to(x[0].dtype),
    "crop_boxes": lambda x, a: G.crop_boxes(x[0], x[1], a["size"]),
    "image_to_crop_points": lambda x, a: G.image_to_crop_points(x[0], x[1], a["width"], a["height"]),
    "crop_to_image_points": lambda x, a: G.crop_to_image_points(x[0], x[1], a["width"], a["height"]),
    "mouth_crops": lambda x, a: G.mouth_crops(x[0], x[1]),
    "sketch": lambda x, a: sketches(x[0], x[1], a["size"]),
}
