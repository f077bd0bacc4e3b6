// One frame's head: the identity's mesh deformed by the expression and placed by the pose
// in the camera frame (orthographic; x, y are the image's normalised coordinates, z points
// away from the camera in the same unit), with the eyes turned to their gaze. The renderer
// draws it and data/annotation.h reads the ground truth off the same vertices.
#pragma once

#include <array>
#include <vector>

#include <Eigen/Core>

#include "data/head_mesh.h"
#include "data/head_params.h"

namespace fh::data {

struct PosedHead {
  const HeadMesh* mesh = nullptr;
  FrameParams params;
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();  // R(yaw, pitch, roll)
  std::vector<float> head;    // [head_vertices][3] deformed, head frame
  std::vector<float> camera;  // [num_vertices][3] camera frame
  std::vector<float> normal;  // [num_vertices][3] camera frame, unit length
  // Eyes in the camera frame: centres, common radius, gaze (unit) and each eye's rotation
  // (maps the template's front pole (0, 0, -1) onto the gaze).
  std::array<Eigen::Vector3d, 2> eye_centre;
  double eye_radius = 0;
  std::array<Eigen::Vector3d, 2> gaze;
  std::array<Eigen::Matrix3d, 2> eye_rotation;

  // A surface point (HeadMesh::locate) in the camera frame, as the renderer draws it.
  Eigen::Vector3d camera_point(const HeadMesh::SurfacePoint& p) const;
};

// Fills `out` (reusing its buffers) for the mesh and the frame's parameters.
void pose_head(const HeadMesh& mesh, const FrameParams& params, PosedHead& out);

// The rotation that turns the eye from looking along the head's -z to the head-frame gaze
// (θ, φ): Ry(φ)·Rx(−θ) maps (0, 0, −1) to geometry::gaze_from_angles(θ, φ).
Eigen::Matrix3d eye_rotation_in_head(const EyeGaze& gaze);

}  // namespace fh::data
