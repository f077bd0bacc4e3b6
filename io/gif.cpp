#include "io/gif.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <unordered_map>

#include "runtime/error.h"
#include "io/file_io.h"

namespace fh {

namespace {

constexpr int kLevelsR = 6, kLevelsG = 7, kLevelsB = 6;  // 252 colours

// 4×4 Bayer thresholds in (-0.5, 0.5): added before rounding to a palette level, so flat
// gradients become fine patterns instead of bands.
constexpr double kBayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};

uint8_t palette_index(const uint8_t* rgb, int x, int y) {
  const double t = (kBayer[y & 3][x & 3] + 0.5) / 16.0 - 0.5;
  auto level = [&](uint8_t v, int levels) {
    return std::clamp(static_cast<int>(std::lround(v * (levels - 1) / 255.0 + t)), 0, levels - 1);
  };
  return static_cast<uint8_t>((level(rgb[0], kLevelsR) * kLevelsG + level(rgb[1], kLevelsG)) * kLevelsB +
                              level(rgb[2], kLevelsB));
}

// Packs variable-width codes least-significant bit first into 255-byte sub-blocks.
class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  void put(int code, int width) {
    acc_ |= static_cast<uint32_t>(code) << bits_;
    bits_ += width;
    while (bits_ >= 8) {
      byte(static_cast<uint8_t>(acc_ & 0xff));
      acc_ >>= 8;
      bits_ -= 8;
    }
  }
  void finish() {
    if (bits_ > 0) byte(static_cast<uint8_t>(acc_ & 0xff));
    if (!block_.empty()) flush();
    out_.push_back('\0');
  }

 private:
  void byte(uint8_t b) {
    block_.push_back(static_cast<char>(b));
    if (block_.size() == 255) flush();
  }
  void flush() {
    out_.push_back(static_cast<char>(block_.size()));
    out_ += block_;
    block_.clear();
  }
  std::string& out_;
  std::string block_;
  uint32_t acc_ = 0;
  int bits_ = 0;
};

// LZW with 8-bit symbols: clear = 256, end = 257, codes up to 12 bits; the table is reset
// (a clear code) when it fills.
void lzw(const std::vector<uint8_t>& indices, std::string& out) {
  constexpr int kClear = 256, kEnd = 257, kMaxCode = 4095;
  out.push_back(8);  // minimum code size
  BitWriter w(out);
  std::unordered_map<uint32_t, int> table;
  int width = 9, next = kEnd + 1;
  w.put(kClear, width);
  int prefix = indices.empty() ? -1 : indices[0];
  for (size_t i = 1; i < indices.size(); ++i) {
    const uint32_t key = (static_cast<uint32_t>(prefix) << 8) | indices[i];
    const auto it = table.find(key);
    if (it != table.end()) {
      prefix = it->second;
      continue;
    }
    w.put(prefix, width);
    if (next <= kMaxCode) {
      table.emplace(key, next);
      if (next == (1 << width) && width < 12) ++width;
      ++next;
    } else {
      w.put(kClear, width);
      table.clear();
      width = 9;
      next = kEnd + 1;
    }
    prefix = indices[i];
  }
  if (prefix >= 0) w.put(prefix, width);
  w.put(kEnd, width);
  w.finish();
}

void u16(std::string& s, int v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
}

}  // namespace

GifWriter::GifWriter(std::string path, int delay_cs)
    : file_(std::make_unique<AtomicFile>(std::move(path), "gif")), delay_cs_(std::max(delay_cs, 1)) {}

GifWriter::~GifWriter() = default;

const std::string& GifWriter::path() const { return file_->path(); }

void GifWriter::add(const Image& f) {
  const std::string& path = file_->path();
  std::string s;
  if (frames_ == 0) {
    width_ = f.width, height_ = f.height;
    FH_CHECK(width_ > 0 && height_ > 0 && width_ < 65536 && height_ < 65536, "gif", "frame size ", width_, "x", height_,
             " cannot be written to '", path, "'");
    s = "GIF89a";
    u16(s, width_);
    u16(s, height_);
    s += {static_cast<char>(0xF7), 0, 0};  // global colour table of 256 entries
    for (int i = 0; i < 256; ++i) {
      const int r = i / (kLevelsG * kLevelsB), g = (i / kLevelsB) % kLevelsG, b = i % kLevelsB;
      const bool used = i < kLevelsR * kLevelsG * kLevelsB;
      s.push_back(static_cast<char>(used ? r * 255 / (kLevelsR - 1) : 0));
      s.push_back(static_cast<char>(used ? g * 255 / (kLevelsG - 1) : 0));
      s.push_back(static_cast<char>(used ? b * 255 / (kLevelsB - 1) : 0));
    }
    s += std::string("\x21\xFF\x0BNETSCAPE2.0\x03\x01", 16);  // loop forever
    u16(s, 0);
    s.push_back('\0');
  }
  const int w = width_, h = height_;
  FH_CHECK(f.width == w && f.height == h && f.channels >= 3, "gif", "frames of '", path, "' must all be ", w, "x", h,
           " RGB, got ", f.width, "x", f.height, "x", f.channels);
  s += std::string("\x21\xF9\x04\x04", 4);  // graphic control: disposal "leave in place"
  u16(s, delay_cs_);
  s += std::string("\x00\x00", 2);
  s.push_back(',');
  u16(s, 0);
  u16(s, 0);
  u16(s, w);
  u16(s, h);
  s.push_back('\0');
  std::vector<uint8_t> indices(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) indices[static_cast<size_t>(y) * w + x] = palette_index(f.at(x, y), x, y);
  lzw(indices, s);
  file_->write(s.data(), s.size());
  ++frames_;
}

void GifWriter::finish() {
  FH_CHECK(frames_ > 0, "gif", "no frames to write to '", file_->path(), "'");
  file_->write(";", 1);
  file_->commit();
}

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs) {
  FH_CHECK(!frames.empty(), "gif", "no frames to write to '", path, "'");
  GifWriter w(path, delay_cs);
  for (const Image& f : frames) w.add(f);
  w.finish();
}

}  // namespace fh
