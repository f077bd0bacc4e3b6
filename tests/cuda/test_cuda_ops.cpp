// The CUDA backend where the op table (tests/ops/core_cases.cpp, driven by
// test_cuda_op_table.cpp) does not reach: in-place ops, broadcast_to, sum_to_shape, the
// reductions' run-to-run determinism, matmul's transpose flags, fill, cast and copy, the
// caching allocator and host <-> device copies (seed printed, FH_TEST_SEED replays a run).
// Without a usable GPU the binary prints one SKIPPED line and exits 77, which CTest reports
// as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "kernels/core.h"
#include "runtime/cuda_runtime.h"
#include "runtime/random.h"
#include "runtime/tensor.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/harness/tolerance.h"
#include "tests/ops/core_tolerances.h"

using fh::Device;
using fh::DType;
using fh::Shape;
using fh::Tensor;
using fh::kernels::BinaryOp;
using fh::kernels::UnaryOp;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;
using namespace fh::test::ops;

namespace {

fh::test::Tolerance elementwise_tol(DType t) { return t == DType::F64 ? kElementwiseF64 : kElementwiseF32; }

const DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64};

}  // namespace

// ---- Elementwise -----------------------------------------------------------------------------

TEST_CASE("in-place binary ops match the CPU") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {Shape{}, Shape{}}, {Shape{5, 3}, Shape{3}}, {Shape{4, 6, 5}, Shape{6, 1}}, {Shape{300001}, Shape{1}}};
  for (DType t : kFloatDTypes) {
    for (const auto& [sa, sb] : cases) {
      for (BinaryOp op : {BinaryOp::Add, BinaryOp::Mul}) {
        Tensor a = random(sa, t);
        const Tensor b = random(sb, t);
        Tensor ga = a.to(kGpu);
        kernels::binary_(op, ga, b.to(kGpu));
        kernels::binary_(op, a, b);
        FH_CHECK_CLOSE(ga, a, elementwise_tol(t), label(std::string(kernels::op_name(op)) + "_", sa, sb, t));
      }
    }
  }
}

TEST_CASE("broadcast_to matches the CPU") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {Shape{}, Shape{2, 2}},         {Shape{3}, Shape{4, 3}},          {Shape{4, 1}, Shape{4, 5}},
      {Shape{1, 3, 1}, Shape{2, 3, 4}}, {Shape{5, 1, 7}, Shape{2, 5, 6, 7}}, {Shape{1}, Shape{100003}},
      {Shape{2, 3}, Shape{2, 3}}};
  for (DType t : kFloatDTypes) {
    for (const auto& [from, to] : cases) {
      const Tensor x = random(from, t);
      FH_CHECK_CLOSE(kernels::broadcast_to(x.to(kGpu), to), kernels::broadcast_to(x, to), elementwise_tol(t),
                     label("broadcast_to", from, to, t));
    }
  }
}

// ---- Permutations (strided_copy with reordered strides) --------------------------------------

TEST_CASE("the NCHW <-> NHWC conversions match the CPU bit for bit and invert each other") {
  for (DType t : kFloatDTypes) {
    for (const Shape& s : {Shape{2, 3, 64, 64}, Shape{1, 5, 7, 3}, Shape{1, 1, 1, 1}}) {
      const Tensor x = random(s, t);
      INFO(label("nchw_to_nhwc and back", s, t));
      const Tensor nhwc = kernels::nchw_to_nhwc(x.to(kGpu));
      CHECK(bytes_of(nhwc) == bytes_of(kernels::nchw_to_nhwc(x)));
      CHECK(bytes_of(kernels::nhwc_to_nchw(nhwc)) == bytes_of(x));
    }
  }
}

// ---- Reductions ------------------------------------------------------------------------------

TEST_CASE("sum_to_shape matches the CPU") {
  const std::vector<std::pair<Shape, Shape>> cases = {{Shape{4, 3}, Shape{3}},
                                                      {Shape{2, 3, 4}, Shape{3, 1}},
                                                      {Shape{2, 5, 6, 7}, Shape{5, 1, 7}},
                                                      {Shape{3, 4}, Shape{}},
                                                      {Shape{8, 1, 9}, Shape{1, 1, 9}}};
  for (DType t : kFloatDTypes) {
    for (const auto& [from, to] : cases) {
      const Tensor x = random(from, t);
      FH_CHECK_CLOSE(kernels::sum_to_shape(x.to(kGpu), to), kernels::sum_to_shape(x, to),
                     t == DType::F64 ? kSumF64 : kSumF32, label("sum_to_shape", from, to, t));
    }
  }
}

