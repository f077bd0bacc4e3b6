// Parity of the warp family with PyTorch: fresh random float32 inputs every run, outputs
// and every input gradient compared with atol + rtol·|ref|, reported as a fraction of the
// threshold. One oracle process serves all cases (tools/oracle/ops_warp.py).
//
// Tolerances, from the float32 arithmetic each op does (unit normals, so |values| < 5):
//  - warp: the oracle evaluates grid_sample in float64 (ops_warp.py), and freehead's
//    bilinear weights are exact to half an ulp of 1 whatever the image size
//    (kernels/cpu/warp.cpp), so what remains is freehead's rounding of a few products: about
//    an ulp of the output, atol 1e-6. The flow gradient sums C
//    channels: atol 1e-6·√C. grad_src sums every output pixel that sampled a source pixel,
//    and flows far outside pile up to H·W of them onto the border: atol 5e-7·√(H·W).
//  - nshot_fusion: softmax weights and a sum of M products, atol 5e-7; the m gradient is a
//    dot product over C channels less its weighted mean, atol 1e-6·√C.
//  - pixel shuffle / unshuffle only move values: they must match bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>

#include "autograd/ops.h"
#include "tests/harness/flow_inputs.h"
#include "tests/harness/parity.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {

ParityCase make_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs,
                   std::vector<bool> nhwc, std::function<Tensor(const std::vector<Tensor>&)> ours, Tolerance out_tol,
                   std::vector<Tolerance> grad_tol) {
  ParityCase c = make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), out_tol);
  c.oracle.nhwc = std::move(nhwc);
  c.oracle.nhwc_output = true;
  c.grad_tol = std::move(grad_tol);
  return c;
}

// Sizes in [1, max] with 1 and odd sizes common.
int64_t some_size(fh::Generator& gen, int64_t max) { return rand_int(gen, 0, 3) == 0 ? 1 : rand_int(gen, 2, max); }

ParityCase warp_case(fh::Generator& gen, const Shape& s, FlowRange range) {
  const double pixels = static_cast<double>(s[1] * s[2]), channels = static_cast<double>(s[3]);
  const Tolerance out_tol{1e-6, 1e-6}, src_tol{5e-7 * std::sqrt(pixels), 2e-6}, flow_tol{1e-6 * std::sqrt(channels), 2e-6};
  return make_case(gen, "warp", "", {fh::randn(s, gen), random_flow(gen, s[0], s[1], s[2], range, DType::F32)},
                   {true, false}, [](auto& x) { return fh::warp(x[0], x[1]); }, out_tol, {src_tol, flow_tol});
}

ParityCase fusion_case(fh::Generator& gen, int64_t N, int64_t M, int64_t H, int64_t W, int64_t C) {
  const Tolerance out_tol{5e-7, 1e-6}, m_tol{1e-6 * std::sqrt(static_cast<double>(C)), 1e-6};
  return make_case(gen, "nshot_fusion", "", {fh::randn({N, M, H, W, 1}, gen, 0.0, 2.0), fh::randn({N, M, H, W, C}, gen)},
                   {false, false}, [](auto& x) { return fh::nshot_fusion(x[0], x[1]); }, out_tol, {m_tol, out_tol});
}

ParityCase shuffle_case(fh::Generator& gen, bool unshuffle, int64_t r, const Shape& s) {
  const std::string args = "{\"r\":" + std::to_string(r) + "}";
  ParityCase c = make_case(gen, unshuffle ? "pixel_unshuffle" : "pixel_shuffle", args, {fh::randn(s, gen)}, {true},
                         [unshuffle, r](auto& x) { return unshuffle ? fh::pixel_unshuffle(x[0], r) : fh::pixel_shuffle(x[0], r); },
                         {1e-7, 0}, {{1e-7, 0}});
  c.exact = true;
  return c;
}

std::vector<ParityCase> build_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  const FlowRange ranges[] = {FlowRange::Small, FlowRange::Image, FlowRange::Far, FlowRange::Mixed};
  for (int trial = 0; trial < 12; ++trial) {
    const Shape s{rand_int(gen, 1, 3), some_size(gen, 13), some_size(gen, 13), some_size(gen, 40)};
    cases.push_back(warp_case(gen, s, ranges[trial % 4]));
  }
  // One-pixel axes, a single channel, a long channel row with a lane tail, a larger image.
  for (const Shape& s : {Shape{1, 1, 9, 4}, Shape{2, 7, 1, 3}, Shape{3, 5, 8, 1}, Shape{1, 6, 5, 67}, Shape{2, 24, 31, 3}})
    cases.push_back(warp_case(gen, s, FlowRange::Mixed));

  for (int64_t M : {1, 4, 2, 3}) {
    cases.push_back(fusion_case(gen, rand_int(gen, 1, 2), M, some_size(gen, 9), some_size(gen, 9), some_size(gen, 40)));
  }
  cases.push_back(fusion_case(gen, 1, 4, 7, 5, 32));

  for (int64_t r : {1, 2, 3}) {
    const int64_t N = rand_int(gen, 1, 2), H = some_size(gen, 7), W = some_size(gen, 7), C = some_size(gen, 9);
    cases.push_back(shuffle_case(gen, false, r, {N, H, W, C * r * r}));
    cases.push_back(shuffle_case(gen, true, r, {N, H * r, W * r, C}));
  }
  cases.push_back(shuffle_case(gen, false, 2, {1, 5, 3, 4 * 32}));
  return cases;
}

}  // namespace

TEST_CASE("PyTorch parity: warp, nshot_fusion, pixel_shuffle and pixel_unshuffle") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  const std::vector<ParityCase> cases = build_cases(gen);
  double worst = 0;
  std::map<std::string, double> worst_by_op;
  if (!run_parity(cases, &worst, &worst_by_op)) return;
  for (const auto& [op, w] : worst_by_op) MESSAGE(op << ": worst error " << w << " of threshold");
  MESSAGE(cases.size() << " cases against PyTorch");
}
