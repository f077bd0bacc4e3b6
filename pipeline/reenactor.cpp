#include "pipeline/reenactor.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <Eigen/Core>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/crops.h"
#include "geometry/eyes.h"
#include "geometry/keypoints.h"
#include "geometry/sketch.h"
#include "nets/config.h"
#include "nets/gaze_net.h"
#include "nets/generator.h"
#include "nets/keypoint_net.h"
#include "pipeline/head_pivot.h"
#include "pipeline/image_prep.h"
#include "pipeline/models.h"
#include "runtime/error.h"
#include "io/image_layout.h"

namespace fs = std::filesystem;

namespace fh {

namespace {

using Clock = std::chrono::steady_clock;
using pipeline::rotation_of;
using pipeline::translation_of;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }


// Gaze of both eyes as a [1,2,3] tensor.
Tensor gaze_tensor(const std::array<std::array<double, 3>, 2>& g) {
  return Tensor::from_vector(std::vector<float>{float(g[0][0]), float(g[0][1]), float(g[0][2]), float(g[1][0]),
                                               float(g[1][1]), float(g[1][2])},
                             {1, 2, 3});
}

Tensor to_tensor(const Eigen::Matrix3d& m) {
  std::vector<float> v(9);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) v[static_cast<size_t>(3 * i + j)] = static_cast<float>(m(i, j));
  return Tensor::from_vector(v, {3, 3});
}
Tensor to_tensor(const Eigen::Vector3d& t) {
  return Tensor::from_vector(std::vector<float>{float(t[0]), float(t[1]), float(t[2])}, {3});
}

std::array<double, 3> gaze_from_angles(double theta_deg, double phi_deg) {
  const double t = geometry::deg_to_rad(theta_deg), p = geometry::deg_to_rad(phi_deg);
  return {-std::cos(t) * std::sin(p), -std::sin(t), -std::cos(t) * std::cos(p)};
}

}  // namespace

// ---- prepared sources ---------------------------------------------------------------------------

class SourceSet {
 public:
  std::vector<FaceReading> readings;
  Tensor images;    // [1,M,S,S,3]
  Tensor sketches;  // [1,M,S,S,3]
  nets::EncodedSources encoded;
  bool nshot = false;  // encoded by the N-shot generator
};

// ---- the pipeline -------------------------------------------------------------------------------

struct Reenactor::Impl {
  pipeline::ModelSet models;
  Device device;
  bool mirror_average = true;
  mutable Timing timing;

  Impl(const std::string& dir, Device d) : models(pipeline::ModelSet::load(dir, d)), device(d) {}

  int size() const { return static_cast<int>(models.config.image_size); }

  nets::Generator& generator_for(int64_t sources) const {
    if (sources > 1) {
      FH_CHECK(models.gen_nshot != nullptr, "reenact", sources, " sources need an N-shot generator, which '",
               models.dir, "' does not hold (models.json: gen_nshot)");
      return *models.gen_nshot;
    }
    return models.gen ? *models.gen : *models.gen_nshot;
  }

  // `full`: the image as pipeline::image_tensor gives it; `small`: resized to S.
  FaceReading read(const Tensor& full, const Tensor& small_host) const {
    NoGradGuard no_grad;
    const Tensor small = small_host.to(device);
    auto t0 = Clock::now();
    const nets::KeypointOutput k =
        mirror_average ? models.kp->forward_mirror_averaged(small) : models.kp->forward(small);
    timing.kp_ms += ms_since(t0);
    FaceReading r;
    r.keypoints = reshape(k.points, {68, 3}).to(Device::cpu());
    r.canonical = reshape(k.canonical, {68, 3}).to(Device::cpu());
    r.deformation = reshape(k.expression, {68, 3}).to(Device::cpu());
    r.rotation = reshape(k.rotation, {3, 3}).to(Device::cpu());
    r.translation = reshape(k.translation, {3}).to(Device::cpu());
    r.scale = k.scale.to(Device::cpu()).item();
    r.yaw_deg = k.yaw.to(Device::cpu()).item();
    r.pitch_deg = k.pitch.to(Device::cpu()).item();
    r.roll_deg = k.roll.to(Device::cpu()).item();
    r.gaze = gaze_at(full, r.keypoints);
    return r;
  }

