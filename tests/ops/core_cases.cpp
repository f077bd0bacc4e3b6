// The core family's cases: elementwise arithmetic with broadcasting, relu/exp/log/neg and
// scalar ops, sums and means over any dims, reshape, permute, matmul (plain, batched,
// broadcast), and the dense layer's ops (linear, transpose, small batched matmuls).
//
// Tolerances against PyTorch, float32: a dot product of K unit-variance terms errs like
// √K·ε: matmul atol 2e-6·√K; linear and the small matmuls, sums of `terms` products, up to
// about terms·ε: atol max(1e-6, 2.5e-7·terms). Between the devices: elementwise results a
// few ulps (exp/log are not correctly rounded on either side); sums one final rounding
// (both sum in double); matmuls their summation order over K; the gradients of broadcast
// operands are sums.
#include <cmath>
#include <iterator>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/core_tolerances.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

const char* const kBinaryNames[] = {"add", "sub", "mul", "div"};

OpCase binary_case(int op, Input a, Input b, unsigned purposes) {
  OpCase c;
  c.op = kBinaryNames[op];
  c.inputs = {a, b};
  c.run = [op](const std::vector<Tensor>& x) {
    switch (op) {
      case 0: return x[0] + x[1];
      case 1: return x[0] - x[1];
      case 2: return x[0] * x[1];
      default: return x[0] / x[1];
    }
  };
  c.purposes = purposes;
  if (op == 3) c.torch_tol = {1e-6, 2e-5};
  // The gradient of a broadcast operand sums over the broadcast dims.
  c.compare_devices_within(kElementwiseF32, kElementwiseF64, kSumF32, kSumF64);
  c.forward_work = read_inputs_write_output;
  c.backward_work = [](const std::vector<Shape>& in, const Shape& out) {
    return Work{0, 4.0 * (3.0 * elements(out) + elements(in[0]) + elements(in[1]))};
  };
  return c;
}

OpCase unary_case(const std::string& op, const std::string& args, RunFn run, Input x, unsigned purposes) {
  OpCase c;
  c.op = op;
  c.args = args;
  c.inputs = {x};
  c.run = std::move(run);
  c.purposes = purposes;
  c.compare_devices_within(kElementwiseF32, kElementwiseF64, kElementwiseF32, kElementwiseF64);
  c.forward_work = read_inputs_write_output;
  c.backward_work = [](const std::vector<Shape>& in, const Shape&) { return Work{0, 12.0 * elements(in[0])}; };
  return c;
}

// Every unary op on inputs of shape s, in this order: relu (its kink at 0 avoided,
// |x| >= 0.1), exp, log (positive values), neg, scale, add_scalar.
std::vector<OpCase> unary_cases(const Shape& s, unsigned purposes) {
  Input away{s, Values::Custom};
  away.custom = [](const Shape& shape, Generator& gen, DType dt) {
    std::vector<double> v = randn(shape, gen, 0.0, 1.0, DType::F64).to_vector<double>();
    for (double& e : v)
      if (std::abs(e) < 0.1) e = e < 0 ? -0.1 - e : 0.1 + e;
    return Tensor::from_vector(v, shape).to(dt);
  };
  // (A benchmark's inputs are plain normals, which its PyTorch peer can draw too.)
  return {unary_case("relu", "", [](const std::vector<Tensor>& x) { return relu(x[0]); },
                     purposes == kBench ? Input{s} : away, purposes),
          unary_case("exp", "", [](const std::vector<Tensor>& x) { return exp(x[0]); }, Input{s}, purposes),
          unary_case("log", "", [](const std::vector<Tensor>& x) { return log(x[0]); },
                     Input{s, Values::Uniform, 0.1, 4.0}, purposes),
          unary_case("neg", "", [](const std::vector<Tensor>& x) { return -x[0]; }, Input{s}, purposes),
          unary_case("scale", "{\"alpha\":-1.75}", [](const std::vector<Tensor>& x) { return x[0] * -1.75; },
                     Input{s}, purposes),
          unary_case("add_scalar", "{\"alpha\":0.25}", [](const std::vector<Tensor>& x) { return x[0] + 0.25; },
                     Input{s}, purposes)};
}

void append(std::vector<OpCase>& t, std::vector<OpCase> cases) {
  t.insert(t.end(), std::make_move_iterator(cases.begin()), std::make_move_iterator(cases.end()));
}

