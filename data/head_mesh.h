// The head as a triangle mesh built from the parametric model, once per identity: a
// deformed ellipsoid (cranium, flattened face, tapered jaw that turns under at the jaw
// edge, nose, brow ridge, cheekbones, lips, chin, hair volume) as a longitude × latitude
// grid; two ears; a neck skinned between the head and the body; the shoulders. Expressions
// that move the face are linear blend shapes over the head grid, so a frame's face is
// rest + Σ e_j · B_j. The eyeballs are spheres seen through the lid openings (drawn
// analytically by the renderer).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "data/face_layout.h"
#include "data/head_params.h"

namespace fh::data {

struct HeadMesh {
  explicit HeadMesh(const Identity& id);

  Identity identity;
  FaceLayout layout;

  // Grid of the head surface: column longitudes (periodic, 0 = front) and row latitudes
  // (top to bottom); vertex 0 is the top pole, grid vertex (i, j) is 1 + i·nu + j.
  std::vector<double> us, vs;
  int nu = 0, nv = 0;
  // Vertex ranges: [0, head_vertices) the head grid (blend shapes); then the ears, rigid
  // with the head, up to rigid_end; then the neck and shoulders up to num_vertices, which
  // follow the head and the body by body_weight.
  int head_vertices = 0;
  int rigid_end = 0;
  int num_vertices = 0;
  std::vector<float> body_weight;  // [num_vertices − rigid_end]: 0 moves with the head, 1 with the body
  int grid_vertex(int i, int j) const { return 1 + i * nu + j; }

  std::vector<float> rest;    // [num_vertices][3] head frame, neutral expression
  std::vector<float> blend;   // [head_vertices][kShapeExpressions][3]
  std::vector<float> face;    // [num_vertices][3] (fx, fy, |u|); other parts carry a mark in fy
  std::vector<float> albedo;  // [num_vertices][3] smoothly varying base colour
  std::vector<std::array<int32_t, 3>> triangles;  // outward-facing winding (see renderer)
  std::vector<std::array<int32_t, 4>> normal_stencil;  // normal = (P[1] − P[0]) × (P[3] − P[2])

  // Eyeballs in the head frame (they turn in their sockets but do not move with expression).
  std::array<Eigen::Vector3d, 2> eyeball_centre;
  double eyeball_radius = 0;

  // A point of the head surface given by face coordinates on the front (|u| < π/2): its
  // three grid vertices and barycentric weights, such that the rendered surface sample
  // whose interpolated face coordinates equal (fx, fy) is Σ w_k · vertex_k.
  struct SurfacePoint {
    std::array<int32_t, 3> vertex;
    std::array<double, 3> weight;
  };
  SurfacePoint locate(double fx, double fy) const;
};

// Face-coordinate fy of the parts that are not the head grid (the shader tells them apart).
inline constexpr float kNeckMark = 100.0f;
inline constexpr float kEarMark = 200.0f;
inline constexpr float kClothesMark = 300.0f;

}  // namespace fh::data
