// Op codes of the core family, shared by its device-agnostic API (core.h) and the backends.
#pragma once

namespace fh::kernels {

enum class BinaryOp { Add, Sub, Mul, Div };
// Unary ops; Scale and AddScalar take their constant as `alpha`.
enum class UnaryOp { Neg, Relu, Exp, Log, Scale, AddScalar };

const char* op_name(BinaryOp op);
const char* op_name(UnaryOp op);

}  // namespace fh::kernels
