#include "geometry/keypoints.h"

#include <vector>

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/tensor_checks.h"

namespace fh::geometry {

using detail::check_same_kind;
using detail::check_shape;

namespace {

// [B] entries, row-major, -> [B,3,3].
Tensor matrix3(const std::vector<Tensor>& entries) {
  const int64_t batch = entries[0].size(0);
  return reshape(stack(entries, -1), {batch, 3, 3});
}

}  // namespace

Tensor rotation_matrix(const Tensor& yaw, const Tensor& pitch, const Tensor& roll) {
  const char* op = "rotation_matrix";
  check_shape(yaw, op, "yaw", {-1});
  check_shape(pitch, op, "pitch", {yaw.size(0)});
  check_shape(roll, op, "roll", {yaw.size(0)});
  check_same_kind(pitch, yaw, op, "pitch");
  check_same_kind(roll, yaw, op, "roll");
  const Tensor zero = Tensor::zeros(yaw.shape(), yaw.dtype(), yaw.device());
  const Tensor one = Tensor::ones(yaw.shape(), yaw.dtype(), yaw.device());
  const Tensor cp = cos(pitch), sp = sin(pitch), cy = cos(yaw), sy = sin(yaw), cr = cos(roll), sr = sin(roll);
  const Tensor rx = matrix3({one, zero, zero, zero, cp, neg(sp), zero, sp, cp});
  const Tensor ry = matrix3({cy, zero, sy, zero, one, zero, neg(sy), zero, cy});
  const Tensor rz = matrix3({cr, neg(sr), zero, sr, cr, zero, zero, zero, one});
  return matmul(matmul(rx, ry), rz);
}

Tensor bins_to_degrees(const Tensor& logits) {
  check_shape(logits, "bins_to_degrees", "logits", {-1, kAngleBins});
  std::vector<double> index(kAngleBins);
  for (int i = 0; i < kAngleBins; ++i) index[i] = i;
  const Tensor bins = Tensor::from_vector(index, {kAngleBins}).to(logits.dtype()).to(logits.device());
  return add_scalar(scale(sum(mul(softmax(logits, -1), bins), {-1}), 3.0), -99.0);
}

Tensor bins_to_radians(const Tensor& logits) { return scale(bins_to_degrees(logits), deg_to_rad(1.0)); }

namespace {

void check_pose_args(const char* op, const Tensor& p, const Tensor& R, const Tensor& t, const Tensor& s,
                     const Tensor& d) {
  check_shape(p, op, "points", {-1, -1, 3});
  const int64_t batch = p.size(0), n = p.size(1);
  check_shape(R, op, "R", {batch, 3, 3});
  check_shape(t, op, "t", {batch, 3});
  check_shape(s, op, "s", {batch, 1});
  check_shape(d, op, "d", {batch, n, 3});
  check_same_kind(R, p, op, "R");
  check_same_kind(t, p, op, "t");
  check_same_kind(s, p, op, "s");
  check_same_kind(d, p, op, "d");
}

}  // namespace

Tensor canonical_from_posed(const Tensor& p, const Tensor& R, const Tensor& t, const Tensor& s, const Tensor& d) {
  check_pose_args("canonical_from_posed", p, R, t, s, d);
  const int64_t batch = p.size(0);
  const Tensor q = sub(sub(p, d), reshape(t, {batch, 1, 3}));
  // Points are rows: (Rᵀ q)ᵀ = qᵀ R.
  return div(matmul(q, R), reshape(s, {batch, 1, 1}));
}

Tensor posed_from_canonical(const Tensor& p_can, const Tensor& R, const Tensor& t, const Tensor& s, const Tensor& d) {
  check_pose_args("posed_from_canonical", p_can, R, t, s, d);
  const int64_t batch = p_can.size(0);
  // Points are rows: (R p)ᵀ = pᵀ Rᵀ.
  const Tensor rotated = matmul(p_can, permute(R, {0, 2, 1}));
  return add(add(mul(rotated, reshape(s, {batch, 1, 1})), reshape(t, {batch, 1, 3})), d);
}

Tensor euler_from_rotation_matrix(const Tensor& R) {
  check_shape(R, "euler_from_rotation_matrix", "R", {-1, 3, 3});
  const int64_t batch = R.size(0);
  const std::vector<double> m = R.to_vector<double>();
  std::vector<double> angles(static_cast<size_t>(batch) * 3);
  for (int64_t b = 0; b < batch; ++b) {
    const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> r(m.data() + 9 * b);
    const EulerAngles a = euler_from_rotation(r);
    angles[3 * b] = a.yaw;
    angles[3 * b + 1] = a.pitch;
    angles[3 * b + 2] = a.roll;
  }
  return Tensor::from_vector(angles, {batch, 3}).to(R.dtype()).to(R.device());
}

namespace {

Tensor edit_angle(const Tensor& angle, const AngleEdit& edit) {
  switch (edit.mode) {
    case AngleEdit::Mode::Keep:
      return angle;
    case AngleEdit::Mode::Set:
      return Tensor::full(angle.shape(), edit.radians, angle.dtype(), angle.device());
    case AngleEdit::Mode::Add:
      return add_scalar(angle, edit.radians);
  }
  FH_FAIL("edit_pose", "unknown angle edit mode");
}

}  // namespace

HeadPose edit_pose(const HeadPose& pose, const PoseEdit& edit) {
  const char* op = "edit_pose";
  check_shape(pose.yaw, op, "yaw", {-1});
  check_shape(pose.pitch, op, "pitch", {pose.yaw.size(0)});
  check_shape(pose.roll, op, "roll", {pose.yaw.size(0)});
  HeadPose out = pose;
  out.yaw = edit_angle(pose.yaw, edit.yaw);
  out.pitch = edit_angle(pose.pitch, edit.pitch);
  out.roll = edit_angle(pose.roll, edit.roll);
  return out;
}

Tensor posed_with_edit(const Tensor& p_can, const HeadPose& pose, const Tensor& d, const PoseEdit& edit) {
  const HeadPose edited = edit_pose(pose, edit);
  return posed_from_canonical(p_can, rotation_matrix(edited.yaw, edited.pitch, edited.roll), edited.translation,
                              edited.scale, d);
}

}  // namespace fh::geometry
