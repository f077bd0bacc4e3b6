#include "geometry/tensor_checks.h"

#include <vector>

#include "geometry/conventions.h"

namespace fh::geometry::detail {

namespace {

std::string pattern(std::initializer_list<int64_t> sizes) {
  std::string s = "[";
  bool first = true;
  for (int64_t n : sizes) {
    s += (first ? "" : ", ") + (n < 0 ? std::string("*") : std::to_string(n));
    first = false;
  }
  return s + "]";
}

}  // namespace

void check_shape(const Tensor& t, const char* op, const char* name, std::initializer_list<int64_t> sizes) {
  FH_CHECK(t.defined(), op, name, " is undefined");
  FH_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, op, name, " ", t.describe(),
           " must be float32 or float64");
  bool ok = t.dim() == static_cast<int>(sizes.size());
  int d = 0;
  for (int64_t n : sizes) {
    if (ok && n >= 0 && t.size(d) != n) ok = false;
    ++d;
  }
  FH_CHECK(ok, op, name, " has shape ", t.shape().str(), ", expected ", pattern(sizes));
}

void check_keypoints(const Tensor& points, const char* op) {
  FH_CHECK(points.defined() && points.dim() == 3 && points.size(1) == kNumKeypoints &&
               (points.size(2) == 2 || points.size(2) == 3),
           op, "points ", points.defined() ? points.shape().str() : "undefined", " must be [B, 68, 2] or [B, 68, 3]");
}

void check_same_kind(const Tensor& t, const Tensor& like, const char* op, const char* name) {
  FH_CHECK(t.dtype() == like.dtype() && t.device() == like.device(), op, name, " ", t.describe(),
           " differs in dtype or device from ", like.describe());
}

}  // namespace fh::geometry::detail
