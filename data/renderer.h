// The CPU renderer for synthetic heads: a z-buffered triangle rasteriser over a
// supersampled grid (k×k samples per pixel, box-filtered: anti-aliased edges), deferred
// shading per sample (Lambert + ambient from the clip's light, a specular catch-light on
// the eyes), and analytic eyeballs seen through the lid openings. A Renderer owns its
// buffers and draws one frame at a time on the calling thread; the synthesiser runs one
// per thread, so frames are deterministic whatever the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "data/head_params.h"
#include "data/posed_head.h"
#include "io/image_io.h"

namespace fh::data {

// A background drawn once per clip: float RGB in [0, 1], S×S, row-major.
struct BackgroundImage {
  int size = 0;
  std::vector<float> rgb;
};
BackgroundImage draw_background(const Background& bg, int size);

// What each pixel shows, for tests and diagnostics: the material of the sample nearest the
// pixel centre (supersampled renders use the top-left sample of the pixel's block).
enum class Material : uint8_t {
  Background = 0, Skin, Neck, Hair, Brow, Lash, Lip, MouthInterior, Teeth, Nostril,
  Sclera, Iris, Pupil, EyeCorner, Clothes,
};

class Renderer {
 public:
  explicit Renderer(int supersampling = 2);

  // Draws `head` over `background` into `out` (8-bit RGB, background.size²). When
  // `materials` is given it receives one Material per pixel.
  void render(const PosedHead& head, const BackgroundImage& background, Image& out,
              std::vector<Material>* materials = nullptr);

  int supersampling() const { return k_; }

 private:
  void rasterise(const PosedHead& head, int size);
  int k_;
  int grid_ = 0;  // samples per side
  std::vector<float> depth_, bary0_, bary1_;
  std::vector<int32_t> triangle_;
  std::vector<float> vx_, vy_;  // per-vertex sample-grid coordinates
};

}  // namespace fh::data