TEST_CASE("reduce_sum is bit-identical across two runs") {
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
  };
  const std::vector<Case> cases = {{Shape{1 << 22}, {}},
                                   {Shape{3, 300007}, {1}},
                                   {Shape{300007, 3}, {0}},
                                   {Shape{33, 65, 17}, {0, 2}},
                                   {Shape{4096, 513}, {1}}};
  for (const Case& c : cases) {
    const Tensor x = random(c.shape, DType::F32, 0.5, 3.0).to(kGpu);
    const auto first = bytes_of(kernels::sum(x, c.dims, false));
    const auto second = bytes_of(kernels::sum(x, c.dims, false));
    INFO("sum of " << c.shape.str());
    CHECK(first == second);
  }
}

// ---- Matmul --------------------------------------------------------------------------------

TEST_CASE("matmul matches the CPU for every transpose flag and batch broadcast") {
  struct Case {
    Shape a_batch, b_batch;
    int64_t M, K, N;
  };
  const std::vector<Case> cases = {
      {Shape{}, Shape{}, 1, 1, 1},          // smallest
      {Shape{}, Shape{}, 17, 33, 5},        // odd sizes
      {Shape{}, Shape{}, 64, 256, 128},     //
      {Shape{3}, Shape{3}, 7, 9, 11},       // uniform strides
      {Shape{}, Shape{4}, 6, 5, 3},         // a shared by the batch (stride 0)
      {Shape{5}, Shape{}, 6, 5, 3},         // b shared by the batch
      {Shape{2, 1}, Shape{1, 3}, 4, 8, 5},  // irregular broadcast: pointer arrays
      {Shape{1, 2, 3}, Shape{4, 1, 3}, 3, 2, 4},
      {Shape{2, 3}, Shape{2, 3}, 1, 70, 1}, // vectors
      // The networks': rotation matrices composed ([B,3,3]·[B,3,3]), points rotated
      // ([B,68,3]·[B,3,3]), one matrix shared by the batch ([2880,482]·[B,482,3]),
      // the gaze head at tiny (128 -> 1446; the linear test has the others).
      {Shape{2}, Shape{2}, 3, 3, 3},        {Shape{8}, Shape{8}, 68, 3, 3},
      {Shape{}, Shape{2}, 2880, 482, 3},    {Shape{}, Shape{}, 2, 128, 1446},
  };
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = t == DType::F64 ? kMatmulF64 : kMatmulF32;
    for (const Case& c : cases) {
      for (bool trans_a : {false, true}) {
        for (bool trans_b : {false, true}) {
          Shape sa = c.a_batch, sb = c.b_batch;
          sa.push_back(trans_a ? c.K : c.M);
          sa.push_back(trans_a ? c.M : c.K);
          sb.push_back(trans_b ? c.N : c.K);
          sb.push_back(trans_b ? c.K : c.N);
          const Tensor a = random(sa, t), b = random(sb, t);
          const std::string name = label(std::string("matmul") + (trans_a ? " aT" : "") + (trans_b ? " bT" : ""), sa,
                                         sb, t);
          FH_CHECK_CLOSE(kernels::matmul(a.to(kGpu), b.to(kGpu), trans_a, trans_b),
                         kernels::matmul(a, b, trans_a, trans_b), tol, name);
        }
      }
    }
  }
}

TEST_CASE("matmul with an empty inner dimension gives zeros") {
  const Tensor a = Tensor::empty({3, 0}, DType::F32, kGpu), b = Tensor::empty({0, 4}, DType::F32, kGpu);
  const Tensor c = kernels::matmul(a, b);
  CHECK(c.shape() == Shape{3, 4});
  CHECK(c.to_vector<float>() == std::vector<float>(12, 0.0f));
}

// ---- fill, cast, copy ------------------------------------------------------------------------

