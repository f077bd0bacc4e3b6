// The key-point sketch the generator is conditioned on (docs/geometry.md#sketches): 68 points and
// one gaze per eye -> a 3×S×S image in [0, 1] on a black background.
//
// Drawing, in pixel coordinates u = (x_n + 1)·(S − 1)/2 (pixel centres at integers):
//  1. each eye polygon (36-41, then 42-47) is filled with its gaze colour
//     (0.5 + 0.5·clamp(θ/45°, −1, 1), 0.5 + 0.5·clamp(φ/45°, −1, 1), 0). A pixel is inside
//     when its centre is, by the even-odd rule with half-open edges (an edge a→b crosses
//     row v when (a_y ≤ v) ≠ (b_y ≤ v); pixel u is filled when x₀ ≤ u < x₁ between a pair
//     of sorted crossings);
//  2. white anti-aliased polylines of width w = max(1, S/128) px — 0-16, 17-21, 22-26,
//     27-30, 31-35 open; 36-41, 42-47, 48-59, 60-67 closed. A pixel at distance δ from
//     the nearest segment of any polyline has coverage α = clamp(w/2 + 0.5 − δ, 0, 1), and
//     its colour becomes c·(1 − α) + α.
// The result is a pure function of the inputs (no accumulation order, no threads within
// one sketch): deterministic to the bit. z coordinates are ignored.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cstdint>

#include "geometry/conventions.h"
#include "runtime/tensor.h"

namespace fh::geometry {

// The fill colour of an eye looking along (θ, φ) (radians).
std::array<float, 3> gaze_colour(const GazeAngles& gaze);

// The polylines' width in pixels at sketch size S: max(1, S/128).
inline double sketch_line_width(int64_t size) { return size / 128.0 > 1.0 ? size / 128.0 : 1.0; }

struct SketchInput {
  std::array<Eigen::Vector2d, kNumKeypoints> points;  // image-normalised (x, y)
  std::array<GazeAngles, 2> gaze;                     // [0] right eye (36-41), [1] left eye (42-47)
};

// Draws one sketch into `out`, size×size×3 floats (HWC), every element overwritten.
// Points must be finite (they may lie outside the image). size >= 2.
void draw_sketch(const SketchInput& input, int64_t size, float* out);

// Batched: points [B,68,2] or [B,68,3] image-normalised, gaze [B,2,3] vectors (eye 0 the
// right eye 36-41, any length) -> [B,S,S,3] float32 NHWC on the CPU (inputs on any device).
// Sketches are drawn in parallel over the batch; each is independent of the thread count.
Tensor draw_sketches(const Tensor& points, const Tensor& gaze, int64_t size);
// The same with gaze angles [B,2,2] holding (θ, φ) in radians per eye.
Tensor draw_sketches_from_angles(const Tensor& points, const Tensor& gaze_angles, int64_t size);

}  // namespace fh::geometry