OpCase reduce_case(bool is_mean, const Shape& s, const std::vector<int64_t>& dims, bool keepdim, unsigned purposes) {
  OpCase c;
  c.op = is_mean ? "mean" : "sum";
  c.args = "{\"dims\":" + json_list(dims) + ",\"keepdim\":" + (keepdim ? "true" : "false") + "}";
  c.variant = "dims" + json_list(dims) + (keepdim ? "+keepdim" : "");
  c.inputs = {Input{s}};
  c.run = [is_mean, dims, keepdim](const std::vector<Tensor>& x) {
    return is_mean ? mean(x[0], dims, keepdim) : sum(x[0], dims, keepdim);
  };
  c.purposes = purposes;
  c.torch_tol = is_mean ? Tolerance{1e-6, 1e-5} : Tolerance{1e-5, 1e-5};
  // The gradient is the upstream one broadcast back: the same on both sides.
  c.compare_devices_within(kSumF32, kSumF64, kElementwiseF32, kElementwiseF64);
  c.forward_work = read_inputs_write_output;
  c.backward_work = read_inputs_write_output;
  return c;
}

OpCase permute_case(const Shape& s, const std::vector<int64_t>& dims, unsigned purposes) {
  OpCase c;
  c.op = "permute";
  c.args = "{\"dims\":" + json_list(dims) + "}";
  c.variant = "to" + json_list(dims);
  c.inputs = {Input{s}};
  c.run = [dims](const std::vector<Tensor>& x) { return permute(x[0], dims); };
  c.purposes = purposes;
  c.torch_exact = true;
  c.torch_tol = {1e-7, 0};
  c.forward_work = c.backward_work = read_inputs_write_output;
  return c;
}

// a [..., M, K] · b [..., K, N]: 2·M·N·K FLOPs per product; the gradients twice that.
Work matmul_flops(const std::vector<Shape>& in, const Shape& out, double passes) {
  const int64_t K = in[0][in[0].size() - 1];
  return {passes * 2.0 * elements(out) * static_cast<double>(K), 0};
}

OpCase matmul_case(const Shape& a, const Shape& b, unsigned purposes, Tolerance torch_tol) {
  OpCase c;
  c.op = "matmul";
  c.inputs = {Input{a}, Input{b}};
  c.run = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  c.purposes = purposes;
  c.torch_tol = torch_tol;
  c.compare_devices_within(kMatmulF32, kMatmulF64, kMatmulF32, kMatmulF64);
  c.forward_work = [](const std::vector<Shape>& in, const Shape& out) { return matmul_flops(in, out, 1); };
  c.backward_work = [](const std::vector<Shape>& in, const Shape& out) { return matmul_flops(in, out, 2); };
  return c;
}
Tolerance dot_tolerance(int64_t K) { return {2e-6 * std::sqrt(static_cast<double>(K)), 1e-5}; }
Tolerance terms_tolerance(double terms) { return {std::max(1e-6, 2.5e-7 * terms), 1e-5}; }

// The dense ops are small: their work is counted in bytes (and FLOPs) so that the GPU's
// rate is against the copy ceiling.
OpCase small_matmul_case(const Shape& a, const Shape& b, unsigned purposes, double terms) {
  OpCase c = matmul_case(a, b, purposes, terms_tolerance(terms));
  c.forward_work = [](const std::vector<Shape>& in, const Shape& out) {
    Work w = matmul_flops(in, out, 1);
    w.bytes = 4.0 * (elements(in[0]) + elements(in[1]) + elements(out));
    return w;
  };
  c.backward_work = [](const std::vector<Shape>& in, const Shape& out) {
    Work w = matmul_flops(in, out, 2);
    w.bytes = 8.0 * (elements(in[0]) + elements(in[1]) + elements(out));
    return w;
  };
  return c;
}

