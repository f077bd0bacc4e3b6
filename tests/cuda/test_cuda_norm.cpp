// The normalisation family's CUDA kernels run to run: bit-identical results. Their
// comparison with the CPU twins, forward and every gradient, is the op table's
// (tests/ops/norm_cases.cpp, driven by test_cuda_op_table.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/norm.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// A shifted, scaled input: the statistics must not lose digits to a large mean.
Tensor image(const Shape& s, DType t) { return random(s, t, 3.0, 2.0); }

}  // namespace

TEST_CASE("normalisation kernels are bit-identical across two runs") {
  const Tensor x = image({2, 64, 64, 128}, DType::F32).to(kGpu), g = random({2, 64, 64, 128}).to(kGpu);
  const Tensor gamma = random({2, 64, 64, 128}).to(kGpu), beta = random({2, 64, 64, 128}).to(kGpu);
  const Tensor w = random({128}).to(kGpu), b = random({128}).to(kGpu);
  auto spade = [&] {
    const kernels::NormForward f = kernels::spade_modulation(x, gamma, beta, 1e-5);
    const kernels::SpadeGrads s = kernels::spade_modulation_backward(g, x, gamma, f.mean, f.invstd, true, true, false);
    return std::vector<std::vector<unsigned char>>{bytes_of(f.out), bytes_of(f.invstd), bytes_of(s.x),
                                                   bytes_of(s.gamma)};
  };
  CHECK(spade() == spade());
  auto batch = [&] {
    const kernels::NormForward f = kernels::batch_norm2d(x, w, b, Tensor(), Tensor(), {});
    const kernels::NormGrads s = kernels::batch_norm2d_backward(g, x, w, f.mean, f.invstd, true, true, true, true);
    return std::vector<std::vector<unsigned char>>{bytes_of(f.out), bytes_of(s.x), bytes_of(s.weight),
                                                   bytes_of(s.bias)};
  };
  CHECK(batch() == batch());
}
