// One table of op cases drives every check and benchmark of an op (the way ggml's
// test-backend-ops does): a case names the op, its inputs (shapes, how their values are
// drawn, which are NHWC images), the differentiable function that runs it on either device,
// its PyTorch twin (the oracle's op name and JSON arguments), the work it does, and the
// tolerance of each comparison. Four drivers read the table:
//   gradcheck  float64 central differences on the CPU        (tests/ops/test_op_table.cpp)
//   torch      float32 outputs and gradients against PyTorch (tests/ops/test_op_table.cpp)
//   device     the CUDA kernels against their CPU twins      (tests/cuda/test_cuda_op_table.cpp)
//   bench      forward and backward timed on either device   (benchmarks/op_table_bench.cpp),
//              and the same work through PyTorch             (benchmarks/torch_compare.py)
// A case takes part in the drivers its `purposes` name. Families add their cases in
// tests/ops/<family>_cases.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "runtime/tensor.h"
#include "tests/harness/tolerance.h"

namespace fh::test::ops {

enum Purpose : unsigned {
  kGradcheck = 1u << 0,
  kTorch = 1u << 1,
  kDevice = 1u << 2,
  kBench = 1u << 3,
  kChecks = kGradcheck | kTorch | kDevice,  // small shapes: every check
};

// How an input's values are drawn. Every draw is made in float64 and cast to the dtype a
// driver runs at, so the float32 and float64 inputs of a case hold the same numbers.
enum class Values {
  Normal,    // mean a, standard deviation b
  Uniform,   // [a, b)
  Distinct,  // a permutation of a grid of spacing 2/numel in [-1, 1): no two values within
             // a finite-difference step of each other (maxima cannot swap under gradcheck)
  Tied,      // uniform in [a, b), rounded to steps of 0.5: windows full of ties
  Given,     // the tensor `given` (float64), e.g. an image with NaNs
  Custom,    // custom(shape, gen, dtype): values with structure (flows kept off pixel
             // boundaries, flows that pile the image onto one point, ...)
};

struct Input {
  Shape shape;
  Values values = Values::Normal;
  double a = 0, b = 1;
  bool requires_grad = true;
  bool nhwc = false;  // an NHWC image (PyTorch is handed its NCHW permutation), or a 5-d
                      // [N, M, H, W, C] stack of them (PyTorch's layout [N, M, C, H, W])
  Tensor given;
  std::function<Tensor(const Shape&, Generator&, DType)> custom;
};

// The work one call does: the minimum bytes moved (every input element the op needs read
// once, every output element written once) and/or the FLOPs. The GPU's rate is the bytes'
// against the copy ceiling when bytes are counted, else the FLOPs' against a GEMM's; the
// CPU reports both.
struct Work {
  double flops = 0;
  double bytes = 0;
};

// The inputs' shapes and the output's shape, for counting work.
using WorkFn = std::function<Work(const std::vector<Shape>& inputs, const Shape& output)>;
using RunFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  std::string family;   // "pool", "warp", ...: one test case per family and driver
  size_t index_in_family = 0;
  std::string op;       // the PyTorch oracle's op name (tools/oracle/ops_<family>.py)
  std::string args;     // the op's arguments as a JSON object ("" = none), for PyTorch
  std::string variant;  // what the shapes do not say, in the case's name: "k3s2p1", ...
  std::vector<Input> inputs;
  bool nhwc_output = false;
  RunFn run;            // the differentiable op; any device, any dtype the op takes
  unsigned purposes = kChecks;

  // gradcheck: float64 analytic gradients against central differences of step grad_eps.
  Tolerance grad_tol{1e-6, 1e-5};
  double grad_eps = 1e-6;
  int64_t grad_max_elements = 200;  // larger inputs are checked on a random subset
  // torch: float32 output (and, unless torch_grad_tol is given, every gradient).
  Tolerance torch_tol{1e-6, 1e-5};
  std::vector<Tolerance> torch_grad_tol;  // per input
  bool torch_exact = false;               // values only move: also identical bits
  // device: CPU and CUDA agree bit for bit unless device_exact is false (then within the
  // tolerance of the dtype), at each of device_dtypes; the gradients likewise with
  // device_grads_exact. Integer dtypes run forward only.
  bool device_exact = true;
  bool device_grads_exact = true;
  Tolerance device_tol_f32{0, 0}, device_tol_f64{0, 0};
  std::vector<Tolerance> device_grad_tol_f32, device_grad_tol_f64;  // per input; empty: the output's
  std::vector<DType> device_dtypes{DType::F32, DType::F64};

  // bench: the work of the forward and of the backward (every input requiring grad).
  WorkFn forward_work, backward_work;
  bool bench_backward = true;
  bool bench_cpu = true;  // false: a size only the GPU benchmark runs

  // "avg_pool2d [2,7,5,2] k2s2p0": op, every input's shape, the variant.
  std::string name() const;
  // "[2,7,5,2]" or "[2,7,5,2]+[2,7,5,2]": the inputs' shapes.
  std::string shapes() const;
  bool has(Purpose p) const { return (purposes & p) != 0; }
  // CPU and CUDA agree within these tolerances (not bit for bit): the output's, and every
  // input gradient's (set after the inputs).
  void compare_devices_within(Tolerance out_f32, Tolerance out_f64, Tolerance grad_f32, Tolerance grad_f64);
};

// Every family's cases: the random ones drawn from a generator of `seed` and the family's
// name (so a run's seed replays them, and one family's cases do not move when another's
// change), the fixed ones (the model's shapes, the benchmarks) the same every run.
std::vector<OpCase> op_table(uint64_t seed);
// The seed of `family`'s generators, from the run's seed.
uint64_t family_seed(uint64_t seed, const std::string& family);
// The families, in table order.
std::vector<std::string> op_families();

// Case builders: the cases of one family (tests/ops/<family>_cases.cpp).
void add_pool_cases(std::vector<OpCase>& table, Generator& gen);
void add_shape_cases(std::vector<OpCase>& table, Generator& gen);
void add_warp_cases(std::vector<OpCase>& table, Generator& gen);
void add_norm_cases(std::vector<OpCase>& table, Generator& gen);
void add_pointwise_cases(std::vector<OpCase>& table, Generator& gen);
void add_core_cases(std::vector<OpCase>& table, Generator& gen);
void add_conv_cases(std::vector<OpCase>& table, Generator& gen);

// An input's values at `dtype` (cast from the float64 draw), NOT requiring grad.
Tensor draw_input(const Input& in, DType dtype, Generator& gen);
// All inputs of a case at `dtype`; those with requires_grad (floating dtypes only) require it.
std::vector<Tensor> draw_inputs(const OpCase& c, DType dtype, Generator& gen);

// Work counting helpers: numel of a shape; the float32 bytes of reading every input once
// and writing the output once (the work of most memory-bound ops, and of many backwards).
double elements(const Shape& s);
Work read_inputs_write_output(const std::vector<Shape>& inputs, const Shape& output);

// "[1,2,3]": an integer list for the oracle's JSON arguments.
std::string json_list(const std::vector<int64_t>& v);

}  // namespace fh::test::ops
