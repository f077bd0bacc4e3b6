// Parity of the geometry with the PyTorch/NumPy reference (tools/reference/geometry.py via
// tools/oracle/ops_geometry.py): random float32 inputs from the run's seed; outputs and, for
// the differentiable functions, every input gradient, compared with atol + rtol·|ref| and
// reported as a fraction of the threshold.
//
// Tolerances follow from float32 arithmetic on values of order 1: a few ulps (1e-6) for
// rotations, Eq. 1-2, gaze and crop transforms; bins_to_degrees scales a softmax mean by 3
// and subtracts 99, which cancels (its atol follows the summands' size, see below). The crops are compared with a float64
// grid_sample, the functions computed in double here (Euler and gaze angles, crop boxes,
// sketches) with the float64 reference, leaving float32 storage rounding.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "autograd/ops.h"
#include "geometry/crops.h"
#include "geometry/eyes.h"
#include "geometry/keypoints.h"
#include "geometry/sketch.h"
#include "tests/geometry_inputs.h"
#include "tests/harness/parity.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace geo = fh::geometry;

namespace {

ParityCase diff_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours,
                     Tolerance tol, std::vector<bool> requires_grad = {}) {
  ParityCase c = make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), tol);
  if (!requires_grad.empty()) c.oracle.requires_grad = std::move(requires_grad);
  return c;
}

// Compared by value only (freehead gives these no gradient).
ParityCase value_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours,
                      Tolerance tol) {
  const size_t n = inputs.size();
  return diff_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), tol,
                   std::vector<bool>(n, false));
}

Tensor uniform(fh::Generator& gen, const Shape& s, double lo, double hi) { return fh::rand(s, gen, lo, hi); }

std::string size_args(int64_t width, int64_t height) {
  return "{\"width\":" + std::to_string(width) + ",\"height\":" + std::to_string(height) + "}";
}

std::vector<ParityCase> keypoint_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  const Tolerance tight{1e-6, 1e-6};
  // bins_to_degrees: y = 3·Σ i·pᵢ − 99 adds 66 terms of total size 3·E[bin] ≤ 3·65 = 195,
  // then 99; near the middle bins the two cancel and |y| ≪ 99, so the error is absolute,
  // set by the summands and not by |y|. On each side (both float32) the softmax, the
  // products and the sum round relative to the terms, about 2u·195 as the sums below, and
  // the shift rounds at 99: atol = 2·(2u·195 + u·99). The gradient, 3·pⱼ·(j − E[bin]),
  // subtracts the same sum and is held to the same bound.
  constexpr double u = 0x1p-24;
  const Tolerance bins_tol{2 * (2 * u * 3 * (geo::kAngleBins - 1) + u * 99), 1e-6};
  for (int64_t B : {1, 3, 8}) {
    cases.push_back(diff_case(
        gen, "rotation_matrix", "", {uniform(gen, {B}, -3, 3), uniform(gen, {B}, -3, 3), uniform(gen, {B}, -3, 3)},
        [](auto& x) { return geo::rotation_matrix(x[0], x[1], x[2]); }, tight));
    cases.push_back(diff_case(gen, "bins_to_degrees", "", {fh::randn({B, geo::kAngleBins}, gen, 0.0, 3.0)},
                              [](auto& x) { return geo::bins_to_degrees(x[0]); }, bins_tol));
    for (const char* op : {"canonical_from_posed", "posed_from_canonical"}) {
      const bool to_canonical = std::string(op) == "canonical_from_posed";
      const int64_t N = B == 3 ? 5 : geo::kNumKeypoints;  // any number of points
      ParityCase c = diff_case(gen, op, "",
                               {fh::randn({B, N, 3}, gen), fh::randn({B, 3, 3}, gen), fh::randn({B, 3}, gen, 0.0, 0.3),
                                uniform(gen, {B, 1}, 0.5, 2.0), fh::randn({B, N, 3}, gen, 0.0, 0.1)},
                               [to_canonical](auto& x) {
                                 return to_canonical ? geo::canonical_from_posed(x[0], x[1], x[2], x[3], x[4])
                                                     : geo::posed_from_canonical(x[0], x[1], x[2], x[3], x[4]);
                               },
                               {2e-6, 2e-6});
      // The gradients of R, t and s sum over the points: N terms per element for R and t,
      // 3N for s, each of size up to ~2 (unit upstream values times R/s or the output/s).
      // A float32 sum of n terms of size σ errs by about u·σ·n/√2 (each addition rounds at
      // the partial sum's size, which grows like σ·√k), on each side: atol 4·u·n covers it
      // (over 30 seeds these cases stayed below 0.22 of their thresholds).
      const auto sum_tol = [&](double n) { return Tolerance{4 * 0x1p-24 * n, c.tol.rtol}; };
      const double points = static_cast<double>(N);
      c.grad_tol = {c.tol, sum_tol(points), sum_tol(points), sum_tol(3 * points), c.tol};
      cases.push_back(c);
    }
    const Tensor R =
        geo::rotation_matrix(uniform(gen, {B}, -1.4, 1.4), uniform(gen, {B}, -3, 3), uniform(gen, {B}, -3, 3));
    cases.push_back(value_case(gen, "euler_from_rotation", "", {R},
                               [](auto& x) { return geo::euler_from_rotation_matrix(x[0]); }, {1e-6, 1e-6}));
  }
  return cases;
}

