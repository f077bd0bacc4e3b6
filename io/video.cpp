#include "io/video.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "runtime/error.h"
#include "io/file_io.h"
#include "io/gif.h"

#if FH_WITH_FFMPEG
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#endif

namespace fh {

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

bool is_gif_path(const std::string& path) { return lower_extension(path) == ".gif"; }

}  // namespace

bool is_video_path(const std::string& path) {
  static const char* const kExtensions[] = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif",
                                            ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".ogv", ".3gp"};
  const std::string ext = lower_extension(path);
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

bool is_writable_video_path(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".mp4" || ext == ".m4v" || ext == ".mov" || ext == ".mkv" || ext == ".gif";
}

#if FH_WITH_FFMPEG

namespace {

// FFmpeg logs to stderr by default; freehead keeps its own output clean and puts FFmpeg's
// last complaint into its error messages instead.
thread_local std::string g_last_log;

void log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_ERROR) return;
  char line[512];
  int prefix = 1;
  av_log_format_line(avcl, level, fmt, args, line, sizeof line, &prefix);
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (!s.empty()) g_last_log = s;
}

void init_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  std::string s = buf;
  if (!g_last_log.empty()) s += " [" + g_last_log + "]";
  return s;
}

// A stream's display matrix (9 int32, FFmpeg's layout), or null. FFmpeg 6.1 moved stream
// side data into the codec parameters and 7.0 removed the old accessor.
const int32_t* display_matrix(const AVStream* st) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 31, 102)
  const AVPacketSideData* sd = av_packet_side_data_get(st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data,
                                                       AV_PKT_DATA_DISPLAYMATRIX);
  return sd && sd->size >= 9 * static_cast<int>(sizeof(int32_t)) ? reinterpret_cast<const int32_t*>(sd->data) : nullptr;
#else
  size_t size = 0;
  const uint8_t* data = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  return data && size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(data) : nullptr;
#endif
}

int32_t* new_display_matrix(AVStream* st) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 31, 102)
  AVPacketSideData* sd = av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
                                                 AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t), 0);
  return sd ? reinterpret_cast<int32_t*>(sd->data) : nullptr;
#else
  return reinterpret_cast<int32_t*>(av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
#endif
}

// The clockwise turn a display matrix asks for, as a multiple of 90°: minus
// av_display_rotation_get's angle, as FFmpeg's command-line tool reads it. A matrix that also
// mirrors, or turns by another angle, is refused by name rather than shown wrongly.
int display_rotation(const AVStream* st, const std::string& path) {
  const int32_t* matrix = display_matrix(st);
  if (!matrix) return 0;
  const double ccw = av_display_rotation_get(matrix);
  if (std::isnan(ccw)) return 0;  // a degenerate matrix: players ignore it too
  const double det = static_cast<double>(matrix[0]) * matrix[4] - static_cast<double>(matrix[1]) * matrix[3];
  const double cw = std::fmod(std::fmod(-ccw, 360.0) + 360.0, 360.0);
  const long quarter = std::lround(cw / 90.0);
  FH_CHECK(det > 0 && std::abs(cw - 90.0 * static_cast<double>(quarter)) < 0.5, "video", "'", path,
           "' asks to be shown ", det > 0 ? "" : "mirrored and ", "turned by ", cw,
           "°; freehead reads videos turned by multiples of 90° only");
  return static_cast<int>(quarter % 4) * 90;
}

// dst = src turned clockwise by `rotation` degrees (90, 180, 270); RGB.
void rotate_rgb(const Image& src, int rotation, Image& dst) {
  const int w = src.width, h = src.height;
  const int dw = rotation == 180 ? w : h, dh = rotation == 180 ? h : w;
  if (dst.width != dw || dst.height != dh || dst.channels != 3) dst = Image(dw, dh, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int dx = 0, dy = 0;  // where source pixel (x, y) lands
      if (rotation == 90) dx = h - 1 - y, dy = x;
      else if (rotation == 180) dx = w - 1 - x, dy = h - 1 - y;
      else dx = y, dy = w - 1 - x;
      const uint8_t* p = &src.pixels[(static_cast<size_t>(y) * w + x) * 3];
      uint8_t* q = &dst.pixels[(static_cast<size_t>(dy) * dw + dx) * 3];
      q[0] = p[0], q[1] = p[1], q[2] = p[2];
    }
}

}  // namespace

