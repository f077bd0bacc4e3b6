// The Winograd F(2x2, 3x3) path of the CPU conv (float32, 3x3 stride 1 pad 1, wide layers)
// against the direct float64 conv, on odd sizes (partial 2x2 tiles at the bottom and right
// edges), batches whose tiles span chunk boundaries, and with and without bias.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "kernels/conv_types.h"
#include "kernels/cpu/conv_winograd.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"

using namespace fh;

TEST_CASE("conv2d Winograd path: float32 matches the float64 direct conv on wide 3x3 layers") {
  Generator g(test::run_seed());
  struct Case {
    int64_t n, h, w, cin, cout;
    bool bias;
  };
  const Case cases[] = {{1, 8, 8, 128, 384, true},  {2, 7, 9, 384, 136, false}, {1, 3, 5, 130, 400, true},
                        {3, 33, 17, 256, 256, true}, {1, 64, 64, 512, 128, false}};
  NoGradGuard no_grad;
  double worst = 0;
  for (const Case& c : cases) {
    kernels::Conv2dParams p;
    p.N = c.n, p.H = c.h, p.W = c.w, p.Cin = c.cin, p.Cout = c.cout, p.kh = 3, p.kw = 3, p.stride = 1, p.pad = 1;
    REQUIRE(kernels::cpu::winograd_applies(p));
    const Tensor x = randn({c.n, c.h, c.w, c.cin}, g);
    const Tensor w = randn({c.cout, 3, 3, c.cin}, g, 0.0, 0.05);
    const Tensor b = c.bias ? randn({c.cout}, g) : Tensor();
    const Tensor ours = conv2d(x, w, b, 1, 1);
    const Tensor ref = conv2d(x.to(DType::F64), w.to(DType::F64), c.bias ? b.to(DType::F64) : Tensor(), 1, 1);
    // Outputs are sums of 9·Cin products of size ~0.05; the transforms round each term a
    // few more times than the direct product does.
    const test::Tolerance tol{3e-5, 1.5e-4};
    FH_CHECK_CLOSE(ours, ref.to(DType::F32), tol, "winograd " + x.shape().str() + " -> " + std::to_string(c.cout));
    worst = std::max(worst, test::compare(ours, ref.to(DType::F32), tol).worst_fraction);
  }
  MESSAGE("worst fraction of threshold: ", worst);
  // Narrow, strided or non-3x3 layers keep the direct path.
  kernels::Conv2dParams narrow;
  narrow.N = 1, narrow.H = 8, narrow.W = 8, narrow.Cin = 32, narrow.Cout = 32, narrow.kh = 3, narrow.kw = 3;
  narrow.stride = 1, narrow.pad = 1;
  CHECK(!kernels::cpu::winograd_applies(narrow));
  narrow.Cin = narrow.Cout = 128;  // the generator's 128→128 layers run faster directly
  CHECK(!kernels::cpu::winograd_applies(narrow));
  narrow.Cin = narrow.Cout = 512;
  narrow.stride = 2;
  CHECK(!kernels::cpu::winograd_applies(narrow));
}
