// Parameter types of the normalisation family's backend contract (kernels/backend/norm.inc).
#pragma once

namespace fh::kernels {

// Batch norm's mode and constants (PyTorch's defaults).
struct BatchNormParams {
  // true: normalise with the batch's statistics and update the running ones;
  // false: normalise with the running statistics.
  bool training = true;
  // running = (1 - momentum)·running + momentum·batch statistic.
  double momentum = 0.1;
  double eps = 1e-5;
};

}  // namespace fh::kernels