bool video_supported() { return true; }

std::string video_support_note() {
  init_ffmpeg();
  const AVCodec* h264 = avcodec_find_encoder_by_name("libx264");
  if (!h264) h264 = avcodec_find_encoder(AV_CODEC_ID_H264);
  return std::string("FFmpeg (libavformat ") + AV_STRINGIFY(LIBAVFORMAT_VERSION) + ", libavcodec " +
         AV_STRINGIFY(LIBAVCODEC_VERSION) + "), H.264 encoder: " + (h264 ? h264->name : "none");
}

// ---- Reading ---------------------------------------------------------------------------------

struct VideoReader::Impl {
  std::string path;
  VideoInfo info;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  int stream = -1;
  int coded_width = 0, coded_height = 0;  // as stored, before the display rotation
  Image unturned;                          // a frame as stored, when it must be turned
  bool flushing = false, finished = false;
  int64_t read = 0, damaged = 0;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
  }

  void convert(Image& out) {
    // Every pixel is overwritten below: a frame of the right size is reused as it is.
    Image& rgb = info.rotation == 0 ? out : unturned;
    if (rgb.width != coded_width || rgb.height != coded_height || rgb.channels != 3)
      rgb = Image(coded_width, coded_height, 3);
    sws = sws_getCachedContext(sws, frame->width, frame->height, static_cast<AVPixelFormat>(frame->format), coded_width,
                               coded_height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr);
    FH_CHECK(sws, "video", "cannot convert frame ", read, " of '", path, "' (pixel format ",
             av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format)), ") to RGB");
    uint8_t* dst[4] = {rgb.pixels.data(), nullptr, nullptr, nullptr};
    int stride[4] = {coded_width * 3, 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, stride);
    if (info.rotation != 0) rotate_rgb(unturned, info.rotation, out);
  }
};

