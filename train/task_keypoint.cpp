// Training E_can (paper Eq. 3-6): pairs of frames of one clip go through the network as one
// batch; the loss asks for each frame's key-points and the target's angles, for each
// frame's canonical points re-posed with the other frame's pose and deformation to land on
// that frame's key-points, and for small deformations.
#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/draw.h"
#include "geometry/conventions.h"
#include "geometry/keypoints.h"
#include "nets/config.h"
#include "nets/keypoint_net.h"
#include "runtime/error.h"
#include "train/losses.h"
#include "train/task_common.h"
#include "train/tasks.h"

namespace fh::train {

namespace {

constexpr double kDeg = 180.0 / geometry::kPi;

KeypointEstimate estimate(const nets::KeypointOutput& out, int64_t first, int64_t count) {
  auto part = [&](const Tensor& t) { return slice(t, 0, first, count); };
  const double to_rad = 1.0 / kDeg;
  KeypointEstimate e;
  e.pose.yaw = scale(part(out.yaw), to_rad);
  e.pose.pitch = scale(part(out.pitch), to_rad);
  e.pose.roll = scale(part(out.roll), to_rad);
  e.pose.translation = part(out.translation);
  e.pose.scale = part(out.scale);
  e.expression = part(out.expression);
  e.points = part(out.points);
  return e;
}

class KeypointTask : public Task {
 public:
  KeypointTask(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds)
      : o_(o), ds_(std::move(ds)), cfg_(nets::config(o.config)), device_(training_device(o)), dtype_(training_dtype(o)), net_(cfg_) {
    FH_CHECK(ds_->image_size() == cfg_.image_size, "train kp", "the dataset '", ds_->dir(), "' holds ",
             ds_->image_size(), "² frames but config '", cfg_.name, "' takes ", cfg_.image_size, "² images");
    for (const char* need : {"keypoints", "yaw", "pitch", "roll", "canonical"})
      FH_CHECK(ds_->has_annotation(need), "train kp", "the dataset '", ds_->dir(), "' lacks the annotation '", need,
               "'");
    fh::Generator gen(o.seed);
    net_.reset_parameters(gen);
    if (!o.init.empty()) load_initial_weights(net_, "kp.", o.init, false);
    net_.to(device_);
    net_.to(dtype_);
    net_.train();
    make_optimizers();
    held_out_ = held_out_batches(ds_, frames_options(), o.val_split, o.val_batches);
  }

  std::vector<ModuleEntry> modules() override { return {{"kp.", &net_, true}}; }
  std::vector<OptimizerEntry> optimizers() override { return {{"kp", adam_.get(), "kp.", &net_, adam_options(o_, 2e-4, 0.5, 0.999).lr}}; }
  void make_optimizers() override { adam_ = make_adam(net_, "kp.", adam_options(o_, 2e-4, 0.5, 0.999)); }

  data::LoaderOptions loader_options() const override {
    data::LoaderOptions lo;
    lo.sampling = data::Sampling::Pairs;
    lo.sources = 1;
    lo.batch_size = static_cast<int>(o_.batch);
    lo.seed = o_.seed;
    lo.min_gap = o_.min_gap;
    lo.mirror = o_.mirror;
    return lo;
  }

  Terms step(const data::Batch& b, StepContext& ctx) override {
    const int64_t n = b["target.image"].size(0), s = cfg_.image_size;
    const Tensor sources = reshape(on(b, "source.image", device_, dtype_), {n, s, s, 3});
    const Tensor images = concat({sources, on(b, "target.image", device_, dtype_)}, 0);
    adam_->zero_grad();
    const nets::KeypointOutput out = net_.forward(images);
    const KeypointEstimate src = estimate(out, 0, n), tgt = estimate(out, n, n);
    const Tensor src_points = reshape(on(b, "source.keypoints", device_, dtype_), {n, geometry::kNumKeypoints, 3});
    const Tensor tgt_angles = stack({on(b, "target.yaw", device_, dtype_), on(b, "target.pitch", device_, dtype_),
                                     on(b, "target.roll", device_, dtype_)}, 1);
    const KeypointLossTerms l = keypoint_loss(src, tgt, src_points, on(b, "target.keypoints", device_, dtype_), tgt_angles);
    ctx.optimise("E_can", l.total,
                 {{"points", l.points}, {"reconstruction", l.reconstruction}, {"rotation", l.rotation},
                  {"expression", l.expression}, {"total", l.total}},
                 *adam_);
    return {{"total", l.total.item()}, {"points", l.points.item()}, {"reconstruction", l.reconstruction.item()},
            {"rotation", l.rotation.item()}, {"expression", l.expression.item()}};
  }

