// The basic layers: convolution (optionally spectrally normalised), linear, batch and
// instance normalisation. Inputs are NHWC [N, H, W, C]; PyTorch's default initialisation:
// conv and linear weights and biases uniform in ±1/sqrt(fan_in) (what kaiming_uniform with
// a = sqrt(5) reduces to), norm weights 1 and biases 0, running mean 0 and variance 1.
#pragma once

#include <cstdint>

#include "layers/module.h"

namespace fh::nn {

struct ConvSpec {
  int64_t in = 0, out = 0, kernel = 1, stride = 1, padding = 0;
  bool bias = true;
  bool spectral = false;  // spectral normalisation (one power iteration per training forward)
};

// Conv2d. With spectral normalisation the slots are `weight_orig` (the trained parameter),
// `weight_u` (the power-iteration vector) and `weight` (the effective W/σ, all that
// inference reads). Files must hold `weight`; `weight_orig` and `weight_u` are optional: a
// file with `weight` alone starts training from weight_orig = weight.
class Conv2d : public Module {
 public:
  explicit Conv2d(const ConvSpec& spec);
  Tensor forward(const Tensor& x);
  const ConvSpec& spec() const { return spec_; }

  // The weight the convolution uses now: W in plain convs; with spectral normalisation
  // W_orig/σ (training, after one power iteration, differentiable through σ) or the
  // stored effective weight (eval).
  Tensor current_weight();
  const Tensor& weight() const { return *weight_; }
  const Tensor& bias() const { return *bias_; }

  static constexpr double kSpectralEps = 1e-12;

 protected:
  void init_parameters(Generator& gen) override;
  void write_state(const std::string& prefix, NamedTensors& out) const override;
  void read_state(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used,
                  LoadReport& report, bool apply) override;
  void on_mode_change() override;

 private:
  Tensor power_vector_v() const;            // normalise(Wᵀu) with the stored u, no gradient
  Tensor sigma(const Tensor& w, const Tensor& u, const Tensor& v) const;  // uᵀ W v
  // W/σ with v = normalise(Wᵀu) and the stored u (no iteration): the effective weight a
  // file holds and eval uses once training has moved weight_orig.
  Tensor effective_without_iteration() const;
  ConvSpec spec_;
  Tensor* weight_ = nullptr;       // plain: the parameter; spectral: the effective weight buffer
  Tensor* bias_ = nullptr;
  Tensor* weight_orig_ = nullptr;  // spectral only
  Tensor* weight_u_ = nullptr;     // spectral only, [out]
  Tensor none_;
  bool effective_is_loaded_ = false;  // `weight` came from a file, untouched by training since
};

class Linear : public Module {
 public:
  // weight_layout: how files hold the weight (FileLayout::image_columns for a head that reads
  // a flattened NHWC image, so that no forward pass permutes the image to PyTorch's order).
  Linear(int64_t in, int64_t out, bool bias = true, FileLayout weight_layout = FileLayout::Same);
  Tensor forward(const Tensor& x);  // [..., in] → [..., out]
  const Tensor& weight() const { return weight_; }

 protected:
  void init_parameters(Generator& gen) override;

 private:
  int64_t in_, out_;
  Tensor& weight_;
  Tensor none_;
  Tensor* bias_;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x);

 protected:
  void init_parameters(Generator& gen) override;

 private:
  double eps_, momentum_;
  Tensor &weight_, &bias_, &running_mean_, &running_var_;
};

class InstanceNorm2d : public Module {
 public:
  InstanceNorm2d(int64_t channels, bool affine, double eps = 1e-5);
  Tensor forward(const Tensor& x);

 protected:
  void init_parameters(Generator& gen) override;

 private:
  bool affine_;
  double eps_;
  Tensor none_;
  Tensor *weight_, *bias_;
};

}  // namespace fh::nn
