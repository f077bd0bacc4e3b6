#include "data/landmark_pose.h"

#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/Geometry>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "data/head_mesh.h"
#include "data/posed_head.h"
#include "geometry/conventions.h"
#include "geometry/crops.h"
#include "runtime/error.h"

namespace fh::data {

namespace {

Keypoints68 canonical_keypoints(const Identity& id) {
  const HeadMesh mesh{id};
  FrameParams params;
  params.pose.scale = 1;
  PosedHead head;
  pose_head(mesh, params, head);
  const FrameAnnotation a = annotate(head, 64);
  Keypoints68 p;
  for (int k = 0; k < 68; ++k) p[k] = Eigen::Vector3d(a.canonical[k][0], a.canonical[k][1], a.canonical[k][2]);
  return p;
}

}  // namespace

const Keypoints68& frontal_template() {
  static const Keypoints68 points = canonical_keypoints(Identity{});
  return points;
}

namespace {

// A linear morphable model of the synthetic heads' canonical key-points: the average head's,
// and how each identity parameter that moves a key-point moves them, per unit of relative
// change (central differences over ±2 % of the average).
struct MorphableModel {
  Keypoints68 mean;
  std::vector<Keypoints68> columns;
};

const MorphableModel& morphable_model() {
  static const MorphableModel model = [] {
    const std::vector<float> mid = identity_vector(Identity{});
    MorphableModel m;
    m.mean = frontal_template();
    for (int k = 0; k < kIdentityScalars; ++k) {
      const double step = 0.02 * std::abs(mid[k]);
      std::vector<float> up = mid, down = mid;
      up[k] = static_cast<float>(mid[k] + step);
      down[k] = static_cast<float>(mid[k] - step);
      const Keypoints68 a = canonical_keypoints(identity_from_vector(up.data()));
      const Keypoints68 z = canonical_keypoints(identity_from_vector(down.data()));
      Keypoints68 d;
      double size = 0;
      for (int i = 0; i < 68; ++i) {
        d[i] = (a[i] - z[i]) / ((static_cast<double>(up[k]) - down[k]) / std::abs(mid[k]));
        size += d[i].squaredNorm();
      }
      if (size > 1e-12) m.columns.push_back(d);  // hair and brow shape move no key-point
    }
    return m;
  }();
  return model;
}

}  // namespace

const std::vector<int>& rigid_keypoints() {
  static const std::vector<int> idx = {0, 1, 15, 16, 27, 28, 29, 30, 36, 39, 42, 45};
  return idx;
}

const std::vector<int>& gauge_keypoints() {
  static const std::vector<int> idx = {27, 36, 39, 42, 45};
  return idx;
}

const std::vector<int>& shape_keypoints() {
  static const std::vector<int> idx = {0, 1, 2, 3, 4, 12, 13, 14, 15, 16, 27, 28, 29, 30, 36, 39, 42, 45};
  return idx;
}

Similarity level_with_template(const Keypoints68& shape, const Similarity& start) {
  const MorphableModel& m = morphable_model();
  const std::vector<int>& pts = shape_keypoints();
  const int K = static_cast<int>(m.columns.size()), n = static_cast<int>(pts.size());
  Similarity f = start;
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(K);
  // Gauss-Newton on r_i = s·R·c_i + t − (mean_i + Σ β_k·column_k,i) over (ω, log s, t, β),
  // the rotation updated as R ← exp([ω]×)·R; linear in β and t, so a few rounds settle it.
  // (Linearising the model again where the fit landed was tried: the frames it found were
  // worse, up to 1.4° off, so the model stays linear about the average head.)
  for (int round = 0; round < 8; ++round) {
    Eigen::MatrixXd J(3 * n, 7 + K);
    Eigen::VectorXd r(3 * n);
    for (int j = 0; j < n; ++j) {
      const int i = pts[j];
      const Eigen::Vector3d q = f.s * (f.R * shape[i]);
      Eigen::Vector3d model = m.mean[i];
      for (int k = 0; k < K; ++k) model += beta[k] * m.columns[k][i];
      r.segment<3>(3 * j) = q + f.t - model;
      Eigen::Matrix3d cross;
      cross << 0, q.z(), -q.y(), -q.z(), 0, q.x(), q.y(), -q.x(), 0;  // d(ω × q)/dω = −[q]×
      J.block<3, 3>(3 * j, 0) = cross;
      J.block<3, 1>(3 * j, 3) = q;
      J.block<3, 3>(3 * j, 4) = Eigen::Matrix3d::Identity();
      for (int k = 0; k < K; ++k) J.block<3, 1>(3 * j, 7 + k) = -m.columns[k][i];
    }
    const Eigen::VectorXd d = J.colPivHouseholderQr().solve(-r);
    const Eigen::Vector3d w = d.head<3>();
    const double angle = w.norm();
    if (angle > 0) f.R = Eigen::AngleAxisd(angle, w / angle).toRotationMatrix() * f.R;
    f.s *= std::exp(d[3]);
    f.t += d.segment<3>(4);
    beta += d.tail(K);
  }
  return f;
}

Similarity fit_similarity(const Keypoints68& a, const Keypoints68& b, const std::vector<int>& indices) {
  const double n = static_cast<double>(indices.size());
  Eigen::Vector3d ma = Eigen::Vector3d::Zero(), mb = Eigen::Vector3d::Zero();
  for (int i : indices) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();
  double var_a = 0;
  for (int i : indices) {
    cov += (b[i] - mb) * (a[i] - ma).transpose();
    var_a += (a[i] - ma).squaredNorm();
  }
  cov /= n, var_a /= n;
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(cov, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d S = Eigen::Matrix3d::Identity();
  if (svd.matrixU().determinant() * svd.matrixV().determinant() < 0) S(2, 2) = -1;  // a rotation, not a reflection
  Similarity f;
  f.R = svd.matrixU() * S * svd.matrixV().transpose();
  f.s = var_a > 0 ? (svd.singularValues().asDiagonal() * S).trace() / var_a : 1;
  f.t = mb - f.s * (f.R * ma);
  return f;
}

namespace {

double median(std::vector<double>& v) {
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  if (v.size() % 2 == 1) return v[m];
  const double hi = v[m];
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)) + hi) / 2;
}

}  // namespace

