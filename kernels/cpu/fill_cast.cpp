// fill, cast and copy on the CPU, for every dtype.
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// Loads element i of a buffer of dtype t as double (F16/BF16 through float).
double load(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F64: return static_cast<const double*>(p)[i];
    case DType::F16: return half_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16: return bfloat16_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::I64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
  }
  return 0.0;
}

void store(void* p, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::F64: static_cast<double*>(p)[i] = v; break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = float_to_half(static_cast<float>(v)); break;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = float_to_bfloat16(static_cast<float>(v)); break;
    case DType::I64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
  }
}

template <class T>
void fill_typed(T* p, int64_t n, T v) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
}

}  // namespace

void fill(Tensor& out, double value) {
  const int64_t n = out.numel();
  void* p = out.raw_data();
  switch (out.dtype()) {
    case DType::F32: fill_typed(static_cast<float*>(p), n, static_cast<float>(value)); break;
    case DType::F64: fill_typed(static_cast<double*>(p), n, value); break;
    case DType::I64: fill_typed(static_cast<int64_t*>(p), n, static_cast<int64_t>(value)); break;
    case DType::F16: fill_typed(static_cast<uint16_t*>(p), n, float_to_half(static_cast<float>(value))); break;
    case DType::BF16:
      fill_typed(static_cast<uint16_t*>(p), n, float_to_bfloat16(static_cast<float>(value)));
      break;
  }
}

void cast(const Tensor& in, Tensor& out) {
  const DType from = in.dtype(), to = out.dtype();
  const void* src = in.raw_data();
  void* dst = out.raw_data();
  if (from == to) {
    copy(in, out);
    return;
  }
  // Through double: exact for every float type, and for int64 up to 2^53.
  parallel_for(in.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) store(dst, to, i, load(src, from, i));
  });
}

void copy(const Tensor& in, Tensor& out) { std::memcpy(out.raw_data(), in.raw_data(), in.nbytes()); }

}  // namespace fh::kernels::cpu
