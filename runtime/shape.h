// Shape: the sizes of a tensor's dimensions, held inline (no heap) up to kMaxDims.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace fh {

class Shape {
 public:
  static constexpr int kMaxDims = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int size() const { return ndim_; }
  bool empty() const { return ndim_ == 0; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + ndim_; }
  int64_t* begin() { return dims_; }
  int64_t* end() { return dims_ + ndim_; }

  void push_back(int64_t d);
  void insert(int pos, int64_t d);
  void erase(int pos);

  // Product of all sizes (1 for a 0-d shape).
  int64_t numel() const;
  // Row-major (C-contiguous) strides, in elements.
  std::vector<int64_t> strides() const;
  // Maps a possibly negative dim index to [0, ndim); throws naming `op` when out of range.
  int wrap_dim(int64_t dim, const char* op) const;

  std::vector<int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  int64_t dims_[kMaxDims] = {};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

// NumPy/PyTorch broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace fh
