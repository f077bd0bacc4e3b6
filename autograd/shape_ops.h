// Differentiable shape ops: joining, cutting and transposing tensors. Each backward cuts
// (or pads, or permutes) the incoming gradient back to the shape of its input. Included by
// autograd/ops.h.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace fh {

// torch.cat: tensors agreeing on every dim but `axis`, joined along it.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// torch.stack: same-shape tensors joined along a new dim `axis` in [-(dim+1), dim].
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
// x.narrow(axis, start, length): elements [start, start + length) of `axis`.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t length);
// Per-image height × width crops of an NHWC batch at (tops[n], lefts[n]) — one offset per
// image or one for all — each inside its image (e.g. the discriminator's mouth crops).
Tensor crop2d(const Tensor& x, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
              int64_t width);
// torch.index_select: the entries index[0], index[1], … of `axis`, in that order (repeats
// allowed); the gradient of an entry picked several times is the sum of its copies'.
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index);
// x with dims dim0 and dim1 swapped (negative allowed), as new contiguous storage.
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);

}  // namespace fh
