// Tensor: a dense, contiguous, row-major n-d array of one dtype on one device, plus the
// autograd information that lets define-by-run differentiation flow through it.
//
// Layout convention (docs/conventions.md): image-like 4-d activations are stored NHWC
// inside freehead; files and PyTorch interop use NCHW and convert at that boundary only.
// All tensors are contiguous; views (reshape, detach) share storage with their base.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/shape.h"
#include "runtime/storage.h"

namespace fh {

namespace autograd {
class Node;
}
struct AutogradMeta;  // defined below Tensor

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::F32;
  std::unique_ptr<AutogradMeta> autograd;  // nullptr until the tensor takes part in autograd

  TensorImpl(std::shared_ptr<Storage> s, Shape sh, DType dt);
  ~TensorImpl();
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- Factories -------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  // A 0-d tensor holding `value`.
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::cpu());
  // Copies host values into a new tensor; values.size() must equal shape.numel().
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());

  // ---- Metadata --------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked()->shape; }
  int dim() const { return shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage->device(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  // "[2, 3] float32 cpu", for messages.
  std::string describe() const;

  // ---- Data access (typed access checks the dtype; host access checks the device) ---------
  void* raw_data() { return checked()->storage->data(); }
  const void* raw_data() const { return checked()->storage->data(); }
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  // Copies to host and converts to T.
  template <class T>
  std::vector<T> to_vector() const;
  // The single value of a one-element tensor, as double.
  double item() const;

  // ---- Conversions (always new storage unless nothing changes) -----------------------------
  // to(DType), clone() and fill_() run kernels: they are implemented in
  // kernels/tensor_kernels.cpp, the autograd members in autograd/tensor_autograd.cpp.
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;
  // Same storage and shape, cut from the autograd graph.
  Tensor detach() const;
  // A view with another shape (same numel, shared storage); no autograd. See fh::reshape.
  Tensor view(const Shape& shape) const;
  bool shares_storage_with(const Tensor& other) const;
  // Fills every element with `value` in place (no autograd).
  Tensor& fill_(double value);

  // ---- Autograd --------------------------------------------------------------------------
  bool requires_grad() const;
  // Marks a leaf as requiring gradients (only floating dtypes).
  Tensor& requires_grad_(bool enabled = true);
  // A leaf has no grad_fn: user-created, or computed without gradient tracking.
  bool is_leaf() const;
  // Accumulated gradient (undefined until a backward pass reaches this leaf).
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();
  std::shared_ptr<autograd::Node> grad_fn() const;
  // Backpropagates from this tensor. `grad` defaults to 1 for one-element tensors; the graph
  // is freed afterwards unless retain_graph.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl* checked() const {
    if (!impl_) [[unlikely]]
      throw_undefined();
    return impl_.get();
  }
  [[noreturn]] static void throw_undefined();
  template <class T>
  void check_access() const;

  std::shared_ptr<TensorImpl> impl_;
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;  // set on outputs of differentiable ops
  uint32_t output_nr = 0;                   // which output of grad_fn this tensor is
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: the node that accumulates .grad
};

// Prints shape, dtype, device and (for up to 64 elements) the values.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T>
void Tensor::check_access() const {
  FH_CHECK(dtype() == DTypeOf<T>::value, "Tensor::data", "tensor ", describe(), " accessed as ",
           dtype_name(DTypeOf<T>::value));
  FH_CHECK(device().is_cpu(), "Tensor::data", "tensor ", describe(), " is not in host memory; use .to(Device::cpu())");
}

template <class T>
T* Tensor::data() {
  check_access<T>();
  return static_cast<T*>(raw_data());
}

template <class T>
const T* Tensor::data() const {
  check_access<T>();
  return static_cast<const T*>(raw_data());
}

}  // namespace fh
