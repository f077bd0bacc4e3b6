// The op table's benchmarks (tests/ops/op_case.h), compiled twice: into fh_bench for the
// CPU and, with FH_OP_BENCH_CUDA, into fh_cuda_bench for the GPU. Every case marked kBench
// becomes two benchmarks, BM_[cuda_]<op>/<shapes>[/<variant>] timing the forward and
// BM_[cuda_]<op>_backward/... timing the backward (the op's own autograd node applied to an
// upstream gradient: the kernels training runs, no graph walk, no gradient accumulation),
// each reporting the work the case counts as a rate against the measured ceiling.
//
// `--fh_op_cases=FILE` writes the registered benchmarks' cases as JSON instead of running
// anything (no GPU needed): benchmarks/torch_compare.py builds each one's PyTorch peer from
// it with the oracle's op table (tools/oracle/ops_*.py), so the two sides do the same work.
#include "benchmarks/op_table_bench.h"

#include <cstdio>
#include <exception>
#include <memory>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "io/file_io.h"
#include "runtime/error.h"
#include "tests/ops/op_case.h"
#include "weights/json.h"

#ifdef FH_OP_BENCH_CUDA
#include "benchmarks/cuda_bench_util.h"
#else
#include "benchmarks/bench_util.h"
#endif

namespace fh::bench {

namespace {

using test::ops::OpCase;

#ifdef FH_OP_BENCH_CUDA
const Device kDevice = Device::cuda(0);
const char* const kPrefix = "BM_cuda_";
#else
const Device kDevice = Device::cpu();
const char* const kPrefix = "BM_";
#endif

// The table the benchmarks run: fixed, whatever FH_TEST_SEED says (only the tests draw
// random cases from it, and no benchmark case is random).
const std::vector<OpCase>& bench_table() {
  static const std::vector<OpCase> table = [] {
    std::vector<OpCase> all = test::ops::op_table(1), kept;
    for (OpCase& c : all)
      if (c.has(test::ops::kBench) && (c.bench_cpu || !kDevice.is_cpu())) kept.push_back(std::move(c));
    return kept;
  }();
  return table;
}

std::string path_shapes(const OpCase& c) {
  std::string s;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    s += i ? "+" : "";
    for (int d = 0; d < c.inputs[i].shape.size(); ++d) s += (d ? "x" : "") + std::to_string(c.inputs[i].shape[d]);
  }
  return s;
}

std::string bench_name(const OpCase& c, bool backward) {
  return kPrefix + c.op + (backward ? "_backward" : "") + "/" + path_shapes(c) + (c.variant.empty() ? "" : "/" + c.variant);
}

std::vector<Tensor> device_inputs(const OpCase& c, bool requires_grad) {
  Generator gen(1);
  std::vector<Tensor> xs;
  for (const test::ops::Input& in : c.inputs) {
    Tensor x = test::ops::draw_input(in, DType::F32, gen).to(kDevice);
    xs.push_back(requires_grad && in.requires_grad ? x.requires_grad_() : x);
  }
  return xs;
}

void report(benchmark::State& state, const OpCase& c, const test::ops::Work& w) {
#ifdef FH_OP_BENCH_CUDA
  if (w.bytes > 0)
    cuda::set_bytes(state, w.bytes, c.shapes());
  else
    cuda::set_flops(state, w.flops, cuda::Ceiling::GemmF32, c.shapes());
#else
  (void)c;
  if (w.flops > 0) set_flops(state, w.flops);
  if (w.bytes > 0) set_bytes(state, w.bytes);
#endif
}

template <class Fn>
void time(benchmark::State& state, Fn&& fn) {
#ifdef FH_OP_BENCH_CUDA
  cuda::time_op(state, fn);
#else
  fn();  // warm-up: allocations, thread start-up
  for (auto _ : state) fn();
#endif
}

std::vector<Shape> shapes_of(const std::vector<Tensor>& xs) {
  std::vector<Shape> s;
  for (const Tensor& x : xs) s.push_back(x.shape());
  return s;
}

void bench_forward(benchmark::State& state, const OpCase& c) {
  const std::vector<Tensor> xs = device_inputs(c, false);
  NoGradGuard no_grad;
  const Shape out = c.run(xs).shape();
  time(state, [&] { benchmark::DoNotOptimize(c.run(xs).raw_data()); });
  report(state, c, c.forward_work(shapes_of(xs), out));
}

void bench_backward(benchmark::State& state, const OpCase& c) {
  const std::vector<Tensor> xs = device_inputs(c, true);
  const Tensor y = c.run(xs);
  const std::shared_ptr<autograd::Node> node = y.grad_fn();
  // The benchmark times one op's backward: its node must lead straight to the inputs.
  FH_CHECK(node != nullptr, "op benchmark", c.name(), " records no backward");
  for (const autograd::Edge& e : node->next_edges())
    FH_CHECK(e.node == nullptr || e.node->name() == "AccumulateGrad", "op benchmark", c.name(),
             " is not a single op: its backward reaches ", e.node->name());
  Generator gen(2);
  const Tensor g = randn(y.shape(), gen).to(kDevice);
  time(state, [&] {
    const std::vector<Tensor> grads = node->apply({g});
    benchmark::DoNotOptimize(grads.data());
  });
  report(state, c, c.backward_work(shapes_of(xs), y.shape()));
}

json::Value case_json(const OpCase& c, const std::string& name, bool backward) {
  static const char* const kValues[] = {"normal", "uniform", "distinct", "tied", "given", "custom"};
  json::Value inputs = json::Value::array();
  for (const test::ops::Input& in : c.inputs) {
    json::Value shape = json::Value::array();
    for (int64_t d : in.shape) shape.push_back(d);
    inputs.push_back(json::Value::object({{"shape", shape},
                                          {"values", kValues[static_cast<int>(in.values)]},
                                          {"a", in.a},
                                          {"b", in.b},
                                          {"nhwc", in.nhwc},
                                          {"requires_grad", in.requires_grad}}));
  }
  return json::Value::object({{"name", name},
                              {"op", c.op},
                              {"args", json::parse(c.args.empty() ? "{}" : c.args, c.name() + " args")},
                              {"pass", backward ? "backward" : "forward"},
                              {"nhwc_output", c.nhwc_output},
                              {"inputs", inputs}});
}

}  // namespace

