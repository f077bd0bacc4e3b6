// The sketch rasteriser: one sketch on the calling thread (the target is 2,000 sketches/s
// at 256² on one core) and a batch drawn over the thread pool, at the three configs' sizes.
// Faces are the template face under a few poses, drawn in turn. Bytes are the sketch
// written once (S²·3 float32); items are sketches.
#include <array>
#include <vector>

#include "benchmarks/bench_util.h"
#include "geometry/sketch.h"
#include "geometry/template_face.h"
#include "runtime/tensor.h"

namespace {

namespace geo = fh::geometry;

std::vector<geo::SketchInput> posed_faces() {
  std::vector<geo::SketchInput> faces;
  const std::array<std::array<double, 3>, 4> poses{{{0, 0, 0}, {-0.4, 0.1, 0}, {0.3, -0.2, 0.2}, {0.1, 0.25, -0.15}}};
  for (const auto& p : poses) {
    const auto face = geo::posed_template_face(p[0], p[1], p[2], 0.9, Eigen::Vector3d(0, -0.05, 0));
    geo::SketchInput in;
    for (int i = 0; i < geo::kNumKeypoints; ++i) in.points[i] = face[i].head<2>();
    in.gaze = {geo::GazeAngles{0.2, -0.3}, geo::GazeAngles{0.1, 0.4}};
    faces.push_back(in);
  }
  return faces;
}

// Args: S. One sketch at a time on the calling thread.
void BM_sketch_one_core(benchmark::State& state) {
  const int64_t S = state.range(0);
  const std::vector<geo::SketchInput> faces = posed_faces();
  std::vector<float> out(static_cast<size_t>(S * S * 3));
  size_t i = 0;
  for (auto _ : state) {
    geo::draw_sketch(faces[i++ % faces.size()], S, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  fh::bench::set_bytes(state, 12.0 * static_cast<double>(S * S));
}

// Args: B, S. draw_sketches over the thread pool (tensor in, NHWC tensor out).
void BM_sketch_batch(benchmark::State& state) {
  const int64_t B = state.range(0), S = state.range(1);
  const std::vector<geo::SketchInput> faces = posed_faces();
  std::vector<double> points, angles;
  for (int64_t b = 0; b < B; ++b) {
    const geo::SketchInput& f = faces[b % faces.size()];
    for (const auto& p : f.points) points.insert(points.end(), {p.x(), p.y()});
    for (const auto& g : f.gaze) angles.insert(angles.end(), {g.theta, g.phi});
  }
  const fh::Tensor p = fh::Tensor::from_vector(points, {B, geo::kNumKeypoints, 2});
  const fh::Tensor a = fh::Tensor::from_vector(angles, {B, 2, 2});
  for (auto _ : state) {
    fh::Tensor out = geo::draw_sketches_from_angles(p, a, S);
    benchmark::DoNotOptimize(out.raw_data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  fh::bench::set_bytes(state, 12.0 * static_cast<double>(B * S * S));
}

}  // namespace

BENCHMARK(BM_sketch_one_core)->Arg(64)->Arg(128)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_sketch_batch)->Args({16, 256})->Args({16, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