OpCase linear_case(const Shape& x, int64_t out, bool bias, unsigned purposes, double terms) {
  const int64_t in = x[x.size() - 1];
  OpCase c;
  c.op = "linear";
  c.variant = bias ? "bias" : "";
  c.inputs = {Input{x}, Input{{out, in}}};
  if (bias) c.inputs.push_back(Input{{out}});
  c.run = [bias](const std::vector<Tensor>& v) { return linear(v[0], v[1], bias ? v[2] : Tensor()); };
  c.purposes = purposes;
  c.torch_tol = terms_tolerance(terms);
  c.compare_devices_within(kMatmulF32, kMatmulF64, kMatmulF32, kMatmulF64);
  c.forward_work = [](const std::vector<Shape>& s, const Shape& o) {
    const double rows = elements(o) / static_cast<double>(s[1][0]), in = static_cast<double>(s[1][1]),
                 outs = static_cast<double>(s[1][0]);
    return Work{2.0 * rows * in * outs + rows * outs, 4.0 * (rows * in + outs * in + outs + rows * outs)};
  };
  c.backward_work = [](const std::vector<Shape>& s, const Shape& o) {
    const double rows = elements(o) / static_cast<double>(s[1][0]), in = static_cast<double>(s[1][1]),
                 outs = static_cast<double>(s[1][0]);
    return Work{4.0 * rows * in * outs + rows * outs, 4.0 * (2 * rows * outs + 2 * rows * in + 2 * outs * in + outs)};
  };
  return c;
}

OpCase transpose_case(const Shape& s, int64_t d0, int64_t d1, unsigned purposes) {
  OpCase c;
  c.op = "transpose";
  c.args = "{\"dim0\":" + std::to_string(d0) + ",\"dim1\":" + std::to_string(d1) + "}";
  c.variant = std::to_string(d0) + "," + std::to_string(d1);
  c.inputs = {Input{s}};
  c.run = [d0, d1](const std::vector<Tensor>& x) { return transpose(x[0], d0, d1); };
  c.purposes = purposes;
  c.forward_work = c.backward_work = read_inputs_write_output;
  return c;
}

}  // namespace

