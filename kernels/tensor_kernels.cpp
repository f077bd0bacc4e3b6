// Tensor's members that compute (declared in runtime/tensor.h): they are kernels, so they
// are implemented here, above the runtime, which owns memory and execution and includes
// nothing from the layers built on it. autograd/tensor_autograd.cpp does the same for the
// members that touch the graph.
#include "kernels/core.h"

namespace fh {

Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  return kernels::cast(*this, target);
}

Tensor Tensor::clone() const { return kernels::copy(*this); }

Tensor& Tensor::fill_(double value) {
  kernels::fill(*this, value);
  return *this;
}

}  // namespace fh
