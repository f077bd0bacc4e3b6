// Video decoding (io/video.h, FFmpeg's demuxers and decoders behind freehead's checks)
// on arbitrary bytes: a file is refused by an fh::Error, or every frame it yields is the
// stated size in RGB. At most 64 frames are read per input, so a long stream cannot hang it.
#include <cstdint>
#include <exception>

#include "fuzz/fuzz_input.h"
#include "io/video.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fh::fuzz::as_file(data, size, "in.mp4");
  try {
    fh::VideoReader reader(path);
    const fh::VideoInfo& info = reader.info();
    fh::fuzz::require(info.width > 0 && info.height > 0, "an opened video has no size");
    fh::Image frame;
    for (int i = 0; i < 64 && reader.next(frame); ++i) {
      fh::fuzz::require(frame.width == info.width && frame.height == info.height && frame.channels == 3,
                        "a decoded frame differs from the stated size");
      fh::fuzz::require(frame.pixels.size() == static_cast<size_t>(frame.width) * frame.height * 3,
                        "pixel buffer size differs from width·height·3");
    }
  } catch (const std::exception&) {
  }
  return 0;
}
