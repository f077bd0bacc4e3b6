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

// Training-mode batch norm of x [N,H,W,C] (float32 or float64) with the statistics of every
// rank's x; weight and bias [C] optional; running_mean and running_var [C], when defined,
// updated in place with the global mean and unbiased variance (PyTorch's momentum
// convention). One collective in the forward (per-channel Σx, Σx², count) and one in the
// backward (Σg, Σg·x̂); every rank must call it, and run its backward, in the same order.
// Computed on the host in float64 (device tensors are staged through host memory).
Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, double momentum, double eps, dist::Communicator& comm);

}  // namespace fh::nn
