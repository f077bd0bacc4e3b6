// `freehead reenact` and `freehead edit`: the reenactment pipeline (pipeline/reenactor.h) on
// image files and frame folders.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "pipeline/face_crop.h"
#include "pipeline/frames.h"
#include "pipeline/reenactor.h"
#include "runtime/error.h"
#include "io/gif.h"
#include "io/image_layout.h"
#include "io/progress.h"
#include "io/video.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "tools/freehead/reenact_framing.h"
#include "tools/freehead/reenact_options.h"

namespace fs = std::filesystem;

namespace fh::cli {

namespace {

// Up to `n` indices spread evenly over [0, count).
std::vector<int64_t> spread(int64_t count, int64_t n) {
  std::vector<int64_t> out;
  const int64_t k = std::min(count, n);
  for (int64_t i = 0; i < k; ++i) out.push_back(k == 1 ? 0 : i * (count - 1) / (k - 1));
  return out;
}

}  // namespace

Sweep parse_sweep(const std::string& text) {
  const std::string bad = "--sweep must be NAME=FROM:TO:COUNT with NAME yaw, pitch, roll, gaze or gaze-theta, degrees "
                          "within ±90 and COUNT 1..64 (e.g. yaw=-30:30:7), got '" + text + "'";
  const auto eq = text.find('='), c1 = text.find(':', eq == std::string::npos ? 0 : eq), c2 = text.rfind(':');
  if (eq == std::string::npos || c1 == std::string::npos || c2 == c1) throw UsageError{bad};
  Sweep s;
  s.name = text.substr(0, eq);
  if (s.name != "yaw" && s.name != "pitch" && s.name != "roll" && s.name != "gaze" && s.name != "gaze-theta")
    throw UsageError{bad};
  try {
    size_t a = 0, b = 0, c = 0;
    const std::string f = text.substr(eq + 1, c1 - eq - 1), t = text.substr(c1 + 1, c2 - c1 - 1), n = text.substr(c2 + 1);
    s.from = std::stod(f, &a);
    s.to = std::stod(t, &b);
    s.count = std::stoll(n, &c);
    if (a != f.size() || b != t.size() || c != n.size()) throw UsageError{bad};
  } catch (const std::exception&) {
    throw UsageError{bad};
  }
  if (std::abs(s.from) > 90 || std::abs(s.to) > 90 || s.count < 1 || s.count > 64) throw UsageError{bad};
  return s;
}

void apply_sweep(const Sweep& s, int64_t i, PoseOffset& offset, GazeChoice& gaze) {
  const double v = s.at(i);
  if (s.name == "yaw") offset.yaw_deg = v;
  if (s.name == "pitch") offset.pitch_deg = v;
  if (s.name == "roll") offset.roll_deg = v;
  if (s.name == "gaze") gaze = GazeChoice::angles(0, v);
  if (s.name == "gaze-theta") gaze = GazeChoice::angles(v, 0);
}

void warn_without_head_pivot(const Reenactor& r, bool turns_head) {
  if (!turns_head || r.head_pivot()) return;
  std::fprintf(stderr,
               "warning: %s/models.json has no head_pivot, so pose offsets turn the head about E_can's own origin "
               "near the face and the head turns far less than asked; measure it with `freehead pack-models "
               "... --pivot-data DATASET`\n",
               r.models_dir().c_str());
}

OptionSpec single_reading_option() {
  return {"single-reading",
          "E_can reads each face once, not averaged with its mirror image (less of E_can's time, about a "
          "tenth more pose and key-point error)",
          false, false, ""};
}

Reenactor reenactor_from_flags(const Options& opts) {
  Reenactor r(opts.str("models"), device_flag(opts));
  r.set_mirror_average(!opts.flag("single-reading"));
  return r;
}

OptionSpec source_option() {
  return {"source", "source picture; repeat for N-shot", true, false, "", "s", true};
}

GazeChoice parse_gaze(const std::string& flag, const std::string& text) {
  if (text == "driver") return GazeChoice::driver();
  if (text == "source") return GazeChoice::source();
  const auto comma = text.find(',');
  if (comma != std::string::npos) {
    try {
      size_t a = 0, b = 0;
      const double theta = std::stod(text.substr(0, comma), &a), phi = std::stod(text.substr(comma + 1), &b);
      if (a == comma && b == text.size() - comma - 1 && std::abs(theta) <= 90 && std::abs(phi) <= 90)
        return GazeChoice::angles(theta, phi);
    } catch (const std::exception&) {
    }
  }
  throw UsageError{"--" + flag + " must be driver, source or THETA,PHI in degrees (|angle| <= 90), got '" + text + "'"};
}

double degrees_flag(const Options& opts, const char* name) {
  const double v = opts.number(name);
  if (!(std::abs(v) <= 180)) throw UsageError{"--" + std::string(name) + " must be within ±180 degrees"};
  return v;
}

double range_flag(const Options& opts, const char* name, double lo, double hi) {
  const double v = opts.number(name);
  if (!(v >= lo && v <= hi))
    throw UsageError{"--" + std::string(name) + " must be within [" + detail::cat(lo) + ", " + detail::cat(hi) + "], got " +
                     opts.str(name)};
  return v;
}

Device device_flag(const Options& opts) {
  try {
    return Device::parse(opts.str("device"));
  } catch (const Error& e) {
    throw UsageError{"--device: " + std::string(e.what())};
  }
}

std::vector<Image> read_sources(const std::vector<std::string>& paths) {
  if (paths.empty()) throw UsageError{"give at least one source image: -s SRC"};
  std::vector<Image> out;
  for (const auto& p : paths) out.push_back(read_image(p, 3));
  return out;
}

// The source-side work, with the source files named in any error (the library sees images,
// not files, and says "source N").
std::shared_ptr<const SourceSet> prepare_sources(const Reenactor& r, const std::vector<Image>& sources,
                                                 const std::vector<std::string>& paths) {
  try {
    return r.prepare(sources);
  } catch (const Error& e) {
    std::string named;
    for (size_t i = 0; i < paths.size(); ++i) named += (i ? ", source " : "source ") + std::to_string(i + 1) + " = " + paths[i];
    throw Error(named + ": " + e.what());
  }
}

int cmd_reenact(const Args& args) {
  const Options opts(
      "reenact",
      "Renders the source person (-s SRC, repeat for N-shot) with the head pose, expression and\n"
      "eye gaze of a driving actor (-d: an image, a folder of frames such as a dataset clip, or a\n"
      "video file). The face is found in each picture and frame (dlib), cropped square for the\n"
      "models, and the result pasted back into the first source photo at its own resolution;\n"
      "--no-crop takes pictures that are already square face crops as they are.\n"
      "OUT is a folder (frames/NNNNNN.png, sheet.png: driver | source | result, animation.gif)\n"
      "or a video file: .mp4 (H.264, the driver's frame rate and audio) or .gif.\n"
      "Motion is relative to the first driving frame for several frames and absolute for a\n"
      "single image unless a flag says otherwise.",
      with_crop_options({
          source_option(),
          {"driving", "driving image, folder of frames or video", true, true, "", "d"},
          {"out", "output folder (absent or empty) or video file .mp4/.gif", true, true, "", "o"},
          {"relative", "apply the driver's motion since its first frame to the source's own pose", false, false, ""},
          {"absolute", "use the driver's pose and expression as they are", false, false, ""},
          {"gaze", "driver, source or THETA,PHI (degrees)", true, false, "driver"},
          {"yaw", "yaw offset in degrees", true, false, "0"},
          {"pitch", "pitch offset in degrees", true, false, "0"},
          {"roll", "roll offset in degrees", true, false, "0"},
          {"models", "models folder", true, false, Reenactor::default_models_dir()},
          {"device", "cpu or cuda[:N]", true, false, "cpu"},
          single_reading_option(),
          {"fps", "frame rate of the animation or video (default: the driving video's, else 12)", true, false, "12"},
          {"concat", "write the driving frame and the result side by side", false, false, ""},
      }),
      args);
  const std::vector<std::string> source_paths = opts.list("source");
  if (opts.flag("relative") && opts.flag("absolute")) throw UsageError{"--relative and --absolute exclude each other"};
  bool crop = true;
  const pipeline::CropOptions co = crop_options(opts, crop);
  const int64_t fps_flag = opts.integer("fps", 1, 100);
  ReenactOptions ro;
  ro.gaze = parse_gaze("gaze", opts.str("gaze"));
  ro.offset = {degrees_flag(opts, "yaw"), degrees_flag(opts, "pitch"), degrees_flag(opts, "roll")};
  const std::string out_path = opts.str("out");
  const bool video_out = is_video_path(out_path);
  const bool concat = opts.flag("concat");
  if (video_out && !is_writable_video_path(out_path))
    throw UsageError{"--out '" + out_path + "': videos are written as .mp4 (also .m4v, .mov, .mkv) or .gif"};
  const std::unique_ptr<pipeline::FrameStream> driving = pipeline::open_frame_stream(opts.str("driving"));
  const int64_t expected = driving->expected_count();
  const bool relative = opts.flag("relative") || (!opts.flag("absolute") && expected != 1);
  const double fps = opts.has("fps") || driving->fps() <= 0 ? static_cast<double>(fps_flag) : driving->fps();

  const Reenactor r = reenactor_from_flags(opts);
  warn_without_head_pivot(r, ro.offset.yaw_deg != 0 || ro.offset.pitch_deg != 0 || ro.offset.roll_deg != 0);
  const int S = r.image_size();
  const FramedSources sources = frame_sources(source_paths, crop, co, S);
  const auto set = prepare_sources(r, sources.crops, source_paths);
  pipeline::FaceTracker tracker(co);
  int driver_crop_size = 0;
  // The driving frame as the networks see it.
  auto frame_driver = [&](const Image& frame) {
    if (!crop) return frame;
    const pipeline::CropBox box = tracker.update(frame, "driving " + driving->name());
    if (driver_crop_size == 0) driver_crop_size = pipeline::crop_size_for(box, S);
    return pipeline::crop_image(frame, box, driver_crop_size);
  };
  Image frame;
  FH_CHECK(driving->next(frame), "reenact", "'", driving->path(), "' holds no frames");
  Image driver = frame_driver(frame);
  if (relative) ro.reference = r.read_face(driver);

  std::unique_ptr<pipeline::FrameSink> sink;
  std::unique_ptr<VideoWriter> video;
  std::unique_ptr<GifWriter> animation;
  if (!video_out) {
    sink = std::make_unique<pipeline::FrameSink>(out_path);
    animation = std::make_unique<GifWriter>(sink->staging_path("animation.gif"), static_cast<int>(std::lround(100 / fps)));
  }
  const int factor = std::max(1, 128 / S);
  const Image source_tile = upscale(Reenactor::thumbnail(sources.crops[0], S), factor);
  std::vector<std::vector<Image>> sheet(3);
  const std::vector<int64_t> picks = spread(expected > 0 ? expected : 8, 8);
  double ms = 0;
  Reenactor::Timing split{};
  ProgressBar bar("reenact", expected > 0 ? expected : 0, "frames");
  int64_t n = 0;
  for (;; ++n) {
    if (n > 0) {
      if (!driving->next(frame)) break;
      driver = frame_driver(frame);
    }
    ReenactResult out;
    try {
      out = r.reenact(*set, driver, ro);
    } catch (const Error& e) {
      throw Error(driving->name() + ": " + e.what());
    }
    ms += r.last_timing().total_ms;
    split.kp_ms += r.last_timing().kp_ms, split.gaze_ms += r.last_timing().gaze_ms;
    split.sketch_ms += r.last_timing().sketch_ms, split.generator_ms += r.last_timing().generator_ms;
    const Image shown = output_frame(sources, frame, out.image, concat);
    if (video_out) {
      if (!video) {
        VideoWriterOptions vo;
        vo.fps = fps;
        if (driving->is_video()) vo.audio_from = driving->path();
        video = std::make_unique<VideoWriter>(out_path, shown.width, shown.height, vo);
      }
      video->write(shown);
    } else {
      sink->write_frame(n, shown);
      const Image driver_tile = upscale(Reenactor::thumbnail(driver, S), factor);
      const Image result_tile = upscale(out.image, factor);
      animation->add(tile_rows({{driver_tile, source_tile, result_tile}}));
      if (std::find(picks.begin(), picks.end(), n) != picks.end()) {
        sheet[0].push_back(driver_tile);
        sheet[1].push_back(source_tile);
        sheet[2].push_back(result_tile);
      }
    }
    bar.advance();
  }
  bar.finish();
  if (video_out) {
    video->finish();
  } else {
    write_png(sink->staging_path("sheet.png"), tile_rows(sheet));
    animation->finish();
    sink->commit();
  }
  const double count = static_cast<double>(n);
  std::printf("reenacted %lld frames with %zu source(s), %s motion, %.1f ms per frame (%s, %s)\n",
              static_cast<long long>(n), sources.crops.size(), relative ? "relative" : "absolute", ms / count,
              r.config_name().c_str(), r.models_dir().c_str());
  std::printf("per frame: E_can %.2f ms, E_gaze %.2f ms, sketch %.2f ms, G %.2f ms (sources prepared once)\n",
              split.kp_ms / count, split.gaze_ms / count, split.sketch_ms / count, split.generator_ms / count);
  if (tracker.missed() > 0)
    std::fprintf(stderr, "warning: no face found in %lld of %lld driving frames; the last face box was held for them\n",
                 static_cast<long long>(tracker.missed()), static_cast<long long>(tracker.frames()));
  if (driving->damaged_packets() > 0)
    std::fprintf(stderr, "warning: %lld damaged packets of '%s' could not be decoded and were skipped\n",
                 static_cast<long long>(driving->damaged_packets()), driving->path().c_str());
  if (video_out) {
    std::printf("wrote %s (%lld frames at %.4g fps, %s%s%s)\n", out_path.c_str(),
                static_cast<long long>(video->frames_written()), fps, video->encoder().c_str(),
                video->audio_copied() ? ", the driver's audio copied" : "",
                video->audio_note().empty() ? "" : (", no audio: " + video->audio_note()).c_str());
  } else {
    std::printf("wrote %s/{frames/, sheet.png, animation.gif}\n", sink->dir().c_str());
  }
  return 0;
}

int cmd_edit(const Args& args) {
  const Options opts(
      "edit",
      "Turns the source person's head and moves their eyes: --yaw/--pitch/--roll offsets in degrees\n"
      "and --gaze, or a sweep over one of them (--sweep yaw=-30:30:7; also pitch, roll, gaze for the\n"
      "horizontal gaze angle φ and gaze-theta for the vertical θ) written as one strip.\n"
      "The face is found in the photo, cropped for the models and the result pasted back at the\n"
      "photo's size (--no-crop: the picture is a square face crop already).\n"
      "OUT receives frames/NNNNNN.png and strip.png.",
      with_crop_options({
          source_option(),
          {"out", "output folder, absent or empty", true, true, "", "o"},
          {"yaw", "yaw offset in degrees", true, false, "0"},
          {"pitch", "pitch offset in degrees", true, false, "0"},
          {"roll", "roll offset in degrees", true, false, "0"},
          {"gaze", "source or THETA,PHI (degrees)", true, false, "source"},
          {"sweep", "NAME=FROM:TO:COUNT, NAME one of yaw, pitch, roll, gaze, gaze-theta", true, false, ""},
          {"models", "models folder", true, false, Reenactor::default_models_dir()},
          {"device", "cpu or cuda[:N]", true, false, "cpu"},
          single_reading_option(),
      }),
      args);
  const std::vector<std::string> source_paths = opts.list("source");
  bool crop = true;
  const pipeline::CropOptions co = crop_options(opts, crop);
  PoseOffset offset{degrees_flag(opts, "yaw"), degrees_flag(opts, "pitch"), degrees_flag(opts, "roll")};
  GazeChoice gaze = parse_gaze("gaze", opts.str("gaze"));
  if (gaze.mode == GazeChoice::Mode::Driver) throw UsageError{"--gaze driver: edit has no driver (source or THETA,PHI)"};
  const Sweep sweep = opts.has("sweep") ? parse_sweep(opts.str("sweep")) : Sweep{};
  if (sweep.count > 0 && opts.has(sweep.name == "gaze" || sweep.name == "gaze-theta" ? "gaze" : sweep.name.c_str()))
    throw UsageError{"--sweep " + sweep.name + " conflicts with --" +
                     (sweep.name == "gaze" || sweep.name == "gaze-theta" ? std::string("gaze") : sweep.name)};
  const Reenactor r = reenactor_from_flags(opts);
  warn_without_head_pivot(r, offset.yaw_deg != 0 || offset.pitch_deg != 0 || offset.roll_deg != 0 ||
                                 (sweep.count > 0 && sweep.name != "gaze" && sweep.name != "gaze-theta"));
  const FramedSources sources = frame_sources(source_paths, crop, co, r.image_size());
  const auto set = prepare_sources(r, sources.crops, source_paths);
  pipeline::FrameSink sink(opts.str("out"));
  const int factor = std::max(1, 128 / r.image_size());
  std::vector<Image> strip{upscale(Reenactor::thumbnail(sources.crops[0], r.image_size()), factor)};
  const int64_t n = std::max<int64_t>(1, sweep.count);
  double ms = 0;
  for (int64_t i = 0; i < n; ++i) {
    PoseOffset o = offset;
    GazeChoice g = gaze;
    if (sweep.count > 0) apply_sweep(sweep, i, o, g);
    const ReenactResult out = r.edit(*set, o, g);
    ms += r.last_timing().total_ms;
    sink.write_frame(i, output_frame(sources, {}, out.image, false));
    strip.push_back(upscale(out.image, factor));
  }
  write_png(sink.staging_path("strip.png"), tile_rows({strip}));
  sink.commit();
  std::printf("edited %lld frame(s), %.1f ms per frame; the strip starts with the source\nwrote %s/{frames/, strip.png}\n",
              static_cast<long long>(n), ms / static_cast<double>(n), sink.dir().c_str());
  return 0;
}

}  // namespace fh::cli
