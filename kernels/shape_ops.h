// Device-agnostic entry points of the shape ops: concat, split, stack, slice, per-image
// crops and index_select, with the backward kernels their autograd nodes call. Any dtype; axes may be
// negative. They are copies between contiguous tensors and share the pool family's backend
// (kernels/backend/pool.inc); errors name the op and every shape.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace fh::kernels {

// Joins tensors that agree on every dim but `axis` along it (torch.cat).
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// The inverse of concat: the consecutive pieces of x along `axis` with these lengths (which
// sum to its size there). Pieces with wanted[i] false (all are wanted when it is empty)
// are left undefined.
std::vector<Tensor> split(const Tensor& x, int64_t axis, const std::vector<int64_t>& lengths,
                          const std::vector<bool>& wanted = {});
// Joins same-shape tensors along a new dim `axis` in [-(dim+1), dim] (torch.stack).
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
// Elements [start, start + length) of `axis` (x.narrow(axis, start, length)).
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t length);
// The gradient of slice: zeros of input_shape with grad placed at `start` along `axis`.
Tensor slice_backward(const Tensor& grad, const Shape& input_shape, int64_t axis, int64_t start);
// Per-image crops of an NHWC batch: out[n] = x[n, tops[n] : tops[n] + height,
// lefts[n] : lefts[n] + width, :]. tops and lefts hold one offset per image, or a single one
// shared by all; every window must lie inside the image.
Tensor crop2d(const Tensor& x, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
              int64_t width);
// The gradient of crop2d: zeros of input_shape with each image's crop placed back.
Tensor crop2d_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& tops,
                       const std::vector<int64_t>& lefts);
// Entries of `axis` picked by index (torch.index_select): out's size along `axis` is
// index.size(), out[..., j, ...] = x[..., index[j], ...]. Indices may repeat and come in any
// order; each must lie in [0, x.size(axis)).
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index);
// The gradient of index_select: zeros of input_shape, each entry the sum over the j that
// picked it of grad's entry j, added in increasing j (as PyTorch's index_add_). F32/F64.
Tensor index_select_backward(const Tensor& grad, const Shape& input_shape, int64_t axis,
                             const std::vector<int64_t>& index);

}  // namespace fh::kernels
