#include "layers/sync_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/node.h"
#include "kernels/core.h"
#include "runtime/error.h"

namespace fh::nn {

namespace {

dist::Communicator* g_active = nullptr;

// Host float64 copy of a tensor's values (staging for device tensors).
std::vector<double> host_values(const Tensor& t) {
  const Tensor h = t.detach().to(Device::cpu()).to(DType::F64);
  return std::vector<double>(h.data<double>(), h.data<double>() + h.numel());
}

// A tensor of `values` with `like`'s shape, dtype and device.
Tensor tensor_like(const std::vector<double>& values, const Shape& shape, const Tensor& like) {
  return Tensor::from_vector(values, shape).to(like.dtype()).to(like.device());
}

// Writes `values` into a running-statistics buffer in place (its handle is the module's).
void assign(Tensor& buffer, const std::vector<double>& values) {
  if (buffer.device().is_cpu()) {
    for (size_t c = 0; c < values.size(); ++c) {
      if (buffer.dtype() == DType::F64) buffer.data<double>()[c] = values[c];
      else buffer.data<float>()[c] = static_cast<float>(values[c]);
    }
    return;
  }
  // Device buffers: zeroed and added to in place, so the module's handle keeps its storage.
  kernels::fill(buffer, 0.0);
  kernels::binary_(kernels::BinaryOp::Add, buffer, tensor_like(values, buffer.shape(), buffer));
}

// The per-channel statistics the forward normalised with, kept for the backward.
struct Stats {
  std::vector<double> mean, invstd;
  double count = 0;
};

}  // namespace

BatchNormSync::BatchNormSync(dist::Communicator& comm) {
  FH_CHECK(g_active == nullptr, "BatchNormSync", "a synchronisation scope is already active");
  if (comm.size() > 1) g_active = &comm;
}

BatchNormSync::~BatchNormSync() { g_active = nullptr; }

dist::Communicator* BatchNormSync::active() { return g_active; }

namespace {

// Per-channel Σx and Σx² of x [rows, c] (host, T), in float64, then the count.
template <class T>
std::vector<double> channel_sums(const T* x, int64_t rows, int64_t c) {
  std::vector<double> sums(static_cast<size_t>(2 * c + 1), 0.0);
  double* s1 = sums.data();
  double* s2 = sums.data() + c;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const double v = static_cast<double>(row[k]);
      s1[k] += v;
      s2[k] += v * v;
    }
  }
  sums[static_cast<size_t>(2 * c)] = static_cast<double>(rows);
  return sums;
}

// y = x̂·w + b with x̂ = (x − mean)·invstd, per channel.
template <class T>
void normalise(const T* x, int64_t rows, int64_t c, const Stats& st, const std::vector<double>& w,
               const std::vector<double>& b, T* y) {
  std::vector<double> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    scale[k] = st.invstd[k] * w[k];
    shift[k] = b[k] - st.mean[k] * scale[k];
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) y[r * c + k] = static_cast<T>(static_cast<double>(x[r * c + k]) * scale[k] + shift[k]);
}

// This rank's Σg and Σg·x̂ per channel.
template <class T>
std::vector<double> gradient_sums(const T* x, const T* g, int64_t rows, int64_t c, const Stats& st) {
  std::vector<double> sums(static_cast<size_t>(2 * c), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const double gv = static_cast<double>(g[r * c + k]);
      sums[k] += gv;
      sums[c + k] += gv * (static_cast<double>(x[r * c + k]) - st.mean[k]) * st.invstd[k];
    }
  return sums;
}

