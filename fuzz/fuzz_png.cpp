// PNG decoding (read_png), and PNG or JPEG with EXIF orientation (read_image), on arbitrary
// bytes: a decoded image holds exactly width·height·channels pixels, in every channel count
// the readers ask for.
#include <cstdint>
#include <cstdlib>
#include <exception>

#include "fuzz/fuzz_input.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fh::fuzz::as_file(data, size, "in.png");
  for (int channels : {0, 3, -3}) {  // -3: read_image as RGB
    try {
      const fh::Image img = channels < 0 ? fh::read_image(path, -channels) : fh::read_png(path, channels);
      fh::fuzz::require(img.width > 0 && img.height > 0 && img.channels >= 1 && img.channels <= 4,
                        "a decoded image has no pixels or an odd channel count");
      fh::fuzz::require(img.pixels.size() == static_cast<size_t>(img.width) * img.height * img.channels,
                        "pixel buffer size differs from width·height·channels");
      fh::fuzz::require(channels == 0 || img.channels == std::abs(channels), "channel conversion not honoured");
    } catch (const std::exception&) {
    }
  }
  return 0;
}
