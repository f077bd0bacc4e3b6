// The pointwise family's CUDA kernels at the CPU benchmarks' shapes (bench_pointwise.cpp):
// each BM_cuda_<name> does the work of BM_<name> with the same arguments, on the GPU, and
// counts the same minimum bytes. peers_cuda.py times PyTorch on the same GPU.
#include <string>

#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/pointwise.h"
#include "runtime/random.h"

namespace {

namespace k = fh::kernels;
namespace fb = fh::bench::cuda;
namespace twin = fh::bench::twin;

constexpr double kF32 = sizeof(float);

double elements(const fh::Tensor& t) { return static_cast<double>(t.numel()); }

fh::Tensor on_gpu(const fh::Tensor& t) { return t.to(fb::kGpu); }

// Args: N, H, W, C.
fh::Tensor image(const benchmark::State& state, fh::Generator& gen) {
  return on_gpu(fh::randn({state.range(0), state.range(1), state.range(2), state.range(3)}, gen));
}

template <k::ActivationOp Op>
void activation_forward(benchmark::State& state, double slope) {
  fh::Generator gen(1);
  const fh::Tensor x = image(state, gen);
  k::ActivationParams params;
  params.slope = slope;
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::activation(Op, x, params).raw_data()); });
  fb::set_bytes(state, 2 * kF32 * elements(x));
}

template <k::ActivationOp Op>
void activation_backward(benchmark::State& state, double slope) {
  fh::Generator gen(1);
  const fh::Tensor x = image(state, gen), grad = image(state, gen);
  k::ActivationParams params;
  params.slope = slope;
  const fh::Tensor saved = k::backward_reads_output(Op) ? k::activation(Op, x, params) : x;
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::activation_backward(Op, grad, saved, params).raw_data()); });
  fb::set_bytes(state, 3 * kF32 * elements(x));
}

void BM_cuda_leaky_relu_forward(benchmark::State& s) { activation_forward<k::ActivationOp::LeakyRelu>(s, 0.2); }
void BM_cuda_leaky_relu_backward(benchmark::State& s) { activation_backward<k::ActivationOp::LeakyRelu>(s, 0.2); }
void BM_cuda_tanh_forward(benchmark::State& s) { activation_forward<k::ActivationOp::Tanh>(s, 0); }
void BM_cuda_tanh_backward(benchmark::State& s) { activation_backward<k::ActivationOp::Tanh>(s, 0); }

BENCHMARK(BM_cuda_leaky_relu_forward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_leaky_relu_backward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_tanh_forward)->Apply(twin::activation_maps)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_tanh_backward)->Apply(twin::activation_maps)->Apply(twin::images)->Apply(fb::manual_time_us);

// Args: op (ActivationOp's value), N, H, W, C; inputs in each op's domain (as bench_pointwise.cpp).
struct OtherActivation {
  k::ActivationOp op;
  k::ActivationParams params;
  fh::Tensor x;
};

OtherActivation other_activation(const benchmark::State& state, fh::Generator& gen) {
  OtherActivation a;
  a.op = static_cast<k::ActivationOp>(state.range(0));
  const fh::Shape shape{state.range(1), state.range(2), state.range(3), state.range(4)};
  a.params.lo = a.op == k::ActivationOp::Clamp ? -0.5 : -1.0 + 1e-7;
  a.params.hi = a.op == k::ActivationOp::Clamp ? 0.5 : 1.0 - 1e-7;
  const bool unit = a.op == k::ActivationOp::Acos || a.op == k::ActivationOp::AcosClamped;
  a.x = on_gpu(a.op == k::ActivationOp::Sqrt ? fh::rand(shape, gen, 0.01, 4.0)
               : unit                        ? fh::rand(shape, gen, -1.0, 1.0)
                                             : fh::randn(shape, gen));
  return a;
}

void BM_cuda_other_activation_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const OtherActivation a = other_activation(state, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::activation(a.op, a.x, a.params).raw_data()); });
  fb::set_bytes(state, 2 * kF32 * elements(a.x), std::string(k::op_name(a.op)) + " " + a.x.shape().str());
}

void BM_cuda_other_activation_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const OtherActivation a = other_activation(state, gen);
  const fh::Tensor grad = on_gpu(fh::randn(a.x.shape(), gen));
  const fh::Tensor saved = k::backward_reads_output(a.op) ? k::activation(a.op, a.x, a.params) : a.x;
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::activation_backward(a.op, grad, saved, a.params).raw_data()); });
  fb::set_bytes(state, 3 * kF32 * elements(a.x), std::string(k::op_name(a.op)) + " " + a.x.shape().str());
}

BENCHMARK(BM_cuda_other_activation_forward)->Apply(twin::other_activations)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_other_activation_backward)->Apply(twin::other_activations)->Apply(fb::manual_time_us);

// Softmax: Args N, A, B, C with the shapes and dims of bench_pointwise.cpp.
struct SoftmaxCase {
  fh::Shape shape;
  int64_t dim;
};

