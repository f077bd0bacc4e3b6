#include "geometry/crops.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/tensor_checks.h"
#include "kernels/core.h"
#include "runtime/thread_pool.h"

namespace fh::geometry {

using detail::check_keypoints;

namespace {

void check_images(const Tensor& images, const char* op) {
  FH_CHECK(images.defined(), op, "images are undefined; they must be a 4-d NHWC image batch [N, H, W, C]");
  kernels::check_nhwc(op, "images", images.shape());
}

void check_finite(const std::vector<double>& values, const char* op, const char* what) {
  for (size_t i = 0; i < values.size(); ++i)
    FH_CHECK(std::isfinite(values[i]), op, what, " element ", i, " is not finite (", values[i], ")");
}

}  // namespace

std::array<double, 3> eye_crop_box(const double* points, int64_t dims, int eye, int64_t width, int64_t height) {
  const double sx = 0.5 * static_cast<double>(width - 1), sy = 0.5 * static_cast<double>(height - 1);
  auto pixel = [&](int i) {
    const double* q = points + i * dims;
    return Eigen::Vector2d((q[0] + 1.0) * sx, (q[1] + 1.0) * sy);
  };
  const PointRange range = eye == 0 ? kRightEye : kLeftEye;
  Eigen::Vector2d centre = Eigen::Vector2d::Zero();
  for (int i = range.first; i <= range.last; ++i) centre += pixel(i);
  centre /= 6.0;
  // Corners: the first point of the eye and the one three further on (36-39, 42-45).
  const double side = 2.0 * (pixel(range.first + 3) - pixel(range.first)).norm();
  return {centre.x(), centre.y(), side};
}

Tensor eye_crop_boxes(const Tensor& points, int64_t width, int64_t height) {
  const char* op = "eye_crop_boxes";
  check_keypoints(points, op);
  FH_CHECK(width >= 2 && height >= 2, op, "image size ", width, "x", height, " must be at least 2x2");
  const int64_t batch = points.size(0), dims = points.size(2);
  const std::vector<double> p = points.to_vector<double>();
  check_finite(p, op, "points");
  std::vector<double> boxes(static_cast<size_t>(batch) * 6);
  for (int64_t b = 0; b < batch; ++b)
    for (int k = 0; k < 2; ++k) {
      const std::array<double, 3> box = eye_crop_box(p.data() + b * kNumKeypoints * dims, dims, k, width, height);
      std::copy(box.begin(), box.end(), boxes.begin() + 6 * b + 3 * k);
    }
  return Tensor::from_vector(boxes, {batch, 2, 3}).to(points.dtype());
}

namespace {

template <class T>
void crop_one(const T* image, int64_t H, int64_t W, int64_t C, const double* box, int64_t E, T* out) {
  const double half = 0.5 * box[2];
  for (int64_t i = 0; i < E; ++i) {
    const double y = std::clamp(box[1] + (2.0 * i / (E - 1) - 1.0) * half, 0.0, static_cast<double>(H - 1));
    const int64_t y0 = std::min(static_cast<int64_t>(y), H - 1), y1 = std::min(y0 + 1, H - 1);
    const double fy = y - static_cast<double>(y0);
    for (int64_t j = 0; j < E; ++j) {
      const double x = std::clamp(box[0] + (2.0 * j / (E - 1) - 1.0) * half, 0.0, static_cast<double>(W - 1));
      const int64_t x0 = std::min(static_cast<int64_t>(x), W - 1), x1 = std::min(x0 + 1, W - 1);
      const double fx = x - static_cast<double>(x0);
      const double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const T* p00 = image + (y0 * W + x0) * C;
      const T* p01 = image + (y0 * W + x1) * C;
      const T* p10 = image + (y1 * W + x0) * C;
      const T* p11 = image + (y1 * W + x1) * C;
      T* o = out + (i * E + j) * C;
      for (int64_t c = 0; c < C; ++c) o[c] = static_cast<T>(w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c]);
    }
  }
}

template <class T>
Tensor crop_typed(const Tensor& images, const std::vector<double>& boxes, int64_t K, int64_t E) {
  const int64_t B = images.size(0), H = images.size(1), W = images.size(2), C = images.size(3);
  Tensor out = Tensor::empty({B * K, E, E, C}, images.dtype());
  const T* src = images.data<T>();
  T* dst = out.data<T>();
  parallel_for(B * K, 1, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m)
      crop_one(src + (m / K) * H * W * C, H, W, C, boxes.data() + 3 * m, E, dst + m * E * E * C);
  });
  return out;
}

}  // namespace

void crop_box_into(const float* image, int64_t height, int64_t width, int64_t channels, const std::array<double, 3>& box,
                   int64_t size, float* out) {
  crop_one(image, height, width, channels, box.data(), size, out);
}

Tensor crop_boxes(const Tensor& images, const Tensor& boxes, int64_t size) {
  const char* op = "crop_boxes";
  check_images(images, op);
  FH_CHECK(images.device().is_cpu(), op, "images ", images.describe(), " must be on the CPU");
  FH_CHECK(images.dtype() == DType::F32 || images.dtype() == DType::F64, op, "images ", images.describe(),
           " must be float32 or float64");
  FH_CHECK(boxes.defined() && boxes.dim() == 3 && boxes.size(0) == images.size(0) && boxes.size(2) == 3, op, "boxes ",
           boxes.defined() ? boxes.shape().str() : "undefined", " must be [", images.size(0), ", K, 3]");
  FH_CHECK(size >= 2, op, "crop size ", size, " must be at least 2");
  const std::vector<double> b = boxes.to_vector<double>();
  check_finite(b, op, "boxes");
  const int64_t K = boxes.size(1);
  return images.dtype() == DType::F32 ? crop_typed<float>(images, b, K, size) : crop_typed<double>(images, b, K, size);
}