  Terms validate() override {
    NoGradGuard no_grad;
    net_.eval();
    // The 3D error, and the image-plane (x, y) and depth (z) parts of it: depth is read from
    // shading and outline alone, so it shows whether the image plane or depth sets the figure.
    double point_err = 0, iod_pct = 0, iod_pct_xy = 0, iod_pct_z = 0, ang[3] = {0, 0, 0};
    int64_t images = 0;
    // identity → canonical points of each of its frames
    std::map<std::string, std::vector<std::vector<double>>> canon;
    for (const data::Batch& b : held_out_) {
      const nets::KeypointOutput out = net_.forward(on(b, "image", device_, dtype_));
      auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::F32); };
      const Tensor p = host(out.points), pt = b["keypoints"];
      const Tensor c = host(out.canonical);
      const Tensor deg[3] = {host(out.yaw), host(out.pitch), host(out.roll)};
      const char* names[3] = {"yaw", "pitch", "roll"};
      const int64_t n = p.size(0), k = geometry::kNumKeypoints;
      for (int64_t i = 0; i < n; ++i) {
        const float* pp = p.data<float>() + i * k * 3;
        const float* tp = pt.data<float>() + i * k * 3;
        double e = 0, e_xy = 0, e_z = 0;
        for (int64_t j = 0; j < k; ++j) {
          const double xy = sq(pp[3 * j] - tp[3 * j]) + sq(pp[3 * j + 1] - tp[3 * j + 1]);
          const double z = sq(pp[3 * j + 2] - tp[3 * j + 2]);
          e += std::sqrt(xy + z);
          e_xy += std::sqrt(xy);
          e_z += std::sqrt(z);
        }
        const double iod = inter_ocular(tp), kk = static_cast<double>(k);
        point_err += e / kk;
        iod_pct += 100 * e / kk / iod;
        iod_pct_xy += 100 * e_xy / kk / iod;
        iod_pct_z += 100 * e_z / kk / iod;
        for (int a = 0; a < 3; ++a)
          ang[a] += std::abs(deg[a].data<float>()[i] - b[names[a]].data<float>()[i] * kDeg);
        const std::string& who = ds_->clip(b.targets[static_cast<size_t>(i)].clip).identity;
        canon[who].emplace_back(c.data<float>() + i * k * 3, c.data<float>() + (i + 1) * k * 3);
      }
      images += n;
    }
    net_.train();
    // Spread of one identity's canonical points over its frames: mean distance of each
    // frame's points to the identity's mean points (identities seen at least twice).
    double spread = 0;
    int64_t spread_frames = 0;
    for (const auto& [who, frames] : canon) {
      if (frames.size() < 2) continue;
      std::vector<double> mean(frames[0].size(), 0.0);
      for (const auto& f : frames)
        for (size_t q = 0; q < f.size(); ++q) mean[q] += f[q] / static_cast<double>(frames.size());
      for (const auto& f : frames) {
        double d = 0;
        for (size_t q = 0; q < f.size(); q += 3)
          d += std::sqrt(sq(f[q] - mean[q]) + sq(f[q + 1] - mean[q + 1]) + sq(f[q + 2] - mean[q + 2]));
        spread += d / static_cast<double>(f.size() / 3);
        ++spread_frames;
      }
    }
    const double m = static_cast<double>(std::max<int64_t>(images, 1));
    return {{"keypoint_error", point_err / m},
            {"keypoint_error_iod_pct", iod_pct / m},
            {"keypoint_error_xy_iod_pct", iod_pct_xy / m},
            {"keypoint_error_z_iod_pct", iod_pct_z / m},
            {"yaw_error_deg", ang[0] / m},
            {"pitch_error_deg", ang[1] / m},
            {"roll_error_deg", ang[2] / m},
            {"angle_error_deg", (ang[0] + ang[1] + ang[2]) / (3 * m)},
            {"canonical_spread", spread_frames ? spread / static_cast<double>(spread_frames) : 0.0},
            {"images", static_cast<double>(images)}};
  }

  void write_samples(const data::Batch& b, const std::string& path) override {
    NoGradGuard no_grad;
    net_.eval();
    const int64_t n = std::min<int64_t>(4, b["target.image"].size(0));
    const Tensor images = slice(b["target.image"], 0, 0, n);
    const Tensor pred = net_.forward(images.to(device_).to(dtype_)).points.to(Device::cpu()).to(DType::F32);
    net_.train();
    const Tensor truth = slice(b["target.keypoints"], 0, 0, n);
    const int factor = std::max(1, static_cast<int>(256 / cfg_.image_size));
    std::vector<std::vector<Image>> rows(1);
    for (int64_t i = 0; i < n; ++i) {
      Image img = upscale(tile(images, i), factor);
      draw_points(img, truth, i, {60, 220, 60});
      draw_points(img, pred, i, {240, 40, 40});
      rows[0].push_back(std::move(img));
    }
    write_png(path, tile_rows(rows));
  }

  json::Value describe() const override {
    json::Value v = json::Value::object();
    v.set("network", "E_can (kp.)");
    v.set("parameters", net_.num_parameters());
    v.set("samples", "frames with true key-points (green) and predicted (red)");
    return v;
  }

 private:
  static double sq(double x) { return x * x; }
  // Distance between the outer eye corners (points 36 and 45), the usual normaliser of
  // face-alignment errors.
  static double inter_ocular(const float* p) {
    return std::sqrt(sq(p[36 * 3] - p[45 * 3]) + sq(p[36 * 3 + 1] - p[45 * 3 + 1]) + sq(p[36 * 3 + 2] - p[45 * 3 + 2]));
  }
  void draw_points(Image& img, const Tensor& pts, int64_t i, const data::Rgb& colour) const {
    const float* p = pts.data<float>() + i * geometry::kNumKeypoints * 3;
    const double half = (img.width - 1) / 2.0;
    for (int j = 0; j < geometry::kNumKeypoints; ++j)
      data::draw_disc(img, (p[3 * j] + 1) * half, (p[3 * j + 1] + 1) * half, 1.6, colour);
  }
  data::LoaderOptions frames_options() const {
    data::LoaderOptions lo;
    lo.sampling = data::Sampling::Frames;
    lo.batch_size = static_cast<int>(o_.batch);
    lo.seed = o_.seed;
    return lo;
  }

  TrainOptions o_;
  std::shared_ptr<const data::Dataset> ds_;
  nets::Config cfg_;
  Device device_;
  DType dtype_;
  nets::KeypointNet net_;
  std::unique_ptr<Adam> adam_;
  std::vector<data::Batch> held_out_;
};

}  // namespace

std::unique_ptr<Task> make_keypoint_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds) {
  return std::make_unique<KeypointTask>(o, std::move(ds));
}

}  // namespace fh::train
