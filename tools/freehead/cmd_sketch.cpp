// `freehead sketch --points FILE --out PNG [--size S]`: draws the generator's conditioning
// sketch of one set of key-points for a person to look at.
#include <cstdio>

#include "geometry/sketch.h"
#include "geometry/sketch_file.h"
#include "io/image_io.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"

namespace fh::cli {

int cmd_sketch(const Args& args) {
  const Options opts("sketch",
                     "Draws the key-point sketch the generator is conditioned on (eye polygons in their gaze\n"
                     "colour, white polylines) as a PNG. The --points file is a safetensors file holding\n"
                     "`points` [68, 2|3] (image-normalised x, y in [-1, 1]; z ignored) and optionally `gaze`\n"
                     "[2, 3] (gaze vectors of the right eye 36-41, then the left eye 42-47) or `gaze_angles`\n"
                     "[2, 2] ((theta, phi) in radians per eye); without either, both eyes look at the camera.",
                     {{"points", "safetensors file with the key-points (and gaze)", true, true, ""},
                      {"out", "PNG file to write", true, true, ""},
                      {"size", "sketch width and height in pixels", true, false, "256"}},
                     args);
  const int64_t size = opts.integer("size", 2, 8192);
  const geometry::SketchInput input = geometry::read_sketch_points(opts.str("points"));
  Tensor sketch = Tensor::empty({size, size, 3});
  geometry::draw_sketch(input, size, sketch.data<float>());
  write_png(opts.str("out"), tensor_to_image(sketch, 0.0, 1.0));
  std::printf("wrote %s (%lld x %lld sketch)\n", opts.str("out").c_str(), static_cast<long long>(size),
              static_cast<long long>(size));
  return 0;
}

}  // namespace fh::cli