template <SoftmaxCase (*Make)(const benchmark::State&)>
void softmax_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const SoftmaxCase c = Make(state);
  const fh::Tensor x = on_gpu(fh::randn(c.shape, gen, 0.0, 3.0));
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::softmax(x, c.dim).raw_data()); });
  fb::set_bytes(state, 2 * kF32 * elements(x));
}

template <SoftmaxCase (*Make)(const benchmark::State&)>
void softmax_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const SoftmaxCase c = Make(state);
  const fh::Tensor y = k::softmax(on_gpu(fh::randn(c.shape, gen, 0.0, 3.0)), c.dim);
  const fh::Tensor grad = on_gpu(fh::randn(c.shape, gen));
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::softmax_backward(grad, y, c.dim).raw_data()); });
  fb::set_bytes(state, 3 * kF32 * elements(y));
}

SoftmaxCase last_axis(const benchmark::State& s) { return {{s.range(0), s.range(1), s.range(2), s.range(3)}, -1}; }
SoftmaxCase sources_axis(const benchmark::State& s) {
  return {{s.range(0), s.range(1), s.range(2), s.range(3), 1}, 1};
}
SoftmaxCase channels_axis(const benchmark::State& s) { return {{s.range(0), s.range(1), s.range(2), s.range(3)}, -1}; }

void BM_cuda_softmax_last_forward(benchmark::State& s) { softmax_forward<last_axis>(s); }
void BM_cuda_softmax_last_backward(benchmark::State& s) { softmax_backward<last_axis>(s); }
void BM_cuda_softmax_sources_forward(benchmark::State& s) { softmax_forward<sources_axis>(s); }
void BM_cuda_softmax_sources_backward(benchmark::State& s) { softmax_backward<sources_axis>(s); }
void BM_cuda_softmax_channels_forward(benchmark::State& s) { softmax_forward<channels_axis>(s); }
void BM_cuda_softmax_channels_backward(benchmark::State& s) { softmax_backward<channels_axis>(s); }

BENCHMARK(BM_cuda_softmax_last_forward)->Apply(twin::softmax_mhw)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_softmax_last_backward)->Apply(twin::softmax_mhw)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_softmax_sources_forward)->Apply(twin::softmax_mhw)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_softmax_sources_backward)->Apply(twin::softmax_mhw)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_softmax_channels_forward)->Apply(twin::softmax_hwc)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_softmax_channels_backward)->Apply(twin::softmax_hwc)->Apply(fb::manual_time_us);

// Losses: Args N, H, W, C; backward differentiates the first operand only.
template <k::LossOp Op>
void loss_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const fh::Tensor a = image(state, gen);
  const fh::Tensor b = k::loss_is_binary(Op) ? image(state, gen) : fh::Tensor();
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::loss(Op, a, b).raw_data()); });
  fb::set_bytes(state, (k::loss_is_binary(Op) ? 2 : 1) * kF32 * elements(a));
}

template <k::LossOp Op>
void loss_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const fh::Tensor a = image(state, gen);
  const fh::Tensor b = k::loss_is_binary(Op) ? image(state, gen) : fh::Tensor();
  const fh::Tensor grad = fh::Tensor::scalar(1.0, fh::DType::F32, fb::kGpu);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::loss_backward(Op, grad, a, b, true, false).a.raw_data()); });
  const double reads = Op == k::LossOp::HingeGenerator ? 0 : (k::loss_is_binary(Op) ? 2 : 1);
  fb::set_bytes(state, (reads + 1) * kF32 * elements(a));
}

void BM_cuda_l1_loss_forward(benchmark::State& s) { loss_forward<k::LossOp::L1>(s); }
void BM_cuda_l1_loss_backward(benchmark::State& s) { loss_backward<k::LossOp::L1>(s); }
void BM_cuda_mse_loss_forward(benchmark::State& s) { loss_forward<k::LossOp::Mse>(s); }
void BM_cuda_mse_loss_backward(benchmark::State& s) { loss_backward<k::LossOp::Mse>(s); }
void BM_cuda_hinge_real_forward(benchmark::State& s) { loss_forward<k::LossOp::HingeReal>(s); }
void BM_cuda_hinge_real_backward(benchmark::State& s) { loss_backward<k::LossOp::HingeReal>(s); }
void BM_cuda_hinge_fake_forward(benchmark::State& s) { loss_forward<k::LossOp::HingeFake>(s); }
void BM_cuda_hinge_fake_backward(benchmark::State& s) { loss_backward<k::LossOp::HingeFake>(s); }
void BM_cuda_hinge_generator_forward(benchmark::State& s) { loss_forward<k::LossOp::HingeGenerator>(s); }
void BM_cuda_hinge_generator_backward(benchmark::State& s) { loss_backward<k::LossOp::HingeGenerator>(s); }

BENCHMARK(BM_cuda_l1_loss_forward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_l1_loss_backward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_mse_loss_forward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_mse_loss_backward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_real_forward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_real_backward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_fake_forward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_fake_backward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_generator_forward)->Apply(twin::images)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_hinge_generator_backward)->Apply(twin::images)->Apply(fb::manual_time_us);

}  // namespace
