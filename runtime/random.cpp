#include "runtime/random.h"

#include <cmath>
#include <numbers>

#include "runtime/thread_pool.h"

namespace fh {

Philox4 philox4x32(uint64_t key, uint64_t counter) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

namespace {

// 24 (float) or 53 (double) random bits -> [0, 1).
inline double unit_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * 0x1.0p-53;
}

template <class T, class Fill>
Tensor generate(const Shape& shape, Generator& gen, DType dtype, Device device, Fill fill) {
  FH_CHECK(dtype == DType::F32 || dtype == DType::F64, "rand", "only float32/float64 are supported, got ",
           dtype_name(dtype));
  Tensor host = Tensor::empty(shape, DTypeOf<T>::value);
  const int64_t n = host.numel();
  const int64_t pairs = (n + 1) / 2;  // each counter block yields two values
  const uint64_t key = gen.seed(), base = gen.advance(static_cast<uint64_t>(pairs));
  T* out = host.data<T>();
  parallel_for(pairs, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Philox4 r = philox4x32(key, base + static_cast<uint64_t>(i));
      const double u0 = unit_double(r.v[0], r.v[1]), u1 = unit_double(r.v[2], r.v[3]);
      double v0, v1;
      fill(u0, u1, v0, v1);
      out[2 * i] = static_cast<T>(v0);
      if (2 * i + 1 < n) out[2 * i + 1] = static_cast<T>(v1);
    }
  });
  return device.is_cpu() ? host : host.to(device);
}

template <class Fill>
Tensor generate_any(const Shape& shape, Generator& gen, DType dtype, Device device, Fill fill) {
  return dtype == DType::F64 ? generate<double>(shape, gen, dtype, device, fill)
                             : generate<float>(shape, gen, dtype, device, fill);
}

}  // namespace

Tensor rand(const Shape& shape, Generator& gen, double low, double high, DType dtype, Device device) {
  return generate_any(shape, gen, dtype, device, [=](double u0, double u1, double& v0, double& v1) {
    v0 = low + (high - low) * u0;
    v1 = low + (high - low) * u1;
  });
}

Tensor randn(const Shape& shape, Generator& gen, double mean, double std, DType dtype, Device device) {
  return generate_any(shape, gen, dtype, device, [=](double u0, double u1, double& v0, double& v1) {
    // Box-Muller; 1 - u0 lies in (0, 1], so the log is finite.
    const double radius = std::sqrt(-2.0 * std::log(1.0 - u0));
    const double angle = 2.0 * std::numbers::pi * u1;
    v0 = mean + std * radius * std::cos(angle);
    v1 = mean + std * radius * std::sin(angle);
  });
}

}  // namespace fh
