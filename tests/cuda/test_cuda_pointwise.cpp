// The pointwise family's CUDA loss values run to run: bit-identical. The comparison of every
// pointwise kernel with its CPU twin is the op table's (tests/ops/pointwise_cases.cpp,
// driven by test_cuda_op_table.cpp).
#include <doctest/doctest.h>

#include "kernels/pointwise.h"
#include "tests/cuda/cuda_test_util.h"

using fh::Tensor;
using fh::kernels::LossOp;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

TEST_CASE("loss values are bit-identical across two runs") {
  const Tensor a = random({8, 256, 256, 3}).to(kGpu), b = random({8, 256, 256, 3}).to(kGpu);
  for (LossOp op : {LossOp::L1, LossOp::Mse, LossOp::HingeFake}) {
    const Tensor second = kernels::loss_is_binary(op) ? b : Tensor();
    INFO(kernels::op_name(op));
    CHECK(bytes_of(kernels::loss(op, a, second)) == bytes_of(kernels::loss(op, a, second)));
  }
}
