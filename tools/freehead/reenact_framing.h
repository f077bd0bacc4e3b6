// How `freehead reenact` frames real pictures: each source photo's face found and cropped
// for the models (or the pictures taken as they are with --no-crop), and each output frame
// composed — the result pasted back into the first source photo at its own size, with the
// driving frame beside it for --concat (docs/real-images.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/face_crop.h"
#include "io/image_io.h"
#include "tools/freehead/options.h"

namespace fh::cli {

// `specs` and --no-crop, --crop-scale, --crop-shift and --face, shared by reenact and edit.
std::vector<OptionSpec> with_crop_options(std::vector<OptionSpec> specs);
// Reads them (usage errors name the flag); `crop` is false for --no-crop.
pipeline::CropOptions crop_options(const Options& opts, bool& crop);

struct FramedSources {
  std::vector<Image> crops;  // what the networks see, one per source
  Image original;            // the first source as given (RGB)
  std::optional<pipeline::CropBox> box;  // its face's box; none with --no-crop
};

// Reads the sources; with `crop` finds each one's face (options.face picks among several),
// else requires square pictures. Errors name the file.
FramedSources frame_sources(const std::vector<std::string>& paths, bool crop, const pipeline::CropOptions& options,
                            int model_size);

// The frame written out: `result` pasted into the first source photo over its box (or
// `result` itself without one), and with `concat` the driving frame, scaled to the same
// height, to its left.
Image output_frame(const FramedSources& sources, const Image& driving_frame, const Image& result, bool concat);

}  // namespace fh::cli
