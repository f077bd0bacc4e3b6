#include "tools/freehead/reenact_framing.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "tools/freehead/reenact_options.h"

namespace fh::cli {

std::vector<OptionSpec> with_crop_options(std::vector<OptionSpec> specs) {
  specs.insert(specs.end(), {
      {"no-crop", "the pictures are square face crops already: no detection, crop or paste-back", false, false, ""},
      {"crop-scale", "crop side as a multiple of the detected face box", true, false, "2.3"},
      {"crop-shift", "crop centre moved up by this fraction of the crop side", true, false, "0.1"},
      {"face", "which face when a picture has several: 0 = the largest, 1 = the next, ...", true, false, "0"},
  });
  return specs;
}

pipeline::CropOptions crop_options(const Options& opts, bool& crop) {
  crop = !opts.flag("no-crop");
  if (!crop && (opts.has("crop-scale") || opts.has("crop-shift") || opts.has("face")))
    throw UsageError{"--no-crop excludes --crop-scale, --crop-shift and --face"};
  pipeline::CropOptions co;
  co.scale = range_flag(opts, "crop-scale", 0.5, 10);
  co.shift = range_flag(opts, "crop-shift", -0.5, 0.5);
  co.face = static_cast<int>(opts.integer("face", 0, 100));
  return co;
}

FramedSources frame_sources(const std::vector<std::string>& paths, bool crop, const pipeline::CropOptions& options,
                            int model_size) {
  FramedSources out;
  std::vector<Image> images = read_sources(paths);
  for (size_t i = 0; i < images.size(); ++i) {
    if (!crop) {
      FH_CHECK(images[i].width == images[i].height, "reenact", "the source '", paths[i], "' is ", images[i].width, "x",
               images[i].height, "; --no-crop takes square face crops (without it the face is found and cropped)");
      out.crops.push_back(images[i]);
      continue;
    }
    const pipeline::CropBox box = pipeline::find_face_crop(images[i], options, "the source '" + paths[i] + "'");
    out.crops.push_back(pipeline::crop_image(images[i], box, pipeline::crop_size_for(box, model_size)));
    if (i == 0) out.box = box;
  }
  out.original = std::move(images[0]);
  return out;
}

Image output_frame(const FramedSources& sources, const Image& driving_frame, const Image& result, bool concat) {
  Image shown = sources.box ? sources.original : result;
  if (sources.box) pipeline::paste_back(shown, result, *sources.box);
  if (!concat) return shown;
  const Image& d = driving_frame;
  const int w = std::max(1, static_cast<int>(std::lround(static_cast<double>(d.width) * shown.height / d.height)));
  Image resized;  // the driving frame at the output's height, when it is not already
  if (d.width != w || d.height != shown.height) resized = pipeline::resize_image(d, w, shown.height);
  const Image& left = resized.width > 0 ? resized : d;
  Image both(left.width + shown.width, shown.height, 3);
  for (int y = 0; y < both.height; ++y) {
    for (int x = 0; x < left.width; ++x) std::copy_n(left.at(x, y), 3, both.at(x, y));
    for (int x = 0; x < shown.width; ++x) std::copy_n(shown.at(x, y), 3, both.at(left.width + x, y));
  }
  return both;
}

}  // namespace fh::cli