TEST_CASE("fill stores the same bits as the CPU for every dtype") {
  for (DType t : kAllDTypes) {
    for (double value : {0.0, -0.0, 1.5, -2.25, 3.7, 1e30}) {
      if (t == DType::I64 && value == 1e30) continue;  // out of int64 range
      Tensor cpu = Tensor::empty({37, 3}, t);
      Tensor gpu = Tensor::empty({37, 3}, t, kGpu);
      kernels::fill(cpu, value);
      kernels::fill(gpu, value);
      INFO("fill " << fh::dtype_name(t) << " with " << value);
      CHECK(bytes_of(gpu) == bytes_of(cpu));
    }
  }
  Tensor scalar = Tensor::scalar(0.0, DType::F32, kGpu);
  scalar.fill_(-4.5);
  CHECK(scalar.item() == -4.5);
}

TEST_CASE("cast matches the CPU bit for bit in every direction") {
  for (DType from : kAllDTypes) {
    // Values that every dtype can hold approximately, with fractional parts for the
    // int64 truncation; int64 sources come from a float cast.
    const Tensor values = random({1001}, DType::F64, 0.0, 100.0);
    const Tensor src = kernels::cast(values, from);
    const Tensor gsrc = src.to(kGpu);
    for (DType to : kAllDTypes) {
      INFO("cast " << fh::dtype_name(from) << " -> " << fh::dtype_name(to));
      const Tensor gpu = kernels::cast(gsrc, to);
      CHECK(gpu.device() == kGpu);
      CHECK(gpu.dtype() == to);
      CHECK(bytes_of(gpu) == bytes_of(kernels::cast(src, to)));
    }
  }
}

TEST_CASE("cast round trips through float16 and bfloat16 match the CPU") {
  for (const Shape& s : {Shape{}, Shape{5}, Shape{3, 1, 333}}) {
    const Tensor x = random(s, DType::F32, 0.0, 10.0);
    for (DType narrow : {DType::F16, DType::BF16}) {
      const Tensor gpu = kernels::cast(kernels::cast(x.to(kGpu), narrow), DType::F32);
      const Tensor cpu = kernels::cast(kernels::cast(x, narrow), DType::F32);
      INFO("round trip through " << fh::dtype_name(narrow) << " of " << s.str());
      CHECK(bytes_of(gpu) == bytes_of(cpu));
      // And the narrow type is close to the original: 2^-11 (half) or 2^-8 (bfloat16) relative.
      const double rtol = narrow == DType::F16 ? 1.0 / 2048 : 1.0 / 256;
      FH_CHECK_CLOSE(gpu, x, (fh::test::Tolerance{1e-6, rtol}), "round trip");
    }
  }
}

TEST_CASE("copy is a byte copy") {
  for (DType t : kAllDTypes) {
    const Tensor src = kernels::cast(random({3, 129}, DType::F64, 0.0, 50.0), t).to(kGpu);
    const Tensor dst = kernels::copy(src);
    CHECK_FALSE(dst.shares_storage_with(src));
    INFO("copy " << fh::dtype_name(t));
    CHECK(bytes_of(dst) == bytes_of(src));
  }
}

// ---- Memory ----------------------------------------------------------------------------------

TEST_CASE("host <-> device copies round-trip bit exact") {
  for (DType t : kAllDTypes) {
    for (const Shape& s : {Shape{}, Shape{0}, Shape{1}, Shape{7, 13}, Shape{1000003}}) {
      const Tensor host = kernels::cast(random(s, DType::F64, 0.0, 1e3), t);
      const Tensor device = host.to(kGpu);
      CHECK(device.device() == kGpu);
      const Tensor back = device.to(Device::cpu());
      CHECK(back.device().is_cpu());
      INFO("round trip " << fh::dtype_name(t) << " " << s.str());
      CHECK(bytes_of(back) == bytes_of(host));
      // Device to device (same GPU) is a copy too.
      CHECK(bytes_of(device.to(kGpu)) == bytes_of(host));
    }
  }
}

