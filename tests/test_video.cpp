// Video files (io/video.h) and `freehead reenact` on them: a synthetic clip encoded to
// H.264 MP4 and decoded back (frame count, rate, PSNR), a phone's rotation flag applied, a driving video carrying a test tone
// reenacted into an MP4 that keeps the tone, GIF output, and damaged or false videos refused
// with nothing written. The tone is made here with FFmpeg's own AAC encoder. In a build
// without FFmpeg the cases check the error that says so.
#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>
#include <iterator>

#include "harness/synthetic_dataset.h"
#include "harness/scratch.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "io/video.h"

#if FH_WITH_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}
#endif

namespace fs = std::filesystem;
using namespace fh;

namespace {

using fh::test::TempDir;
using fh::test::error_of;

double psnr(const Image& a, const Image& b) {
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = static_cast<double>(a.pixels[i]) - b.pixels[i];
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.pixels.size());
  return mse == 0 ? 99 : 10 * std::log10(255.0 * 255.0 / mse);
}

// The frames of a synthetic clip (25 frames of 64²).
std::vector<Image> synthetic_frames(const test::SyntheticDataset& ds) {
  std::vector<Image> frames;
  const fs::path clip = fs::path(ds.data) / "clips";
  const fs::path first = *fs::directory_iterator(clip);
  for (int t = 0; t < 25; ++t) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d.png", t);
    frames.push_back(read_png((first / name).string(), 3));
  }
  return frames;
}

bool no_temporaries_in(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
  return true;
}

#if FH_WITH_FFMPEG
constexpr int kToneRate = 44100;

// `seconds` of a 440 Hz sine as AAC in an .m4a file.
void write_tone(const std::string& path, double seconds) {
  AVFormatContext* out = nullptr;
  REQUIRE(avformat_alloc_output_context2(&out, nullptr, "mp4", path.c_str()) >= 0);
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  REQUIRE(codec);
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
  enc->sample_rate = kToneRate;
  av_channel_layout_default(&enc->ch_layout, 1);
  enc->bit_rate = 64000;
  enc->time_base = {1, kToneRate};
  if (out->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  REQUIRE(avcodec_open2(enc, codec, nullptr) >= 0);
  AVStream* st = avformat_new_stream(out, nullptr);
  avcodec_parameters_from_context(st->codecpar, enc);
  st->time_base = enc->time_base;
  REQUIRE(avio_open(&out->pb, path.c_str(), AVIO_FLAG_WRITE) >= 0);
  REQUIRE(avformat_write_header(out, nullptr) >= 0);
  AVFrame* f = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  auto drain = [&] {
    while (avcodec_receive_packet(enc, pkt) == 0) {
      av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      REQUIRE(av_interleaved_write_frame(out, pkt) >= 0);
    }
  };
  const int64_t total = std::llround(seconds * kToneRate);
  for (int64_t n = 0; n < total;) {
    const int k = static_cast<int>(std::min<int64_t>(enc->frame_size, total - n));
    av_frame_unref(f);
    f->nb_samples = k;
    f->format = enc->sample_fmt;
    f->sample_rate = kToneRate;
    av_channel_layout_copy(&f->ch_layout, &enc->ch_layout);
    REQUIRE(av_frame_get_buffer(f, 0) >= 0);
    auto* d = reinterpret_cast<float*>(f->data[0]);
    for (int i = 0; i < k; ++i) d[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 440 * static_cast<double>(n + i) / kToneRate));
    f->pts = n;
    REQUIRE(avcodec_send_frame(enc, f) >= 0);
    drain();
    n += k;
  }
  avcodec_send_frame(enc, nullptr);
  drain();
  av_write_trailer(out);
  avio_closep(&out->pb);
  av_frame_free(&f);
  av_packet_free(&pkt);
  avcodec_free_context(&enc);
  avformat_free_context(out);
}

