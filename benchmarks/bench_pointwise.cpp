// Pointwise family at the generator's shapes (`paper` config, NHWC, batch 1 and 8):
// leaky relu and tanh over the decoder's activations, softmax (long rows, the N-shot
// weights over their sources, short rows over an NHWC image's channels) and the losses on
// 3×256² images. All are memory-bound; rates are the minimum bytes each must move (read
// every input once, write every output once). peers_pointwise.py does the same work in
// PyTorch, in its NCHW layout.
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/pointwise.h"
#include "runtime/random.h"

namespace {

namespace k = fh::kernels;
namespace twin = fh::bench::twin;

constexpr double kF32 = sizeof(float);

double elements(const fh::Tensor& t) { return static_cast<double>(t.numel()); }

// Args: N, H, W, C.
fh::Tensor image(const benchmark::State& state, fh::Generator& gen) {
  return fh::randn({state.range(0), state.range(1), state.range(2), state.range(3)}, gen);
}

template <k::ActivationOp Op>
void BM_activation_forward(benchmark::State& state, double slope) {
  fh::Generator gen(1);
  const fh::Tensor x = image(state, gen);
  k::ActivationParams params;
  params.slope = slope;
  for (auto _ : state) {
    fh::Tensor y = k::activation(Op, x, params);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 2 * kF32 * elements(x));
}

template <k::ActivationOp Op>
void BM_activation_backward(benchmark::State& state, double slope) {
  fh::Generator gen(1);
  const fh::Tensor x = image(state, gen), grad = image(state, gen);
  k::ActivationParams params;
  params.slope = slope;
  const fh::Tensor saved = k::backward_reads_output(Op) ? k::activation(Op, x, params) : x;
  for (auto _ : state) {
    fh::Tensor gx = k::activation_backward(Op, grad, saved, params);
    benchmark::DoNotOptimize(gx.raw_data());
  }
  fh::bench::set_bytes(state, 3 * kF32 * elements(x));
}

void BM_leaky_relu_forward(benchmark::State& s) { BM_activation_forward<k::ActivationOp::LeakyRelu>(s, 0.2); }
void BM_leaky_relu_backward(benchmark::State& s) { BM_activation_backward<k::ActivationOp::LeakyRelu>(s, 0.2); }
void BM_tanh_forward(benchmark::State& s) { BM_activation_forward<k::ActivationOp::Tanh>(s, 0); }
void BM_tanh_backward(benchmark::State& s) { BM_activation_backward<k::ActivationOp::Tanh>(s, 0); }

BENCHMARK(BM_leaky_relu_forward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_leaky_relu_backward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_tanh_forward)->Apply(twin::activation_maps)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_tanh_backward)->Apply(twin::activation_maps)->Apply(twin::images)->Apply(fh::bench::real_time_ms);

// The other activations, which the model applies to small tensors (angles, gaze vectors,
// sketch colours) rather than to the decoder's activations: one family over the op codes,
// at one decoder shape for reference. Args: op (ActivationOp's value), N, H, W, C.

struct OtherActivation {
  k::ActivationOp op;
  k::ActivationParams params;
  fh::Tensor x;
};

// Inputs in each op's domain: positive for sqrt, within [-1, 1] for acos.
OtherActivation other_activation(const benchmark::State& state, fh::Generator& gen) {
  OtherActivation a;
  a.op = static_cast<k::ActivationOp>(state.range(0));
  const fh::Shape shape{state.range(1), state.range(2), state.range(3), state.range(4)};
  a.params.lo = a.op == k::ActivationOp::Clamp ? -0.5 : -1.0 + 1e-7;
  a.params.hi = a.op == k::ActivationOp::Clamp ? 0.5 : 1.0 - 1e-7;
  const bool unit = a.op == k::ActivationOp::Acos || a.op == k::ActivationOp::AcosClamped;
  a.x = a.op == k::ActivationOp::Sqrt ? fh::rand(shape, gen, 0.01, 4.0)
        : unit                        ? fh::rand(shape, gen, -1.0, 1.0)
                                      : fh::randn(shape, gen);
  return a;
}

void BM_other_activation_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const OtherActivation a = other_activation(state, gen);
  state.SetLabel(k::op_name(a.op));
  for (auto _ : state) {
    fh::Tensor y = k::activation(a.op, a.x, a.params);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 2 * kF32 * elements(a.x));
}

void BM_other_activation_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const OtherActivation a = other_activation(state, gen);
  state.SetLabel(k::op_name(a.op));
  const fh::Tensor grad = fh::randn(a.x.shape(), gen);
  const fh::Tensor saved = k::backward_reads_output(a.op) ? k::activation(a.op, a.x, a.params) : a.x;
  for (auto _ : state) {
    fh::Tensor gx = k::activation_backward(a.op, grad, saved, a.params);
    benchmark::DoNotOptimize(gx.raw_data());
  }
  fh::bench::set_bytes(state, 3 * kF32 * elements(a.x));
}

BENCHMARK(BM_other_activation_forward)->Apply(twin::other_activations)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_other_activation_backward)->Apply(twin::other_activations)->Apply(fh::bench::real_time_ms);

// Softmax benchmarks take Args N, A, B, C and a tensor shape and dim built from them.
struct SoftmaxCase {
  fh::Shape shape;
  int64_t dim;
};

template <SoftmaxCase (*Make)(const benchmark::State&)>
void BM_softmax_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const SoftmaxCase c = Make(state);
  const fh::Tensor x = fh::randn(c.shape, gen, 0.0, 3.0);
  for (auto _ : state) {
    fh::Tensor y = k::softmax(x, c.dim);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 2 * kF32 * elements(x));
}

