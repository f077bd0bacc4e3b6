// Types the backend contract (backend_ops.inc) refers to: layouts, op codes, and each op
// family's parameter structs. Included before the backend namespaces open, one line per
// family (docs/adding-an-op.md).
#pragma once

#include "kernels/conv_types.h"
#include "kernels/layout.h"
#include "kernels/norm_types.h"
#include "kernels/core_types.h"
#include "kernels/pointwise_types.h"
#include "kernels/pool_types.h"
#include "runtime/tensor.h"