std::vector<ParityCase> eye_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  for (int64_t B : {1, 4}) {
    cases.push_back(diff_case(gen, "gaze_from_mesh", "", {random_meshes(gen, B, DType::F32)},
                              [](auto& x) { return geo::gaze_from_mesh(x[0]); }, {1e-6, 1e-6}));
    // A vertex's gradient sums the unit edge vectors of its ~12 edge incidences times
    // normal upstream values: atol 1e-6·√12.
    ParityCase edges = diff_case(gen, "edge_lengths", "", {random_meshes(gen, B, DType::F32)},
                                 [](auto& x) { return geo::edge_lengths(x[0]); }, {1e-6, 2e-6});
    edges.grad_tol = {{3.5e-6, 2e-6}};
    cases.push_back(edges);
    cases.push_back(diff_case(gen, "angles_to_gaze", "",
                              {fh::concat({uniform(gen, {B, 1}, -1.5, 1.5), uniform(gen, {B, 1}, -3, 3)}, 1)},
                              [](auto& x) { return geo::angles_to_gaze(x[0]); }, {1e-6, 1e-6}));
    cases.push_back(value_case(gen, "gaze_to_angles", "", {fh::randn({8 * B, 3}, gen)},
                               [](auto& x) { return geo::gaze_to_angles(x[0]); }, {1e-6, 1e-6}));
  }
  return cases;
}

std::vector<ParityCase> crop_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  struct Size {
    int64_t B, H, W, C, E;
  };
  for (const Size& s : {Size{2, 64, 64, 3, 32}, Size{1, 48, 80, 2, 17}, Size{3, 32, 32, 3, 8}}) {
    // Faces wander far enough that some eye boxes leave the image (border clamp).
    const Tensor points = random_faces(gen, s.B, DType::F32, 0.6);
    cases.push_back(value_case(gen, "eye_crop_boxes", size_args(s.W, s.H), {points},
                               [s](auto& x) { return geo::eye_crop_boxes(x[0], s.W, s.H); }, {1e-5, 1e-6}));
    const Tensor boxes = geo::eye_crop_boxes(points, s.W, s.H);
    ParityCase crop = value_case(gen, "crop_boxes", "{\"size\":" + std::to_string(s.E) + "}",
                                 {fh::randn({s.B, s.H, s.W, s.C}, gen), boxes},
                                 [s](auto& x) { return geo::crop_boxes(x[0], x[1], s.E); }, {2e-6, 1e-6});
    crop.oracle.nhwc = {true, false};
    crop.oracle.nhwc_output = true;
    cases.push_back(crop);
    // Crop-normalised <-> image-normalised points, e.g. eye meshes.
    const Tensor flat_boxes = fh::reshape(boxes, {2 * s.B, 3});
    cases.push_back(diff_case(
        gen, "image_to_crop_points", size_args(s.W, s.H), {fh::randn({2 * s.B, 7, 3}, gen, 0.0, 0.5), flat_boxes},
        [s](auto& x) { return geo::image_to_crop_points(x[0], x[1], s.W, s.H); }, {2e-6, 2e-6}, {true, false}));
    cases.push_back(diff_case(
        gen, "crop_to_image_points", size_args(s.W, s.H), {fh::randn({2 * s.B, 7, 3}, gen), flat_boxes},
        [s](auto& x) { return geo::crop_to_image_points(x[0], x[1], s.W, s.H); }, {2e-6, 2e-6}, {true, false}));
    // Mouth crops: pure data movement, gradient to the image only.
    ParityCase mouth = diff_case(gen, "mouth_crops", "", {fh::randn({s.B, s.H, s.W, s.C}, gen), points},
                                 [](auto& x) { return geo::mouth_crops(x[0], x[1]); }, {0, 0}, {true, false});
    mouth.oracle.nhwc = {true, false};
    mouth.oracle.nhwc_output = true;
    mouth.exact = true;
    cases.push_back(mouth);
  }
  return cases;
}

std::vector<ParityCase> sketch_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  for (int64_t S : {64, 97, 256}) {
    const int64_t B = 2;
    // Gazes beyond ±45° too, so the colour clamps.
    const Tensor angles = uniform(gen, {B, 2, 2}, -1.2, 1.2);
    cases.push_back(value_case(gen, "sketch", "{\"size\":" + std::to_string(S) + "}",
                               {random_faces(gen, B, DType::F32, 0.3), angles},
                               [S](auto& x) { return geo::draw_sketches_from_angles(x[0], x[1], S); }, {2e-6, 0}));
  }
  return cases;
}

void run(const std::vector<ParityCase>& cases) {
  double worst = 0;
  std::map<std::string, double> worst_by_op;
  if (!run_parity(cases, &worst, &worst_by_op)) return;
  for (const auto& [op, w] : worst_by_op) MESSAGE(op << ": worst error " << w << " of threshold");
  MESSAGE(cases.size() << " cases against PyTorch");
}

}  // namespace

TEST_CASE("PyTorch parity: rotation, bins, Eq. 1-2, Euler angles") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  run(keypoint_cases(gen));
}

TEST_CASE("PyTorch parity: eye-mesh gaze, gaze angles, edge lengths") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  run(eye_cases(gen));
}

TEST_CASE("PyTorch parity: eye crops, crop point transforms, mouth crops") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  run(crop_cases(gen));
}

TEST_CASE("PyTorch parity: sketches against the NumPy rasteriser") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  run(sketch_cases(gen));
}
