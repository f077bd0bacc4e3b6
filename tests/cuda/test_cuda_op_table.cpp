// The op table's device driver on the GPU (tests/ops/op_table_run.h, compare_devices): every
// case marked kDevice runs forward and backward through autograd on the CPU and on the GPU,
// from the same inputs and upstream gradient, at each of the case's dtypes; the output and
// every input gradient must agree bit for bit, or within the case's tolerance where the two
// devices sum in different orders. Integer dtypes run forward only.
#include <doctest/doctest.h>

#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_case.h"
#include "tests/ops/op_table_run.h"

using fh::cuda_test::kGpu;
using namespace fh::test::ops;


TEST_CASE("op table: pool: the CUDA kernels match their CPU twins, forward and backward") { CHECK(compare_devices("pool", kGpu) > 0); }
TEST_CASE("op table: shape: the CUDA copies match their CPU twins, every dtype") { CHECK(compare_devices("shape", kGpu) > 0); }
TEST_CASE("op table: warp: warp, N-shot fusion and pixel shuffle match the CPU, forward and backward") { CHECK(compare_devices("warp", kGpu) > 0); }
TEST_CASE("op table: norm: batch, instance norm and SPADE match the CPU, running statistics included") { CHECK(compare_devices("norm", kGpu) > 0); }
TEST_CASE("op table: pointwise: activations, softmax and losses match the CPU, forward and backward") { CHECK(compare_devices("pointwise", kGpu) > 0); }
TEST_CASE("op table: core: elementwise, sums, permutes, matmul and linear match the CPU, forward and backward") { CHECK(compare_devices("core", kGpu) > 0); }