  // E_gaze on both eyes' crops placed by `keypoints` [68,3], from the full-resolution image:
  // the key-points are image-normalised, so the crop boxes follow at any size. Unit vectors.
  std::array<std::array<double, 3>, 2> gaze_at(const Tensor& full, const Tensor& keypoints) const {
    NoGradGuard no_grad;
    const auto t0 = Clock::now();
    const Tensor eyes = geometry::eye_crops(full, reshape(keypoints, {1, 68, 3}), models.config.eye_size);
    const Tensor g = models.gaze->forward(eyes.to(device)).gaze.to(Device::cpu());  // [2,3]
    timing.gaze_ms += ms_since(t0);
    std::array<std::array<double, 3>, 2> out{};
    for (int e = 0; e < 2; ++e) {
      const float* v = g.data<float>() + 3 * e;
      const double n = std::sqrt(double(v[0]) * v[0] + double(v[1]) * v[1] + double(v[2]) * v[2]);
      for (int c = 0; c < 3; ++c) out[static_cast<size_t>(e)][static_cast<size_t>(c)] = n > 0 ? v[c] / n : 0.0;
    }
    return out;
  }

  // s·R·c for the head pivot c (pipeline/head_pivot.h): where the pivot is drawn for a pose is
  // this plus t. Without a measured pivot, c is E_can's canonical origin and this is zero.
  Eigen::Vector3d pivot_offset(const Eigen::Matrix3d& R, double s) const {
    if (!models.head_pivot) return Eigen::Vector3d::Zero();
    const auto& c = *models.head_pivot;
    return s * R * Eigen::Vector3d(c[0], c[1], c[2]);
  }

  // Eq. 2 with the target pose R, t, s and deformation d. Offsets are added to R's Euler
  // angles and turn the head about its pivot: t moves so that s·R·c + t stays where it was.
  Tensor pose_points(const FaceReading& src, Eigen::Matrix3d R, Eigen::Vector3d t, double s, const Tensor& d,
                     const PoseOffset& offset) const {
    if (offset.yaw_deg != 0 || offset.pitch_deg != 0 || offset.roll_deg != 0) {
      const geometry::EulerAngles a = geometry::euler_from_rotation(R);
      const Eigen::Matrix3d turned = geometry::rotation_from_euler(a.yaw + geometry::deg_to_rad(offset.yaw_deg),
                                                                   a.pitch + geometry::deg_to_rad(offset.pitch_deg),
                                                                   a.roll + geometry::deg_to_rad(offset.roll_deg));
      t += pivot_offset(R, s) - pivot_offset(turned, s);
      R = turned;
    }
    const Tensor scale_t = Tensor::from_vector(std::vector<float>{static_cast<float>(s)}, {1, 1});
    return reshape(geometry::posed_from_canonical(reshape(src.canonical, {1, 68, 3}), reshape(to_tensor(R), {1, 3, 3}),
                                                  reshape(to_tensor(t), {1, 3}), scale_t, reshape(d, {1, 68, 3})),
                   {68, 3});
  }

