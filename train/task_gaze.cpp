// Training E_gaze (paper Eq. 7-10): eye crops (each eye of each frame, the crop box of
// docs/geometry.md#crops resampled to E×E) against the true eye meshes in crop
// coordinates: vertex, edge-length and gaze-angle terms.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/draw.h"
#include "geometry/conventions.h"
#include "geometry/eyes.h"
#include "nets/config.h"
#include "nets/gaze_net.h"
#include "runtime/error.h"
#include "train/losses.h"
#include "train/task_common.h"
#include "train/tasks.h"

namespace fh::train {

namespace {

// Angle in degrees between rows of two [B,3] gaze tensors.
std::vector<double> angles_deg(const Tensor& a, const Tensor& b) {
  const Tensor x = a.detach().to(Device::cpu()).to(DType::F64), y = b.detach().to(Device::cpu()).to(DType::F64);
  std::vector<double> out;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double* p = x.data<double>() + 3 * i;
    const double* q = y.data<double>() + 3 * i;
    const double np = std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    const double nq = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    const double c = std::clamp((p[0] * q[0] + p[1] * q[1] + p[2] * q[2]) / (np * nq), -1.0, 1.0);
    out.push_back(std::acos(c) * 180.0 / geometry::kPi);
  }
  return out;
}

// An eye seen clearly: open (lid gap at least 15 % of its width; open synthetic eyes are
// 0.2-0.4, blinking ones fall to 0) on a head turned at most 30° (beyond, the far eye sinks
// behind the nose). Where gaze is ill-posed, the validation reports it apart.
bool is_clear_view(float openness, float yaw) {
  return openness >= 0.15f && std::isfinite(yaw) && std::abs(yaw) <= static_cast<float>(geometry::kPi / 6);
}

class GazeTask : public Task {
 public:
  GazeTask(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds)
      : o_(o), ds_(std::move(ds)), cfg_(nets::config(o.config)), device_(training_device(o)), dtype_(training_dtype(o)), net_(cfg_) {
    fh::Generator gen(o.seed);
    net_.reset_parameters(gen);
    // An ImageNet trunk converted from torchvision holds only `gaze.backbone.*`.
    if (!o.init.empty()) load_initial_weights(net_, "gaze.", o.init, true);
    net_.to(device_);
    net_.to(dtype_);
    net_.train();
    make_optimizers();
    // Validation reads the true crops, so figures stay comparable across jitter settings.
    data::LoaderOptions val = loader_options();
    val.eye_jitter = 0;
    held_out_ = held_out_batches(ds_, val, o.val_split, o.val_batches);
  }

  std::vector<ModuleEntry> modules() override { return {{"gaze.", &net_, true}}; }
  std::vector<OptimizerEntry> optimizers() override { return {{"gaze", adam_.get(), "gaze.", &net_, adam_options(o_, 1e-4, 0.9, 0.999).lr}}; }
  void make_optimizers() override { adam_ = make_adam(net_, "gaze.", adam_options(o_, 1e-4, 0.9, 0.999)); }

  data::LoaderOptions loader_options() const override {
    data::LoaderOptions lo;
    lo.sampling = data::Sampling::EyeCrops;
    lo.eye_size = static_cast<int>(cfg_.eye_size);
    lo.batch_size = static_cast<int>(o_.batch);
    lo.seed = o_.seed;
    lo.eye_jitter = o_.eye_jitter;
    lo.mirror = o_.mirror;
    return lo;
  }

  Terms step(const data::Batch& b, StepContext& ctx) override {
    adam_->zero_grad();
    const nets::GazeOutput out = net_.forward(on(b, "image", device_, dtype_));
    const GazeLossTerms l = gaze_loss(out.vertices, on(b, "eye_mesh", device_, dtype_));
    ctx.optimise("E_gaze", l.total,
                 {{"vertices", l.vertices}, {"edges", l.edges}, {"gaze", l.gaze}, {"total", l.total}}, *adam_);
    return {{"total", l.total.item()}, {"vertices", l.vertices.item()}, {"edges", l.edges.item()},
            {"gaze_deg", l.gaze.item()}};
  }

