// Element types. float32 is the working type everywhere; float64 exists on the CPU for
// gradient checks; float16 and bfloat16 are storage types for the GPU path and weight files;
// int64 is a storage type for weight files and indices.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace fh {

enum class DType : uint8_t { F32, F64, F16, BF16, I64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // PyTorch spelling: "float32", "float64", ...
bool is_floating(DType t);

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::I64;
};

// IEEE binary16 and bfloat16 conversions, round to nearest even; NaN stays NaN.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
uint16_t float_to_bfloat16(float f);
float bfloat16_to_float(uint16_t b);

}  // namespace fh
