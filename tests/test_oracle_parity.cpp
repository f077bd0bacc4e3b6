// Parity with PyTorch: fresh random float32 inputs each run, every op, outputs and input
// gradients compared with atol + rtol·|ref|. One Python process serves all cases.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/ops.h"
#include "tests/harness/parity.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {

ParityCase make_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours,
                     Tolerance tol = {1e-6, 1e-5}) {
  return make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), tol);
}

std::string dims_json(const std::vector<int64_t>& dims, bool keepdim) {
  std::string s = "{\"dims\":[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "],\"keepdim\":" + (keepdim ? "true" : "false") + "}";
}

std::vector<ParityCase> build_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  auto randn = [&](const Shape& s) { return fh::randn(s, gen); };
  for (int trial = 0; trial < 8; ++trial) {
    const Shape sa = random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 6);
    const Shape sb = broadcastable_to(gen, sa);
    const bool swap = rand_int(gen, 0, 1) == 1;
    const Shape s0 = swap ? sb : sa, s1 = swap ? sa : sb;
    cases.push_back(make_case(gen, "add", "", {randn(s0), randn(s1)}, [](auto& x) { return x[0] + x[1]; }));
    cases.push_back(make_case(gen, "sub", "", {randn(s0), randn(s1)}, [](auto& x) { return x[0] - x[1]; }));
    cases.push_back(make_case(gen, "mul", "", {randn(s0), randn(s1)}, [](auto& x) { return x[0] * x[1]; }));
    cases.push_back(make_case(gen, "div", "", {randn(s0), fh::rand(s1, gen, 0.5, 2.0)},
                              [](auto& x) { return x[0] / x[1]; }, {1e-6, 2e-5}));
    cases.push_back(make_case(gen, "relu", "", {randn(sa)}, [](auto& x) { return fh::relu(x[0]); }));
    cases.push_back(make_case(gen, "exp", "", {randn(sa)}, [](auto& x) { return fh::exp(x[0]); }));
    cases.push_back(make_case(gen, "log", "", {fh::rand(sa, gen, 0.1, 4.0)}, [](auto& x) { return fh::log(x[0]); }));
    cases.push_back(make_case(gen, "neg", "", {randn(sa)}, [](auto& x) { return -x[0]; }));
    cases.push_back(make_case(gen, "scale", "{\"alpha\":-1.75}", {randn(sa)}, [](auto& x) { return x[0] * -1.75; }));
    cases.push_back(make_case(gen, "add_scalar", "{\"alpha\":0.25}", {randn(sa)}, [](auto& x) { return x[0] + 0.25; }));

    // Reductions over a random subset of dims (possibly all), with and without keepdim.
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape sr = random_shape(gen, nd, 7);
    std::vector<int64_t> dims;
    for (int d = 0; d < nd; ++d)
      if (rand_int(gen, 0, 1)) dims.push_back(rand_int(gen, 0, 1) ? d : d - nd);
    const bool keepdim = rand_int(gen, 0, 1) == 1;
    cases.push_back(make_case(gen, "sum", dims_json(dims, keepdim), {randn(sr)},
                              [=](auto& x) { return fh::sum(x[0], dims, keepdim); }, {1e-5, 1e-5}));
    cases.push_back(make_case(gen, "mean", dims_json(dims, keepdim), {randn(sr)},
                              [=](auto& x) { return fh::mean(x[0], dims, keepdim); }, {1e-6, 1e-5}));
    cases.push_back(make_case(gen, "reshape", "{\"shape\":[-1]}", {randn(sr)},
                              [](auto& x) { return fh::reshape(x[0], {-1}); }));

    // matmul: plain, batched, broadcast batch, with size-1 dims.
    const int64_t M = rand_int(gen, 1, 9), K = rand_int(gen, 1, 40), N = rand_int(gen, 1, 9), B = rand_int(gen, 1, 3);
    Shape ma{M, K}, mb{K, N};
    switch (trial % 4) {
      case 1: ma.insert(0, B), mb.insert(0, B); break;
      case 2: ma.insert(0, B); break;
      case 3: ma.insert(0, B), ma.insert(0, 2), mb.insert(0, B), mb.insert(0, 1); break;
      default: break;
    }
    // Float32 rounding grows like sqrt(K) in a dot product of unit-variance terms.
    const double atol = 2e-6 * std::sqrt(static_cast<double>(K));
    cases.push_back(make_case(gen, "matmul", "", {randn(ma), randn(mb)}, [](auto& x) { return fh::matmul(x[0], x[1]); },
                              {atol, 1e-5}));
  }
  // permute, and the NHWC plumbing: channel c (last dim here, dim 1 in PyTorch) scaled by c + 1.
  cases.push_back(make_case(gen, "permute", "{\"dims\":[2,0,3,1]}", {randn({2, 3, 4, 5})},
                            [](auto& x) { return fh::permute(x[0], {2, 0, 3, 1}); }));
  {
    ParityCase c = make_case(gen, "scale_channels", "", {randn({2, 3, 4, 5})}, [](auto& x) {
      return x[0] * Tensor::from_vector<float>({1, 2, 3, 4, 5}, {5});
    });
    c.oracle.nhwc = {true};
    c.oracle.nhwc_output = true;
    cases.push_back(c);
  }
  // A large reduction that exercises the split-reduction path.
  cases.push_back(make_case(gen, "sum", "{\"dims\":[],\"keepdim\":false}", {randn({300, 1000})},
                            [](auto& x) { return fh::sum(x[0]); }, {1e-3, 1e-5}));
  cases.push_back(make_case(gen, "matmul", "", {randn({64, 256}), randn({256, 48})},
                            [](auto& x) { return fh::matmul(x[0], x[1]); }, {1e-4, 1e-5}));
  return cases;
}

}  // namespace

TEST_CASE("PyTorch parity: outputs and gradients of every op") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  const std::vector<ParityCase> cases = build_cases(gen);
  double worst = 0;
  if (run_parity(cases, &worst)) MESSAGE(cases.size() << " cases against PyTorch; worst error " << worst << " of threshold");
}