template <SoftmaxCase (*Make)(const benchmark::State&)>
void BM_softmax_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const SoftmaxCase c = Make(state);
  const fh::Tensor y = k::softmax(fh::randn(c.shape, gen, 0.0, 3.0), c.dim), grad = fh::randn(c.shape, gen);
  for (auto _ : state) {
    fh::Tensor gx = k::softmax_backward(grad, y, c.dim);
    benchmark::DoNotOptimize(gx.raw_data());
  }
  fh::bench::set_bytes(state, 3 * kF32 * elements(y));
}

// Args N, M, H, W: [N, M, H, W] along its last axis (rows of W contiguous elements).
SoftmaxCase last_axis(const benchmark::State& s) {
  return {{s.range(0), s.range(1), s.range(2), s.range(3)}, -1};
}
// Args N, M, H, W: N-shot weights [N, M, H, W, 1] over the M sources (an outer axis).
SoftmaxCase sources_axis(const benchmark::State& s) {
  return {{s.range(0), s.range(1), s.range(2), s.range(3), 1}, 1};
}
// Args N, H, W, C: an NHWC image over its C channels (short contiguous rows).
SoftmaxCase channels_axis(const benchmark::State& s) {
  return {{s.range(0), s.range(1), s.range(2), s.range(3)}, -1};
}

void BM_softmax_last_forward(benchmark::State& s) { BM_softmax_forward<last_axis>(s); }
void BM_softmax_last_backward(benchmark::State& s) { BM_softmax_backward<last_axis>(s); }
void BM_softmax_sources_forward(benchmark::State& s) { BM_softmax_forward<sources_axis>(s); }
void BM_softmax_sources_backward(benchmark::State& s) { BM_softmax_backward<sources_axis>(s); }
void BM_softmax_channels_forward(benchmark::State& s) { BM_softmax_forward<channels_axis>(s); }
void BM_softmax_channels_backward(benchmark::State& s) { BM_softmax_backward<channels_axis>(s); }

BENCHMARK(BM_softmax_last_forward)->Apply(twin::softmax_mhw)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_softmax_last_backward)->Apply(twin::softmax_mhw)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_softmax_sources_forward)->Apply(twin::softmax_mhw)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_softmax_sources_backward)->Apply(twin::softmax_mhw)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_softmax_channels_forward)->Apply(twin::softmax_hwc)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_softmax_channels_backward)->Apply(twin::softmax_hwc)->Apply(fh::bench::real_time_ms);

// Losses: Args N, H, W, C. Backward differentiates the first operand only (a prediction
// against a fixed target), as in training.
template <k::LossOp Op>
void BM_loss_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const fh::Tensor a = image(state, gen);
  const fh::Tensor b = k::loss_is_binary(Op) ? image(state, gen) : fh::Tensor();
  for (auto _ : state) {
    fh::Tensor l = k::loss(Op, a, b);
    benchmark::DoNotOptimize(l.raw_data());
  }
  fh::bench::set_bytes(state, (k::loss_is_binary(Op) ? 2 : 1) * kF32 * elements(a));
}

template <k::LossOp Op>
void BM_loss_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const fh::Tensor a = image(state, gen);
  const fh::Tensor b = k::loss_is_binary(Op) ? image(state, gen) : fh::Tensor();
  const fh::Tensor grad = fh::Tensor::scalar(1.0);
  for (auto _ : state) {
    k::LossGrads g = k::loss_backward(Op, grad, a, b, true, false);
    benchmark::DoNotOptimize(g.a.raw_data());
  }
  // Reads each operand the gradient depends on, writes the gradient.
  const double reads = Op == k::LossOp::HingeGenerator ? 0 : (k::loss_is_binary(Op) ? 2 : 1);
  fh::bench::set_bytes(state, (reads + 1) * kF32 * elements(a));
}

void BM_l1_loss_forward(benchmark::State& s) { BM_loss_forward<k::LossOp::L1>(s); }
void BM_l1_loss_backward(benchmark::State& s) { BM_loss_backward<k::LossOp::L1>(s); }
void BM_mse_loss_forward(benchmark::State& s) { BM_loss_forward<k::LossOp::Mse>(s); }
void BM_mse_loss_backward(benchmark::State& s) { BM_loss_backward<k::LossOp::Mse>(s); }
void BM_hinge_real_forward(benchmark::State& s) { BM_loss_forward<k::LossOp::HingeReal>(s); }
void BM_hinge_real_backward(benchmark::State& s) { BM_loss_backward<k::LossOp::HingeReal>(s); }
void BM_hinge_fake_forward(benchmark::State& s) { BM_loss_forward<k::LossOp::HingeFake>(s); }
void BM_hinge_fake_backward(benchmark::State& s) { BM_loss_backward<k::LossOp::HingeFake>(s); }
void BM_hinge_generator_forward(benchmark::State& s) { BM_loss_forward<k::LossOp::HingeGenerator>(s); }
void BM_hinge_generator_backward(benchmark::State& s) { BM_loss_backward<k::LossOp::HingeGenerator>(s); }

BENCHMARK(BM_l1_loss_forward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_l1_loss_backward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_mse_loss_forward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_mse_loss_backward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_real_forward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_real_backward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_fake_forward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_fake_backward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_generator_forward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_hinge_generator_backward)->Apply(twin::images)->Apply(fh::bench::real_time_ms);

}  // namespace
