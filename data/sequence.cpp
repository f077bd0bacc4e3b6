#include "data/sequence.h"

#include <algorithm>
#include <cmath>

#include "data/face_layout.h"
#include "data/random_stream.h"
#include "geometry/conventions.h"
#include "runtime/error.h"

namespace fh::data {

namespace {

using geometry::deg_to_rad;
constexpr double kTwoPi = 2.0 * geometry::kPi;

Wave make_wave(RandomStream& rng, double amplitude, double fmin, double fmax) {
  Wave w{};
  double total = 0;
  for (int k = 0; k < 3; ++k) {
    w.amplitude[k] = rng.uniform(0.3, 1.0);
    total += w.amplitude[k];
    w.frequency[k] = rng.uniform(fmin, fmax);
    w.phase[k] = rng.uniform(0.0, kTwoPi);
  }
  for (double& a : w.amplitude) a *= amplitude / total;
  return w;
}

// Keeps x within ±limit without a kink.
double soft_limit(double x, double limit) { return limit * std::tanh(x / limit); }

}  // namespace

double Wave::at(double t) const {
  double v = 0;
  for (int k = 0; k < 3; ++k) v += amplitude[k] * std::sin(kTwoPi * frequency[k] * t + phase[k]);
  return v;
}

Identity identity_for(uint64_t seed, int identity) {
  RandomStream rng(seed, StreamPurpose::Identity, {static_cast<uint64_t>(identity)});
  return sample_identity(rng);
}

ClipScript::ClipScript(uint64_t seed, int identity, int clip, int frames, double head_motion)
    : frames_(frames), identity_(identity_for(seed, identity)) {
  FH_CHECK(frames >= 1, "ClipScript", "a clip needs at least one frame, got ", frames);
  FH_CHECK(head_motion > 0 && head_motion <= 4, "ClipScript", "head motion must be in (0, 4], got ", head_motion);
  RandomStream scene(seed, StreamPurpose::Background, {static_cast<uint64_t>(identity), static_cast<uint64_t>(clip)});
  lighting_ = sample_lighting(scene);
  background_ = sample_background(scene);

  RandomStream rng(seed, StreamPurpose::Clip, {static_cast<uint64_t>(identity), static_cast<uint64_t>(clip)});
  yaw_c_ = deg_to_rad(rng.uniform(-30, 30));
  yaw_w_ = make_wave(rng, head_motion * deg_to_rad(rng.uniform(8, 22)), 0.004, 0.02);
  pitch_c_ = deg_to_rad(rng.uniform(-12, 12));
  pitch_w_ = make_wave(rng, head_motion * deg_to_rad(rng.uniform(4, 12)), 0.004, 0.025);
  roll_c_ = deg_to_rad(rng.uniform(-10, 10));
  roll_w_ = make_wave(rng, head_motion * deg_to_rad(rng.uniform(3, 9)), 0.004, 0.02);
  tx_c_ = rng.uniform(-0.08, 0.08);
  tx_w_ = make_wave(rng, 0.03, 0.003, 0.015);
  ty_c_ = rng.uniform(-0.12, -0.02);
  ty_w_ = make_wave(rng, 0.02, 0.003, 0.015);
  scale_c_ = rng.uniform(0.46, 0.58);
  scale_w_ = make_wave(rng, 0.02, 0.003, 0.012);

  talk_amp_ = rng.uniform(0.4, 1.0);
  talk_env_ = make_wave(rng, 1.0, 0.005, 0.02);
  syllable_ = make_wave(rng, 1.0, 0.06, 0.14);
  syllable2_ = make_wave(rng, 1.0, 0.1, 0.2);
  smile_c_ = rng.uniform(-0.4, 0.6);
  smile_w_ = make_wave(rng, 0.5, 0.004, 0.015);
  stretch_c_ = rng.uniform(-0.3, 0.3);
  stretch_w_ = make_wave(rng, 0.5, 0.005, 0.02);
  raise_c_ = rng.uniform(-0.5, 0.4);
  raise_w_ = make_wave(rng, 0.6, 0.005, 0.02);
  frown_c_ = rng.uniform(-0.6, 0.3);
  frown_w_ = make_wave(rng, 0.6, 0.005, 0.02);
  for (auto& w : squint_w_) w = make_wave(rng, 0.15, 0.005, 0.02);

  for (double t = rng.uniform(0, 60); t < frames + 10; t += rng.uniform(35, 150)) {
    Blink b{t, {true, true}};
    if (rng.chance(0.07)) b.eye[rng.integer(2)] = false;  // a wink
    blinks_.push_back(b);
  }
  for (double t = 0; t < frames + 10; t += rng.uniform(8, 45)) {
    Fixation f{t, deg_to_rad(rng.uniform(-20, 20)), deg_to_rad(rng.uniform(-30, 30)), rng.chance(0.35)};
    fixations_.push_back(f);
  }
  vergence_ = deg_to_rad(rng.uniform(0, 4));
}

FrameParams ClipScript::frame(int frame) const {
  const double t = frame;
  FrameParams p;
  p.lighting = lighting_;
  Pose& pose = p.pose;
  pose.yaw = soft_limit(yaw_c_ + yaw_w_.at(t), deg_to_rad(45));
  pose.pitch = soft_limit(pitch_c_ + pitch_w_.at(t), deg_to_rad(25));
  pose.roll = soft_limit(roll_c_ + roll_w_.at(t), deg_to_rad(20));
  pose.translation = Eigen::Vector3d(tx_c_ + tx_w_.at(t), ty_c_ + ty_w_.at(t), 0.0);
  pose.scale = scale_c_ + scale_w_.at(t);

  Expression& e = p.expression;
  const double talk = smoothstep(-0.2, 0.4, talk_env_.at(t));
  const double s1 = std::max(0.0, syllable_.at(t)), s2 = std::max(0.0, syllable2_.at(t));
  e.jaw_open = std::clamp(talk_amp_ * talk * (0.6 * s1 + 0.4 * s2) * 1.6, 0.0, 1.0);
  e.smile = std::clamp(smile_c_ + smile_w_.at(t), 0.0, 1.0);
  e.mouth_stretch = std::clamp(stretch_c_ + stretch_w_.at(t), -1.0, 1.0);
  e.brow_raise = std::clamp(raise_c_ + raise_w_.at(t), 0.0, 1.0);
  e.brow_frown = std::clamp(frown_c_ + frown_w_.at(t), 0.0, 1.0);
  double blink[2];
  for (int k = 0; k < 2; ++k) {
    double b = std::clamp(0.1 + squint_w_[k].at(t), 0.0, 0.3);
    // Blinks are sorted by time and last a few frames: look only at those near t.
    auto it = std::lower_bound(blinks_.begin(), blinks_.end(), t - 8.0,
                               [](const Blink& ev, double time) { return ev.time < time; });
    for (; it != blinks_.end() && it->time < t + 8.0; ++it)
      if (it->eye[k]) b = std::max(b, std::exp(-std::pow((t - it->time) / 1.4, 2)));
    blink[k] = std::clamp(b, 0.0, 1.0);
  }
  e.blink_right = blink[0];
  e.blink_left = blink[1];

  // Gaze: the current fixation, reached by a 3-frame saccade from the previous one.
  auto target = [&](const Fixation& f) {
    if (!f.at_camera) return EyeGaze{f.theta, f.phi};
    // Eye contact: the head-frame direction that points at the camera.
    const Eigen::Matrix3d r = geometry::rotation_from_euler(pose.yaw, pose.pitch, pose.roll);
    const geometry::GazeAngles a = geometry::angles_from_gaze(r.transpose() * Eigen::Vector3d(0, 0, -1));
    return EyeGaze{a.theta, a.phi};
  };
  // The last fixation that has started (fixations are sorted by start, the first at 0).
  const size_t k = static_cast<size_t>(std::upper_bound(fixations_.begin(), fixations_.end(), t,
                                                        [](double time, const Fixation& f) { return time < f.start; }) -
                                       fixations_.begin()) - 1;
  EyeGaze g = target(fixations_[k]);
  if (k > 0 && t - fixations_[k].start < 3.0) {
    const EyeGaze from = target(fixations_[k - 1]);
    const double w = smoothstep(0.0, 3.0, t - fixations_[k].start);
    g.theta = from.theta + (g.theta - from.theta) * w;
    g.phi = from.phi + (g.phi - from.phi) * w;
  }
  for (int i = 0; i < 2; ++i) {
    // Both eyes converge slightly: the right eye (image left) turns towards +x.
    const double phi = g.phi + (i == 0 ? -0.5 : 0.5) * vergence_;
    p.gaze[i].theta = std::clamp(g.theta, deg_to_rad(-25), deg_to_rad(25));
    p.gaze[i].phi = std::clamp(phi, deg_to_rad(-35), deg_to_rad(35));
  }
  return p;
}

TripleSpec triple_spec(uint64_t seed, int index, const std::vector<int>& pool, int clips_per_identity, int frames) {
  FH_CHECK(pool.size() >= 2, "triple_spec", "a triple needs two different identities, the pool holds ", pool.size());
  RandomStream rng(seed, StreamPurpose::Triple, {static_cast<uint64_t>(index)});
  const int n = static_cast<int>(pool.size());
  const int a = static_cast<int>(rng.integer(n));
  const int b = (a + 1 + static_cast<int>(rng.integer(n - 1))) % n;  // any index but a
  TripleSpec s;
  s.source_identity = pool[a];
  s.source_clip = static_cast<int>(rng.integer(clips_per_identity));
  s.source_frame = static_cast<int>(rng.integer(frames));
  s.driver_identity = pool[b];
  s.driver_clip = static_cast<int>(rng.integer(clips_per_identity));
  s.driver_frame = static_cast<int>(rng.integer(frames));
  return s;
}

}  // namespace fh::data
