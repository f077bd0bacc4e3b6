// CPU backend: the reference implementation of every kernel.
#pragma once

#include "kernels/layout.h"
#include "kernels/ops.h"
#include "runtime/tensor.h"

namespace fh::kernels::cpu {
#include "kernels/backend_ops.inc"
}  // namespace fh::kernels::cpu