VideoReader::VideoReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  init_ffmpeg();
  Impl& m = *impl_;
  m.path = path;
  require_regular_file(path, "video");
  g_last_log.clear();
  int err = avformat_open_input(&m.fmt, path.c_str(), nullptr, nullptr);
  FH_CHECK(err >= 0, "video", "'", path, "' is not a video FFmpeg can read: ", av_error(err));
  err = avformat_find_stream_info(m.fmt, nullptr);
  FH_CHECK(err >= 0, "video", "cannot read the streams of '", path, "': ", av_error(err));
  const AVCodec* codec = nullptr;
  m.stream = av_find_best_stream(m.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  FH_CHECK(m.stream != AVERROR_STREAM_NOT_FOUND, "video", "'", path, "' holds no video stream");
  FH_CHECK(m.stream >= 0 && codec, "video", "'", path, "': no decoder for its video stream (",
           m.stream >= 0 ? avcodec_get_name(m.fmt->streams[m.stream]->codecpar->codec_id) : "unknown", ")");
  AVStream* st = m.fmt->streams[m.stream];
  m.info.width = st->codecpar->width;
  m.info.height = st->codecpar->height;
  FH_CHECK(m.info.width > 0 && m.info.height > 0 && m.info.width <= 16384 && m.info.height <= 16384, "video", "'", path,
           "' has a video of ", m.info.width, "x", m.info.height, " pixels (1..16384 each way are read)");
  m.coded_width = m.info.width, m.coded_height = m.info.height;
  m.info.rotation = display_rotation(st, path);
  if (m.info.rotation == 90 || m.info.rotation == 270) std::swap(m.info.width, m.info.height);
  m.info.codec = avcodec_get_name(st->codecpar->codec_id);
  const AVRational rate = av_guess_frame_rate(m.fmt, st, nullptr);
  m.info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    m.info.duration_s = static_cast<double>(st->duration) * av_q2d(st->time_base);
  else if (m.fmt->duration != AV_NOPTS_VALUE && m.fmt->duration > 0)
    m.info.duration_s = static_cast<double>(m.fmt->duration) / AV_TIME_BASE;
  if (st->nb_frames > 0)
    m.info.frames = st->nb_frames;
  else if (m.info.duration_s > 0 && m.info.fps > 0)
    m.info.frames = std::llround(m.info.duration_s * m.info.fps);
  m.info.has_audio = av_find_best_stream(m.fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;

  m.dec = avcodec_alloc_context3(codec);
  FH_CHECK(m.dec, "video", "out of memory opening '", path, "'");
  err = avcodec_parameters_to_context(m.dec, st->codecpar);
  FH_CHECK(err >= 0, "video", "cannot set up the decoder of '", path, "': ", av_error(err));
  err = avcodec_open2(m.dec, codec, nullptr);
  FH_CHECK(err >= 0, "video", "cannot open the ", m.info.codec, " decoder for '", path, "': ", av_error(err));
  m.packet = av_packet_alloc();
  m.frame = av_frame_alloc();
  FH_CHECK(m.packet && m.frame, "video", "out of memory opening '", path, "'");
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
const std::string& VideoReader::path() const { return impl_->path; }
int64_t VideoReader::frames_read() const { return impl_->read; }
int64_t VideoReader::damaged_packets() const { return impl_->damaged; }

bool VideoReader::next(Image& out) {
  Impl& m = *impl_;
  if (m.finished) return false;
  for (;;) {
    int err = avcodec_receive_frame(m.dec, m.frame);
    if (err == 0) {
      m.convert(out);
      av_frame_unref(m.frame);
      ++m.read;
      return true;
    }
    if (err == AVERROR_EOF) break;
    FH_CHECK(err == AVERROR(EAGAIN), "video", "decoding '", m.path, "' failed after frame ", m.read, ": ", av_error(err));
    if (m.flushing) break;
    err = av_read_frame(m.fmt, m.packet);
    if (err == AVERROR_EOF) {
      m.flushing = true;
      avcodec_send_packet(m.dec, nullptr);
      continue;
    }
    FH_CHECK(err >= 0, "video", "'", m.path, "' is damaged or cut short: reading stopped after frame ", m.read, ": ",
             av_error(err));
    if (m.packet->stream_index == m.stream) {
      err = avcodec_send_packet(m.dec, m.packet);
      // Damaged data: the decoder refuses the packet; later packets may decode again.
      if (err < 0 && err != AVERROR(EAGAIN)) ++m.damaged;
    }
    av_packet_unref(m.packet);
  }
  m.finished = true;
  FH_CHECK(m.read > 0, "video", "no frame of '", m.path, "' could be decoded (", m.damaged,
           " damaged packets): the file is damaged or empty");
  return false;
}

// ---- Writing ---------------------------------------------------------------------------------

namespace {

#if LIBAVFORMAT_VERSION_MAJOR >= 61
using WriteBuffer = const uint8_t*;
#else
using WriteBuffer = uint8_t*;
#endif

int write_to_fd(void* opaque, WriteBuffer buf, int size) {
  const int fd = *static_cast<int*>(opaque);
  int left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, buf, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return AVERROR(n < 0 ? errno : EIO);
    buf += n;
    left -= static_cast<int>(n);
  }
  return size;
}

int64_t seek_fd(void* opaque, int64_t offset, int whence) {
  const int fd = *static_cast<int*>(opaque);
  if (whence & AVSEEK_SIZE) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : AVERROR(errno);
  }
  const off_t r = ::lseek(fd, static_cast<off_t>(offset), whence & ~AVSEEK_FORCE);
  return r < 0 ? AVERROR(errno) : static_cast<int64_t>(r);
}

}  // namespace