  Terms validate() override {
    NoGradGuard no_grad;
    net_.eval();
    double vert = 0, clear_err = 0;
    int64_t clear = 0;
    std::vector<double> errors;  // one per eye, in batch order
    for (const data::Batch& b : held_out_) {
      const nets::GazeOutput out = net_.forward(on(b, "image", device_, dtype_));
      const std::vector<double> a = angles_deg(out.gaze, b["gaze"]);
      const float* openness = b["eye_openness"].data<float>();
      const float* yaw = b["head_yaw"].data<float>();
      for (size_t i = 0; i < a.size(); ++i) {
        errors.push_back(a[i]);
        if (is_clear_view(openness[i], yaw[i])) clear_err += a[i], ++clear;
      }
      const Tensor v = out.vertices.to(Device::cpu()).to(DType::F32), t = b["eye_mesh"];
      for (int64_t i = 0; i < v.numel(); i += 3) {
        const float* p = v.data<float>() + i;
        const float* q = t.data<float>() + i;
        vert += std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]));
      }
    }
    net_.train();
    const double m = static_cast<double>(std::max<size_t>(errors.size(), 1));
    const double mean = std::accumulate(errors.begin(), errors.end(), 0.0) / m;  // before sorting: the old sum's order
    std::sort(errors.begin(), errors.end());
    return {{"gaze_error_deg", mean},
            {"gaze_error_median_deg", errors.empty() ? 0.0 : errors[errors.size() / 2]},
            {"gaze_error_clear_deg", clear > 0 ? clear_err / static_cast<double>(clear) : 0.0},
            {"clear_eyes", static_cast<double>(clear)},
            {"vertex_error", vert / (m * geometry::kEyeVertices)},
            {"eyes", static_cast<double>(errors.size())}};
  }

  void write_samples(const data::Batch& b, const std::string& path) override {
    NoGradGuard no_grad;
    net_.eval();
    const int64_t n = std::min<int64_t>(8, b["image"].size(0));
    const Tensor images = slice(b["image"], 0, 0, n);
    const Tensor pred = net_.forward(images.to(device_).to(dtype_)).vertices.to(Device::cpu()).to(DType::F32);
    net_.train();
    const Tensor truth = slice(b["eye_mesh"], 0, 0, n);
    const int factor = std::max(1, static_cast<int>(128 / cfg_.eye_size));
    std::vector<std::vector<Image>> rows(1);
    for (int64_t i = 0; i < n; ++i) {
      Image img = upscale(tile(images, i), factor);
      draw_iris_and_gaze(img, truth, i, {60, 220, 60});
      draw_iris_and_gaze(img, pred, i, {240, 40, 40});
      rows[0].push_back(std::move(img));
    }
    write_png(path, tile_rows(rows));
  }

  json::Value describe() const override {
    json::Value v = json::Value::object();
    v.set("network", "E_gaze (gaze.)");
    v.set("parameters", net_.num_parameters());
    v.set("samples", "eye crops with the iris ring and gaze of the true mesh (green) and the predicted one (red)");
    return v;
  }

 private:
  // The iris ring (ring 3 of the template) and an arrow along the mesh's gaze.
  static void draw_iris_and_gaze(Image& img, const Tensor& meshes, int64_t i, const data::Rgb& colour) {
    const float* v = meshes.data<float>() + i * geometry::kEyeVertices * 3;
    const double half = (img.width - 1) / 2.0;
    auto px = [&](int k) { return std::array<double, 2>{(v[3 * k] + 1) * half, (v[3 * k + 1] + 1) * half}; };
    double cx = 0, cy = 0, ex = 0, ey = 0;
    for (int k = 0; k < 32; ++k) {
      const int a = 1 + 32 * 3 + k, bb = 1 + 32 * 3 + (k + 1) % 32;
      data::draw_segment(img, px(a)[0], px(a)[1], px(bb)[0], px(bb)[1], 1.2, colour);
      cx += px(a)[0] / 32, cy += px(a)[1] / 32;
      const int e = 1 + 32 * 7 + k;
      ex += px(e)[0] / 32, ey += px(e)[1] / 32;
    }
    data::draw_arrow(img, cx, cy, cx + 2.5 * (cx - ex), cy + 2.5 * (cy - ey), 1.5, colour);
  }

  TrainOptions o_;
  std::shared_ptr<const data::Dataset> ds_;
  nets::Config cfg_;
  Device device_;
  DType dtype_;
  nets::GazeNet net_;
  std::unique_ptr<Adam> adam_;
  std::vector<data::Batch> held_out_;
};

}  // namespace

std::unique_ptr<Task> make_gaze_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds) {
  return std::make_unique<GazeTask>(o, std::move(ds));
}

}  // namespace fh::train
