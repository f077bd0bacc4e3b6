// Op codes shared by the device-agnostic API (kernels.h) and the backends.
#pragma once

namespace fh::kernels {

enum class BinaryOp { Add, Sub, Mul, Div };
// Unary ops; Scale and AddScalar take their constant as `alpha`.
enum class UnaryOp { Neg, Relu, Exp, Log, Scale, AddScalar };

const char* op_name(BinaryOp op);
const char* op_name(UnaryOp op);

}  // namespace fh::kernels
