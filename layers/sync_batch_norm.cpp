#include "layers/sync_batch_norm.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/pointwise.h"
#include "kernels/kernels.h"
#include "runtime/error.h"

namespace fh::nn {

namespace {

dist::Communicator* g_active = nullptr;

// t summed over the ranks, as new host-staged storage on t's device and dtype.
Tensor summed(const Tensor& t, dist::Communicator& comm) {
  Tensor host = t.detach().to(Device::cpu());
  if (host.raw_data() == t.detach().raw_data()) host = kernels::copy(host);  // never sum into the caller's tensor
  if (host.dtype() == DType::F64) {
    comm.sum(host.data<double>(), host.numel());
  } else {
    FH_CHECK(host.dtype() == DType::F32, "replica_sum", "tensor ", t.describe(), " must be float32 or float64");
    comm.sum(host.data<float>(), host.numel());
  }
  return host.to(t.device());
}

// Writes `values` (host, double) into a running-statistics buffer in place.
void assign(Tensor& buffer, const std::vector<double>& values) {
  if (buffer.device().is_cpu()) {
    for (size_t c = 0; c < values.size(); ++c) {
      if (buffer.dtype() == DType::F64) buffer.data<double>()[c] = values[c];
      else buffer.data<float>()[c] = static_cast<float>(values[c]);
    }
    return;
  }
  const Tensor v = Tensor::from_vector(values, buffer.shape()).to(buffer.dtype()).to(buffer.device());
  kernels::fill(buffer, 0.0);
  kernels::binary_(kernels::BinaryOp::Add, buffer, v);
}

std::vector<double> host_values(const Tensor& t) {
  const Tensor h = t.detach().to(Device::cpu()).to(DType::F64);
  return std::vector<double>(h.data<double>(), h.data<double>() + h.numel());
}

}  // namespace

BatchNormSync::BatchNormSync(dist::Communicator& comm) {
  FH_CHECK(g_active == nullptr, "BatchNormSync", "a synchronisation scope is already active");
  if (comm.size() > 1) g_active = &comm;
}

BatchNormSync::~BatchNormSync() { g_active = nullptr; }

dist::Communicator* BatchNormSync::active() { return g_active; }

Tensor replica_sum(const Tensor& t, dist::Communicator& comm) {
  Tensor out = summed(t, comm);
  if (!autograd::needs_grad({&t})) return out;
  dist::Communicator* c = &comm;
  autograd::record("ReplicaSumBackward", {&t}, {&out},
                   [c](std::vector<Tensor>& g) -> std::vector<Tensor> { return {summed(g[0], *c)}; });
  return out;
}

Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, double momentum, double eps, dist::Communicator& comm) {
  const char* op = "sync_batch_norm2d";
  FH_CHECK(x.dim() == 4, op, "x ", x.describe(), " must be [N,H,W,C]");
  const int64_t c = x.size(3), rows = x.size(0) * x.size(1) * x.size(2);
  FH_CHECK(!weight.defined() || weight.shape() == Shape{c}, op, "weight ", weight.describe(), " must be [", c, "]");
  FH_CHECK(!bias.defined() || bias.shape() == Shape{c}, op, "bias ", bias.describe(), " must be [", c, "]");
  // The global count of values per channel (ranks may hold different batches).
  double count = static_cast<double>(rows);
  comm.sum(&count, 1);
  FH_CHECK(count > 1, op, "training needs more than 1 value per channel over all ranks, got ", count, " (x ",
           x.describe(), " on this rank)");
  // Two passes, as the single-process kernel: the global mean, then the global mean of the
  // squared deviations from it.
  const Tensor flat = reshape(x, {rows, c});
  const Tensor mean = scale(replica_sum(sum(flat, {0}), comm), 1.0 / count);
  const Tensor centred = flat - mean;
  const Tensor var = scale(replica_sum(sum(centred * centred, {0}), comm), 1.0 / count);
  Tensor out = centred / sqrt(var + eps);
  if (weight.defined()) out = out * weight;
  if (bias.defined()) out = out + bias;
  {
    NoGradGuard no_grad;
    const std::vector<double> m = host_values(mean), v = host_values(var);
    const double unbiased = count / (count - 1);
    if (running_mean.defined()) {
      std::vector<double> r = host_values(running_mean);
      for (int64_t i = 0; i < c; ++i) r[i] = (1.0 - momentum) * r[i] + momentum * m[i];
      assign(running_mean, r);
    }
    if (running_var.defined()) {
      std::vector<double> r = host_values(running_var);
      for (int64_t i = 0; i < c; ++i) r[i] = (1.0 - momentum) * r[i] + momentum * v[i] * unbiased;
      assign(running_var, r);
    }
  }
  return reshape(out, {x.size(0), x.size(1), x.size(2), c});
}

}  // namespace fh::nn
