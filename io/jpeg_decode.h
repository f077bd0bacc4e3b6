// JPEG decoding through libjpeg (Debian's libjpeg-turbo, libjpeg-dev): photos from phones and
// cameras. freehead's PNG decoder (stb) also reads JPEG, but the version Debian ships lets a
// crafted Huffman table write past its buffer, so JPEGs go to libjpeg, which is built for
// hostile input. Without libjpeg (FH_JPEG=OFF, or not found) decode_jpeg throws an error that
// says so and names the file.
#pragma once

#include <string>
#include <vector>

#include "io/image_io.h"

namespace fh {

bool jpeg_supported();
// RGB (or grey when `want_channels` is 1) of the JPEG in `bytes`; `path` names it in errors.
Image decode_jpeg(const std::vector<unsigned char>& bytes, const std::string& path, int want_channels);

}  // namespace fh