struct VideoWriter::Impl {
  std::string path;
  int width = 0, height = 0;          // of the frames given
  int enc_width = 0, enc_height = 0;  // even, for yuv420p
  std::vector<uint8_t> padded;         // a frame's RGB at the even size, when it must be padded
  double fps = 25;
  int64_t written = 0;
  std::unique_ptr<GifWriter> gif;
  std::unique_ptr<AtomicFile> file;
  int fd = -1;
  AVFormatContext* out = nullptr;
  AVIOContext* io = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* video = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  std::string encoder;
  // The audio being copied: read packet by packet and written once the video has reached its time.
  AVFormatContext* audio_in = nullptr;
  int audio_index = -1;
  AVStream* audio = nullptr;
  AVPacket* audio_packet = nullptr;
  bool audio_pending = false, audio_done = true;
  int64_t audio_start = 0;
  std::string audio_note;
  bool committed = false;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    av_packet_free(&audio_packet);
    avcodec_free_context(&enc);
    avformat_close_input(&audio_in);
    if (out) avformat_free_context(out);
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  }

  void open_audio(const std::string& from) {
    int err = avformat_open_input(&audio_in, from.c_str(), nullptr, nullptr);
    if (err >= 0) err = avformat_find_stream_info(audio_in, nullptr);
    FH_CHECK(err >= 0, "video", "cannot read the audio of '", from, "': ", av_error(err));
    audio_index = av_find_best_stream(audio_in, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (audio_index < 0) {
      audio_note = "'" + from + "' has no audio stream";
      return;
    }
    const AVStream* in = audio_in->streams[audio_index];
    if (avformat_query_codec(out->oformat, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      audio_note = std::string("its audio (") + avcodec_get_name(in->codecpar->codec_id) + ") cannot be copied into " +
                   out->oformat->name;
      return;
    }
    audio = avformat_new_stream(out, nullptr);
    FH_CHECK(audio, "video", "out of memory writing '", path, "'");
    err = avcodec_parameters_copy(audio->codecpar, in->codecpar);
    FH_CHECK(err >= 0, "video", "cannot copy the audio parameters of '", from, "': ", av_error(err));
    audio->codecpar->codec_tag = 0;
    audio->time_base = in->time_base;
    audio_start = in->start_time != AV_NOPTS_VALUE ? in->start_time : 0;
    audio_packet = av_packet_alloc();
    FH_CHECK(audio_packet, "video", "out of memory writing '", path, "'");
    audio_done = false;
  }

  // Copies the audio packets that start before `until_s` seconds.
  void pump_audio(double until_s) {
    if (!audio) return;
    const AVStream* in = audio_in->streams[audio_index];
    while (!audio_done) {
      if (!audio_pending) {
        const int err = av_read_frame(audio_in, audio_packet);
        if (err < 0) {  // the end, or damage past which nothing more is copied
          audio_done = true;
          break;
        }
        if (audio_packet->stream_index != audio_index) {
          av_packet_unref(audio_packet);
          continue;
        }
        audio_pending = true;
      }
      const int64_t ts = audio_packet->pts != AV_NOPTS_VALUE ? audio_packet->pts : audio_packet->dts;
      if (ts != AV_NOPTS_VALUE && static_cast<double>(ts - audio_start) * av_q2d(in->time_base) > until_s) break;
      if (audio_packet->pts != AV_NOPTS_VALUE) audio_packet->pts -= audio_start;
      if (audio_packet->dts != AV_NOPTS_VALUE) audio_packet->dts -= audio_start;
      av_packet_rescale_ts(audio_packet, in->time_base, audio->time_base);
      audio_packet->stream_index = audio->index;
      audio_packet->pos = -1;
      const int err = av_interleaved_write_frame(out, audio_packet);
      audio_pending = false;
      FH_CHECK(err >= 0, "video", "writing the audio into '", path, "' failed: ", av_error(err));
    }
  }

  void drain() {
    for (;;) {
      int err = avcodec_receive_packet(enc, packet);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      FH_CHECK(err >= 0, "video", "encoding '", path, "' failed: ", av_error(err));
      av_packet_rescale_ts(packet, enc->time_base, video->time_base);
      packet->stream_index = video->index;
      err = av_interleaved_write_frame(out, packet);
      FH_CHECK(err >= 0, "video", "writing '", path, "' failed: ", av_error(err));
    }
  }
};

VideoWriter::VideoWriter(const std::string& path, int width, int height, const VideoWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  init_ffmpeg();
  Impl& m = *impl_;
  m.path = path;
  m.width = width, m.height = height;
  FH_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, "video", "cannot write ", width, "x", height,
           " frames to '", path, "'");
  FH_CHECK(std::isfinite(options.fps) && options.fps > 0 && options.fps <= 1000, "video", "frame rate ", options.fps,
           " for '", path, "' is outside (0, 1000]");
  m.fps = options.fps;
  FH_CHECK(options.rotation == 0 || options.rotation == 90 || options.rotation == 180 || options.rotation == 270,
           "video", "display rotation ", options.rotation, " for '", path, "' is not 0, 90, 180 or 270");
  if (is_gif_path(path)) {
    FH_CHECK(options.rotation == 0, "video", "'", path, "': a GIF cannot carry a display rotation");
    m.gif = std::make_unique<GifWriter>(path, static_cast<int>(std::lround(100.0 / options.fps)));
    m.encoder = "gif (freehead's dithered writer)";
    if (!options.audio_from.empty()) m.audio_note = "a GIF has no sound";
    return;
  }
  const std::string ext = lower_extension(path);
  FH_CHECK(is_writable_video_path(path), "video", "cannot write '", path,
           "': videos are written as .mp4 (also .m4v, .mov, .mkv) or .gif");
  const AVOutputFormat* format = av_guess_format(nullptr, path.c_str(), nullptr);
  FH_CHECK(format, "video", "this FFmpeg cannot write '", path, "' (no muxer for ", ext, ")");
  int err = avformat_alloc_output_context2(&m.out, format, nullptr, nullptr);
  FH_CHECK(err >= 0 && m.out, "video", "cannot set up '", path, "': ", av_error(err));

  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  FH_CHECK(codec, "video", "this FFmpeg has no H.264 encoder, so '", path, "' cannot be written (write a .gif instead)");
  m.encoder = codec->name;
  m.enc = avcodec_alloc_context3(codec);
  FH_CHECK(m.enc, "video", "out of memory writing '", path, "'");
  m.enc_width = width + (width & 1), m.enc_height = height + (height & 1);
  const AVRational rate = av_d2q(options.fps, 1001000);
  m.enc->width = m.enc_width;
  m.enc->height = m.enc_height;
  m.enc->pix_fmt = AV_PIX_FMT_YUV420P;
  m.enc->time_base = av_inv_q(rate);
  m.enc->framerate = rate;
  m.enc->gop_size = 50;
  if (m.out->oformat->flags & AVFMT_GLOBALHEADER) m.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (std::string(codec->name) == "libx264") {
    av_opt_set(m.enc->priv_data, "crf", std::to_string(std::clamp(options.crf, 0, 51)).c_str(), 0);
    av_opt_set(m.enc->priv_data, "preset", "fast", 0);
  }
  err = avcodec_open2(m.enc, codec, nullptr);
  FH_CHECK(err >= 0, "video", "cannot open the ", codec->name, " encoder for '", path, "': ", av_error(err));
  m.video = avformat_new_stream(m.out, nullptr);
  FH_CHECK(m.video, "video", "out of memory writing '", path, "'");
  err = avcodec_parameters_from_context(m.video->codecpar, m.enc);
  FH_CHECK(err >= 0, "video", "cannot set up the video stream of '", path, "': ", av_error(err));
  m.video->time_base = m.enc->time_base;
  m.video->avg_frame_rate = rate;
  if (options.rotation != 0) {
    int32_t* matrix = new_display_matrix(m.video);
    FH_CHECK(matrix, "video", "out of memory writing '", path, "'");
    // FFmpeg's two halves disagree in sign: set() takes the clockwise angle, get() (read
    // above, as FFmpeg's own command does) gives it counter-clockwise.
    av_display_rotation_set(matrix, static_cast<double>(options.rotation));
  }

  if (!options.audio_from.empty()) m.open_audio(options.audio_from);

  m.file = std::make_unique<AtomicFile>(path, "video");
  m.fd = m.file->fd();
  constexpr int kBuffer = 1 << 16;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBuffer));
  FH_CHECK(buffer, "video", "out of memory writing '", path, "'");
  m.io = avio_alloc_context(buffer, kBuffer, 1, &m.fd, nullptr, write_to_fd, seek_fd);
  if (!m.io) av_free(buffer);
  FH_CHECK(m.io, "video", "out of memory writing '", path, "'");
  m.out->pb = m.io;
  m.out->flags |= AVFMT_FLAG_CUSTOM_IO;
  err = avformat_write_header(m.out, nullptr);
  FH_CHECK(err >= 0, "video", "cannot start '", path, "': ", av_error(err));

  m.frame = av_frame_alloc();
  m.packet = av_packet_alloc();
  FH_CHECK(m.frame && m.packet, "video", "out of memory writing '", path, "'");
  m.frame->format = AV_PIX_FMT_YUV420P;
  m.frame->width = m.enc_width;
  m.frame->height = m.enc_height;
  err = av_frame_get_buffer(m.frame, 0);
  FH_CHECK(err >= 0, "video", "out of memory writing '", path, "': ", av_error(err));
  m.sws = sws_getContext(m.enc_width, m.enc_height, AV_PIX_FMT_RGB24, m.enc_width, m.enc_height, AV_PIX_FMT_YUV420P,
                         SWS_BILINEAR, nullptr, nullptr, nullptr);
  FH_CHECK(m.sws, "video", "cannot set up the colour conversion for '", path, "'");
}