void add_core_cases(std::vector<OpCase>& t, Generator& gen) {
  // ---- Random shapes with broadcasting and size-1 dims; either operand the broadcast one.
  for (int trial = 0; trial < 8; ++trial) {
    const Shape sa = random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 6);
    const Shape sb = broadcastable_to(gen, sa);
    const bool swap = rand_int(gen, 0, 1) == 1;
    const Shape s0 = swap ? sb : sa, s1 = swap ? sa : sb;
    for (int op = 0; op < 3; ++op) t.push_back(binary_case(op, Input{s0}, Input{s1}, kChecks));
    t.push_back(binary_case(3, Input{s0}, Input{s1, Values::Uniform, 0.5, 2.0}, kChecks));
    append(t, unary_cases(sa, kChecks));
    // Reductions over a random subset of dims (possibly all), with and without keepdim.
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape sr = random_shape(gen, nd, 7);
    std::vector<int64_t> dims;
    for (int d = 0; d < nd; ++d)
      if (rand_int(gen, 0, 1)) dims.push_back(rand_int(gen, 0, 1) ? d : d - nd);
    const bool keepdim = rand_int(gen, 0, 1) == 1;
    t.push_back(reduce_case(false, sr, dims, keepdim, kChecks));
    t.push_back(reduce_case(true, sr, dims, keepdim, kChecks));
    {
      OpCase c;
      c.op = "reshape";
      c.args = "{\"shape\":[-1]}";
      c.inputs = {Input{sr}};
      c.run = [](const std::vector<Tensor>& x) { return reshape(x[0], {-1}); };
      c.purposes = kChecks;
      c.torch_exact = true;
      c.torch_tol = {1e-7, 0};
      t.push_back(c);
    }
    // matmul: plain, batched, broadcast batch, with size-1 dims.
    const int64_t M = rand_int(gen, 1, 9), K = rand_int(gen, 1, 40), N = rand_int(gen, 1, 9), B = rand_int(gen, 1, 3);
    Shape ma{M, K}, mb{K, N};
    switch (trial % 4) {
      case 1: ma.insert(0, B), mb.insert(0, B); break;
      case 2: ma.insert(0, B); break;
      case 3: ma.insert(0, B), ma.insert(0, 2), mb.insert(0, B), mb.insert(0, 1); break;
      default: break;
    }
    t.push_back(matmul_case(ma, mb, kChecks, dot_tolerance(K)));
  }
  t.push_back(permute_case({2, 3, 4, 5}, {2, 0, 3, 1}, kChecks));
  t.push_back(permute_case({3, 1, 4}, {2, 0, 1}, kChecks));
  t.push_back(permute_case({2, 3, 2, 4}, {0, 3, 1, 2}, kChecks));  // NHWC -> NCHW
  {
    // The NHWC plumbing: channel c (last dim here, dim 1 in PyTorch) scaled by c + 1.
    OpCase c;
    c.op = "scale_channels";
    c.inputs = {Input{{2, 3, 4, 5}}};
    c.inputs[0].nhwc = true;
    c.nhwc_output = true;
    c.run = [](const std::vector<Tensor>& x) {
      return x[0] * Tensor::from_vector<double>({1, 2, 3, 4, 5}, {5}).to(x[0].dtype()).to(x[0].device());
    };
    c.purposes = kChecks;
    c.compare_devices_within(kElementwiseF32, kElementwiseF64, kElementwiseF32, kElementwiseF64);
    t.push_back(c);
  }
  // A large reduction (the split-reduction path), a larger product.
  t.push_back(reduce_case(false, {300, 1000}, {}, false, kTorch | kDevice));
  t.back().torch_tol = {1e-3, 1e-5};
  t.push_back(matmul_case({64, 256}, {256, 48}, kTorch | kDevice, {1e-4, 1e-5}));
  {
    // Parameters in a composite: a one-layer MLP's loss, the data fixed.
    OpCase c;
    c.op = "mlp loss (composite)";
    c.inputs = {Input{{4, 3}, Values::Uniform, -1, 1}, Input{{3, 5}}, Input{{5}}, Input{{4, 5}, Values::Uniform, 0, 1}};
    c.inputs[0].requires_grad = c.inputs[3].requires_grad = false;
    c.run = [](const std::vector<Tensor>& p) {
      const Tensor d = relu(matmul(p[0], p[1]) + p[2]) - p[3];
      return mean(d * d, {1});
    };
    c.purposes = kGradcheck;
    t.push_back(c);
  }

  // ---- The dense layer: linear on x [..., in] with 0 to 2 leading dims, with and without
  // bias; transposes of random 4-d shapes.
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t in = rand_int(gen, 1, 40), out = rand_int(gen, 1, 30);
    Shape xs = random_shape(gen, static_cast<int>(rand_int(gen, 0, 2)), 5);
    xs.push_back(in);
    const double terms = std::max<double>({double(in), double(out), double(xs.numel() / in)});
    t.push_back(linear_case(xs, out, true, kChecks, terms));
    t.push_back(linear_case(xs, out, false, kChecks, terms));
    t.push_back(transpose_case(random_shape(gen, 4, 5), rand_int(gen, -4, 3), rand_int(gen, -4, 3), kChecks));
  }
  // The key-point heads' shape; rotations of key-points, batch 1 to 64, plain and with a
  // broadcast rotation; products on both sides of the plain-loop threshold (M·N·K = 1024).
  t.push_back(linear_case({8, 512}, 204, true, kTorch | kDevice, 512));
  for (int64_t B : {1, 5, 64}) t.push_back(small_matmul_case({B, 3, 3}, {B, 3, 68}, kChecks, 68));
  t.push_back(small_matmul_case({3, 3}, {7, 3, 68}, kChecks, 68 * 7));
  t.push_back(small_matmul_case({6, 8, 16}, {6, 16, 8}, kChecks, 16));
  t.push_back(small_matmul_case({6, 8, 16}, {6, 16, 9}, kChecks, 16));
  t.push_back(small_matmul_case({2, 1, 37}, {2, 37, 1}, kChecks, 37));
  {
    // pᵀ · Rᵀ, whose backward takes the transposed-operand loops.
    OpCase c;
    c.op = "p^T R^T (composite)";
    c.inputs = {Input{{4, 3, 3}}, Input{{4, 3, 17}}};
    c.run = [](const std::vector<Tensor>& x) { return matmul(transpose(x[1], 1, 2), transpose(x[0], 1, 2)); };
    c.purposes = kGradcheck | kDevice;
    c.compare_devices_within(kMatmulF32, kMatmulF64, kMatmulF32, kMatmulF64);
    t.push_back(c);
  }

  // ---- The devices: elementwise operands of every broadcast kind (scalars, a row, size-1
  // dims on both sides, an empty one, a million and three) and the networks' (a bias or
  // per-channel scale over NHWC maps, VGG's per-colour normalisation, points moved by
  // per-image offsets, N-shot weights over the channels), both operand orders.
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{}, {}},                     {{}, {2, 3}},           {{7}, {1}},
      {{2, 3}, {2, 3}},             {{2, 3}, {3}},          {{4, 1, 5}, {1, 3, 1}},
      {{3, 1, 7, 1}, {1, 5, 1, 9}}, {{1000, 333}, {333}},   {{65, 1, 129}, {1, 257, 1}},
      {{2, 0, 3}, {3}},             {{1, 1, 1}, {1}},       {{1000003}, {1000003}},
      {{2, 64, 64, 32}, {32}},      {{1, 256, 256, 3}, {1, 1, 1, 3}}, {{2, 68, 3}, {2, 1, 3}},
      {{2, 482, 3}, {2, 1, 1}},     {{2, 4, 64, 64, 1}, {2, 4, 64, 64, 3}},
  };
  for (const auto& [sa, sb] : pairs) {
    for (int op = 0; op < 4; ++op) {
      t.push_back(binary_case(op, Input{sa}, Input{sb}, kDevice));
      t.push_back(binary_case(op, Input{sb}, Input{sa}, kDevice));
    }
  }
  for (const Shape& s : {Shape{}, Shape{1}, Shape{17}, Shape{3, 1, 5}, Shape{1000003}, Shape{2, 64, 64, 32},
                         Shape{1, 256, 256, 3}, Shape{200003}, Shape{2, 64, 64, 64}, Shape{1, 32, 32, 512}})
    append(t, unary_cases(s, kDevice));
  // Layout changes at tiny, small and paper sizes: PyTorch images in ([B,3,S,S] -> NHWC),
  // N-shot sources in ([B,M,3,S,S]), outputs out ([B,S,S,C] -> NCHW), the rotation transposes
  // and the gaze neck's flatten; odd ones: identity, size-1 and empty dims, primes, a 0-d
  // tensor, every dim reversed at the most dims a layout holds, a transpose past 2^20.
  for (const auto& [s, dims] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{2, 3, 64, 64}, {0, 2, 3, 1}},      {{1, 3, 256, 256}, {0, 2, 3, 1}},  {{2, 6, 128, 128}, {0, 2, 3, 1}},
           {{1, 3, 3, 64, 64}, {0, 1, 3, 4, 2}}, {{2, 4, 3, 128, 128}, {0, 1, 3, 4, 2}}, {{2, 64, 64, 3}, {0, 3, 1, 2}},
           {{1, 256, 256, 2}, {0, 3, 1, 2}},    {{2, 32, 32, 512}, {0, 3, 1, 2}},  {{1, 3, 64, 64, 2}, {0, 1, 4, 2, 3}},
           {{8, 3, 3}, {0, 2, 1}},              {{2, 1, 1, 128}, {0, 3, 1, 2}},    {{2, 2, 2, 256}, {0, 3, 1, 2}},
           {{}, {}},                            {{7}, {0}},                        {{5, 3}, {1, 0}},
           {{3, 1, 5, 2}, {3, 0, 2, 1}},        {{2, 0, 3}, {2, 1, 0}},            {{1, 1, 1}, {2, 0, 1}},
           {{17, 13, 11}, {1, 2, 0}},           {{2, 3, 1, 2, 3, 2, 1, 2}, {7, 6, 5, 4, 3, 2, 1, 0}},
           {{1009, 1013}, {1, 0}},              {{3, 5, 7, 9, 11}, {4, 2, 0, 3, 1}}})
    t.push_back(permute_case(s, dims, kDevice));
  // Sums: 0-d, everything, every single axis, interleaved kept and reduced dims, a copy,
  // long rows and columns split into pieces, an empty sum, a tree combine of many pieces;
  // the networks' conv bias gradients at every config, means over a mesh ring, dot products.
  for (const auto& [s, dims] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{}, {}},               {{1}, {0}},                {{2, 3, 4}, {}},          {{2, 3, 4}, {0}},
           {{2, 3, 4}, {1}},       {{2, 3, 4}, {-1}},         {{2, 3, 4}, {0, 2}},      {{1, 1, 5}, {1}},
           {{7, 11, 13, 17}, {1, 3}}, {{100003}, {}},         {{3, 100003}, {1}},       {{100003, 3}, {0}},
           {{64, 4096}, {0}},      {{4096, 64}, {1}},         {{2, 1000, 1000}, {0, 2}}, {{5, 0, 3}, {1}},
           {{1 << 23}, {}},        {{2, 64, 64, 8}, {0, 1, 2}}, {{2, 128, 128, 3}, {0, 1, 2}},
           {{1, 256, 256, 32}, {0, 1, 2}}, {{2, 4, 4, 512}, {0, 1, 2}}, {{8, 256, 256, 1}, {0, 1, 2}},
           {{2, 32, 3}, {1}},      {{2, 2880, 3}, {-1}},      {{2, 66}, {-1}}})
    for (bool keepdim : {false, true}) t.push_back(reduce_case(false, s, dims, keepdim, kDevice));
  // Products: the smallest, odd sizes, uniform batch strides, either operand shared by the
  // batch, irregular broadcasts, vectors; the networks' rotation compositions, rotated
  // points, a product with one matrix shared by the batch ([2880,482] by [2,482,3], as the
  // eye meshes' edges once were), the gaze head at tiny.
  for (const auto& [a, b] : std::vector<std::pair<Shape, Shape>>{
           {{1, 1}, {1, 1}},         {{17, 33}, {33, 5}},        {{64, 256}, {256, 128}},  {{3, 7, 9}, {3, 9, 11}},
           {{6, 5}, {4, 5, 3}},      {{5, 6, 5}, {5, 3}},        {{2, 1, 4, 8}, {1, 3, 8, 5}},
           {{1, 2, 3, 3, 2}, {4, 1, 3, 2, 4}}, {{2, 3, 1, 70}, {2, 3, 70, 1}}, {{2, 3, 3}, {2, 3, 3}},
           {{8, 68, 3}, {8, 3, 3}},  {{2880, 482}, {2, 482, 3}}, {{2, 128}, {128, 1446}}})
    t.push_back(matmul_case(a, b, kDevice, {}));
  // The heads on the 512-d pooled feature and the gaze head, 1 and 8 rows.
  for (int64_t rows : {1, 8})
    for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{512, 66}, {512, 204}, {2048, 1446}})
      t.push_back(linear_case({rows, in}, out, true, kDevice, 0));

  // ---- The benchmarks: a bias over channels (NHWC; its gradient, the bias's, is the sum
  // over all but the channel dim), full-size mul and div, relu/exp/log and relu's backward,
  // all over the generator's activation maps (32×256², 128×128², 512×64², batch 1 and 8);
  // square GEMMs, the im2col GEMM of a 3x3x128 -> 128 conv on a 64² map, a batch of small
  // products; E_can's heads on the 512-d pooled feature (66 angle bins; 204 key-point
  // values) and E_gaze's (512·2² -> 3·482 vertices); rotations R [B, 3, 3] of key-points
  // [B, 3, 68], B up to 64, and a 3x3 · 3x3 chain; transposes of key-points, the gaze head's
  // weight and a feature map's H and W.
  for (int64_t n : {1, 8}) {
    for (const Shape& s : {Shape{n, 256, 256, 32}, Shape{n, 128, 128, 128}, Shape{n, 64, 64, 512}}) {
      t.push_back(binary_case(0, Input{s}, Input{{s[3]}}, kBench));
      t.push_back(reduce_case(false, s, {0, 1, 2}, false, kBench));
      t.push_back(binary_case(2, Input{s}, Input{s}, kBench));
      t.push_back(binary_case(3, Input{s}, Input{s, Values::Uniform, 0.5, 2.0}, kBench));
      std::vector<OpCase> unary = unary_cases(s, kBench);
      unary.resize(3);  // relu, exp and log
      append(t, std::move(unary));
    }
  }
  for (const auto& [a, b] : std::vector<std::pair<Shape, Shape>>{{{256, 256}, {256, 256}},
                                                                 {{512, 512}, {512, 512}},
                                                                 {{1024, 1024}, {1024, 1024}},
                                                                 {{4096, 1152}, {1152, 128}},
                                                                 {{64, 64, 64}, {64, 64, 64}}})
    t.push_back(matmul_case(a, b, kBench, {}));
  {
    OpCase big = matmul_case({4096, 4096}, {4096, 4096}, kBench, {});
    big.bench_cpu = false;  // the GPU's; on a CPU it takes seconds
    t.push_back(big);
  }
  for (int64_t rows : {1, 8})
    for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{512, 66}, {512, 204}, {2048, 1446}})
      t.push_back(linear_case({rows, in}, out, true, kBench, 0));
  for (int64_t B : {1, 8, 64}) t.push_back(small_matmul_case({B, 3, 3}, {B, 3, 68}, kBench, 0));
  t.push_back(small_matmul_case({64, 3, 3}, {64, 3, 3}, kBench, 0));
  t.push_back(transpose_case({1, 64, 68, 3}, 1, 2, kBench));
  t.push_back(transpose_case({1, 1, 1446, 2048}, 2, 3, kBench));
  t.push_back(transpose_case({8, 128, 128, 128}, 1, 2, kBench));
}

}  // namespace fh::test::ops