void register_op_table_benchmarks() {
  for (const OpCase& c : bench_table()) {
    for (bool backward : {false, true}) {
      if (backward && !c.bench_backward) continue;
      auto* b = benchmark::RegisterBenchmark(bench_name(c, backward).c_str(), [&c, backward](benchmark::State& s) {
        backward ? bench_backward(s, c) : bench_forward(s, c);
      });
#ifdef FH_OP_BENCH_CUDA
      b->Apply(cuda::manual_time_us);
#else
      b->Unit(benchmark::kMicrosecond)->UseRealTime();
#endif
    }
  }
}

bool write_op_cases_if_asked(int argc, char** argv) {
  const std::string flag = "--fh_op_cases=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(flag, 0) != 0) continue;
    json::Value cases = json::Value::array();
    for (const OpCase& c : bench_table())
      for (bool backward : {false, true})
        if (!backward || c.bench_backward) cases.push_back(case_json(c, bench_name(c, backward), backward));
    write_file_atomic(arg.substr(flag.size()), cases.dump() + "\n", "the op table's benchmark cases");
    return true;
  }
  return false;
}

int benchmark_main(int argc, char** argv, const char* program, bool (*skip)(int, char**)) {
  try {
    if (write_op_cases_if_asked(argc, argv)) return 0;
    register_op_table_benchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  if (skip != nullptr && skip(argc, argv)) return 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace fh::bench
