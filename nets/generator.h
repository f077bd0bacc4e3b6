// G: the flow network and the rendering network (docs/networks.md#generator), with M ≥ 1 source
// images fused by softmax weights (N-shot, paper Eq. 12-13). All images are NHWC in the
// runtime; the CLI converts at the file boundary.
#pragma once

#include <memory>
#include <vector>

#include "layers/spade.h"
#include "nets/config.h"

namespace fh::nets {

// Conv → InstanceNorm (affine) → ReLU: `enc.{i}.conv`, `enc.{i}.norm`.
class EncoderStage : public nn::Module {
 public:
  EncoderStage(int64_t in, int64_t out, int64_t kernel, int64_t stride);
  Tensor forward(const Tensor& x);

 private:
  nn::Conv2d conv_;
  nn::InstanceNorm2d norm_;
};

// The three-stage encoder shared by both networks: h1 (ngf @S), h2 (4ngf @S/2), h3 (16ngf @S/4).
class Encoder : public nn::Module {
 public:
  Encoder(int64_t in_channels, int64_t ngf);
  std::vector<Tensor> forward(const Tensor& x);  // {h1, h2, h3}

 private:
  EncoderStage s0_, s1_, s2_;
};

struct FlowOutput {
  Tensor flow;                  // [N, S, S, 2] in pixels, (dx, dy)
  Tensor weight_logits;         // [N, S, S, 1] (when asked for)
  std::vector<Tensor> features;  // h1, h2, h3 of the source
};

class FlowNetwork : public nn::Module {
 public:
  FlowNetwork(const Config& cfg, bool weight_head);
  // source, source_sketch, target_sketch: [N, S, S, 3]. `fusion_weights`: also run the
  // weight head (only N-shot fusion, M > 1, reads its logits).
  FlowOutput forward(const Tensor& source, const Tensor& source_sketch, const Tensor& target_sketch,
                     bool fusion_weights);
  // The two halves of forward: the encoder sees only the source side (so a source reenacted
  // by many targets is encoded once); the decoder turns its features into the flow towards
  // a target sketch: one per feature row, or [B] sketches for B·M rows, sketch b driving rows
  // b·M .. b·M + M - 1 (its SPADE modulation then computed once, not M times).
  std::vector<Tensor> encode(const Tensor& source, const Tensor& source_sketch);
  FlowOutput decode(const std::vector<Tensor>& features, const Tensor& target_sketch, bool fusion_weights);
  bool has_weight_head() const { return weight_head_ != nullptr; }

 private:
  Encoder enc_;
  std::vector<std::unique_ptr<nn::SpadeResBlock>> dec_;
  nn::Conv2d flow_head_;
  std::unique_ptr<nn::Conv2d> weight_head_;
};

class RenderingNetwork : public nn::Module {
 public:
  explicit RenderingNetwork(const Config& cfg);
  // fused = {h̄1, h̄2, h̄3}, warped = x̄.
  Tensor forward(const Tensor& target_sketch, const std::vector<Tensor>& fused, const Tensor& warped);

 private:
  Encoder enc_;
  std::vector<std::unique_ptr<nn::SpadeResBlock>> dec_;
  nn::Conv2d out_conv_;
};

struct GeneratorOutput {
  Tensor output;   // ŷ [B, S, S, 3]
  Tensor warped;   // x̄ [B, S, S, 3]
  Tensor flows;    // [B, M, S, S, 2]
  Tensor weights;  // softmax fusion weights [B, M, S, S, 1]; undefined when M = 1
};

// The source side of G, computed once per source set: the sources merged to [B·M, S, S, 3]
// and the flow network's encoder features of each.
struct EncodedSources {
  int64_t batch = 0, sources = 0;
  Tensor images;                 // [B·M, S, S, 3]
  std::vector<Tensor> features;  // h1, h2, h3 of every source, [B·M, ...]
};

class Generator : public nn::Module {
 public:
  // `nshot`: with the flow network's weight head (needed for M > 1).
  Generator(const Config& cfg, bool nshot);
  // sources, source_sketches: [B, M, S, S, 3]; target_sketch: [B, S, S, 3].
  GeneratorOutput forward(const Tensor& sources, const Tensor& source_sketches, const Tensor& target_sketch);
  // forward() in two halves: the source side, then the rest for a target sketch [B, S, S, 3].
  EncodedSources encode_sources(const Tensor& sources, const Tensor& source_sketches);
  GeneratorOutput forward_encoded(const EncodedSources& encoded, const Tensor& target_sketch);
  const Config& config() const { return cfg_; }
  bool nshot() const { return flow_.has_weight_head(); }

 private:
  Config cfg_;
  FlowNetwork flow_;
  RenderingNetwork render_;
};

}  // namespace fh::nets
