// The evaluation's metrics, each defined once here and in docs/evaluation.md.
//
// Image metrics compare two 8-bit RGB pictures of one size as the user sees them (after
// rounding to [0, 255]):
//   l1_255  mean |a − b| over every pixel and channel, on [0, 255];
//   psnr    10·log10(255² / MSE) over every pixel and channel, in dB (+∞ when equal);
//   ssim    Wang et al. (2004): an 11×11 Gaussian window of σ = 1.5 (truncated at 3.5σ),
//           K1 = 0.01, K2 = 0.03, L = 255, population (not sample) moments; the SSIM map
//           of each channel averaged over the pixels where the window fits inside the
//           image, then over the channels — scikit-image's structural_similarity with
//           gaussian_weights=True, use_sample_covariance=False, data_range=255.
//
// Geometry metrics compare what an estimator read from an image with exact ground truth:
//   euler_error_deg      mean of |Δyaw|, |Δpitch|, |Δroll| in degrees (each difference
//                        wrapped into (−180°, 180°]);
//   keypoint_error_px    mean over the 68 points of the distance in the image plane (x, y),
//                        in pixels of an S×S image;
//   deformation_error_px mean over the 68 points of the 3D distance between expression
//                        deformations d, in the same pixel units;
//   gaze_error_deg       the angle between two gaze directions, in degrees.
// Key-points are image-normalised: x, y ∈ [−1, 1] span the image's pixel centres, so one
// unit is (S − 1)/2 pixels.
#pragma once

#include <array>

#include "io/image_io.h"

namespace fh::eval {

double l1_255(const Image& a, const Image& b);
double psnr(const Image& a, const Image& b);
double ssim(const Image& a, const Image& b);

struct Angles {
  double yaw = 0, pitch = 0, roll = 0;  // degrees
};
double euler_error_deg(const Angles& a, const Angles& b);
// |a − b| in degrees, wrapped into [0°, 180°]: one angle's share of euler_error_deg.
double angle_error_deg(double a, double b);

double pixels_per_unit(int image_size);
// a, b: [68][3] image-normalised points.
double keypoint_error_px(const float* a, const float* b, int image_size);
double deformation_error_px(const float* a, const float* b, int image_size);
// The distance between the outer eye corners (points 36 and 45) in 3D, normalised units:
// the usual normaliser of face-alignment errors.
double inter_ocular(const float* points);
// Mean 3D point distance in normalised units.
double point_error(const float* a, const float* b);

double gaze_error_deg(const std::array<double, 3>& a, const std::array<double, 3>& b);

}  // namespace fh::eval
