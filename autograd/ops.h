// Differentiable ops: the public functional API. Each op computes its result with a pure
// kernel (kernels/core.h and one header per op family) and, when an input requires gradients and recording is on,
// records a node whose backward is written with kernels too.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace fh {

// Elementwise with NumPy/PyTorch broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor scale(const Tensor& x, double alpha);       // alpha · x
Tensor add_scalar(const Tensor& x, double alpha);  // x + alpha

// Matrix product over the last two dims, batch dims broadcast ([..., M, K] · [..., K, N]).
Tensor matmul(const Tensor& a, const Tensor& b);

// Sum / mean over `dims` (negative allowed; empty = every dim).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// Same data, new shape (one size may be -1); shares storage with x.
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);
// out.shape[d] = x.shape[dims[d]], as new contiguous storage.
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, double s) { return add_scalar(x, s); }
inline Tensor operator-(const Tensor& x, double s) { return add_scalar(x, -s); }
inline Tensor operator*(const Tensor& x, double s) { return scale(x, s); }
inline Tensor operator*(double s, const Tensor& x) { return scale(x, s); }

}  // namespace fh

#include "autograd/pointwise.h"
#include "autograd/pool.h"
#include "autograd/warp.h"
#include "autograd/norm.h"
#include "autograd/conv.h"
#include "autograd/linear.h"
#include "autograd/shape_ops.h"
