#include "layers/sync_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/node.h"
#include "kernels/kernels.h"
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

Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, double momentum, double eps, dist::Communicator& comm) {
  const char* op = "sync_batch_norm2d";
  FH_CHECK(x.dim() == 4 && (x.dtype() == DType::F32 || x.dtype() == DType::F64), op, "x ", x.describe(),
           " must be a float32 or float64 [N,H,W,C]");
  const int64_t c = x.size(3), rows = x.size(0) * x.size(1) * x.size(2);
  FH_CHECK(!weight.defined() || weight.shape() == Shape{c}, op, "weight ", weight.describe(), " must be [", c, "]");
  FH_CHECK(!bias.defined() || bias.shape() == Shape{c}, op, "bias ", bias.describe(), " must be [", c, "]");
  // One collective: every rank's per-channel Σx and Σx² (float64) and its count. The
  // variance E[x²] − mean² in float64 loses about log10(1 + mean²/var) digits of 16, far
  // below float32 rounding for activations.
  const std::vector<double> xs = host_values(x);
  std::vector<double> sums(static_cast<size_t>(2 * c + 1), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const double v = xs[static_cast<size_t>(r * c + k)];
      sums[k] += v;
      sums[c + k] += v * v;
    }
  sums[2 * c] = static_cast<double>(rows);
  comm.sum(sums.data(), static_cast<int64_t>(sums.size()));
  auto stats = std::make_shared<Stats>();
  stats->count = sums[2 * c];
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
  std::vector<double> ys(xs.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const size_t i = static_cast<size_t>(r * c + k);
      ys[i] = (xs[i] - stats->mean[k]) * stats->invstd[k] * w[k] + b[k];
    }
  Tensor out = tensor_like(ys, x.shape(), x);
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
  // Backward, as PyTorch's SyncBatchNorm: one collective of every rank's Σg and Σg·x̂ per
  // channel; the input gradient is the joined batch's, the weight and bias gradients are
  // this rank's shares (the gradient all-reduce adds them up). Every rank must run it.
  autograd::record(
      "SyncBatchNorm2dBackward", {&x, &weight, &bias}, {&out},
      [=, saved = x.detach(), w = w](std::vector<Tensor>& grads) -> std::vector<Tensor> {
           const std::vector<double> xs = host_values(saved), g = host_values(grads[0]);
           std::vector<double> red(static_cast<size_t>(2 * c), 0.0);
           for (int64_t r = 0; r < rows; ++r)
             for (int64_t k = 0; k < c; ++k) {
               const size_t i = static_cast<size_t>(r * c + k);
               red[k] += g[i];
               red[c + k] += g[i] * (xs[i] - stats->mean[k]) * stats->invstd[k];
             }
           const std::vector<double> local = red;
           comm_ptr->sum(red.data(), static_cast<int64_t>(red.size()));
           Tensor dx, dw, db;
           if (gx) {
             std::vector<double> d(xs.size());
             for (int64_t r = 0; r < rows; ++r)
               for (int64_t k = 0; k < c; ++k) {
                 const size_t i = static_cast<size_t>(r * c + k);
                 const double xhat = (xs[i] - stats->mean[k]) * stats->invstd[k];
                 d[i] = w[k] * stats->invstd[k] * (g[i] - red[k] / stats->count - xhat * red[c + k] / stats->count);
               }
             dx = tensor_like(d, saved.shape(), saved);
           }
           if (gw) dw = tensor_like(std::vector<double>(local.begin() + c, local.end()), Shape{c}, saved);
           if (gb) db = tensor_like(std::vector<double>(local.begin(), local.begin() + c), Shape{c}, saved);
           return {dx, dw, db};
         });
  return out;
}

}  // namespace fh::nn
