// The eye-mesh machinery of E_gaze (docs/geometry.md#eye-mesh-template) as tensors: the template,
// the gaze vector of a mesh, gaze ↔ (θ, φ) and the edge lengths of the E_gaze loss.
// Differentiable functions are built from autograd ops (float32/float64, batched, any
// device whose ops exist).
#pragma once

#include "geometry/conventions.h"
#include "runtime/tensor.h"

namespace fh::geometry {

// The template (conventions.h eye_mesh_template()) as tensors: vertices [482,3] in `dtype`,
// triangles [960,3] and edges [2880,2] as int64 vertex indices (edges (v0,v1), (v0,v2),
// (v1,v2) of each triangle in turn).
Tensor eye_template_vertices(DType dtype = DType::F32, Device device = Device::cpu());
Tensor eye_template_triangles();
Tensor eye_template_edges();

// Gaze of eye meshes: normalise(mean of the iris ring − mean of the equator ring).
// vertices [B,482,3] -> [B,3], differentiable.
Tensor gaze_from_mesh(const Tensor& vertices);

// Gaze vectors [B,3] (any length) -> [B,2] holding (θ, φ) in radians: θ = asin(−g_y),
// φ = atan2(−g_x, −g_z) of the normalised vector. For colouring sketches and evaluation:
// computed on the host in double precision, no gradient.
Tensor gaze_to_angles(const Tensor& gaze);
// (θ, φ) [B,2] -> unit gaze vectors [B,3] = (−cos θ sin φ, −sin θ, −cos θ cos φ), differentiable.
Tensor angles_to_gaze(const Tensor& angles);

// Euclidean length of every template edge: vertices [B,482,3] -> [B,2880], differentiable.
Tensor edge_lengths(const Tensor& vertices);

}  // namespace fh::geometry