Tensor eye_crops(const Tensor& images, const Tensor& points, int64_t size) {
  check_images(images, "eye_crops");
  FH_CHECK(points.defined() && points.size(0) == images.size(0), "eye_crops", "points ",
           points.defined() ? points.shape().str() : "undefined", " and images ", images.shape().str(),
           " differ in batch size");
  return crop_boxes(images, eye_crop_boxes(points, images.size(2), images.size(1)), size);
}

CropAffine image_to_crop_affine(const std::array<double, 3>& box, int64_t width, int64_t height) {
  const double w1 = static_cast<double>(width - 1), h1 = static_cast<double>(height - 1), side = box[2];
  // u = (x_px − c_x)/(L/2) with x_px = (x_n + 1)(W − 1)/2.
  return {w1 / side, h1 / side, (0.5 * w1 - box[0]) * 2.0 / side, (0.5 * h1 - box[1]) * 2.0 / side};
}

namespace {

// out = points·a + b per crop: a, b [M,1,3].
struct Affine {
  Tensor a, b;
};

Affine image_to_crop(const Tensor& points, const Tensor& boxes, int64_t width, int64_t height, const char* op) {
  FH_CHECK(points.defined() && points.dim() == 3 && points.size(2) == 3, op, "points ",
           points.defined() ? points.shape().str() : "undefined", " must be [M, N, 3]");
  FH_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.size(0) == points.size(0) && boxes.size(1) == 3, op, "boxes ",
           boxes.defined() ? boxes.shape().str() : "undefined", " must be [", points.size(0), ", 3]");
  FH_CHECK(width >= 2 && height >= 2, op, "image size ", width, "x", height, " must be at least 2x2");
  const int64_t M = points.size(0);
  const std::vector<double> bx = boxes.to_vector<double>();
  check_finite(bx, op, "boxes");
  std::vector<double> a(static_cast<size_t>(3 * M)), b(static_cast<size_t>(3 * M));
  for (int64_t m = 0; m < M; ++m) {
    FH_CHECK(bx[3 * m + 2] > 0, op, "box ", m, " has side ", bx[3 * m + 2], ", which must be positive");
    const CropAffine f = image_to_crop_affine({bx[3 * m], bx[3 * m + 1], bx[3 * m + 2]}, width, height);
    a[3 * m] = f.ax, a[3 * m + 1] = f.ay, a[3 * m + 2] = f.ax;
    b[3 * m] = f.bx, b[3 * m + 1] = f.by, b[3 * m + 2] = 0.0;
  }
  const Device dev = points.device();
  return {Tensor::from_vector(a, {M, 1, 3}).to(points.dtype()).to(dev),
          Tensor::from_vector(b, {M, 1, 3}).to(points.dtype()).to(dev)};
}

}  // namespace

Tensor image_to_crop_points(const Tensor& points, const Tensor& boxes, int64_t width, int64_t height) {
  const Affine f = image_to_crop(points, boxes, width, height, "image_to_crop_points");
  return add(mul(points, f.a), f.b);
}

Tensor crop_to_image_points(const Tensor& points, const Tensor& boxes, int64_t width, int64_t height) {
  const Affine f = image_to_crop(points, boxes, width, height, "crop_to_image_points");
  return div(sub(points, f.b), f.a);
}

CropOrigins mouth_crop_origins(const Tensor& points, int64_t height, int64_t width) {
  const char* op = "mouth_crop_origins";
  check_keypoints(points, op);
  FH_CHECK(height >= 4 && width >= 4, op, "image size ", width, "x", height, " must be at least 4x4");
  const int64_t batch = points.size(0), dims = points.size(2);
  const int64_t crop_h = height / 4, crop_w = width / 4;
  const std::vector<double> p = points.to_vector<double>();
  check_finite(p, op, "points");
  CropOrigins o;
  for (int64_t b = 0; b < batch; ++b) {
    double cx = 0, cy = 0;
    for (int i = kOuterLip.first; i <= kInnerLip.last; ++i) {
      cx += p[(b * kNumKeypoints + i) * dims];
      cy += p[(b * kNumKeypoints + i) * dims + 1];
    }
    const int count = kInnerLip.last - kOuterLip.first + 1;
    const double px = (cx / count + 1.0) * 0.5 * static_cast<double>(width - 1);
    const double py = (cy / count + 1.0) * 0.5 * static_cast<double>(height - 1);
    // Round (halves up), then clamp in floating point first so far-off points cannot overflow.
    const double rx = std::floor(std::clamp(px, -1e9, 1e9) + 0.5), ry = std::floor(std::clamp(py, -1e9, 1e9) + 0.5);
    o.tops.push_back(std::clamp<int64_t>(static_cast<int64_t>(ry) - crop_h / 2, 0, height - crop_h));
    o.lefts.push_back(std::clamp<int64_t>(static_cast<int64_t>(rx) - crop_w / 2, 0, width - crop_w));
  }
  return o;
}

Tensor mouth_crops(const Tensor& images, const Tensor& points) {
  check_images(images, "mouth_crops");
  FH_CHECK(points.defined() && points.size(0) == images.size(0), "mouth_crops", "points ",
           points.defined() ? points.shape().str() : "undefined", " and images ", images.shape().str(),
           " differ in batch size");
  const int64_t H = images.size(1), W = images.size(2);
  const CropOrigins o = mouth_crop_origins(points, H, W);
  return crop2d(images, o.tops, o.lefts, H / 4, W / 4);
}

}  // namespace fh::geometry