// The audio stream's length in seconds (the sum of its packets' durations), or -1 without one.
double audio_seconds(const std::string& path) {
  AVFormatContext* in = nullptr;
  REQUIRE(avformat_open_input(&in, path.c_str(), nullptr, nullptr) >= 0);
  REQUIRE(avformat_find_stream_info(in, nullptr) >= 0);
  const int a = av_find_best_stream(in, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  double seconds = -1;
  if (a >= 0) {
    int64_t sum = 0;
    AVPacket* pkt = av_packet_alloc();
    while (av_read_frame(in, pkt) >= 0) {
      if (pkt->stream_index == a) sum += pkt->duration;
      av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    seconds = static_cast<double>(sum) * av_q2d(in->streams[a]->time_base);
  }
  avformat_close_input(&in);
  return seconds;
}
#endif

}  // namespace

TEST_CASE("video: a synthetic clip encoded to MP4 decodes back with its frame count, rate and PSNR") {
  TempDir dir("video-roundtrip");
  if (!video_supported()) {
    CHECK(error_of([&] { VideoReader r(dir / "x.mp4"); }).find("built without FFmpeg") != std::string::npos);
    CHECK(error_of([&] { VideoWriter w(dir / "x.mp4", 64, 64); }).find("built without FFmpeg") != std::string::npos);
    return;
  }
  test::SyntheticDataset ds("video-clip", 1, 1, 25, 64, 3);
  const std::vector<Image> frames = synthetic_frames(ds);
  VideoWriterOptions o;
  o.fps = 25;
  VideoWriter w(dir / "clip.mp4", 64, 64, o);
  for (const Image& f : frames) w.write(f);
  CHECK_FALSE(fs::exists(dir / "clip.mp4"));  // nothing under the name before finish()
  w.finish();
  MESSAGE("encoder: " << w.encoder() << "; " << video_support_note());

  VideoReader r(dir / "clip.mp4");
  CHECK(r.info().width == 64);
  CHECK(r.info().height == 64);
  CHECK(r.info().fps == doctest::Approx(25));
  CHECK(r.info().frames == 25);
  CHECK(r.info().codec == "h264");
  CHECK_FALSE(r.info().has_audio);
  Image f;
  double worst = 99, sum = 0;
  int n = 0;
  while (r.next(f)) {
    REQUIRE(n < 25);
    const double p = psnr(f, frames[static_cast<size_t>(n)]);
    worst = std::min(worst, p), sum += p;
    ++n;
  }
  CHECK(n == 25);
  MESSAGE("MP4 round trip PSNR: mean " << sum / n << " dB, worst " << worst << " dB");
  // H.264 at CRF 18 in yuv420p: the colour planes at half resolution bound it on 64² heads
  // with sharp edges; 30 dB is the level below which the loss shows at a glance.
  CHECK(worst > 30);

  // Odd sizes are padded to even and come back at the padded size.
  VideoWriter odd(dir / "odd.mp4", 63, 61, o);
  Image small(63, 61, 3);
  for (size_t i = 0; i < small.pixels.size(); ++i) small.pixels[i] = static_cast<uint8_t>(i * 7);
  odd.write(small);
  odd.finish();
  VideoReader ro(dir / "odd.mp4");
  CHECK(ro.info().width == 64);
  CHECK(ro.info().height == 62);

  // A GIF through the same writer, read back through FFmpeg's GIF decoder.
  VideoWriter g(dir / "clip.gif", 64, 64, o);
  for (const Image& fr : frames) g.write(fr);
  g.finish();
  VideoReader rg(dir / "clip.gif");
  int gifs = 0;
  while (rg.next(f)) ++gifs;
  CHECK(gifs == 25);
  CHECK(no_temporaries_in(dir.path));
}

// A frame of 48 wide × 32 high, grey, with a red block in its top-left corner and a blue one
// in its top-right: after a turn, where the blocks are says which way it went.
Image corner_marked_frame() {
  Image f(48, 32, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 48; ++x) {
      uint8_t* p = &f.pixels[(static_cast<size_t>(y) * 48 + x) * 3];
      p[0] = p[1] = p[2] = 128;
      if (y < 10 && x < 10) p[0] = 230, p[1] = 20, p[2] = 20;
      if (y < 10 && x >= 38) p[0] = 20, p[1] = 20, p[2] = 230;
    }
  return f;
}

// The mean colour of the 6×6 square at the given corner, inset by 2 pixels.
std::array<double, 3> corner_colour(const Image& f, bool right, bool bottom) {
  std::array<double, 3> c{};
  const int x0 = right ? f.width - 8 : 2, y0 = bottom ? f.height - 8 : 2;
  for (int y = y0; y < y0 + 6; ++y)
    for (int x = x0; x < x0 + 6; ++x)
      for (int k = 0; k < 3; ++k) c[k] += f.pixels[(static_cast<size_t>(y) * f.width + x) * 3 + k] / 36.0;
  return c;
}

// The a, b, c, d entries (16.16 fixed point, big-endian) of the transformation matrix in an
// MP4's first track header ('tkhd', ISO/IEC 14496-12): what players read, independently of
// FFmpeg's API. Their byte offsets in the file:
std::array<size_t, 4> track_matrix_offsets(const std::vector<unsigned char>& bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t at = text.find("tkhd");
  REQUIRE(at != std::string_view::npos);
  const size_t version = bytes[at + 4];
  // After 'tkhd': version and flags (4); creation and modification times, track id, a
  // reserved word and the duration (20 bytes, or 32 in version 1); reserved (8); layer, group,
  // volume, reserved (8); then the 3×3 matrix, row by row.
  const size_t matrix = at + 4 + 4 + (version == 1 ? 32 : 20) + 8 + 8;
  return {matrix, matrix + 4, matrix + 12, matrix + 16};
}

std::array<int32_t, 4> track_matrix(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path, "test");
  std::array<int32_t, 4> abcd{};
  const std::array<size_t, 4> at = track_matrix_offsets(bytes);
  for (int e = 0; e < 4; ++e) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | bytes[at[e] + k];
    abcd[e] = static_cast<int32_t>(v);
  }
  return abcd;
}

