// `freehead demo`: what freehead does, in one folder, with the shipped models and inputs
// rendered on the spot — a held-out person reenacted by a driving actor (another held-out
// person) whose head turns, who speaks, blinks and looks around; one source beside two;
// a head-pose sweep and a gaze sweep.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "data/head_mesh.h"
#include "data/renderer.h"
#include "data/sequence.h"
#include "data/synth.h"
#include "geometry/conventions.h"
#include "pipeline/frames.h"
#include "pipeline/reenactor.h"
#include "io/gif.h"
#include "io/image_layout.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "tools/freehead/reenact_options.h"

namespace fh::cli {

namespace {

// The shipped models were trained on `freehead synth --seed 1 --identities 240`: identities
// 216-239 are its test split, never seen in training. The demo's people come from there.
constexpr uint64_t kDataSeed = 1;
constexpr int kSourceIdentity = 229, kDriverIdentity = 236;

struct Clip {
  std::vector<Image> frames;
};

// Frames of a clip of `identity`, rendered at `size`. `drive` reshapes the driver's motion so
// that every ingredient shows within a few seconds: a head turn left and right with a nod, the
// clip's own speech, a blink and gaze jumps.
Clip render_clip(int identity, int clip, const std::vector<int>& frames, int size, bool drive) {
  const data::ClipScript script(kDataSeed, identity, clip, 1000);
  const data::HeadMesh mesh(script.identity());
  const data::BackgroundImage background = data::draw_background(script.background(), size);
  data::Renderer renderer(2);
  Clip out;
  const int n = static_cast<int>(frames.size());
  for (int i = 0; i < n; ++i) {
    data::FrameParams p = script.frame(frames[static_cast<size_t>(i)]);
    if (drive) {
      const double u = static_cast<double>(i) / std::max(1, n - 1);  // 0..1 over the clip
      p.pose.yaw = geometry::deg_to_rad(28 * std::sin(2 * geometry::kPi * u));
      p.pose.pitch = geometry::deg_to_rad(10 * std::sin(4 * geometry::kPi * u));
      p.pose.roll = geometry::deg_to_rad(6 * std::sin(2 * geometry::kPi * u + 1));
      const double blink = std::max(0.0, 1 - std::abs(i - 0.55 * n) / 2.5);  // a blink past the middle
      p.expression.blink_right = p.expression.blink_left = std::min(1.0, blink);
      const double phi = u < 0.3 ? -25 : (u < 0.7 ? 25 : 0), theta = u < 0.3 ? 0 : (u < 0.7 ? -10 : 10);
      for (auto& g : p.gaze) g = {geometry::deg_to_rad(theta), geometry::deg_to_rad(phi)};
    }
    out.frames.push_back(data::render_frame(mesh, p, background, renderer).image);
  }
  return out;
}

std::string ms_text(const Reenactor::Timing& t, double n) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.1f ms (E_can %.1f, E_gaze %.1f, sketch %.1f, G %.1f)", t.total_ms / n, t.kp_ms / n,
                t.gaze_ms / n, t.sketch_ms / n, t.generator_ms / n);
  return buf;
}

void add(Reenactor::Timing& sum, const Reenactor::Timing& t) {
  sum.kp_ms += t.kp_ms, sum.gaze_ms += t.gaze_ms, sum.sketch_ms += t.sketch_ms, sum.generator_ms += t.generator_ms,
      sum.total_ms += t.total_ms;
}

}  // namespace

