#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>

#include "runtime/host_allocator.h"
#include "runtime/random.h"
#include "runtime/tensor.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;

TEST_CASE("factories, metadata and host data") {
  const Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::F32);
  CHECK(z.device().is_cpu());
  CHECK(z.nbytes() == 24);
  CHECK(z.size(-1) == 3);
  CHECK(z.to_vector<float>() == std::vector<float>(6, 0.0f));
  CHECK(Tensor::full({4}, 2.5, DType::F64).to_vector<double>() == std::vector<double>(4, 2.5));
  CHECK(Tensor::scalar(7).item() == 7.0);
  CHECK(Tensor::scalar(7).dim() == 0);
  const Tensor v = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  CHECK(v.data<float>()[3] == 4.0f);
  CHECK_THROWS_AS(v.data<double>(), fh::Error);
  CHECK_THROWS_AS(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), fh::Error);
  CHECK_THROWS_AS(Tensor().shape(), fh::Error);
}

TEST_CASE("host memory is 64-byte aligned") {
  for (int64_t n : {1, 3, 17, 1000}) {
    const Tensor t = Tensor::empty({n});
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
  }
}

TEST_CASE("views share storage, clones do not") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = a.view({3, 2});
  CHECK(v.shares_storage_with(a));
  v.data<float>()[0] = 42;
  CHECK(a.data<float>()[0] == 42);
  Tensor c = a.clone();
  CHECK_FALSE(c.shares_storage_with(a));
  c.data<float>()[1] = -1;
  CHECK(a.data<float>()[1] == 2);
  CHECK_THROWS_WITH_AS(a.view({4, 2}), doctest::Contains("cannot view [2, 3] float32 cpu as [4, 2]"), fh::Error);
}

TEST_CASE("dtype casts between every pair keep representable values") {
  const std::vector<double> values = {0, 1, -2, 0.5, 1024, -3};
  const Tensor src = Tensor::from_vector<double>(values, {6});
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64}) {
    const Tensor x = src.to(t);
    CHECK(x.dtype() == t);
    for (DType u : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64}) {
      const std::vector<double> back = x.to(u).to_vector<double>();
      for (size_t i = 0; i < values.size(); ++i) {
        const double expect = (t == DType::I64 || u == DType::I64) ? static_cast<double>(static_cast<int64_t>(values[i])) : values[i];
        CHECK(back[i] == expect);
      }
    }
  }
}

TEST_CASE("random fills are reproducible and have the right moments") {
  fh::Generator g1(123), g2(123), g3(124);
  const Tensor a = fh::randn({10001}, g1), b = fh::randn({10001}, g2), c = fh::randn({10001}, g3);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(a.to_vector<float>() != c.to_vector<float>());
  // A second draw from the same generator differs from the first.
  CHECK(fh::randn({10001}, g1).to_vector<float>() != a.to_vector<float>());
  double mean = 0, var = 0;
  for (float v : a.to_vector<float>()) mean += v;
  mean /= 10001;
  for (float v : a.to_vector<float>()) var += (v - mean) * (v - mean);
  var /= 10000;
  CHECK(std::abs(mean) < 0.05);
  CHECK(std::abs(var - 1.0) < 0.05);
  const std::vector<double> u = fh::rand({5000}, g3, -2.0, 3.0, DType::F64).to_vector<double>();
  for (double v : u) {
    CHECK(v >= -2.0);
    CHECK(v < 3.0);
  }
}

TEST_CASE("tensor printing names shape, dtype and device") {
  std::ostringstream os;
  os << Tensor::from_vector<float>({1, 2}, {2});
  CHECK(os.str() == "Tensor([2] float32 cpu, [1, 2])");
}

TEST_CASE("large host blocks are cached and reused, and stats track them") {
  fh::host::empty_cache();
  const auto before = fh::host::memory_stats();
  const int64_t n = (int64_t{3} << 20) / 4;  // 3 MiB of float32
  void* first = nullptr;
  {
    Tensor a = Tensor::empty({n});
    first = a.raw_data();
    CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    CHECK(fh::host::memory_stats().in_use >= before.in_use + (size_t{3} << 20));
  }
  const auto freed = fh::host::memory_stats();
  CHECK(freed.in_use == before.in_use);
  CHECK(freed.cached >= (size_t{3} << 20));
  {
    Tensor b = Tensor::empty({n});
    CHECK(b.raw_data() == first);  // the cached block came back
    CHECK(fh::host::memory_stats().cache_hits == freed.cache_hits + 1);
  }
  CHECK(fh::host::memory_stats().peak_in_use >= before.in_use + (size_t{3} << 20));
  fh::host::empty_cache();
  CHECK(fh::host::memory_stats().cached == 0);
}
