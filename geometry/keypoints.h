// The 3D key-point algebra of Free-HeadGAN (docs/geometry.md#conventions), as differentiable tensor
// functions built from autograd ops: batched, float32 or float64, on any device whose ops
// exist. Points are [B,68,3] in the camera frame (x right, y down, z away from the camera),
// their (x, y) image-normalised.
#pragma once

#include "runtime/tensor.h"

namespace fh::geometry {

// R = Rx(pitch) · Ry(yaw) · Rz(roll): yaw, pitch, roll [B] in radians -> [B,3,3].
Tensor rotation_matrix(const Tensor& yaw, const Tensor& pitch, const Tensor& roll);

// Angle bins [fv2v]: 66 logits per angle -> degrees = 3 · Σ_i softmax(logits)_i · i − 99.
// logits [B,66] -> [B].
inline constexpr int kAngleBins = 66;
Tensor bins_to_degrees(const Tensor& logits);
// The same in radians (what rotation_matrix and the E_can loss take).
Tensor bins_to_radians(const Tensor& logits);

// Eq. 1: p_can = (1/s) · Rᵀ · (p − d − t) per point. p, d [B,68,3] (any number of points),
// R [B,3,3], t [B,3], s [B,1] -> [B,68,3].
Tensor canonical_from_posed(const Tensor& p, const Tensor& R, const Tensor& t, const Tensor& s, const Tensor& d);
// Eq. 2: p = s · R · p_can + t + d per point; the inverse of Eq. 1.
Tensor posed_from_canonical(const Tensor& p_can, const Tensor& R, const Tensor& t, const Tensor& s, const Tensor& d);

// Euler angles of rotation matrices, the inverse of rotation_matrix for |yaw| < π/2:
// R [B,3,3] -> [B,3] holding (yaw, pitch, roll) in radians, same dtype and device. For
// ground truth and evaluation: computed on the host in double precision, no gradient.
Tensor euler_from_rotation_matrix(const Tensor& R);

// A head pose as E_can predicts it: angles [B] in radians, t [B,3], s [B,1].
struct HeadPose {
  Tensor yaw, pitch, roll, translation, scale;
};

// How one angle of a pose edit changes: kept, set to `radians` for every image of the
// batch, or offset by `radians`.
struct AngleEdit {
  enum class Mode { Keep, Set, Add };
  Mode mode = Mode::Keep;
  double radians = 0;

  static AngleEdit keep() { return {}; }
  static AngleEdit set(double r) { return {Mode::Set, r}; }
  static AngleEdit add(double r) { return {Mode::Add, r}; }
};

struct PoseEdit {
  AngleEdit yaw, pitch, roll;
};

// The pose with its angles edited (differentiable through kept and offset angles;
// translation and scale pass through).
HeadPose edit_pose(const HeadPose& pose, const PoseEdit& edit);

// Pose editing for free-view synthesis: Eq. 2 applied to canonical points with the edited
// pose and the expression deformation d [B,68,3].
Tensor posed_with_edit(const Tensor& p_can, const HeadPose& pose, const Tensor& d, const PoseEdit& edit);

}  // namespace fh::geometry