int cmd_demo(const Args& args) {
  const Options opts(
      "demo",
      "Writes into OUT: reenactment.png and reenactment.gif (driver | source | one source |\n"
      "two sources), frames/ (the one-source result), pose_sweep.png and gaze_sweep.png, from\n"
      "people rendered on the spot that the shipped models never saw in training.",
      {
          {"out", "output folder, absent or empty", true, true, ""},
          {"models", "models folder", true, false, Reenactor::default_models_dir()},
          {"frames", "driving frames", true, false, "48"},
          {"device", "cpu or cuda[:N]", true, false, "cpu"},
          single_reading_option(),
      },
      args);
  const int64_t nframes = opts.integer("frames", 2, 1000);
  const auto start = std::chrono::steady_clock::now();
  const Reenactor r = reenactor_from_flags(opts);
  warn_without_head_pivot(r, true);  // the pose sweep
  const int s = r.image_size(), render_size = 2 * s;  // eyes cropped from twice the models' size
  pipeline::FrameSink sink(opts.str("out"));

  std::printf("models: %s (%s, %d²)\nrendering a source person and a driving clip (identities %d and %d, held out)\n",
              r.models_dir().c_str(), r.config_name().c_str(), s, kSourceIdentity, kDriverIdentity);
  const Clip sources = render_clip(kSourceIdentity, 0, {0, 37}, render_size, false);
  std::vector<int> driver_frames;
  for (int i = 0; i < nframes; ++i) driver_frames.push_back(i);
  const Clip driver = render_clip(kDriverIdentity, 1, driver_frames, render_size, true);

  const auto one = r.prepare({sources.frames[0]});
  const auto two = r.has_nshot() ? r.prepare(sources.frames) : nullptr;
  ReenactOptions ro;
  ro.reference = r.read_face(driver.frames[0]);
  const int factor = std::max(1, 128 / s);
  auto tile = [&](const Image& img) { return upscale(img, factor); };
  const Image source_tile = tile(Reenactor::thumbnail(sources.frames[0], s));
  std::vector<Image> animation;
  std::vector<std::vector<Image>> sheet(two ? 4 : 3);
  Reenactor::Timing t1{}, t2{};
  const int64_t every = std::max<int64_t>(1, nframes / 8);
  for (int64_t i = 0; i < nframes; ++i) {
    const Image& d = driver.frames[static_cast<size_t>(i)];
    const ReenactResult a = r.reenact(*one, d, ro);
    add(t1, r.last_timing());
    sink.write_frame(i, a.image);
    std::vector<Image> row{tile(Reenactor::thumbnail(d, s)), source_tile, tile(a.image)};
    if (two) {
      const ReenactResult b = r.reenact(*two, d, ro);
      add(t2, r.last_timing());
      row.push_back(tile(b.image));
    }
    animation.push_back(tile_rows({row}));
    if (i % every == 0 && sheet[0].size() < 8)
      for (size_t k = 0; k < row.size(); ++k) sheet[k].push_back(row[k]);
  }
  write_png(sink.staging_path("reenactment.png"), tile_rows(sheet));
  write_gif(sink.staging_path("reenactment.gif"), animation, 8);

  // Sweeps: the source's head turned from -30° to 30°, and its eyes from left to right.
  for (const std::string what : {"yaw", "gaze"}) {
    const Sweep sweep = parse_sweep(what + "=-30:30:7");
    std::vector<Image> strip{source_tile};
    for (int64_t i = 0; i < sweep.count; ++i) {
      PoseOffset o;
      GazeChoice g = GazeChoice::source();
      apply_sweep(sweep, i, o, g);
      strip.push_back(tile(r.edit(*one, o, g).image));
    }
    write_png(sink.staging_path(what == "yaw" ? "pose_sweep.png" : "gaze_sweep.png"), tile_rows({strip}));
  }
  sink.commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("per frame, one source:  %s\n", ms_text(t1, static_cast<double>(nframes)).c_str());
  if (two) std::printf("per frame, two sources: %s\n", ms_text(t2, static_cast<double>(nframes)).c_str());
  else std::printf("two sources: skipped (the models folder holds no N-shot generator)\n");
  std::printf("wrote %s/\n  reenactment.png   rows: driver, source, result%s (one frame in %lld)\n"
              "  reenactment.gif   the whole clip, same columns\n  frames/           %lld one-source frames\n"
              "  pose_sweep.png    source, then yaw -30..30°\n  gaze_sweep.png    source, then gaze φ -30..30°\n"
              "demo took %.1f s\n",
              sink.dir().c_str(), two ? ", result from two sources" : "", static_cast<long long>(every),
              static_cast<long long>(nframes), seconds);
  return 0;
}

}  // namespace fh::cli
