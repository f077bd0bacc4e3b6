#include "io/jpeg_decode.h"

#include "runtime/error.h"

#if FH_WITH_JPEG
#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>
#endif

namespace fh {

#if FH_WITH_JPEG

namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back
// to the decoder with the message kept.
struct ErrorJump {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void error_exit(j_common_ptr info) {
  auto* e = reinterpret_cast<ErrorJump*>(info->err);
  (*info->err->format_message)(info, e->message);
  std::longjmp(e->jump, 1);
}

void quiet(j_common_ptr, int) {}  // warnings (a recoverable damage) are not printed

}  // namespace

bool jpeg_supported() { return true; }

Image decode_jpeg(const std::vector<unsigned char>& bytes, const std::string& path, int want_channels) {
  // Everything the jump may cross lives before setjmp and has no destructor to skip.
  jpeg_decompress_struct info{};
  ErrorJump err{};
  info.err = jpeg_std_error(&err.base);
  err.base.error_exit = error_exit;
  err.base.emit_message = quiet;
  Image out;
  if (setjmp(err.jump) != 0) {
    jpeg_destroy_decompress(&info);
    FH_FAIL("image", "'", path, "' is not a readable JPEG: ", err.message);
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  info.out_color_space = want_channels == 1 || want_channels == 2 ? JCS_GRAYSCALE : JCS_RGB;
  if (info.image_width == 0 || info.image_height == 0 || info.image_width > kMaxImageSide ||
      info.image_height > kMaxImageSide || uint64_t{info.image_width} * info.image_height > kMaxImagePixels) {
    const unsigned w = info.image_width, h = info.image_height;
    jpeg_destroy_decompress(&info);
    FH_FAIL("image", "'", path, "' is ", w, "x", h, " pixels; images must be 1..", kMaxImageSide,
            " pixels a side and at most ", kMaxImagePixels, " pixels");
  }
  jpeg_start_decompress(&info);
  out = Image(static_cast<int>(info.output_width), static_cast<int>(info.output_height), info.output_components);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out.pixels.data() + static_cast<size_t>(info.output_scanline) * out.width * out.channels;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (want_channels == 0 || want_channels == out.channels) return out;
  // 2 and 4 channels: grey or RGB with an opaque alpha channel.
  Image with_alpha(out.width, out.height, want_channels);
  for (size_t i = 0; i < static_cast<size_t>(out.width) * out.height; ++i) {
    for (int c = 0; c < out.channels; ++c) with_alpha.pixels[i * want_channels + c] = out.pixels[i * out.channels + c];
    with_alpha.pixels[i * want_channels + want_channels - 1] = 255;
  }
  return with_alpha;
}

#else

bool jpeg_supported() { return false; }

Image decode_jpeg(const std::vector<unsigned char>&, const std::string& path, int) {
  FH_FAIL("image", "'", path,
          "' is a JPEG, and this freehead was built without libjpeg (configure with the Debian package libjpeg-dev "
          "installed and FH_JPEG=ON); convert the photo to PNG");
}

#endif

}  // namespace fh
