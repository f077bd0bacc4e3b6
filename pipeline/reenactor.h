// freehead's reenactment and editing API: the one header a program needs to animate a face.
//
//   fh::Reenactor r;                                   // the shipped models (or a folder)
//   auto sources = r.prepare({fh::read_png("me.png")}); // source-side work, done once
//   for (each driving frame d) {
//     fh::ReenactResult out = r.reenact(sources, d);   // E_can, E_gaze on d; sketches; G
//     fh::write_png("out.png", out.image);
//   }
//   fh::ReenactResult turned = r.edit(sources, {.yaw_deg = 20}, fh::GazeChoice::angles(0, 10));
//
// The pipeline (paper §3.4): E_can reads key-points, pose (R, t, s) and expression
// deformation d from each source and from the driver; the source's canonical key-points
// (Eq. 1) are re-posed with the driver's pose and deformation (Eq. 2) — the adapted
// key-points, which keep the source's face shape; E_gaze reads each eye's gaze from crops of
// the driver; the source sketch and the adapted target sketch go to G with the source
// image(s), and G renders the frame. With several sources G's attention fuses them.
//
// Images are 8-bit RGB, square, at least the models' size S (larger ones are resized to S
// for E_can and G; E_gaze crops the eyes from the full-resolution image).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "io/image_io.h"
#include "runtime/tensor.h"

namespace fh {

// What E_can and E_gaze read from one image (batch of one; tensors on the CPU, float32).
struct FaceReading {
  Tensor keypoints;    // p [68,3], image-normalised camera frame
  Tensor canonical;    // p_can [68,3], Eq. 1
  Tensor deformation;  // d [68,3]
  Tensor rotation;     // R [3,3]
  Tensor translation;  // t [3]
  double scale = 1;    // s
  double yaw_deg = 0, pitch_deg = 0, roll_deg = 0;
  std::array<std::array<double, 3>, 2> gaze{};  // unit gaze per eye (0 = right eye, 36-41), camera frame
};

// Where the target's eye gaze comes from.
struct GazeChoice {
  enum class Mode { Driver, Source, Angles };
  Mode mode = Mode::Driver;
  double theta_deg = 0, phi_deg = 0;  // Angles: pitch and yaw of both eyes' gaze, camera frame

  static GazeChoice driver() { return {}; }
  static GazeChoice source() { return {Mode::Source, 0, 0}; }
  static GazeChoice angles(double theta_deg, double phi_deg) { return {Mode::Angles, theta_deg, phi_deg}; }
};

// Offsets added to the target's head angles, in degrees.
struct PoseOffset {
  double yaw_deg = 0, pitch_deg = 0, roll_deg = 0;
};

struct ReenactOptions {
  // Relative motion: the driver's change since `reference` (its first frame) applied to the
  // source's own pose and expression — the driver's face shape and placement never reach
  // the output. Absolute (no reference): the driver's pose and deformation as they are.
  std::optional<FaceReading> reference;
  GazeChoice gaze;
  PoseOffset offset;
};

// One rendered frame and what led to it.
struct ReenactResult {
  Image image;            // ŷ, S×S
  Image warped;           // x̄: the source(s) warped by G's flow, fused
  Image source_sketch;    // the first source's sketch
  Image target_sketch;    // the adapted target sketch G was conditioned on
  Image flow;             // the first source's flow as a colour wheel picture
  Tensor adapted_keypoints;  // [68,3]: the source's canonical points re-posed for the target
  std::array<std::array<double, 3>, 2> target_gaze{};
  FaceReading driver;     // (reenact only) what E_can and E_gaze read from the driver
  Tensor output;          // ŷ as a float tensor [1,S,S,3] in [-1, 1]
};

class SourceSet;  // prepared sources (opaque): readings, sketches, G's encoder features

class Reenactor {
 public:
  // The models folder (models.json + weights, see docs/reenactment.md). The default is the
  // shipped `tiny` models: $FREEHEAD_MODELS if set; else, for a program installed in bin/ of
  // an installed tree, that tree's share/freehead/models/tiny; else the copy beside the
  // sources; else the install prefix's.
  static std::string default_models_dir();

  explicit Reenactor(const std::string& models_dir = default_models_dir(), Device device = Device::cpu());
  ~Reenactor();
  Reenactor(Reenactor&&) noexcept;
  Reenactor& operator=(Reenactor&&) noexcept;

  int image_size() const;
  // An image as the networks see it: resized to `size` (block means or bilinear), 8-bit.
  static Image thumbnail(const Image& image, int size);
  const std::string& config_name() const;
  const std::string& models_dir() const;
  bool has_nshot() const;  // whether several sources can be fused
  // The point of E_can's canonical frame pose edits turn the head about (models.json
  // `head_pivot`, pipeline/head_pivot.h); absent, they turn it about E_can's own origin, which
  // sits near the face, and the head turns far less than asked.
  std::optional<std::array<double, 3>> head_pivot() const;

  // E_can reads every face twice, as it is and mirrored, and averages the two readings
  // (nets::KeypointNet::forward_mirror_averaged): on by default. Off, it reads each face once
  // (two thirds of E_can's time: one batch of two images costs less than two of one; about a
  // tenth more key-point and pose error with the shipped E_can, docs/evaluation.md).
  void set_mirror_average(bool on);
  bool mirror_average() const;

  // E_can and E_gaze on one image.
  FaceReading read_face(const Image& image) const;
  // E_gaze alone, on eye crops placed by given key-points [68,3] (image-normalised, as
  // FaceReading::keypoints): e.g. a landmark detector's, or ground truth. Unit gaze per eye.
  std::array<std::array<double, 3>, 2> read_gaze(const Image& image, const Tensor& keypoints) const;
  // The source-side work, once: readings, sketches and G's flow-encoder features. Several
  // sources need the N-shot generator.
  std::shared_ptr<const SourceSet> prepare(const std::vector<Image>& sources) const;
  // Renders the prepared source(s) with the driver's pose, expression and gaze.
  ReenactResult reenact(const SourceSet& sources, const Image& driver, const ReenactOptions& options = {}) const;
  // Renders the source(s) with their own expression, the head turned by `offset` and the
  // gaze as chosen (GazeChoice::driver() is read as the source's own gaze).
  ReenactResult edit(const SourceSet& sources, const PoseOffset& offset, const GazeChoice& gaze = GazeChoice::source()) const;

  // Timing of the last reenact/edit call split by network, in milliseconds.
  struct Timing {
    double kp_ms = 0, gaze_ms = 0, sketch_ms = 0, generator_ms = 0, total_ms = 0;
  };
  const Timing& last_timing() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fh