  ReenactResult render(const SourceSet& set, const Tensor& adapted, const std::array<std::array<double, 3>, 2>& gaze,
                       Clock::time_point start) const {
    NoGradGuard no_grad;
    const int64_t s = size();
    auto t0 = Clock::now();
    const Tensor target_sketch = geometry::draw_sketches(reshape(adapted, {1, 68, 3}), gaze_tensor(gaze), s);
    timing.sketch_ms += ms_since(t0);
    t0 = Clock::now();
    nets::Generator& g = generator_for(set.encoded.sources);
    const nets::GeneratorOutput out = g.forward_encoded(set.encoded, target_sketch.to(device));
    timing.generator_ms += ms_since(t0);
    ReenactResult r;
    r.output = out.output.to(Device::cpu());
    r.image = tensor_to_image(r.output);
    r.warped = tensor_to_image(out.warped.to(Device::cpu()));
    r.source_sketch = tensor_to_image(reshape(slice(set.sketches, 1, 0, 1), {1, s, s, 3}), 0, 1);
    r.target_sketch = tensor_to_image(target_sketch, 0, 1);
    r.flow = flow_image(reshape(slice(out.flows, 1, 0, 1), {1, s, s, 2}).to(Device::cpu()), 0);
    r.adapted_keypoints = adapted;
    r.target_gaze = gaze;
    timing.total_ms = ms_since(start);
    return r;
  }
};

std::string Reenactor::default_models_dir() {
  const auto has_models = [](const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / "models.json", ec);
  };
  if (const char* env = std::getenv("FREEHEAD_MODELS"); env && *env) return env;
#ifdef FH_INSTALL_RELATIVE_MODELS_DIR
  // An installed program finds the models of its own tree (bin/ beside share/), wherever the
  // tree was installed or moved to.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && has_models(exe.parent_path().parent_path() / FH_INSTALL_RELATIVE_MODELS_DIR))
    return (exe.parent_path().parent_path() / FH_INSTALL_RELATIVE_MODELS_DIR).string();
#endif
#ifdef FH_SOURCE_MODELS_DIR
  if (has_models(FH_SOURCE_MODELS_DIR)) return FH_SOURCE_MODELS_DIR;
#endif
#ifdef FH_INSTALLED_MODELS_DIR
  return FH_INSTALLED_MODELS_DIR;
#else
  return "models/tiny";
#endif
}

Reenactor::Reenactor(const std::string& models_dir, Device device) : impl_(std::make_unique<Impl>(models_dir, device)) {}
Reenactor::~Reenactor() = default;
Reenactor::Reenactor(Reenactor&&) noexcept = default;
Reenactor& Reenactor::operator=(Reenactor&&) noexcept = default;

int Reenactor::image_size() const { return impl_->size(); }

Image Reenactor::thumbnail(const Image& image, int size) {
  return tensor_to_image(pipeline::resize_square(pipeline::image_tensor(image, size, "the image"), size));
}
const std::string& Reenactor::config_name() const { return impl_->models.config.name; }
const std::string& Reenactor::models_dir() const { return impl_->models.dir; }
bool Reenactor::has_nshot() const { return impl_->models.gen_nshot != nullptr; }
std::optional<std::array<double, 3>> Reenactor::head_pivot() const { return impl_->models.head_pivot; }
const Reenactor::Timing& Reenactor::last_timing() const { return impl_->timing; }
void Reenactor::set_mirror_average(bool on) { impl_->mirror_average = on; }
bool Reenactor::mirror_average() const { return impl_->mirror_average; }

FaceReading Reenactor::read_face(const Image& image) const {
  impl_->timing = {};
  const auto start = Clock::now();
  const Tensor full = pipeline::image_tensor(image, impl_->size(), "the image");
  FaceReading r = impl_->read(full, pipeline::resize_square(full, impl_->size()));
  impl_->timing.total_ms = ms_since(start);
  return r;
}

std::array<std::array<double, 3>, 2> Reenactor::read_gaze(const Image& image, const Tensor& keypoints) const {
  FH_CHECK(keypoints.shape() == Shape({68, 3}) || keypoints.shape() == Shape({1, 68, 3}), "read_gaze",
           "key-points must be [68,3], got ", keypoints.shape().str());
  impl_->timing = {};
  return impl_->gaze_at(pipeline::image_tensor(image, impl_->size(), "the image"),
                        keypoints.to(DType::F32).to(Device::cpu()));
}

