// CPU backend: the reference implementation of every kernel.
#pragma once

#include "kernels/backend_types.h"

namespace fh::kernels::cpu {
#include "kernels/backend_ops.inc"
}  // namespace fh::kernels::cpu