VideoWriter::~VideoWriter() = default;

void VideoWriter::write(const Image& image) {
  Impl& m = *impl_;
  FH_CHECK(image.width == m.width && image.height == m.height && image.channels >= 3, "video", "frame ", m.written,
           " for '", m.path, "' is ", image.width, "x", image.height, "x", image.channels, "; every frame must be ",
           m.width, "x", m.height, " RGB");
  if (m.gif) {
    m.gif->add(image);
    ++m.written;
    return;
  }
  // RGB rows at the even size: the frame itself when it is RGB of that size already, else
  // copied with the last column and row repeated (into one buffer kept for every frame).
  const uint8_t* rgb = image.pixels.data();
  if (image.channels != 3 || m.enc_width != m.width || m.enc_height != m.height) {
    m.padded.resize(static_cast<size_t>(m.enc_width) * m.enc_height * 3);
    for (int y = 0; y < m.enc_height; ++y)
      for (int x = 0; x < m.enc_width; ++x) {
        const uint8_t* p = image.at(std::min(x, m.width - 1), std::min(y, m.height - 1));
        uint8_t* q = m.padded.data() + (static_cast<size_t>(y) * m.enc_width + x) * 3;
        q[0] = p[0], q[1] = p[1], q[2] = p[2];
      }
    rgb = m.padded.data();
  }
  int err = av_frame_make_writable(m.frame);
  FH_CHECK(err >= 0, "video", "out of memory writing '", m.path, "'");
  const uint8_t* src[4] = {rgb, nullptr, nullptr, nullptr};
  const int stride[4] = {m.enc_width * 3, 0, 0, 0};
  sws_scale(m.sws, src, stride, 0, m.enc_height, m.frame->data, m.frame->linesize);
  m.frame->pts = m.written;
  err = avcodec_send_frame(m.enc, m.frame);
  FH_CHECK(err >= 0, "video", "encoding frame ", m.written, " of '", m.path, "' failed: ", av_error(err));
  m.drain();
  ++m.written;
  m.pump_audio(static_cast<double>(m.written) / m.fps);
}

