// The register-blocked product (kernels/cpu/register_product.h) on its own: every vector
// count and every leftover row count, results written only where asked, the packing
// transpose with its zero padding, and sums that do not depend on how the rows are split.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/register_product.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"

using namespace fh::kernels::cpu;

namespace {

std::vector<float> random_values(size_t n, fh::Generator& g) {
  const fh::Tensor t = fh::randn({static_cast<int64_t>(n)}, g);
  return t.to_vector<float>();
}

}  // namespace

TEST_CASE("register product: every vector count and row remainder matches a float64 product, columns past cols untouched") {
  fh::Generator g(fh::test::run_seed());
  constexpr int64_t K = 37, ldc = 70;
  double worst = 0;
  for (int nv = 1; nv <= 4; ++nv) {
    const int64_t width = nv * product::kLanes;
    for (const int64_t rows : {1, 5, 6, 7, 11, 12, 13, 25}) {
      for (const int64_t cols : {width, width - 3}) {
        const std::vector<float> a = random_values(static_cast<size_t>(rows * (K + 2)), g);  // lda = K + 2
        const std::vector<float> b = random_values(static_cast<size_t>(K * width), g);
        std::vector<float> c(static_cast<size_t>(rows * ldc), -7.0f);
        product::multiply(a.data(), K + 2, rows, b.data(), K, nv, c.data(), ldc, cols);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < ldc; ++j) {
            const float got = c[static_cast<size_t>(r * ldc + j)];
            if (j >= cols) {
              REQUIRE(got == -7.0f);
              continue;
            }
            double ref = 0, size = 0;
            for (int64_t k = 0; k < K; ++k) {
              const double t = double(a[static_cast<size_t>(r * (K + 2) + k)]) * b[static_cast<size_t>(k * width + j)];
              ref += t;
              size += std::abs(t);
            }
            // K float32 roundings of partial sums no larger than Σ|terms|.
            const double bound = K * 0x1p-24 * size + 1e-30;
            worst = std::max(worst, std::abs(got - ref) / bound);
          }
      }
    }
  }
  MESSAGE("worst error ", worst, " of the K·u·Σ|a·b| bound");
  CHECK(worst <= 1.0);
}

TEST_CASE("register product: a row's result has the same bits however the rows are split") {
  fh::Generator g(fh::test::run_seed());
  constexpr int64_t K = 301, rows = 29;
  const int nv = 3;
  const int64_t width = nv * product::kLanes;
  const std::vector<float> a = random_values(static_cast<size_t>(rows * K), g);
  const std::vector<float> b = random_values(static_cast<size_t>(K * width), g);
  std::vector<float> whole(static_cast<size_t>(rows * width)), pieces(whole.size());
  product::multiply(a.data(), K, rows, b.data(), K, nv, whole.data(), width, width);
  for (int64_t r0 = 0; r0 < rows; r0 += 4)  // 4-row pieces: other micro-tile heights
    product::multiply(a.data() + r0 * K, K, std::min<int64_t>(4, rows - r0), b.data(), K, nv,
                      pieces.data() + r0 * width, width, width);
  CHECK(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)) == 0);
}

TEST_CASE("register product: packing transposes and pads with zeros") {
  fh::Generator g(fh::test::run_seed());
  for (const int64_t n : {16, 21, 40}) {
    for (const int64_t K : {16, 19, 48}) {
      const int64_t ld_src = K + 5, n_pad = (n + 15) / 16 * 16, ld_dst = n_pad + 16;
      const std::vector<float> src = random_values(static_cast<size_t>(n * ld_src), g);
      std::vector<float> dst(static_cast<size_t>(K * ld_dst), -1.0f);
      product::pack_transposed(src.data(), ld_src, n, K, n_pad, dst.data(), ld_dst);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < ld_dst; ++j) {
          const float got = dst[static_cast<size_t>(k * ld_dst + j)];
          const float want = j < n ? src[static_cast<size_t>(j * ld_src + k)] : (j < n_pad ? 0.0f : -1.0f);
          REQUIRE(got == want);
        }
    }
  }
}
