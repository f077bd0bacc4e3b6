#include "pipeline/head_pivot.h"

#include <cmath>

#include <Eigen/Dense>

#include "pipeline/reenactor.h"
#include "runtime/error.h"

namespace fh::pipeline {

Eigen::Matrix3d rotation_of(const FaceReading& f) {
  const float* r = f.rotation.data<float>();
  Eigen::Matrix3d m;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m(i, j) = r[3 * i + j];
  return m;
}

Eigen::Vector3d translation_of(const FaceReading& f) {
  const float* t = f.translation.data<float>();
  return {t[0], t[1], t[2]};
}

HeadPivotFit fit_head_pivot(const std::vector<PivotObservation>& observations) {
  const auto n = static_cast<Eigen::Index>(observations.size());
  FH_CHECK(n >= 2, "head pivot", "needs at least 2 frames, got ", n);
  Eigen::MatrixXd A(2 * n, 3);
  Eigen::VectorXd b(2 * n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const PivotObservation& o = observations[static_cast<size_t>(i)];
    A.middleRows(2 * i, 2) = o.scale * o.rotation.topRows(2);
    b.segment(2 * i, 2) = o.pivot_xy - o.translation.head(2);
  }
  // The two image rows of R are orthogonal to the view axis: frames that all look the same way
  // (one rotation) leave c's depth free. Refuse rather than return an arbitrary depth.
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(A);
  const Eigen::Vector3d sv = svd.singularValues();
  FH_CHECK(sv(2) > 1e-3 * sv(0), "head pivot", "the ", n,
           " frames' head rotations do not vary enough to place the pivot in depth (singular values ",
           sv(0), ", ", sv(1), ", ", sv(2), "): use frames with different poses");
  HeadPivotFit fit;
  fit.pivot = A.colPivHouseholderQr().solve(b);
  fit.observations = static_cast<int>(n);
  fit.rms = std::sqrt((A * fit.pivot - b).squaredNorm() / static_cast<double>(n));
  fit.rms_at_origin = std::sqrt(b.squaredNorm() / static_cast<double>(n));
  return fit;
}

}  // namespace fh::pipeline
