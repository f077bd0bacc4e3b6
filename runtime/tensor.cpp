#include "runtime/tensor.h"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "runtime/cuda_runtime.h"

namespace fh {

TensorImpl::TensorImpl(std::shared_ptr<Storage> s, Shape sh, DType dt)
    : storage(std::move(s)), shape(sh), dtype(dt) {}
TensorImpl::~TensorImpl() = default;

void Tensor::throw_undefined() { FH_FAIL("Tensor", "use of an undefined tensor (default-constructed or moved-from)"); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  size_t nbytes = 0;
  FH_CHECK(!__builtin_mul_overflow(static_cast<size_t>(shape.numel()), dtype_size(dtype), &nbytes), "Tensor::empty",
           "a tensor of shape ", shape, " needs more than 2^64 bytes");
  auto storage = std::make_shared<Storage>(nbytes, device);
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), shape, dtype));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full(Shape{}, value, dtype, device); }

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  FH_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from_vector", values.size(),
           " values given for shape ", shape, " (", shape.numel(), " elements)");
  Tensor host = empty(shape, DTypeOf<T>::value, Device::cpu());
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(T));
  return device.is_cpu() ? host : host.to(device);
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<double>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&, Device);

int64_t Tensor::size(int64_t d) const { return shape()[shape().wrap_dim(d, "Tensor::size")]; }

std::string Tensor::describe() const {
  if (!defined()) return "(undefined)";
  std::ostringstream os;
  os << shape() << ' ' << dtype_name(dtype()) << ' ' << device();
  return os.str();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const Tensor host = to(Device::cpu()).to(DTypeOf<T>::value);
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<double> Tensor::to_vector() const;
template std::vector<int64_t> Tensor::to_vector() const;

double Tensor::item() const {
  FH_CHECK(numel() == 1, "Tensor::item", "needs a one-element tensor, got ", describe());
  return to_vector<double>()[0];
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor out = empty(shape(), dtype(), target);
  const size_t n = nbytes();
  if (n == 0) return out;
  if (device().is_cpu()) {
    cuda::copy_host_to_device(out.raw_data(), raw_data(), n, target.index);
  } else if (target.is_cpu()) {
    cuda::copy_device_to_host(out.raw_data(), raw_data(), n, device().index);
  } else {
    FH_CHECK(device().index == target.index, "Tensor::to", "copies between two GPUs (", device(), " -> ", target,
             ") are not supported; go through the CPU");
    cuda::copy_device_to_device(out.raw_data(), raw_data(), n, target.index);
  }
  return out;
}

Tensor Tensor::detach() const {
  return Tensor(std::make_shared<TensorImpl>(checked()->storage, shape(), dtype()));
}

Tensor Tensor::view(const Shape& new_shape) const {
  FH_CHECK(new_shape.numel() == numel(), "Tensor::view", "cannot view ", describe(), " as ", new_shape, " (",
           new_shape.numel(), " vs ", numel(), " elements)");
  return Tensor(std::make_shared<TensorImpl>(checked()->storage, new_shape, dtype()));
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  os << "Tensor(" << t.describe();
  if (t.defined() && t.numel() <= 64) {
    os << ", [";
    const auto v = t.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << std::setprecision(6) << v[i];
    os << ']';
  }
  return os << ')';
}

}  // namespace fh
