// cuDNN's convolutions behind the CUDA conv backend (FH_CONV=cudnn / cudnn-tc): a baseline
// to check and benchmark freehead's own kernels against. Float32 NHWC tensors with
// [Cout, kh, kw, Cin] weights, which are cuDNN's NHWC filter layout. A build without cuDNN
// (FH_WITH_CUDNN 0) has only stubs that fail, which the backend choice never reaches.
#pragma once

#include "kernels/conv_types.h"
#include "runtime/tensor.h"

namespace fh::kernels::cuda::cudnn_conv {

// tensor_cores: allow TF32 tensor-core math (CUDNN_TENSOR_OP_MATH); otherwise only FMA math.
void forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out,
             bool tensor_cores);
void backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in,
                    bool tensor_cores);
void backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w,
                     bool tensor_cores);

}  // namespace fh::kernels::cuda::cudnn_conv
