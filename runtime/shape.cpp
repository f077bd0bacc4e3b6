#include "runtime/shape.h"

#include <algorithm>
#include <sstream>

#include "runtime/error.h"

namespace fh {

Shape::Shape(std::initializer_list<int64_t> dims) {
  FH_CHECK(dims.size() <= kMaxDims, "Shape", "at most ", kMaxDims, " dims are supported, got ", dims.size());
  for (int64_t d : dims) push_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  FH_CHECK(dims.size() <= kMaxDims, "Shape", "at most ", kMaxDims, " dims are supported, got ", dims.size());
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  FH_CHECK(ndim_ < kMaxDims, "Shape", "at most ", kMaxDims, " dims are supported");
  FH_CHECK(d >= 0, "Shape", "sizes must be non-negative, got ", d);
  dims_[ndim_++] = d;
}

void Shape::insert(int pos, int64_t d) {
  FH_CHECK(pos >= 0 && pos <= ndim_, "Shape::insert", "position ", pos, " outside [0, ", ndim_, "]");
  push_back(d);
  std::rotate(dims_ + pos, dims_ + ndim_ - 1, dims_ + ndim_);
}

void Shape::erase(int pos) {
  FH_CHECK(pos >= 0 && pos < ndim_, "Shape::erase", "position ", pos, " outside [0, ", ndim_, ")");
  std::copy(dims_ + pos + 1, dims_ + ndim_, dims_ + pos);
  --ndim_;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] == 0) return 0;  // no overflow check needed: later sizes cannot matter
  for (int i = 0; i < ndim_; ++i)
    FH_CHECK(!__builtin_mul_overflow(n, dims_[i], &n), "Shape", "the element count of ", str(),
             " overflows 64 bits");
  return n;
}

std::vector<int64_t> Shape::strides() const {
  std::vector<int64_t> s(ndim_);
  int64_t acc = 1;
  for (int i = ndim_ - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= dims_[i];
  }
  return s;
}

int Shape::wrap_dim(int64_t dim, const char* op) const {
  FH_CHECK(dim >= -ndim_ && dim < ndim_, op, "dim ", dim, " is out of range for shape ", str());
  return static_cast<int>(dim < 0 ? dim + ndim_ : dim);
}

std::string Shape::str() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < ndim_; ++i) os << (i ? ", " : "") << dims_[i];
  os << ']';
  return os.str();
}

bool operator==(const Shape& a, const Shape& b) {
  return a.ndim_ == b.ndim_ && std::equal(a.begin(), a.end(), b.begin());
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out;
  for (int i = 0; i < n; ++i) {
    const int ia = a.size() - n + i, ib = b.size() - n + i;
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    FH_CHECK(da == db || da == 1 || db == 1, op, "shapes ", a, " and ", b, " cannot be broadcast together (dim ",
             i - n, ": ", da, " vs ", db, ")");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

}  // namespace fh
