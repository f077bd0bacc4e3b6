#include "eval/metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/error.h"

namespace fh::eval {

namespace {

void check_pair(const Image& a, const Image& b, const char* metric) {
  FH_CHECK(a.width == b.width && a.height == b.height && a.channels == b.channels, metric, "images differ in size: ",
           a.width, "x", a.height, "x", a.channels, " against ", b.width, "x", b.height, "x", b.channels);
  FH_CHECK(!a.pixels.empty(), metric, "empty image");
}

constexpr double sq(double x) { return x * x; }

// The normalised 1-D Gaussian of SSIM's window: σ = 1.5, radius ⌊3.5σ + 0.5⌋ = 5.
constexpr double kSigma = 1.5;
constexpr int kRadius = 5;
std::array<double, 2 * kRadius + 1> gaussian_window() {
  std::array<double, 2 * kRadius + 1> w{};
  double sum = 0;
  for (int i = -kRadius; i <= kRadius; ++i) sum += w[static_cast<size_t>(i + kRadius)] = std::exp(-0.5 * i * i / sq(kSigma));
  for (double& v : w) v /= sum;
  return w;
}

// Mean SSIM of one channel over the window centres that keep the window inside the image.
double ssim_channel(const Image& a, const Image& b, int c) {
  static const auto w = gaussian_window();
  const int W = a.width, H = a.height, C = a.channels;
  // The five local moments, filtered along x first (rows of every y, centres x ∈ [r, W−r)).
  const int ow = W - 2 * kRadius, oh = H - 2 * kRadius;
  std::vector<double> rows(static_cast<size_t>(5) * H * ow, 0.0);
  auto rx = [&](int m, int y, int x) -> double& { return rows[(static_cast<size_t>(m) * H + y) * ow + x]; };
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < ow; ++x)
      for (int k = 0; k <= 2 * kRadius; ++k) {
        const size_t i = (static_cast<size_t>(y) * W + x + k) * C + c;
        const double u = a.pixels[i], v = b.pixels[i], g = w[static_cast<size_t>(k)];
        rx(0, y, x) += g * u;
        rx(1, y, x) += g * v;
        rx(2, y, x) += g * u * u;
        rx(3, y, x) += g * v * v;
        rx(4, y, x) += g * u * v;
      }
  constexpr double L = 255, C1 = sq(0.01 * L), C2 = sq(0.03 * L);
  double total = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      double m[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k <= 2 * kRadius; ++k)
        for (int q = 0; q < 5; ++q) m[q] += w[static_cast<size_t>(k)] * rx(q, y + k, x);
      const double vx = m[2] - m[0] * m[0], vy = m[3] - m[1] * m[1], vxy = m[4] - m[0] * m[1];
      total += (2 * m[0] * m[1] + C1) * (2 * vxy + C2) / ((m[0] * m[0] + m[1] * m[1] + C1) * (vx + vy + C2));
    }
  return total / (static_cast<double>(ow) * oh);
}

double wrap_deg(double d) {
  d = std::fmod(d, 360.0);
  if (d > 180) d -= 360;
  if (d <= -180) d += 360;
  return d;
}

}  // namespace

double l1_255(const Image& a, const Image& b) {
  check_pair(a, b, "L1");
  double s = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(double(a.pixels[i]) - double(b.pixels[i]));
  return s / static_cast<double>(a.pixels.size());
}

double psnr(const Image& a, const Image& b) {
  check_pair(a, b, "PSNR");
  double s = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) s += sq(double(a.pixels[i]) - double(b.pixels[i]));
  const double mse = s / static_cast<double>(a.pixels.size());
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(255.0 * 255.0 / mse);
}

double ssim(const Image& a, const Image& b) {
  check_pair(a, b, "SSIM");
  FH_CHECK(a.width > 2 * kRadius && a.height > 2 * kRadius, "SSIM", "images of ", a.width, "x", a.height,
           " are smaller than the 11x11 window");
  double s = 0;
  for (int c = 0; c < a.channels; ++c) s += ssim_channel(a, b, c);
  return s / a.channels;
}

double angle_error_deg(double a, double b) { return std::abs(wrap_deg(a - b)); }

double euler_error_deg(const Angles& a, const Angles& b) {
  return (angle_error_deg(a.yaw, b.yaw) + angle_error_deg(a.pitch, b.pitch) + angle_error_deg(a.roll, b.roll)) / 3;
}

double pixels_per_unit(int image_size) { return (image_size - 1) / 2.0; }

double keypoint_error_px(const float* a, const float* b, int image_size) {
  double s = 0;
  for (int j = 0; j < 68; ++j) s += std::sqrt(sq(a[3 * j] - b[3 * j]) + sq(a[3 * j + 1] - b[3 * j + 1]));
  return s / 68 * pixels_per_unit(image_size);
}

double point_error(const float* a, const float* b) {
  double s = 0;
  for (int j = 0; j < 68; ++j)
    s += std::sqrt(sq(a[3 * j] - b[3 * j]) + sq(a[3 * j + 1] - b[3 * j + 1]) + sq(a[3 * j + 2] - b[3 * j + 2]));
  return s / 68;
}

double deformation_error_px(const float* a, const float* b, int image_size) {
  return point_error(a, b) * pixels_per_unit(image_size);
}

double inter_ocular(const float* p) {
  return std::sqrt(sq(p[36 * 3] - p[45 * 3]) + sq(p[36 * 3 + 1] - p[45 * 3 + 1]) + sq(p[36 * 3 + 2] - p[45 * 3 + 2]));
}

double gaze_error_deg(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  const double na = std::sqrt(sq(a[0]) + sq(a[1]) + sq(a[2])), nb = std::sqrt(sq(b[0]) + sq(b[1]) + sq(b[2]));
  FH_CHECK(na > 0 && nb > 0, "gaze error", "a zero gaze vector");
  // atan2 of |a×b| and a·b keeps its precision at small and large angles alike.
  const double cx = a[1] * b[2] - a[2] * b[1], cy = a[2] * b[0] - a[0] * b[2], cz = a[0] * b[1] - a[1] * b[0];
  const double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), dot) * 180.0 / 3.14159265358979323846;
}

}  // namespace fh::eval
