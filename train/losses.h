// The training objectives of Free-HeadGAN (docs/geometry.md#losses-trainlossesh), built from autograd ops.
// Every function returns each term as its own 0-d tensor (for logging) next to the
// weighted total that training differentiates.
#pragma once

#include <vector>

#include "geometry/keypoints.h"
#include "runtime/tensor.h"

namespace fh::train {

// ---- E_can (Eq. 3-6) ------------------------------------------------------------------------

// What E_can predicts for one image of a (source, target) pair: the pose (angles in
// radians, e.g. from bins_to_radians), expression deformation d [B,68,3] and
// key-points p [B,68,3].
struct KeypointEstimate {
  geometry::HeadPose pose;
  Tensor expression, points;
};

struct KeypointLossWeights {
  double points = 1, reconstruction = 1, rotation = 1, expression = 0.1;
};

struct KeypointLossTerms {
  Tensor points;          // Lp   = mse(p_s, l_s) + mse(p_t, l_t)
  Tensor reconstruction;  // Lrec = mse(p_s_rec, l_s) + mse(p_t_rec, l_t)
  Tensor rotation;        // LR   = mse(target Euler angles, their ground truth), radians
  Tensor expression;      // Ld   = mse(d_s, 0) + mse(d_t, 0)
  Tensor total;           // λp·Lp + λrec·Lrec + λR·LR + λd·Ld
};

// p_t_rec = Eq. 2 (Eq. 1 of the source points with the source pose and expression, then
// the target pose and expression), and p_s_rec the other way round. landmarks [B,68,3]
// (pseudo ground truth l_s, l_t); target_angles [B,3] the target's (yaw, pitch, roll) in
// radians.
KeypointLossTerms keypoint_loss(const KeypointEstimate& source, const KeypointEstimate& target,
                                const Tensor& source_landmarks, const Tensor& target_landmarks,
                                const Tensor& target_angles, const KeypointLossWeights& weights = {});

// ---- E_gaze (Eq. 7-10) ------------------------------------------------------------------------

struct GazeLossWeights {
  double vertices = 0.1, edges = 0.01, gaze = 1;
};

struct GazeLossTerms {
  Tensor vertices;  // Lv: Σ over vertices and xyz of |v − v*|, mean over the batch
  Tensor edges;     // Le: the same over the 2880 edge lengths
  Tensor gaze;      // Lg: mean over the batch of the angle between the meshes' gazes, degrees
  Tensor total;     // λv·Lv + λe·Le + λg·Lg
};

// predicted, truth: eye meshes [B,482,3]; the gazes come from gaze_from_mesh, the angle is
// (180/π)·acos(clamp(gᵀg*, −1 + 1e-7, 1 − 1e-7)).
GazeLossTerms gaze_loss(const Tensor& predicted, const Tensor& truth, const GazeLossWeights& weights = {});

// ---- G and the discriminators (Eq. 14-15) -----------------------------------------------------

// LVGG = Σ_l w_l · mean|a_l − b_l| over the five VGG19 features relu1_1 … relu5_1,
// w = (1/32, 1/16, 1/8, 1/4, 1).
Tensor vgg_loss(const std::vector<Tensor>& a, const std::vector<Tensor>& b);

// One discriminator scale's view of a batch: its logits (layer 4's output) and the features
// of layers 0-3 (after their LReLU).
struct DiscriminatorScale {
  Tensor logits;
  std::vector<Tensor> features;
};
// One discriminator: its scales in order.
using DiscriminatorOutputs = std::vector<DiscriminatorScale>;

struct GeneratorLossWeights {
  double vgg = 10, feature_matching = 10;
};

struct GeneratorLossInputs {
  std::vector<Tensor> vgg_output;  // VGG features of ŷ
  std::vector<Tensor> vgg_warped;  // of x̄
  std::vector<Tensor> vgg_target;  // of y (no gradient needed; used for both terms)
  // Per discriminator (D_I, D_M): its outputs on the generated image and on the real one.
  // The real features are targets: the loss detaches them.
  std::vector<DiscriminatorOutputs> fake, real;
};

struct GeneratorLossTerms {
  Tensor adversarial;       // Ladv = Σ_D mean over scales of −mean(D(ŷ))
  Tensor vgg_output;        // LVGG(ŷ, y)
  Tensor vgg_warped;        // LVGG(x̄, y)
  Tensor feature_matching;  // LFM = Σ_D Σ_scales Σ_layers 0-3 mean|f_fake − f_real| / (D's scales)
  Tensor total;             // Ladv + λVGG·(LVGG(ŷ,y) + LVGG(x̄,y)) + λFM·LFM
};

GeneratorLossTerms generator_loss(const GeneratorLossInputs& in, const GeneratorLossWeights& weights = {});

struct DiscriminatorLossTerms {
  Tensor real;   // mean over scales of mean(relu(1 − D(real)))
  Tensor fake;   // mean over scales of mean(relu(1 + D(fake)))
  Tensor total;  // real + fake
};

// The hinge loss of one discriminator from its logits per scale on real and fake inputs.
DiscriminatorLossTerms discriminator_loss(const std::vector<Tensor>& real_logits,
                                          const std::vector<Tensor>& fake_logits);

}  // namespace fh::train
