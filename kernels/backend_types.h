// Types the backend contract (backend_ops.inc) refers to: layouts, op codes, and each op
// family's parameter structs. Included before the backend namespaces open, one line per
// family (docs/adding-an-op.md).
#pragma once

#include "kernels/layout.h"
#include "kernels/ops.h"
#include "runtime/tensor.h"
#include "kernels/conv_types.h"
