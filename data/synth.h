// The synthetic dataset generator behind `freehead synth`: identities × clips × frames of
// rendered talking heads with exact annotations, evaluation triples, the manifest and a
// contact sheet, written in the dataset format (data/dataset_format.h). Frames are
// rendered in parallel over the thread pool; the bytes written depend only on the options,
// never on the thread count.
#pragma once

#include <cstdint>
#include <string>

#include "data/annotation.h"
#include "data/head_mesh.h"
#include "data/renderer.h"
#include "data/sequence.h"
#include "io/image_io.h"

namespace fh::data {

struct SynthOptions {
  std::string out;
  int identities = 1;
  int clips_per_identity = 1;
  int frames = 16;
  int size = 128;
  uint64_t seed = 0;
  int pairs = 0;          // evaluation triples
  int supersampling = 2;  // samples per pixel along each axis
  double head_motion = 1;  // scale of the head's turning within a clip (ClipScript)
  bool progress = true;   // draw a progress bar on stderr
};

struct SynthReport {
  int64_t frames = 0;  // images written, triples included
  double seconds = 0;
  std::string manifest, contact_sheet;
};

// Checks the options (errors name the flag-like field) and writes the dataset.
SynthReport synthesize(const SynthOptions& options);

// Which split identity i of n belongs to: the last tenth (at least one when n ≥ 3) is
// "test", the tenth before it "val", the rest "train".
std::string split_of_identity(int identity, int identities);

std::string clip_name(int identity, int clip);  // "clips/id0003_c01"
std::string identity_name(int identity);        // "id0003"

// One frame, rendered and annotated.
struct RenderedFrame {
  Image image;
  FrameAnnotation annotation;
};
RenderedFrame render_frame(const HeadMesh& mesh, const FrameParams& params, const BackgroundImage& background,
                           Renderer& renderer);

}  // namespace fh::data