// dx = w·invstd·(g − Σg/N − x̂·Σg·x̂/N), the sums over every rank.
template <class T>
void input_gradient(const T* x, const T* g, int64_t rows, int64_t c, const Stats& st, const std::vector<double>& w,
                    const std::vector<double>& global, T* dx) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const double xhat = (static_cast<double>(x[r * c + k]) - st.mean[k]) * st.invstd[k];
      dx[r * c + k] = static_cast<T>(w[k] * st.invstd[k] *
                                     (static_cast<double>(g[r * c + k]) - global[k] / st.count -
                                      xhat * global[c + k] / st.count));
    }
}

}  // namespace

Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, double momentum, double eps, dist::Communicator& comm) {
  const char* op = "sync_batch_norm2d";
  FH_CHECK(x.dim() == 4 && (x.dtype() == DType::F32 || x.dtype() == DType::F64), op, "x ", x.describe(),
           " must be a float32 or float64 [N,H,W,C]");
  const int64_t c = x.size(3), rows = x.size(0) * x.size(1) * x.size(2);
  FH_CHECK(!weight.defined() || weight.shape() == Shape{c}, op, "weight ", weight.describe(), " must be [", c, "]");
  FH_CHECK(!bias.defined() || bias.shape() == Shape{c}, op, "bias ", bias.describe(), " must be [", c, "]");
  const bool f64 = x.dtype() == DType::F64;
  // Host memory: device tensors are staged through it.
  const Tensor xh = x.detach().to(Device::cpu());
  // One collective: every rank's per-channel Σx and Σx² (float64) and its count. The
  // variance E[x²] − mean² in float64 loses about log10(1 + mean²/var) of its 16 digits,
  // far below float32 rounding for activations.
  std::vector<double> sums = f64 ? channel_sums(xh.data<double>(), rows, c) : channel_sums(xh.data<float>(), rows, c);
  comm.sum(sums.data(), static_cast<int64_t>(sums.size()));
  auto stats = std::make_shared<Stats>();
  stats->count = sums[static_cast<size_t>(2 * c)];
  FH_CHECK(stats->count > 1, op, "training needs more than 1 value per channel over all ranks, got ", stats->count,
           " (x ", x.describe(), " on this rank)");
  stats->mean.resize(static_cast<size_t>(c));
  stats->invstd.resize(static_cast<size_t>(c));
  std::vector<double> var(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const double m = sums[k] / stats->count;
    var[k] = std::max(0.0, sums[c + k] / stats->count - m * m);
    stats->mean[k] = m;
    stats->invstd[k] = 1.0 / std::sqrt(var[k] + eps);
  }
  const std::vector<double> w = weight.defined() ? host_values(weight) : std::vector<double>(c, 1.0);
  const std::vector<double> b = bias.defined() ? host_values(bias) : std::vector<double>(c, 0.0);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (f64) normalise(xh.data<double>(), rows, c, *stats, w, b, out.data<double>());
  else normalise(xh.data<float>(), rows, c, *stats, w, b, out.data<float>());
  out = out.to(x.device());
  // Running statistics from the global mean and unbiased variance: the same on every rank.
  const double unbiased = stats->count / (stats->count - 1);
  if (running_mean.defined()) {
    std::vector<double> rm = host_values(running_mean);
    for (int64_t k = 0; k < c; ++k) rm[k] = (1.0 - momentum) * rm[k] + momentum * stats->mean[k];
    assign(running_mean, rm);
  }
  if (running_var.defined()) {
    std::vector<double> rv = host_values(running_var);
    for (int64_t k = 0; k < c; ++k) rv[k] = (1.0 - momentum) * rv[k] + momentum * var[k] * unbiased;
    assign(running_var, rv);
  }
  if (!autograd::needs_grad({&x, &weight, &bias})) return out;
  const bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  dist::Communicator* comm_ptr = &comm;
  const Device device = x.device();
  // Backward, as PyTorch's SyncBatchNorm: one collective of every rank's Σg and Σg·x̂ per
  // channel; the input gradient is the joined batch's, the weight and bias gradients are
  // this rank's shares (the gradient all-reduce adds them up). Every rank must run it.
  autograd::record(
      "SyncBatchNorm2dBackward", {&x, &weight, &bias}, {&out},
      [=, w = w](std::vector<Tensor>& grads) -> std::vector<Tensor> {
        const Tensor gh = grads[0].detach().to(Device::cpu()).to(xh.dtype());
        std::vector<double> red = f64 ? gradient_sums(xh.data<double>(), gh.data<double>(), rows, c, *stats)
                                      : gradient_sums(xh.data<float>(), gh.data<float>(), rows, c, *stats);
        const std::vector<double> local = red;
        comm_ptr->sum(red.data(), static_cast<int64_t>(red.size()));
        Tensor dx, dw, db;
        if (gx) {
          dx = Tensor::empty(xh.shape(), xh.dtype());
          if (f64) input_gradient(xh.data<double>(), gh.data<double>(), rows, c, *stats, w, red, dx.data<double>());
          else input_gradient(xh.data<float>(), gh.data<float>(), rows, c, *stats, w, red, dx.data<float>());
          dx = dx.to(device);
        }
        if (gw) dw = tensor_like(std::vector<double>(local.begin() + c, local.end()), Shape{c}, xh).to(device);
        if (gb) db = tensor_like(std::vector<double>(local.begin(), local.begin() + c), Shape{c}, xh).to(device);
        return {dx, dw, db};
      });
  return out;
}

}  // namespace fh::nn
