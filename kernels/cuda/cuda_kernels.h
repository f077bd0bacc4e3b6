// CUDA backend: the same signatures as the CPU backend (backend_ops.inc). Compiled only
// when freehead is built with CUDA (FH_WITH_CUDA).
#pragma once

#include "kernels/backend_types.h"

namespace fh::kernels::cuda {
#include "kernels/backend_ops.inc"
}  // namespace fh::kernels::cuda
