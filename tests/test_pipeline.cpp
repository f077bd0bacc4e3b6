// The reenactment pipeline (pipeline/reenactor.h) with the shipped models (models/tiny), on
// synthetic evaluation triples made here, whose targets are exact: the output is closer to the
// target than the source is; the adapted key-points carry the source's face; an edit that
// changes nothing gives back the source; a pose sweep turns the head by what was asked.
#include <doctest/doctest.h>

#include <complex>

#include <Eigen/Dense>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/dataset_format.h"
#include "data/loader.h"
#include "data/synth.h"
#include "eval/metrics.h"
#include "geometry/conventions.h"
#include "pipeline/reenactor.h"
#include "train/task_common.h"
#include "weights/safetensors.h"
#include "tests/harness/synthetic_dataset.h"

namespace fs = std::filesystem;

namespace {

// Thresholds for the shipped models (models/tiny/MODEL_CARD.md has the figures they rest on).
// A zero edit re-renders the source through G from its own sketch: G's self-reconstruction
// of a frame from itself, which its validation puts well above copying a frame 32 apart.
constexpr double kZeroEditMinDb = 20.0;
// A yaw sweep read back by E_can. The earlier E_can, on exact renders of held-out faces, read
// yaw with a mean error of 1.5° (mirror-averaged; 1.9° single) and a gain of 0.9 (18° for a
// 20° turn): a perfect edit would be read within about 1.5° + 0.1·|asked|, 2.5-3.5° at these
// steps (the shipped E_can reads yaw within 0.57° on data64's test frames, `freehead eval`).
// The shipped models' edits are read 1.7° from what was asked on average (8 sources, ±10° and
// ±20°; 2.5° with the earlier E_can); the test allows this mean absolute error. Only
// turns that stay within the yaw the models were trained on (±45°, here ±40°) are asked for.
constexpr double kYawSweepMaxMeanError = 5.0;  // degrees
constexpr double kYawSweepMaxTotal = 40.0;      // degrees: the source's yaw plus the offset

// A 64² dataset of 8 evaluation triples among 6 identities, made once per test process.
struct Triples : fh::test::SyntheticDataset {
  std::shared_ptr<fh::data::Dataset> ds;
  int src, drv, tgt;
  Triples() : SyntheticDataset("pipeline", 6, 1, 4, 64, 11, 8) {
    ds = fh::data::Dataset::open(data);
    src = ds->clip_index("triples/source");
    drv = ds->clip_index("triples/driver");
    tgt = ds->clip_index("triples/target");
  }
  int count() const { return ds->clip(tgt).frames; }
};

const Triples& triples() {
  static Triples t;
  return t;
}

const fh::Reenactor& shipped() {
  static fh::Reenactor r;  // models/tiny
  return r;
}

double psnr(const fh::Image& a, const fh::Image& b) {
  return fh::train::psnr_per_image(fh::image_to_tensor(a), fh::image_to_tensor(b))[0];
}

// Mean distance between corresponding points of two [68,3] sets, in the image plane.
double point_distance(const float* a, const float* b) {
  double d = 0;
  for (int j = 0; j < 68; ++j) d += std::hypot(a[3 * j] - b[3 * j], a[3 * j + 1] - b[3 * j + 1]);
  return d / 68;
}

// The same after the best 2D similarity (scale, rotation, shift) takes a onto b: how far the
// two faces' shapes differ, pose and size aside — what identity the points carry.
double shape_distance(const float* a, const float* b) {
  Eigen::Matrix<double, 68, 2> A, B;
  for (int j = 0; j < 68; ++j) A.row(j) << a[3 * j], a[3 * j + 1], B.row(j) << b[3 * j], b[3 * j + 1];
  const Eigen::RowVector2d ca = A.colwise().mean(), cb = B.colwise().mean();
  A.rowwise() -= ca, B.rowwise() -= cb;
  // Complex least squares: z_b ≈ w·z_a with w = Σ conj(z_a)·z_b / Σ |z_a|².
  std::complex<double> num = 0;
  double den = 0;
  for (int j = 0; j < 68; ++j) {
    const std::complex<double> za(A(j, 0), A(j, 1)), zb(B(j, 0), B(j, 1));
    num += std::conj(za) * zb, den += std::norm(za);
  }
  const std::complex<double> w = num / den;
  double d = 0;
  for (int j = 0; j < 68; ++j)
    d += std::abs(w * std::complex<double>(A(j, 0), A(j, 1)) - std::complex<double>(B(j, 0), B(j, 1)));
  return d / 68;
}

}  // namespace