std::vector<FrameAnnotation> annotate_landmarks(const std::vector<Keypoints68>& p, int size,
                                                const std::vector<std::array<Eigen::Vector3d, 2>>* gaze,
                                                const std::string& what) {
  const size_t T = p.size();
  FH_CHECK(T > 0, "prep", what, ": no frames");
  FH_CHECK(!gaze || gaze->size() == T, "prep", what, ": ", gaze ? gaze->size() : 0, " gaze rows for ", T, " frames");
  const std::vector<int>& rigid = rigid_keypoints();
  for (size_t t = 0; t < T; ++t) {
    double spread = 0;
    for (int i : rigid) spread += (p[t][i] - p[t][rigid[0]]).norm();
    FH_CHECK(spread > 1e-6, "prep", what, ": the landmarks of frame ", t,
             " have their nose and eye corners at one point; no pose can be fitted");
  }
  const Keypoints68& tmpl = frontal_template();
  Keypoints68 canonical = tmpl;
  std::vector<Similarity> pose(T);
  // Alternate: pose each frame to the current shape, then take the median unposed shape,
  // expressed in the template's frame. A few rounds settle it (the fits are closed-form).
  for (int round = 0; round < 4; ++round) {
    for (size_t t = 0; t < T; ++t) pose[t] = fit_similarity(canonical, p[t], rigid);
    Keypoints68 next;
    std::vector<double> values(T);
    for (int k = 0; k < 68; ++k)
      for (int c = 0; c < 3; ++c) {
        for (size_t t = 0; t < T; ++t)
          values[t] = (pose[t].R.transpose() * (p[t][k] - pose[t].t) / pose[t].s)[c];
        next[k][c] = median(values);
      }
    const Similarity gauge = level_with_template(next, fit_similarity(next, tmpl, gauge_keypoints()));
    for (int k = 0; k < 68; ++k) canonical[k] = gauge.apply(next[k]);
  }
  for (size_t t = 0; t < T; ++t) pose[t] = fit_similarity(canonical, p[t], rigid);

  std::vector<FrameAnnotation> out(T);
  for (size_t t = 0; t < T; ++t) {
    FrameAnnotation& a = out[t];
    const Similarity& f = pose[t];
    for (int k = 0; k < 68; ++k) {
      const Eigen::Vector3d d = p[t][k] - f.apply(canonical[k]);
      for (int c = 0; c < 3; ++c) {
        a.keypoints[k][c] = static_cast<float>(p[t][k][c]);
        a.canonical[k][c] = static_cast<float>(canonical[k][c]);
        a.deformation[k][c] = static_cast<float>(d[c]);
      }
    }
    const geometry::EulerAngles e = geometry::euler_from_rotation(f.R);
    a.yaw = static_cast<float>(e.yaw), a.pitch = static_cast<float>(e.pitch), a.roll = static_cast<float>(e.roll);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) a.rotation[3 * r + c] = static_cast<float>(f.R(r, c));
    for (int c = 0; c < 3; ++c) a.translation[c] = static_cast<float>(f.t[c]);
    a.scale = static_cast<float>(f.s);
    for (int e2 = 0; e2 < 2; ++e2) {
      const auto box = eye_crop_from_keypoints(reinterpret_cast<const float(*)[3]>(a.keypoints.data()), e2, size);
      for (int c = 0; c < 3; ++c) a.eye_crop[e2][c] = static_cast<float>(box[c]);
      if (gaze) {
        const Eigen::Vector3d g = (*gaze)[t][e2];
        FH_CHECK(g.norm() > 1e-6, "prep", what, ": the gaze of eye ", e2, " in frame ", t, " is a zero vector");
        const Eigen::Vector3d u = g.normalized();
        const geometry::GazeAngles ang = geometry::angles_from_gaze(u);
        for (int c = 0; c < 3; ++c) a.gaze[e2][c] = static_cast<float>(u[c]);
        a.gaze_angles[e2][0] = static_cast<float>(ang.theta);
        a.gaze_angles[e2][1] = static_cast<float>(ang.phi);
        // An eyeball for the gaze (docs/data.md, converting gaze datasets): radius 0.75 of the
        // eye's half-width, centred behind the crop's centre by that radius from the eye's
        // mean depth, the template sphere turned so its front pole looks along the gaze.
        const int first = e2 == 0 ? 36 : 42;
        const double half_width = (p[t][first] - p[t][first + 3]).head<2>().norm() / 2;
        const double radius = 0.75 * half_width;
        double depth = 0;
        for (int k = first; k < first + 6; ++k) depth += p[t][k].z() / 6;
        const Eigen::Vector3d centre(2 * box[0] / (size - 1) - 1, 2 * box[1] / (size - 1) - 1, depth + radius);
        const Eigen::Matrix3d turn =
            Eigen::Quaterniond::FromTwoVectors(Eigen::Vector3d(0, 0, -1), u).toRotationMatrix();
        const geometry::CropAffine to_crop = geometry::image_to_crop_affine(box, size, size);
        const auto& sphere = geometry::eye_mesh_template().vertices;
        a.eye_mesh.resize(2 * geometry::kEyeVertices * 3);
        for (int v = 0; v < geometry::kEyeVertices; ++v) {
          const Eigen::Vector3d w = centre + radius * (turn * sphere[v]);
          const std::array<double, 3> m = to_crop(w.x(), w.y(), w.z() - centre.z());
          for (int c = 0; c < 3; ++c)
            a.eye_mesh[(static_cast<size_t>(e2) * geometry::kEyeVertices + v) * 3 + c] = static_cast<float>(m[c]);
        }
        a.eyeball[e2] = {static_cast<float>(centre.x()), static_cast<float>(centre.y()), static_cast<float>(centre.z()),
                         static_cast<float>(radius)};
      }
    }
  }
  return out;
}

}  // namespace fh::data
