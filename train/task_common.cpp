#include "train/task_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "dist/communicator.h"
#include "runtime/error.h"
#include "weights/safetensors.h"

namespace fh::train {

std::unique_ptr<Adam> make_adam(const nn::Module& module, const std::string& prefix, const AdamOptions& options) {
  std::vector<NamedParameter> params;
  for (auto& [name, t] : module.named_parameters(prefix))
    if (t.requires_grad()) params.push_back({name, t});
  FH_CHECK(!params.empty(), "train", "no trainable parameter under '", prefix, "'");
  return std::make_unique<Adam>(std::move(params), options);
}

AdamOptions adam_options(const TrainOptions& o, double lr, double beta1, double beta2) {
  AdamOptions a;
  a.lr = o.lr > 0 ? o.lr : lr;
  a.beta1 = o.beta1 > 0 ? o.beta1 : beta1;
  a.beta2 = o.beta2 > 0 ? o.beta2 : beta2;
  return a;
}

void load_initial_weights(nn::Module& module, const std::string& prefix, const std::string& path, bool partial) {
  load_initial_weights(module, prefix, safetensors::load(path), path, partial);
}

void load_initial_weights(nn::Module& module, const std::string& prefix, const safetensors::Contents& c,
                          const std::string& path, bool partial) {
  const nn::TensorMap map(c.tensors.begin(), c.tensors.end());
  if (!partial) {
    nn::load_weights(module, map, prefix, path);
    return;
  }
  const nn::LoadReport report = module.load_state_dict(map, prefix, /*allow_partial=*/false);
  if (report.ok()) return;
  FH_CHECK(report.unexpected.empty() && report.mismatched.empty() && report.nonfinite.empty(), "train", "--init '", path,
           "' does not fit the network: ", report.message());
  const size_t expected = module.state_dict(prefix).size();
  FH_CHECK(report.missing.size() < expected, "train", "--init '", path, "' holds no tensor under '", prefix, "'");
  module.load_state_dict(map, prefix, /*allow_partial=*/true);
  std::fprintf(stderr, "train: --init '%s' lacks %zu tensors, which keep their initial values:", path.c_str(),
               report.missing.size());
  for (const auto& m : report.missing) std::fprintf(stderr, " %s", m.c_str());
  std::fprintf(stderr, "\n");
}

Device training_device(const TrainOptions& o) {
  Device d = Device::parse(o.device);
  // Several ranks on one machine: `--device cuda` gives each its own GPU (its local rank).
  if (o.device == "cuda" && dist::launcher_local_rank() > 0) d = Device::cuda(dist::launcher_local_rank());
  if (!d.is_cpu())
    std::fprintf(stderr, "train: networks on %s; the optimiser updates their parameters on the host (no CUDA Adam "
                         "kernel yet)\n", o.device.c_str());
  return d;
}

DType training_dtype(const TrainOptions& o) {
  if (o.dtype == "float32") return DType::F32;
  FH_CHECK(o.dtype == "float64", "train", "--dtype must be float32 or float64, got '", o.dtype, "'");
  FH_CHECK(Device::parse(o.device).is_cpu(), "train", "--dtype float64 trains on the CPU only (got --device ", o.device,
           ")");
  return DType::F64;
}

Tensor on(const data::Batch& b, const std::string& name, Device device, DType dtype) {
  return b[name].to(device).to(dtype);
}

std::vector<data::Batch> held_out_batches(const std::shared_ptr<const data::Dataset>& ds, data::LoaderOptions lo,
                                          const std::string& split, int64_t count) {
  lo.split = split;
  lo.mirror = false;  // validation reads the items as they are
  lo.shuffle = true;
  lo.seed = lo.seed * 0x9E3779B97F4A7C15ull + 0x5eed;
  lo.workers = 0;
  lo.first_batch = 0;
  data::Loader loader(ds, lo);
  const int64_t n = std::min<int64_t>(count, std::max<int64_t>(1, loader.batches_per_epoch()));
  std::vector<data::Batch> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(loader.make_batch(i));
  return out;
}

namespace {

std::vector<double> per_image(const Tensor& a, const Tensor& b, bool squared) {
  FH_CHECK(a.shape() == b.shape() && a.dim() == 4, "metrics", "images must match: ", a.describe(), " vs ",
           b.describe());
  const Tensor x = a.detach().to(Device::cpu()).to(DType::F64), y = b.detach().to(Device::cpu()).to(DType::F64);
  const int64_t n = a.size(0), per = a.numel() / n;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < per; ++k) {
      // [-1, 1] → [0, 255], clamped as a saved image would be.
      const double u = std::clamp((x.data<double>()[i * per + k] + 1) * 127.5, 0.0, 255.0);
      const double v = std::clamp((y.data<double>()[i * per + k] + 1) * 127.5, 0.0, 255.0);
      s += squared ? (u - v) * (u - v) : std::abs(u - v);
    }
    out[static_cast<size_t>(i)] = s / static_cast<double>(per);
  }
  return out;
}

}  // namespace

std::vector<double> psnr_per_image(const Tensor& a, const Tensor& b) {
  std::vector<double> mse = per_image(a, b, true);
  for (double& m : mse) m = m > 0 ? 10 * std::log10(255.0 * 255.0 / m) : 100.0;
  return mse;
}

std::vector<double> l1_255_per_image(const Tensor& a, const Tensor& b) { return per_image(a, b, false); }

Image tile(const Tensor& batch, int64_t b, double lo, double hi) {
  return tensor_to_image(slice(batch.detach(), 0, b, 1).to(Device::cpu()).to(DType::F32), lo, hi);
}

}  // namespace fh::train
