// Clips and evaluation triples. A clip is one identity under one light and background with
// pose, expression and gaze varying smoothly over its frames — the analogue of a talking-
// head video: the head drifts and turns, the jaw moves as in speech, expressions come and
// go, the eyes fixate and jump (saccades) and blink. Everything is drawn from counter-based
// streams keyed by (seed, identity, clip), so any frame can be produced alone.
#pragma once

#include <cstdint>
#include <vector>

#include "data/head_params.h"

namespace fh::data {

// A smooth random signal: a sum of three sinusoids, frequencies in cycles per frame.
struct Wave {
  double amplitude[3], frequency[3], phase[3];
  double at(double t) const;
};

class ClipScript {
 public:
  // head_motion scales how far the head turns (the yaw, pitch and roll waves' amplitudes,
  // still softly limited to the pose ranges); 1 is the default data, larger values give pairs
  // of frames whose poses differ as much as those of two different clips.
  ClipScript(uint64_t seed, int identity, int clip, int frames, double head_motion = 1.0);

  int frames() const { return frames_; }
  const Identity& identity() const { return identity_; }
  const Background& background() const { return background_; }
  const Lighting& lighting() const { return lighting_; }
  // Pose, expression, gaze and lighting of frame t (0 ≤ t < frames, or beyond: the
  // signals continue).
  FrameParams frame(int t) const;

 private:
  int frames_;
  Identity identity_;
  Lighting lighting_;
  Background background_;
  // Pose: centre + wave, softly limited to the pose ranges.
  double yaw_c_, pitch_c_, roll_c_, tx_c_, ty_c_, scale_c_;
  Wave yaw_w_, pitch_w_, roll_w_, tx_w_, ty_w_, scale_w_;
  // Expression.
  double talk_amp_, smile_c_, stretch_c_, raise_c_, frown_c_;
  Wave talk_env_, syllable_, syllable2_, smile_w_, stretch_w_, raise_w_, frown_w_, squint_w_[2];
  struct Blink {
    double time;
    bool eye[2];
  };
  std::vector<Blink> blinks_;
  // Gaze: fixations (start frame, target in the head frame or "at the camera").
  struct Fixation {
    double start;
    double theta, phi;
    bool at_camera;
  };
  std::vector<Fixation> fixations_;
  double vergence_;
};

// The identity of index i under `seed` (the same for every clip of that identity).
Identity identity_for(uint64_t seed, int identity);

// An evaluation triple: source identity A (a frame of one of its clips), driver B (a frame
// of one of B's clips), and the target: A's identity, A's clip's light and background,
// B's frame's pose, expression and gaze.
struct TripleSpec {
  int source_identity, source_clip, source_frame;
  int driver_identity, driver_clip, driver_frame;
};
// Triple i drawn from `pool` (identity indices, at least two): source and driver differ.
TripleSpec triple_spec(uint64_t seed, int index, const std::vector<int>& pool, int clips_per_identity, int frames);

}  // namespace fh::data