void VideoWriter::finish() {
  Impl& m = *impl_;
  FH_CHECK(!m.committed, "video", "'", m.path, "' is already finished");
  FH_CHECK(m.written > 0, "video", "no frames to write to '", m.path, "'");
  if (m.gif) {
    m.gif->finish();
    m.committed = true;
    return;
  }
  int err = avcodec_send_frame(m.enc, nullptr);
  FH_CHECK(err >= 0, "video", "finishing '", m.path, "' failed: ", av_error(err));
  m.drain();
  m.pump_audio(std::numeric_limits<double>::infinity());
  err = av_write_trailer(m.out);
  FH_CHECK(err >= 0, "video", "finishing '", m.path, "' failed: ", av_error(err));
  avio_flush(m.io);
  FH_CHECK(m.io->error >= 0, "video", "writing '", m.path, "' failed: ", av_error(m.io->error));
  m.file->commit();
  m.committed = true;
}

int64_t VideoWriter::frames_written() const { return impl_->written; }
std::string VideoWriter::encoder() const { return impl_->encoder; }
bool VideoWriter::audio_copied() const { return impl_->audio != nullptr; }
std::string VideoWriter::audio_note() const { return impl_->audio_note; }

#else  // no FFmpeg

namespace {

[[noreturn]] void no_video(const std::string& path) {
  FH_FAIL("video", "'", path,
          "' is a video, and this freehead was built without FFmpeg (configure with the Debian packages "
          "libavformat-dev libavcodec-dev libswscale-dev libavutil-dev installed and FH_FFMPEG=ON); "
          "use a folder of PNG frames instead");
}

}  // namespace