std::shared_ptr<const SourceSet> Reenactor::prepare(const std::vector<Image>& sources) const {
  FH_CHECK(!sources.empty(), "reenact", "no source image given");
  NoGradGuard no_grad;
  const int64_t s = impl_->size(), m = static_cast<int64_t>(sources.size());
  auto set = std::make_shared<SourceSet>();
  std::vector<Tensor> images, sketches;
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string what = "source " + std::to_string(i + 1);
    const Tensor full = pipeline::image_tensor(sources[i], static_cast<int>(s), what);
    images.push_back(pipeline::resize_square(full, s));
    set->readings.push_back(impl_->read(full, images.back()));
    sketches.push_back(geometry::draw_sketches(reshape(set->readings.back().keypoints, {1, 68, 3}),
                                               gaze_tensor(set->readings.back().gaze), s));
  }
  set->images = reshape(concat(images, 0), {1, m, s, s, 3});
  set->sketches = reshape(concat(sketches, 0), {1, m, s, s, 3});
  nets::Generator& g = impl_->generator_for(m);
  set->nshot = &g == impl_->models.gen_nshot.get();
  set->encoded = g.encode_sources(set->images.to(impl_->device), set->sketches.to(impl_->device));
  return set;
}

ReenactResult Reenactor::reenact(const SourceSet& set, const Image& driver, const ReenactOptions& o) const {
  impl_->timing = {};
  const auto start = Clock::now();
  const Tensor full = pipeline::image_tensor(driver, impl_->size(), "the driving frame");
  const FaceReading d = impl_->read(full, pipeline::resize_square(full, impl_->size()));
  const FaceReading& src = set.readings.front();
  Tensor adapted;
  if (o.reference) {
    // Relative: the driver's rotation, scale and deformation changes since its reference
    // frame, applied to the source's own; the source's head pivot moves in the image as the
    // driver's did, and the head turns about it.
    const FaceReading& ref = *o.reference;
    const Eigen::Matrix3d R = rotation_of(d) * rotation_of(ref).transpose() * rotation_of(src);
    const double sc = src.scale * d.scale / ref.scale;
    const auto pivot_at = [&](const FaceReading& f) {
      return Eigen::Vector3d(impl_->pivot_offset(rotation_of(f), f.scale) + translation_of(f));
    };
    const Eigen::Vector3d t = pivot_at(src) + pivot_at(d) - pivot_at(ref) - impl_->pivot_offset(R, sc);
    const Tensor dd = src.deformation + (d.deformation - ref.deformation);
    adapted = impl_->pose_points(src, R, t, sc, dd, o.offset);
  } else {
    adapted = impl_->pose_points(src, rotation_of(d), translation_of(d), d.scale, d.deformation, o.offset);
  }
  std::array<std::array<double, 3>, 2> gaze = d.gaze;
  if (o.gaze.mode == GazeChoice::Mode::Source) gaze = src.gaze;
  if (o.gaze.mode == GazeChoice::Mode::Angles) gaze[0] = gaze[1] = gaze_from_angles(o.gaze.theta_deg, o.gaze.phi_deg);
  ReenactResult r = impl_->render(set, adapted, gaze, start);
  r.driver = d;
  return r;
}

ReenactResult Reenactor::edit(const SourceSet& set, const PoseOffset& offset, const GazeChoice& gaze_choice) const {
  impl_->timing = {};
  const auto start = Clock::now();
  const FaceReading& src = set.readings.front();
  const Tensor adapted =
      impl_->pose_points(src, rotation_of(src), translation_of(src), src.scale, src.deformation, offset);
  std::array<std::array<double, 3>, 2> gaze = src.gaze;
  if (gaze_choice.mode == GazeChoice::Mode::Angles)
    gaze[0] = gaze[1] = gaze_from_angles(gaze_choice.theta_deg, gaze_choice.phi_deg);
  return impl_->render(set, adapted, gaze, start);
}

}  // namespace fh