// Overwrites those entries, as a file written with another matrix would hold them.
void set_track_matrix(const std::string& path, const std::array<int32_t, 4>& abcd) {
  std::vector<unsigned char> bytes = read_file_bytes(path, "test");
  const std::array<size_t, 4> at = track_matrix_offsets(bytes);
  for (int e = 0; e < 4; ++e) {
    const auto v = static_cast<uint32_t>(abcd[e]);
    for (int k = 0; k < 4; ++k) bytes[at[e] + k] = static_cast<unsigned char>(v >> (24 - 8 * k));
  }
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()), "test");
}

bool is_red(const std::array<double, 3>& c) { return c[0] > 180 && c[2] < 80; }
bool is_blue(const std::array<double, 3>& c) { return c[2] > 180 && c[0] < 80; }

TEST_CASE("video: a phone's rotation flag is applied: frames come out turned as players show them") {
  TempDir dir("video-rotation");
  if (!video_supported()) return;
  const Image frame = corner_marked_frame();
  // Where the top-left (red) and top-right (blue) blocks land after a clockwise turn.
  struct Turn {
    int rotation;
    bool red_right, red_bottom, blue_right, blue_bottom;
  };
  for (const Turn& t : {Turn{0, false, false, true, false}, Turn{90, true, false, true, true},
                        Turn{180, true, true, false, true}, Turn{270, false, true, false, false}}) {
    CAPTURE(t.rotation);
    VideoWriterOptions o;
    o.rotation = t.rotation;
    const std::string path = dir / ("turned" + std::to_string(t.rotation) + ".mp4");
    VideoWriter w(path, 48, 32, o);
    for (int i = 0; i < 3; ++i) w.write(frame);
    w.finish();
    // Written as players expect it: a clockwise quarter turn is the matrix (a b; c d) =
    // (0 1; −1 0) that portrait phone videos carry; a half turn (−1 0; 0 −1).
    const int32_t one = 0x10000;
    const std::array<int32_t, 4> expected = t.rotation == 0    ? std::array<int32_t, 4>{one, 0, 0, one}
                                            : t.rotation == 90  ? std::array<int32_t, 4>{0, one, -one, 0}
                                            : t.rotation == 180 ? std::array<int32_t, 4>{-one, 0, 0, -one}
                                                                : std::array<int32_t, 4>{0, -one, one, 0};
    CHECK(track_matrix(path) == expected);
    VideoReader r(path);
    CHECK(r.info().rotation == t.rotation);
    const bool quarter = t.rotation == 90 || t.rotation == 270;
    CHECK(r.info().width == (quarter ? 32 : 48));
    CHECK(r.info().height == (quarter ? 48 : 32));
    Image f;
    int n = 0;
    while (r.next(f)) {
      REQUIRE(f.width == r.info().width);
      REQUIRE(f.height == r.info().height);
      CHECK(is_red(corner_colour(f, t.red_right, t.red_bottom)));
      CHECK(is_blue(corner_colour(f, t.blue_right, t.blue_bottom)));
      ++n;
    }
    CHECK(n == 3);
  }
  // Matrices freehead cannot show as asked, written into a file's track header by hand (its
  // writer makes only quarter turns): a mirror, a mirror with a quarter turn, and an eighth
  // of a turn. Each is refused naming the file and what the matrix asks for.
  {
    const int32_t one = 0x10000, diagonal = 46341;  // 2^16·cos 45°
    struct Odd {
      std::array<int32_t, 4> abcd;
      const char* says;
    };
    for (const Odd& odd : {Odd{{-one, 0, 0, one}, "mirrored and turned by"},
                           Odd{{0, one, one, 0}, "mirrored and turned by"},
                           Odd{{diagonal, diagonal, -diagonal, diagonal}, "turned by 45"}}) {
      CAPTURE(odd.says);
      const std::string path = dir / "odd.mp4";
      {
        VideoWriter w(path, 48, 32, {});
        for (int i = 0; i < 3; ++i) w.write(frame);
        w.finish();
      }
      set_track_matrix(path, odd.abcd);
      const std::string e = error_of([&] { VideoReader r(path); });
      CHECK(e.find(path) != std::string::npos);
      CHECK(e.find(odd.says) != std::string::npos);
      CHECK(e.find("multiples of 90") != std::string::npos);
      fs::remove(path);
    }
  }
  CHECK(error_of([&] {
          VideoWriterOptions o;
          o.rotation = 45;
          VideoWriter w(dir / "bad.mp4", 48, 32, o);
        }).find("display rotation 45") != std::string::npos);
  CHECK(error_of([&] {
          VideoWriterOptions o;
          o.rotation = 90;
          VideoWriter w(dir / "bad.gif", 48, 32, o);
        }).find("a GIF cannot carry a display rotation") != std::string::npos);
  CHECK(no_temporaries_in(dir.path));
}