bool video_supported() { return false; }
std::string video_support_note() { return "not built (FFmpeg's libraries were not found or FH_FFMPEG=OFF)"; }

struct VideoReader::Impl {};
VideoReader::VideoReader(const std::string& path) { no_video(path); }
VideoReader::~VideoReader() = default;
const VideoInfo& VideoReader::info() const { no_video(""); }
const std::string& VideoReader::path() const { no_video(""); }
bool VideoReader::next(Image&) { no_video(""); }
int64_t VideoReader::frames_read() const { return 0; }
int64_t VideoReader::damaged_packets() const { return 0; }

// GIFs need no FFmpeg: freehead writes them itself.
struct VideoWriter::Impl {
  std::unique_ptr<GifWriter> gif;
  int width = 0, height = 0;
  int64_t written = 0;
  std::string audio_note;
};
VideoWriter::VideoWriter(const std::string& path, int width, int height, const VideoWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!is_gif_path(path)) no_video(path);
  FH_CHECK(std::isfinite(options.fps) && options.fps > 0 && options.fps <= 1000, "video", "frame rate ", options.fps,
           " for '", path, "' is outside (0, 1000]");
  impl_->gif = std::make_unique<GifWriter>(path, static_cast<int>(std::lround(100.0 / options.fps)));
  impl_->width = width, impl_->height = height;
  if (!options.audio_from.empty()) impl_->audio_note = "a GIF has no sound";
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const Image& image) {
  FH_CHECK(image.width == impl_->width && image.height == impl_->height, "video", "frame ", impl_->written, " for '",
           impl_->gif->path(), "' is ", image.width, "x", image.height, "; every frame must be ", impl_->width, "x",
           impl_->height);
  impl_->gif->add(image);
  ++impl_->written;
}
void VideoWriter::finish() { impl_->gif->finish(); }
int64_t VideoWriter::frames_written() const { return impl_->written; }
std::string VideoWriter::encoder() const { return "gif (freehead's dithered writer)"; }
bool VideoWriter::audio_copied() const { return false; }
std::string VideoWriter::audio_note() const { return impl_->audio_note; }

#endif

}  // namespace fh
