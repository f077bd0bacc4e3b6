// `freehead prep`: a dataset in freehead's format (docs/data.md) from real footage — videos
// or frame folders plus a landmark detector's 68 3D points per frame — prepared as the
// paper prepares VoxCeleb: a fixed square crop per clip resized to S, pose by least-squares
// alignment to the frontal template, canonical key-points and deformations, eye crops, and
// gaze when a file gives it (data/landmark_pose.h, docs/real-images.md).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/dataset_format.h"
#include "data/landmark_pose.h"
#include "data/landmarks_file.h"
#include "data/synth.h"
#include "geometry/conventions.h"
#include "pipeline/face_crop.h"
#include "pipeline/frames.h"
#include "runtime/error.h"
#include "io/progress.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "tools/freehead/reenact_options.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;

namespace fh::cli {

namespace {

struct ClipInput {
  std::string identity, frames, landmarks, gaze;
  std::string name;  // clips/<identity>_<n>
  Tensor points;     // [T,68,3] float64, the frames' pixels
  Tensor gaze_rows;  // [T,2,3] or undefined
};

bool safe_name(const std::string& s) {
  return !s.empty() && s.size() <= 100 && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

std::vector<ClipInput> read_list(const std::string& path) {
  std::ifstream in(path);
  FH_CHECK(in.good(), "prep", "cannot open the clip list '", path, "'");
  std::vector<ClipInput> clips;
  std::string line;
  int n = 0;
  const fs::path base = fs::path(path).parent_path();
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() || base.empty() ? p : (base / p).string(); };
  while (std::getline(in, line)) {
    ++n;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    if (f.empty()) continue;
    FH_CHECK(f.size() == 3 || f.size() == 4, "prep", "'", path, "' line ", n,
             ": expected IDENTITY FRAMES LANDMARKS [GAZE], got ", f.size(), " fields");
    clips.push_back({f[0], resolve(f[1]), resolve(f[2]), f.size() == 4 ? resolve(f[3]) : "", "", {}, {}});
  }
  FH_CHECK(!clips.empty(), "prep", "the clip list '", path, "' names no clips");
  return clips;
}

// A fixed square box around every landmark of the clip (pixel centres at i + 0.5).
pipeline::CropBox clip_box(const Tensor& points, double scale, double shift) {
  const double* p = points.data<double>();
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  for (int64_t i = 0; i < points.size(0) * 68; ++i) {
    x0 = std::min(x0, p[3 * i] + 0.5), x1 = std::max(x1, p[3 * i] + 0.5);
    y0 = std::min(y0, p[3 * i + 1] + 0.5), y1 = std::max(y1, p[3 * i + 1] + 0.5);
  }
  const double side = scale * std::max(x1 - x0, y1 - y0);
  return {(x0 + x1) / 2, (y0 + y1) / 2 - shift * side, side};
}

}  // namespace

int cmd_prep(const Args& args) {
  const Options opts(
      "prep",
      "Writes a dataset in freehead's format (docs/data.md) from real videos or frame folders and\n"
      "a 68-point 3D landmark file per clip (.npy [T,68,3] or text, x y z in the frames' pixels,\n"
      "z away from the camera): each clip cropped to a fixed square around its landmarks and\n"
      "resized to S; pose by least-squares alignment to the frontal template; canonical\n"
      "key-points (one shape per identity) and deformations; eye crops; gaze from an optional\n"
      "file ([T,2,3] unit vectors, camera frame). One clip by flags, or many by --list FILE\n"
      "(lines: IDENTITY FRAMES LANDMARKS [GAZE]).",
      {
          {"out", "dataset folder to write (absent or empty)", true, true, ""},
          {"size", "frame side S in pixels, 64..512", true, false, "128"},
          {"frames", "one clip: a video file or a folder of frames", true, false, ""},
          {"landmarks", "one clip: its landmarks (.npy or text)", true, false, ""},
          {"gaze", "one clip: its gaze per eye (.npy or text), optional", true, false, ""},
          {"identity", "one clip: who is in it", true, false, "person"},
          {"list", "many clips: a file of lines IDENTITY FRAMES LANDMARKS [GAZE]", true, false, ""},
          {"no-crop", "the frames are square face crops already: resized whole", false, false, ""},
          // The defaults frame a face as the synthetic data does (measured on freehead synth: the
          // key-points span about half the frame, their box's centre 8% of the side below the
          // middle), so prepared and synthetic frames can train together.
          {"crop-scale", "crop side as a multiple of the landmarks' extent", true, false, "1.9"},
          {"crop-shift", "crop centre moved up by this fraction of its side", true, false, "0.08"},
          {"quiet", "no progress bar", false, false, ""},
      },
      args);
  const int S = static_cast<int>(opts.integer("size", 64, 512));
  const bool crop = !opts.flag("no-crop");
  const double scale = range_flag(opts, "crop-scale", 1, 10), shift = range_flag(opts, "crop-shift", -0.5, 0.5);
  std::vector<ClipInput> clips;
  if (opts.has("list")) {
    if (opts.has("frames") || opts.has("landmarks") || opts.has("gaze") || opts.has("identity"))
      throw UsageError{"--list excludes --frames, --landmarks, --gaze and --identity"};
    clips = read_list(opts.str("list"));
  } else {
    if (!opts.has("frames") || !opts.has("landmarks")) throw UsageError{"give --frames and --landmarks, or --list FILE"};
    clips.push_back({opts.str("identity"), opts.str("frames"), opts.str("landmarks"), opts.has("gaze") ? opts.str("gaze") : "", "",
                     {}, {}});
  }

  // Landmarks first: they are small, and every frame count is checked before any work.
  std::vector<std::string> identities;
  std::map<std::string, int> per_identity;
  int64_t total = 0;
  for (ClipInput& c : clips) {
    FH_CHECK(safe_name(c.identity), "prep", "identity '", c.identity,
             "' must be 1-100 letters, digits, '_', '-' or '.' (it names folders)");
    if (!per_identity.count(c.identity)) identities.push_back(c.identity);
    c.name = "clips/" + c.identity + "_" + std::to_string(per_identity[c.identity]++);
    c.points = data::read_per_frame_file(c.landmarks, {68, 3}, -1, "landmarks");
    if (!c.gaze.empty()) c.gaze_rows = data::read_per_frame_file(c.gaze, {2, 3}, c.points.size(0), "gaze");
    total += c.points.size(0);
  }
  const bool with_gaze = std::all_of(clips.begin(), clips.end(), [](const ClipInput& c) { return !c.gaze.empty(); });
  FH_CHECK(with_gaze || std::none_of(clips.begin(), clips.end(), [](const ClipInput& c) { return !c.gaze.empty(); }),
           "prep", "give gaze for every clip or for none (the manifest lists the tensors every clip holds)");

  pipeline::FrameSink out(opts.str("out"));  // the dataset appears whole or not at all
  std::unique_ptr<ProgressBar> bar;
  if (!opts.flag("quiet")) bar = std::make_unique<ProgressBar>("prep", total, "frames");
  // Frames: cropped, resized and written; landmarks brought into each crop's normalised frame.
  std::map<std::string, std::vector<data::Keypoints68>> points_of;  // by identity, clips in order
  std::vector<std::vector<data::Keypoints68>> clip_points(clips.size());
  for (size_t ci = 0; ci < clips.size(); ++ci) {
    ClipInput& c = clips[ci];
    const int64_t T = c.points.size(0);
    const auto frames = pipeline::open_frame_stream(c.frames);
    const fs::path dir = fs::path(out.staging_path("")) / c.name;
    fs::create_directories(dir);
    pipeline::CropBox box = clip_box(c.points, scale, shift);
    Image frame;
    int64_t t = 0;
    while (frames->next(frame)) {
      FH_CHECK(t < T, "prep", "'", c.frames, "' has more frames than the ", T, " rows of '", c.landmarks, "'");
      if (!crop) {
        FH_CHECK(frame.width == frame.height, "prep", frames->name(), " is ", frame.width, "x", frame.height,
                 "; --no-crop takes square frames");
        box = {frame.width / 2.0, frame.height / 2.0, static_cast<double>(frame.width)};
      }
      write_png((dir / data::frame_filename(static_cast<int>(t))).string(), pipeline::crop_image(frame, box, S));
      ++t;
      if (bar) bar->advance();
    }
    FH_CHECK(t == T, "prep", "'", c.frames, "' has ", t, " frames but '", c.landmarks, "' has ", T,
             " rows: one row of landmarks per frame is needed");
    const double* p = c.points.data<double>();
    const double k = S / box.side;
    for (int64_t f = 0; f < T; ++f) {
      data::Keypoints68 kp;
      for (int i = 0; i < 68; ++i) {
        const double* q = p + (f * 68 + i) * 3;
        const double u = (q[0] + 0.5 - box.left()) * k - 0.5, v = (q[1] + 0.5 - box.top()) * k - 0.5;
        kp[i] = Eigen::Vector3d(2 * u / (S - 1) - 1, 2 * v / (S - 1) - 1, 2 * q[2] * k / (S - 1));
      }
      clip_points[ci].push_back(kp);
    }
  }
  if (bar) bar->finish();

  // Pose, canonical shape (one per identity) and deformations; then each clip's annotations.
  data::Manifest manifest;
  manifest.image_size = S;
  manifest.annotations = {"keypoints", "canonical", "deformation", "yaw", "pitch", "roll",
                          "rotation",  "translation", "scale",     "eye_crop"};
  if (with_gaze) manifest.annotations.insert(manifest.annotations.end(), {"gaze", "gaze_angles", "eyeball", "eye_mesh"});
  double worst_fit = 0;
  for (size_t id = 0; id < identities.size(); ++id) {
    std::vector<data::Keypoints68> all;
    std::vector<std::array<Eigen::Vector3d, 2>> gaze;
    std::vector<size_t> members;
    for (size_t ci = 0; ci < clips.size(); ++ci) {
      if (clips[ci].identity != identities[id]) continue;
      members.push_back(ci);
      all.insert(all.end(), clip_points[ci].begin(), clip_points[ci].end());
      if (with_gaze) {
        const double* g = clips[ci].gaze_rows.data<double>();
        for (int64_t f = 0; f < clips[ci].gaze_rows.size(0); ++f)
          gaze.push_back({Eigen::Vector3d(g[6 * f], g[6 * f + 1], g[6 * f + 2]),
                          Eigen::Vector3d(g[6 * f + 3], g[6 * f + 4], g[6 * f + 5])});
      }
    }
    const std::vector<data::FrameAnnotation> ann =
        data::annotate_landmarks(all, S, with_gaze ? &gaze : nullptr, "identity '" + identities[id] + "'");
    size_t row = 0;
    for (size_t ci : members) {
      const ClipInput& c = clips[ci];
      const int64_t T = c.points.size(0);
      safetensors::NamedTensors tensors;
      auto stack = [&](const char* name, std::vector<int64_t> shape, auto&& row_of, int64_t n) {
        std::vector<float> values;
        for (int64_t f = 0; f < T; ++f) {
          const float* r = row_of(ann[row + static_cast<size_t>(f)]);
          values.insert(values.end(), r, r + n);
        }
        shape.insert(shape.begin(), T);
        tensors.emplace_back(name, Tensor::from_vector(values, Shape(shape)));
      };
      using A = data::FrameAnnotation;
      stack("keypoints", {68, 3}, [](const A& a) { return a.keypoints[0].data(); }, 204);
      stack("canonical", {68, 3}, [](const A& a) { return a.canonical[0].data(); }, 204);
      stack("deformation", {68, 3}, [](const A& a) { return a.deformation[0].data(); }, 204);
      stack("yaw", {}, [](const A& a) { return &a.yaw; }, 1);
      stack("pitch", {}, [](const A& a) { return &a.pitch; }, 1);
      stack("roll", {}, [](const A& a) { return &a.roll; }, 1);
      stack("rotation", {3, 3}, [](const A& a) { return a.rotation.data(); }, 9);
      stack("translation", {3}, [](const A& a) { return a.translation.data(); }, 3);
      stack("scale", {1}, [](const A& a) { return &a.scale; }, 1);
      stack("eye_crop", {2, 3}, [](const A& a) { return a.eye_crop[0].data(); }, 6);
      if (with_gaze) {
        stack("gaze", {2, 3}, [](const A& a) { return a.gaze[0].data(); }, 6);
        stack("gaze_angles", {2, 2}, [](const A& a) { return a.gaze_angles[0].data(); }, 4);
        stack("eyeball", {2, 4}, [](const A& a) { return a.eyeball[0].data(); }, 8);
        stack("eye_mesh", {2, geometry::kEyeVertices, 3}, [](const A& a) { return a.eye_mesh.data(); },
              2 * geometry::kEyeVertices * 3);
      }
      for (int64_t f = 0; f < T; ++f) {
        const A& a = ann[row + static_cast<size_t>(f)];
        for (int i : data::rigid_keypoints())
          for (int d = 0; d < 3; ++d) worst_fit = std::max(worst_fit, static_cast<double>(std::abs(a.deformation[i][d])));
      }
      safetensors::save((fs::path(out.staging_path("")) / c.name / data::kAnnotationsName).string(), tensors,
                        {{"generator", "freehead prep"}, {"frames", c.frames}, {"landmarks", c.landmarks}});
      manifest.clips.push_back({c.name, c.identity, static_cast<int>(T),
                                data::split_of_identity(static_cast<int>(id), static_cast<int>(identities.size()))});
      row += static_cast<size_t>(T);
    }
  }
  json::Value gen = json::Value::object();
  gen.set("program", "freehead prep");
  gen.set("crop", crop ? "fixed per clip around the landmarks" : "none (frames resized whole)");
  if (crop) {
    gen.set("crop_scale", scale);
    gen.set("crop_shift", shift);
  }
  manifest.generator = gen;
  data::write_manifest(out.staging_path(""), manifest);
  out.commit();
  std::printf("prepared %zu clip(s) of %zu identit%s, %lld frames at %dx%d\n", clips.size(), identities.size(),
              identities.size() == 1 ? "y" : "ies", static_cast<long long>(total), S, S);
  std::printf("largest residual of the rigid points after the pose fit: %.4f (normalised units)\nwrote %s/manifest.json\n",
              worst_fit, out.dir().c_str());
  return 0;
}

}  // namespace fh::cli
