// Eye crops for E_gaze and mouth crops for D_M (docs/geometry.md#crops). Images are NHWC
// [B,H,W,C]; key-points [B,68,2|3] are image-normalised (pixel centre 0 -> -1, W−1 -> +1).
//
// Eye crop of eye k (0 = right eye 36-41, 1 = left eye 42-47): in pixels, centre c = mean
// of the eye's 6 points, side L = 2 × the distance between its corners (36-39 or 42-45).
// Output pixel (i, j) of an E×E crop samples the image bilinearly at
//   x = c_x + (2j/(E−1) − 1)·L/2,   y = c_y + (2i/(E−1) − 1)·L/2,
// each coordinate clamped to the image (border clamp). A point at pixel x maps to the crop-
// normalised u = (x − c_x)/(L/2) (the crop's own normalised coordinates); z and lengths
// scale by the same factor as x.
//
// Mouth crop: (H/4)×(W/4) (S/4 × S/4 for the square S×S images of the model), its centre
// pixel the mean of points 48-67 rounded to the nearest pixel (halves round up), placed
// with top = round(c_y) − H/8 and left = round(c_x) − W/8 (integer halves of the crop
// size), then clamped so that the crop stays inside the image. Differentiable with
// respect to the image (crop2d); the placement follows the key-points and carries no
// gradient.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace fh::geometry {

// Crop boxes of both eyes: points [B,68,2|3] -> [B,2,3] holding (c_x, c_y, L) in pixels of
// a width × height image, in the points' dtype, on the CPU.
Tensor eye_crop_boxes(const Tensor& points, int64_t width, int64_t height);
// The box of one eye (0 = right, 1 = left) from one face's 68 points, `dims` (2 or 3)
// values per point, image-normalised.
std::array<double, 3> eye_crop_box(const double* points, int64_t dims, int eye, int64_t width, int64_t height);

// One bilinear square crop of a float32 image [H,W,C] at box (c_x, c_y, L) into out
// [E,E,C], E = size ≥ 2; the sampling crop_boxes does for every box.
void crop_box_into(const float* image, int64_t height, int64_t width, int64_t channels, const std::array<double, 3>& box,
                   int64_t size, float* out);

// Bilinear square crops: images [B,H,W,C] (CPU, float32/float64), boxes [B,K,3] (c_x, c_y,
// L in pixels) -> [B·K, E, E, C] ordered image-major (crop b·K + k is box k of image b).
// No gradient.
Tensor crop_boxes(const Tensor& images, const Tensor& boxes, int64_t size);

// Both eye crops of every image: [B,H,W,C] -> [2B, E, E, C] (crop 2b = right eye of image
// b, 2b + 1 = its left eye).
Tensor eye_crops(const Tensor& images, const Tensor& points, int64_t size);

// The map from image-normalised coordinates of a width × height image to the crop-normalised
// coordinates of box (c_x, c_y, L), L > 0: u = x·ax + bx, v = y·ay + by, w = z·ax (z and
// lengths scale as x). The one mapping behind the tensor transforms below and the
// synthetic eye meshes.
struct CropAffine {
  double ax, ay, bx, by;
  std::array<double, 3> operator()(double x, double y, double z) const { return {x * ax + bx, y * ay + by, z * ax}; }
};
CropAffine image_to_crop_affine(const std::array<double, 3>& box, int64_t width, int64_t height);

// Point transforms between image-normalised coordinates of a width × height image and the
// crop-normalised coordinates of boxes [M,3]: points [M,N,3] -> [M,N,3], differentiable
// with respect to the points (the boxes are constants).
Tensor image_to_crop_points(const Tensor& points, const Tensor& boxes, int64_t width, int64_t height);
Tensor crop_to_image_points(const Tensor& points, const Tensor& boxes, int64_t width, int64_t height);

// Top-left corners of the mouth crops of a height × width image, one per image of points
// [B,68,2|3].
struct CropOrigins {
  std::vector<int64_t> tops, lefts;
};
CropOrigins mouth_crop_origins(const Tensor& points, int64_t height, int64_t width);

// Mouth crops [B, H/4, W/4, C] of images [B,H,W,C], differentiable w.r.t. the images.
Tensor mouth_crops(const Tensor& images, const Tensor& points);

}  // namespace fh::geometry