TEST_CASE("video: damaged, cut-short and false videos are clear errors; an unfinished writer leaves nothing") {
  TempDir dir("video-bad");
  if (!video_supported()) return;
  test::SyntheticDataset ds("video-bad-clip", 1, 1, 25, 64, 4);
  const std::vector<Image> frames = synthetic_frames(ds);
  {
    VideoWriter w(dir / "clip.mp4", 64, 64, {});
    for (const Image& f : frames) w.write(f);
    w.finish();
  }
  {
    VideoWriter w(dir / "abandoned.mp4", 64, 64, {});
    w.write(frames[0]);
  }  // destroyed before finish(): an error on the way
  CHECK_FALSE(fs::exists(dir / "abandoned.mp4"));
  CHECK(no_temporaries_in(dir.path));

  const std::vector<unsigned char> bytes = read_file_bytes(dir / "clip.mp4", "test");
  write_file_atomic(dir / "cut.mp4", std::string(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() * 6 / 10)), "test");
  CHECK(error_of([&] { VideoReader r(dir / "cut.mp4"); }).find("cut.mp4") != std::string::npos);
  write_file_atomic(dir / "text.mp4", std::string("this is not a video\n"), "test");
  CHECK(error_of([&] { VideoReader r(dir / "text.mp4"); }).find("'" + (dir / "text.mp4") + "' is not a video FFmpeg can read") !=
        std::string::npos);
  write_file_atomic(dir / "empty.mp4", std::string(), "test");
  CHECK(error_of([&] { VideoReader r(dir / "empty.mp4"); }).find("empty.mp4") != std::string::npos);
  CHECK(error_of([&] { VideoReader r(dir.path.string()); }).find("is a directory") != std::string::npos);
  // Noise over the middle of the coded frames: decoded with the damage counted, or refused;
  // never a crash.
  std::string noisy(bytes.begin(), bytes.end());
  for (size_t i = noisy.size() / 4; i < noisy.size() / 2; i += 7) noisy[i] = static_cast<char>(noisy[i] * 31 + 17);
  write_file_atomic(dir / "noisy.mp4", noisy, "test");
  const std::string noisy_error = error_of([&] {
    VideoReader r(dir / "noisy.mp4");
    Image f;
    while (r.next(f)) CHECK(f.width == 64);
  });
  CHECK((noisy_error == "no error" || noisy_error.find("noisy.mp4") != std::string::npos));
  CHECK(error_of([&] { VideoWriter w(dir / "x.avi2", 64, 64, {}); }).find("written as .mp4") != std::string::npos);
  CHECK(error_of([&] {
          VideoWriter w(dir / "y.mp4", 64, 64, {});
          w.write(Image(32, 32, 3));
        }).find("every frame must be 64x64") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "y.mp4"));
}