TEST_CASE("pipeline: reenacted triples are closer to the exact target than the source, and keep the source's face") {
  const Triples& t = triples();
  const fh::Reenactor& r = shipped();
  const auto tgt_ann = t.ds->annotations(t.tgt);
  const auto drv_ann = t.ds->annotations(t.drv);
  double out_db = 0, src_db = 0, adapted_err = 0, driver_err = 0, driver_truth_err = 0;
  double adapted_shape = 0, driver_shape = 0;
  for (int i = 0; i < t.count(); ++i) {
    const fh::Image source = t.ds->frame(t.src, i), driver = t.ds->frame(t.drv, i), target = t.ds->frame(t.tgt, i);
    const auto set = r.prepare({source});
    const fh::ReenactResult out = r.reenact(*set, driver);  // absolute motion, the driver's gaze
    out_db += psnr(out.image, target) / t.count();
    src_db += psnr(source, target) / t.count();
    const float* truth = tgt_ann->row("keypoints", i);
    // Both from E_can: the source's canonical points posed for the target against the
    // driver's own points (what a pipeline without the canonical space would draw, the
    // paper's Table IV ablation). The driver's true points are reported beside them. The
    // canonical space is there to carry the source's identity: the adapted points' shape,
    // pose and size aside, is the source's, the driver's points' the driver's. In the
    // image plane (pose included) the adapted points carry both readings' pose errors: on
    // data64's 256 triples they lie 0.024 from the target's, the driver's 0.020 (this test
    // pointed at data64 by a temporary change, not in the tree).
    adapted_err += point_distance(out.adapted_keypoints.data<float>(), truth) / t.count();
    driver_err += point_distance(out.driver.keypoints.data<float>(), truth) / t.count();
    driver_truth_err += point_distance(drv_ann->row("keypoints", i), truth) / t.count();
    adapted_shape += shape_distance(out.adapted_keypoints.data<float>(), truth) / t.count();
    driver_shape += shape_distance(out.driver.keypoints.data<float>(), truth) / t.count();
  }
  MESSAGE("triples: output " << out_db << " dB, source " << src_db << " dB against the exact target; key-points "
                             << "(mean image-plane distance to the target's, normalised units): adapted " << adapted_err
                             << ", the driver's as E_can reads them " << driver_err << ", the driver's true ones "
                             << driver_truth_err << "; shape distance (after the best similarity): adapted "
                             << adapted_shape << ", the driver's " << driver_shape);
  CHECK(out_db > src_db);
  CHECK(adapted_shape < driver_shape);
}

TEST_CASE("pipeline: E_can's readings averaged with the mirror image's are closer to the truth than single readings") {
  const Triples& t = triples();
  fh::Reenactor single;  // models/tiny, each face read once
  single.set_mirror_average(false);
  const fh::Reenactor& averaged = shipped();
  REQUIRE(averaged.mirror_average());
  // Every frame of the dataset: the people's clips, the triples' sources, drivers and exact
  // targets, 48 faces.
  double error[2] = {0, 0}, angle_error[2] = {0, 0};
  int faces = 0;
  for (int clip = 0; clip < t.ds->num_clips(); ++clip) {
    const auto truth = fh::safetensors::load(t.ds->annotations_path(clip));
    const float* points = truth.get("keypoints").data<float>();
    const float* yaw = truth.get("yaw").data<float>();
    const float* pitch = truth.get("pitch").data<float>();
    const float* roll = truth.get("roll").data<float>();
    for (int f = 0; f < t.ds->clip(clip).frames; ++f, ++faces) {
      const fh::Image image = t.ds->frame(clip, f);
      const fh::FaceReading readings[2] = {single.read_face(image), averaged.read_face(image)};
      const fh::eval::Angles truth_deg{fh::geometry::rad_to_deg(yaw[f]), fh::geometry::rad_to_deg(pitch[f]),
                                       fh::geometry::rad_to_deg(roll[f])};
      for (int k = 0; k < 2; ++k) {
        error[k] += fh::eval::point_error(readings[k].keypoints.data<float>(), points + f * 68 * 3);
        angle_error[k] += fh::eval::euler_error_deg(
            {readings[k].yaw_deg, readings[k].pitch_deg, readings[k].roll_deg}, truth_deg);
      }
    }
  }
  MESSAGE("key-point error " << error[0] / faces << " single, " << error[1] / faces
                             << " mirror-averaged; mean angle error " << angle_error[0] / faces << "°, "
                             << angle_error[1] / faces << "° (" << faces << " faces)");
  CHECK(faces == 48);
  CHECK(error[1] < error[0]);
  CHECK(angle_error[1] < angle_error[0]);
}

