// Batch norm synchronised across the ranks of a data-parallel job (docs/distributed.md), as
// PyTorch's SyncBatchNorm: in training mode each channel's mean and variance are those of the
// global batch — every rank's images together — and the backward sums the statistics'
// gradients over the ranks the same way, so K ranks with B images each normalise, and
// differentiate, as one process with K·B images would. The running statistics are updated
// from the global values, so they stay identical on every rank.
//
// nn::BatchNorm2d switches to it in training mode while a BatchNormSync scope is alive; eval
// mode (validation, samples) reads the running statistics and communicates nothing.
#pragma once

#include "dist/communicator.h"
#include "runtime/tensor.h"

namespace fh::nn {

// While alive (and `comm` has more than one rank), BatchNorm2d in training mode synchronises
// over `comm`. Scopes do not nest.
class BatchNormSync {
 public:
  explicit BatchNormSync(dist::Communicator& comm);
  ~BatchNormSync();
  BatchNormSync(const BatchNormSync&) = delete;
  BatchNormSync& operator=(const BatchNormSync&) = delete;
  // The communicator batch norms synchronise over now, or null.
  static dist::Communicator* active();
};

// Differentiable: t summed over the ranks (every rank gets the sum); its backward sums the
// incoming gradients over the ranks the same way (d/dt_r of Σ_q L_q(Σ t) = Σ_q ∂L_q/∂(Σ t)).
// Every rank must call it, and run the backward through it, in the same order.
Tensor replica_sum(const Tensor& t, dist::Communicator& comm);

// Training-mode batch norm of x [N,H,W,C] with the statistics of every rank's x; weight and
// bias [C] optional; running_mean and running_var [C], when defined, updated in place with
// the global mean and unbiased variance (PyTorch's momentum convention).
Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, double momentum, double eps, dist::Communicator& comm);

}  // namespace fh::nn