TEST_CASE("caching allocator: in_use, peak, reuse and empty_cache") {
  fh::cuda::empty_cache();  // start from an empty cache: the first request below must miss
  fh::cuda::reset_peak_memory(0);
  const fh::cuda::MemoryStats before = fh::cuda::memory_stats(0);
  CHECK(before.peak_in_use == before.in_use);
  CHECK(before.reserved == before.in_use);

  const int64_t numel = (int64_t{3} << 20) / 4 + 3;  // just over 3 MiB of float32: rounds up to 4 MiB
  const size_t nbytes = static_cast<size_t>(numel) * 4;
  size_t block = 0;
  {
    const Tensor t = Tensor::empty({numel}, DType::F32, kGpu);
    const fh::cuda::MemoryStats during = fh::cuda::memory_stats(0);
    block = during.in_use - before.in_use;
    CHECK(block >= nbytes);
    CHECK(block < nbytes + (size_t{2} << 20));
    CHECK(during.reserved == before.reserved + block);
    CHECK(during.peak_in_use == during.in_use);
    CHECK(during.allocations == before.allocations + 1);
    CHECK(during.cache_hits == before.cache_hits);
  }
  const fh::cuda::MemoryStats after_free = fh::cuda::memory_stats(0);
  CHECK(after_free.in_use == before.in_use);
  CHECK(after_free.peak_in_use == before.in_use + block);  // the peak remembers
  CHECK(after_free.reserved == before.reserved + block);   // the block is cached, not returned

  {
    // Same size on the same stream: served from the cache, no new reservation.
    const Tensor again = Tensor::empty({numel}, DType::F32, kGpu);
    const fh::cuda::MemoryStats reuse = fh::cuda::memory_stats(0);
    CHECK(reuse.cache_hits == after_free.cache_hits + 1);
    CHECK(reuse.reserved == after_free.reserved);
    CHECK(reuse.in_use == before.in_use + block);
  }
  fh::cuda::empty_cache();
  const fh::cuda::MemoryStats emptied = fh::cuda::memory_stats(0);
  CHECK(emptied.reserved == after_free.reserved - block);
  CHECK(emptied.reserved == emptied.in_use);

  fh::cuda::reset_peak_memory(0);
  CHECK(fh::cuda::memory_stats(0).peak_in_use == fh::cuda::memory_stats(0).in_use);
}

TEST_CASE("caching allocator: small blocks are reused, bad frees are refused") {
  fh::cuda::empty_cache();  // so that the only cached 512-byte block is the one freed below
  void* p = fh::cuda::allocate(100, 0);
  CHECK(p != nullptr);
  fh::cuda::deallocate(p);
  const uint64_t hits = fh::cuda::memory_stats(0).cache_hits;
  void* q = fh::cuda::allocate(200, 0);  // rounds to the same 512-byte block
  CHECK(fh::cuda::memory_stats(0).cache_hits == hits + 1);
  CHECK(q == p);
  fh::cuda::deallocate(q);
  CHECK_NOTHROW(fh::cuda::deallocate(nullptr));
  int host_value = 0;
  CHECK_THROWS_AS(fh::cuda::deallocate(&host_value), fh::Error);
  CHECK_THROWS_AS(fh::cuda::allocate(16, fh::cuda::device_count()), fh::Error);
}

TEST_CASE("caching allocator: an impossible request is an out-of-memory error") {
  const size_t huge = size_t{1} << 52;  // 4 PiB
  CHECK_THROWS_WITH_AS(fh::cuda::allocate(huge, 0), doctest::Contains("out of memory"), fh::Error);
  // The failure is not left behind for the next kernel launch to report.
  const Tensor x = random({1000}).to(kGpu);
  FH_CHECK_CLOSE(kernels::unary(UnaryOp::Neg, x), kernels::unary(UnaryOp::Neg, x.to(Device::cpu())),
                 kElementwiseF32, "neg after an out-of-memory error");
}

TEST_CASE("device queries") {
  CHECK(fh::cuda::compiled());
  CHECK(fh::cuda::unavailable_reason().empty());
  const auto infos = fh::cuda::devices();
  REQUIRE(static_cast<int>(infos.size()) == fh::cuda::device_count());
  CHECK(infos[0].total_memory > 0);
  CHECK(infos[0].sm_count > 0);
  CHECK(fh::cuda::runtime_version() != "none");
  CHECK(fh::cuda::driver_version() != "none");
  CHECK_NOTHROW(fh::cuda::synchronize());
}

int main(int argc, char** argv) {
  if (fh::cuda::device_count() == 0) {
    std::cout << "fh_cuda_tests: SKIPPED — " << fh::cuda::unavailable_reason() << std::endl;
    return 77;
  }
  (void)fh::test::run_seed();  // prints the seed before any test draws from it
  doctest::Context context(argc, argv);
  return context.run();
}