TEST_CASE("pipeline: an edit with zero offsets and the source's own gaze reproduces the source") {
  const Triples& t = triples();
  const fh::Reenactor& r = shipped();
  double db = 0;
  for (int i = 0; i < t.count(); ++i) {
    const fh::Image source = t.ds->frame(t.src, i);
    const auto set = r.prepare({source});
    db += psnr(r.edit(*set, {}, fh::GazeChoice::source()).image, source) / t.count();
  }
  MESSAGE("zero edit: " << db << " dB against the source");
  CHECK(db >= kZeroEditMinDb);
}

TEST_CASE("pipeline: a yaw sweep, read back through E_can, shows the requested yaw") {
  const Triples& t = triples();
  const fh::Reenactor& r = shipped();
  REQUIRE(r.head_pivot().has_value());  // the shipped models turn the head about its pivot
  const std::vector<double> requested = {-20.0, -10.0, 10.0, 20.0};
  std::vector<double> seen(requested.size(), 0.0);
  std::vector<int> count(requested.size(), 0);
  double error = 0, num = 0, den = 0;
  int cases = 0;
  for (int i = 0; i < t.count(); ++i) {
    const auto set = r.prepare({t.ds->frame(t.src, i)});
    const double own = r.read_face(r.edit(*set, {}).image).yaw_deg;
    for (size_t k = 0; k < requested.size(); ++k) {
      if (std::fabs(own + requested[k]) > kYawSweepMaxTotal) continue;
      const double turn = r.read_face(r.edit(*set, {.yaw_deg = requested[k]}).image).yaw_deg - own;
      seen[k] += turn, ++count[k];
      error += std::fabs(turn - requested[k]), ++cases;
      num += requested[k] * turn, den += requested[k] * requested[k];
    }
  }
  REQUIRE(cases >= 24);  // at least 3 of every 4 steps asked
  error /= cases;
  for (size_t k = 0; k < requested.size(); ++k) seen[k] /= std::max(count[k], 1);
  MESSAGE("yaw sweep (" << cases << " edits): asked -20, -10, 10, 20 degrees; E_can reads " << seen[0] << ", "
                        << seen[1] << ", " << seen[2] << ", " << seen[3] << "; mean |read - asked| " << error
                        << " degrees (allowed " << kYawSweepMaxMeanError << "), gain " << num / den);
  for (size_t k = 1; k < requested.size(); ++k) CHECK(seen[k] > seen[k - 1]);  // the head turns the way asked
  CHECK(error <= kYawSweepMaxMeanError);

  // For the docs (docs/reenactment.md#the-head-pivot), not judged: larger turns, those that
  // would leave the trained range, and pitch.
  double far_in[2] = {}, far_out[2] = {}, pitch[2] = {};
  int n_in[2] = {}, n_out[2] = {};
  for (int i = 0; i < t.count(); ++i) {
    const auto set = r.prepare({t.ds->frame(t.src, i)});
    const fh::FaceReading own = r.read_face(r.edit(*set, {}).image);
    for (int side = 0; side < 2; ++side) {
      const double asked = side == 0 ? -30.0 : 30.0;
      const double turn = r.read_face(r.edit(*set, {.yaw_deg = asked}).image).yaw_deg - own.yaw_deg;
      const bool inside = std::fabs(own.yaw_deg + asked) <= kYawSweepMaxTotal;
      (inside ? far_in : far_out)[side] += turn, ++(inside ? n_in : n_out)[side];
      pitch[side] += (r.read_face(r.edit(*set, {.pitch_deg = asked / 3}).image).pitch_deg - own.pitch_deg) /
                     t.count();
    }
  }
  MESSAGE("yaw -30, +30 degrees: E_can reads " << far_in[0] / std::max(n_in[0], 1) << ", "
                                               << far_in[1] / std::max(n_in[1], 1) << " where the head ends within "
                                               << kYawSweepMaxTotal << " degrees (" << n_in[0] << ", " << n_in[1]
                                               << " edits), " << far_out[0] / std::max(n_out[0], 1) << ", "
                                               << far_out[1] / std::max(n_out[1], 1) << " beyond (" << n_out[0]
                                               << ", " << n_out[1] << "); pitch -10, +10 degrees: " << pitch[0]
                                               << ", " << pitch[1]);
}

TEST_CASE("pipeline: the same inputs give the same bits, and prepared sources are reused as they are") {
  const Triples& t = triples();
  const fh::Reenactor& r = shipped();
  const auto set = r.prepare({t.ds->frame(t.src, 0)});
  const fh::Image d = t.ds->frame(t.drv, 0);
  const fh::ReenactResult a = r.reenact(*set, d), b = r.reenact(*set, d);
  CHECK(a.image.pixels == b.image.pixels);
  const fh::ReenactResult c = r.reenact(*r.prepare({t.ds->frame(t.src, 0)}), d);
  CHECK(a.image.pixels == c.image.pixels);
}