#if FH_WITH_FFMPEG
TEST_CASE("video: freehead reenact drives a photo with an MP4 and keeps its sound") {
  TempDir dir("video-reenact");
  test::SyntheticDataset ds("video-reenact-clip", 2, 1, 25, 64, 7);
  const std::vector<Image> frames = synthetic_frames(ds);
  write_tone(dir / "tone.m4a", 1.0);
  const double tone = audio_seconds(dir / "tone.m4a");
  // AAC codes 1024-sample frames: the last one is padded, so the stream may run up to one
  // frame past the tone.
  const double aac_frame = 1024.0 / kToneRate;
  CHECK(tone >= 1.0 - 1e-9);
  CHECK(tone <= 1.0 + aac_frame + 1e-9);
  VideoWriterOptions o;
  o.fps = 25;
  o.audio_from = dir / "tone.m4a";
  VideoWriter w(dir / "driving.mp4", 64, 64, o);
  for (const Image& f : frames) w.write(f);
  w.finish();
  REQUIRE(w.audio_copied());
  CHECK(audio_seconds(dir / "driving.mp4") == doctest::Approx(tone).epsilon(1e-6));

  // The source: the first frame of the other identity's clip.
  const fs::path clips = fs::path(ds.data) / "clips";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(clips)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  const std::string source = (dirs.back() / "000000.png").string();
  const std::string cli = FH_CLI;
  const std::string log = dir / "log.txt";
  const std::string cmd = cli + " reenact -s '" + source + "' -d '" + (dir / "driving.mp4") + "' -o '" + (dir / "out.mp4") +
                          "' --no-crop --concat > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (rc != 0) MESSAGE(text);
  REQUIRE(rc == 0);
  CHECK(text.find("the driver's audio copied") != std::string::npos);
  VideoReader r(dir / "out.mp4");
  CHECK(r.info().fps == doctest::Approx(25));
  CHECK(r.info().width == 128);  // --concat: the driving frame beside the 64² result
  CHECK(r.info().height == 64);
  CHECK(r.info().has_audio);
  Image f;
  int n = 0;
  while (r.next(f)) ++n;
  CHECK(n == 25);
  const double kept = audio_seconds(dir / "out.mp4");
  MESSAGE("tone " << tone << " s; in the reenacted video " << kept << " s");
  CHECK(kept == doctest::Approx(tone).epsilon(1e-6));

  // A cut-short driving video: exit 1 naming it, and no output file or temporary left.
  const std::vector<unsigned char> bytes = read_file_bytes(dir / "driving.mp4", "test");
  write_file_atomic(dir / "cut.mp4", std::string(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)), "test");
  const std::string bad = cli + " reenact -s '" + source + "' -d '" + (dir / "cut.mp4") + "' -o '" + (dir / "bad.mp4") +
                          "' --no-crop > '" + log + "' 2>&1";
  CHECK(WEXITSTATUS(std::system(bad.c_str())) == 1);
  std::ifstream in2(log);
  const std::string text2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  CHECK(text2.find("cut.mp4") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "bad.mp4"));
  CHECK(no_temporaries_in(dir.path));
}
#endif

#if FH_WITH_FFMPEG
TEST_CASE("video: a real photograph panning through an MP4 is found in every frame, driven and pasted back") {
  const std::string photo = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";
  if (!fs::exists(photo)) {
    MESSAGE("[fh skip] " << photo << " is missing (Debian package python3-skimage)");
    return;
  }
  TempDir dir("video-pan");
  const Image still = read_png(photo, 3);
  VideoWriterOptions o;
  o.fps = 10;
  VideoWriter w(dir / "pan.mp4", still.width, still.height, o);
  for (int t = 0; t < 10; ++t) {  // the picture moves 3 pixels right per frame
    Image f(still.width, still.height, 3);
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x) std::copy_n(still.at(std::max(0, x - 3 * t), y), 3, f.at(x, y));
    w.write(f);
  }
  w.finish();
  const std::string log = dir / "log.txt";
  const std::string cmd = std::string(FH_CLI) + " reenact -s '" + photo + "' -d '" + (dir / "pan.mp4") + "' -o '" +
                          (dir / "out.mp4") + "' > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find("built without dlib") != std::string::npos) {
    CHECK(WEXITSTATUS(rc) == 1);
    return;
  }
  if (rc != 0) MESSAGE(text);
  REQUIRE(rc == 0);
  CHECK(text.find("no face found") == std::string::npos);  // found in every frame
  VideoReader r(dir / "out.mp4");
  CHECK(r.info().width == still.width);  // pasted back into the photo at its own size
  CHECK(r.info().height == still.height);
  CHECK(r.info().fps == doctest::Approx(10));
  Image f;
  int n = 0;
  double corner_psnr = 99;
  while (r.next(f)) {
    ++n;
    // Far from the face (the bottom-left corner, the flag's stripes), the output is the
    // photo, up to H.264's loss.
    Image a(64, 64, 3), b(64, 64, 3);
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) std::copy_n(f.at(x, 440 + y), 3, a.at(x, y)), std::copy_n(still.at(x, 440 + y), 3, b.at(x, y));
    corner_psnr = std::min(corner_psnr, psnr(a, b));
  }
  CHECK(n == 10);
  MESSAGE("pasted-back video, far from the face: PSNR " << corner_psnr << " dB against the photo");
  CHECK(corner_psnr > 30);
}
#endif
