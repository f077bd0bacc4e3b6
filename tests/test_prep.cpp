// `freehead prep`'s library side (data/landmark_pose.h, data/landmarks_file.h): poses,
// canonical key-points and deformations from 68 3D landmarks, checked on a synthetic clip
// whose exact key-points stand in for a landmark detector's; and the landmark files'
// readers on good and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <map>

#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "data/dataset_format.h"
#include "data/landmark_pose.h"
#include "data/landmarks_file.h"
#include "data/loader.h"
#include "data/annotation.h"
#include "data/sequence.h"
#include "data/posed_head.h"
#include "data/head_mesh.h"
#include "geometry/conventions.h"
#include "harness/synthetic_dataset.h"
#include "runtime/error.h"
#include "io/image_io.h"
#include "io/video.h"

namespace fs = std::filesystem;
using namespace fh;

namespace {

std::vector<data::Keypoints68> keypoints_of(const data::ClipAnnotations& a) {
  std::vector<data::Keypoints68> out(static_cast<size_t>(a.frames));
  for (int t = 0; t < a.frames; ++t) {
    const float* p = a.row("keypoints", t);
    for (int k = 0; k < 68; ++k) out[t][k] = Eigen::Vector3d(p[3 * k], p[3 * k + 1], p[3 * k + 2]);
  }
  return out;
}

Eigen::Matrix3d matrix(const float* m) {
  Eigen::Matrix3d A;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) A(r, c) = m[3 * r + c];
  return A;
}

double angle_deg(const Eigen::Matrix3d& R) {
  return geometry::rad_to_deg(std::acos(std::clamp((R.trace() - 1) / 2, -1.0, 1.0)));
}

// How well fitted rotations match the truth. Landmarks fix a head's orientation up to the
// choice of its canonical frame, one rotation per identity (G, with R_fit = R_true·G); what
// reenactment uses, each frame's rotation relative to another, does not depend on it.
struct PoseErrors {
  double relative_deg = 0;  // worst angle of (R_fit,t·R_fit,0ᵀ)·(R_true,t·R_true,0ᵀ)ᵀ
  double frame_yaw_roll_deg = 0, frame_pitch_deg = 0;  // G's angles: the canonical frame's offset
  void add(const std::vector<Eigen::Matrix3d>& fit, const std::vector<Eigen::Matrix3d>& truth) {
    for (size_t t = 0; t < fit.size(); ++t)
      relative_deg = std::max(relative_deg, angle_deg((fit[t] * fit[0].transpose()) * (truth[t] * truth[0].transpose()).transpose()));
    const geometry::EulerAngles g = geometry::euler_from_rotation(truth[0].transpose() * fit[0]);
    frame_yaw_roll_deg = std::max({frame_yaw_roll_deg, std::abs(geometry::rad_to_deg(g.yaw)), std::abs(geometry::rad_to_deg(g.roll))});
    frame_pitch_deg = std::max(frame_pitch_deg, std::abs(geometry::rad_to_deg(g.pitch)));
  }
  void check(const char* what) const {
    MESSAGE(std::string(what) << ": worst relative rotation error " << relative_deg << " deg; canonical frame off by yaw/roll "
                 << frame_yaw_roll_deg << " deg, pitch " << frame_pitch_deg << " deg");
    CHECK(relative_deg < 0.5);
    CHECK(frame_yaw_roll_deg < 0.5);  // fixed by the face's left-right symmetry
    // Where "level" lies differs between faces; the morphable fit finds a synthetic head's
    // own within 0.5° for 99 % of heads (the test above), these clips' heads among them.
    CHECK(frame_pitch_deg < 0.5);
  }
};

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& payload) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + payload;
}

}  // namespace

TEST_CASE("prep: the morphable fit finds a synthetic head's own frame from its canonical shape") {
  // 300 identities: each one's neutral canonical key-points, turned, scaled and moved at
  // random, levelled again; the fitted rotation must undo the random one.
  constexpr int kIdentities = 300;
  std::vector<double> errors;
  double worst_rigid_deg = 0;
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-0.6, 0.6);
  for (int id = 0; id < kIdentities; ++id) {
    const data::HeadMesh mesh(data::identity_for(9, id));
    data::FrameParams params;
    params.pose.scale = 1;
    data::PosedHead head;
    data::pose_head(mesh, params, head);
    const data::FrameAnnotation a = data::annotate(head, 64);
    const Eigen::Matrix3d turn = geometry::rotation_from_euler(u(rng), u(rng) / 2, u(rng) / 2);
    const double scale = 0.8 + 0.4 * (u(rng) + 0.6);
    const Eigen::Vector3d shift(u(rng), u(rng), u(rng));
    data::Keypoints68 shape;
    for (int k = 0; k < 68; ++k)
      shape[k] = scale * (turn * Eigen::Vector3d(a.canonical[k][0], a.canonical[k][1], a.canonical[k][2])) + shift;
    const data::Similarity start = data::fit_similarity(shape, data::frontal_template(), data::gauge_keypoints());
    const data::Similarity f = data::level_with_template(shape, start);
    errors.push_back(angle_deg(f.R * turn));  // R·turn = I when the frame is the head's own
    worst_rigid_deg = std::max(worst_rigid_deg, angle_deg(start.R * turn));
  }
  std::sort(errors.begin(), errors.end());
  const auto within = std::count_if(errors.begin(), errors.end(), [](double e) { return e <= 0.5; });
  MESSAGE("canonical frame found by the morphable fit: median " << errors[kIdentities / 2] << " deg, worst "
                                                                 << errors.back() << " deg, " << within << " of "
                                                                 << kIdentities << " within 0.5 deg (a rigid fit to "
                                                                 << "the average face: worst " << worst_rigid_deg << " deg)");
  // The accuracy prep is asked for, 0.5°, for 99 % of heads (the model is linear about the
  // average head, so the rare head far from it in several proportions at once misses it).
  CHECK(within >= kIdentities * 99 / 100);
  CHECK(errors[kIdentities / 2] < 0.25);  // measured 0.16°
}

TEST_CASE("prep: poses from synthetic clips' exact key-points are within 0.5 degrees of the truth") {
  test::SyntheticDataset ds("prep-pose", 2, 2, 48, 64, 5);
  const data::Manifest m = data::read_manifest(ds.data);
  PoseErrors pose;
  double worst_eq = 0, worst_canonical_spread = 0;
  std::map<std::string, std::vector<const data::ClipEntry*>> by_identity;
  for (const auto& c : m.clips) by_identity[c.identity].push_back(&c);
  for (const auto& [identity, clips] : by_identity) {
    std::vector<data::ClipAnnotations> truth;
    std::vector<data::Keypoints68> all;
    for (const auto* c : clips) {
      truth.push_back(data::read_clip_annotations((fs::path(ds.data) / c->name / data::kAnnotationsName).string(),
                                                  c->frames, {"keypoints", "rotation"}));
      const auto kp = keypoints_of(truth.back());
      all.insert(all.end(), kp.begin(), kp.end());
    }
    const auto ann = data::annotate_landmarks(all, m.image_size, nullptr, identity);
    REQUIRE(ann.size() == all.size());
    size_t row = 0;
    std::vector<Eigen::Matrix3d> fit, exact;
    for (const auto& clip : truth)
      for (int t = 0; t < clip.frames; ++t, ++row) {
        const data::FrameAnnotation& a = ann[row];
        fit.push_back(matrix(a.rotation.data()));
        exact.push_back(matrix(clip.row("rotation", t)));
        // Eq. 2 with the fitted pose: p = s·R·p_can + t + d, to float rounding of values below 2.
        for (int k = 0; k < 68; ++k) {
          Eigen::Vector3d can(a.canonical[k][0], a.canonical[k][1], a.canonical[k][2]);
          Eigen::Matrix3d R;
          for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c) R(r, c) = a.rotation[3 * r + c];
          const Eigen::Vector3d rebuilt = a.scale * (R * can) +
                                          Eigen::Vector3d(a.translation[0], a.translation[1], a.translation[2]) +
                                          Eigen::Vector3d(a.deformation[k][0], a.deformation[k][1], a.deformation[k][2]);
          for (int c = 0; c < 3; ++c) worst_eq = std::max(worst_eq, std::abs(rebuilt[c] - a.keypoints[k][c]));
          for (int c = 0; c < 3; ++c)
            worst_canonical_spread = std::max(worst_canonical_spread, static_cast<double>(std::abs(a.canonical[k][c] - ann[0].canonical[k][c])));
        }
        // The Euler angles stored agree with the rotation.
        const Eigen::Matrix3d Re = geometry::rotation_from_euler(a.yaw, a.pitch, a.roll);
        for (int r = 0; r < 3; ++r)
          for (int c = 0; c < 3; ++c) CHECK(std::abs(Re(r, c) - a.rotation[3 * r + c]) < 1e-5);
      }
    pose.add(fit, exact);
  }
  pose.check("library");
  MESSAGE("worst Eq. 2 residual " << worst_eq);
  // Every stored value is a float32 rounded from double (relative error u = 2^-24): p, d, t
  // below 1.2 in size add at most 3.6u; s·R·p_can (s < 0.7, |p_can| < 1.5, three terms)
  // carries the rounding of s, R and p_can, 3u of at most 3.2: about 13u in all; 32u bounds it.
  CHECK(worst_eq < 32 * std::ldexp(1.0, -24));
  CHECK(worst_canonical_spread == 0);  // one canonical shape per identity
}

TEST_CASE("prep: landmark files as .npy (float32, float64) and text, and their errors") {
  const fs::path dir = fs::temp_directory_path() / ("fh-prep-files-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<float> f32(2 * 68 * 3);
  std::vector<double> f64(f32.size());
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<float>(i) * 0.25f, f64[i] = static_cast<double>(i) * 0.25;
  write_bytes(dir / "a.npy", npy("<f4", "(2, 68, 3)", std::string(reinterpret_cast<const char*>(f32.data()), f32.size() * 4)));
  write_bytes(dir / "b.npy", npy("<f8", "(2, 68, 3)", std::string(reinterpret_cast<const char*>(f64.data()), f64.size() * 8)));
  std::string text = "# two frames\n";
  for (size_t i = 0; i < f64.size(); ++i) text += std::to_string(f64[i]) + ((i % 3 == 2) ? "\n" : " ");
  write_bytes(dir / "c.txt", text);
  for (const char* name : {"a.npy", "b.npy", "c.txt"}) {
    const Tensor t = data::read_per_frame_file((dir / name).string(), {68, 3}, 2, "landmarks");
    REQUIRE(t.shape() == Shape({2, 68, 3}));
    for (size_t i = 0; i < f64.size(); ++i) REQUIRE(t.data<double>()[i] == f64[i]);
  }
  auto error_of = [&](const std::string& name, int64_t frames) {
    try {
      data::read_per_frame_file((dir / name).string(), {68, 3}, frames, "landmarks");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("a.npy", 3).find("have shape [2,68,3]; [3,68,3] is expected") != std::string::npos);
  CHECK(error_of("c.txt", 5).find("cover 2 frames; 5 are expected") != std::string::npos);
  write_bytes(dir / "d.npy", npy("<f4", "(2, 68, 2)", std::string(2 * 68 * 2 * 4, '\0')));
  CHECK(error_of("d.npy", -1).find("have shape [2,68,2]; [T,68,3] is expected") != std::string::npos);
  write_bytes(dir / "e.npy", npy("<i8", "(2, 68, 3)", std::string(2 * 68 * 3 * 8, '\0')));
  CHECK(error_of("e.npy", -1).find("float32 ('<f4') or float64 ('<f8') are read") != std::string::npos);
  write_bytes(dir / "f.npy", npy("<f4", "(2, 68, 3)", std::string(100, '\0')));  // cut short
  CHECK(error_of("f.npy", -1).find("but has 100 bytes") != std::string::npos);
  write_bytes(dir / "g.txt", "1 2 3\n4 five 6\n");
  CHECK(error_of("g.txt", -1).find("line 2: 'five' is not a number") != std::string::npos);
  write_bytes(dir / "h.txt", "1 2 3\n");
  CHECK(error_of("h.txt", -1).find("not a whole number of frames of [68,3]") != std::string::npos);
  std::string nan_text;
  for (int i = 0; i < 68 * 3; ++i) nan_text += i == 7 ? "nan " : "1 ";
  write_bytes(dir / "j.txt", nan_text);
  CHECK(error_of("j.txt", -1).find("non-finite number at frame 0") != std::string::npos);
  CHECK(error_of("missing.npy", -1).find("missing.npy") != std::string::npos);
  fs::remove_all(dir);
}

namespace {

struct Run {
  int status;
  std::string output;
};

Run run_cli(const std::string& args, const fs::path& log) {
  const std::string cmd = std::string(FH_CLI) + " " + args + " > '" + log.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  return {WEXITSTATUS(rc), std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())};
}

}  // namespace

TEST_CASE("prep: freehead prep on a synthetic clip's frames and exact key-points recovers the pose") {
  test::SyntheticDataset ds("prep-cli", 1, 1, 40, 64, 11);
  const data::Manifest m = data::read_manifest(ds.data);
  const data::ClipEntry& clip = m.clips[0];
  const fs::path clip_dir = fs::path(ds.data) / clip.name;
  const data::ClipAnnotations truth = data::read_clip_annotations((clip_dir / data::kAnnotationsName).string(), clip.frames,
                                                                  {"keypoints", "rotation", "gaze", "canonical"});
  const fs::path work = fs::path(ds.root) / "prep";
  fs::create_directories(work);
  // The key-points as a landmark detector gives them: pixels of the 64² frames (pixel centre
  // i at i), z in the same unit; float32 .npy. Gaze as text.
  const int S = m.image_size;
  std::vector<float> pixels;
  std::string gaze_text;
  for (int t = 0; t < clip.frames; ++t) {
    const float* p = truth.row("keypoints", t);
    for (int k = 0; k < 68; ++k) {
      pixels.push_back(static_cast<float>((p[3 * k] + 1) * (S - 1) / 2.0));
      pixels.push_back(static_cast<float>((p[3 * k + 1] + 1) * (S - 1) / 2.0));
      pixels.push_back(static_cast<float>(p[3 * k + 2] * (S - 1) / 2.0));
    }
    const float* g = truth.row("gaze", t);
    for (int i = 0; i < 6; ++i) gaze_text += std::to_string(g[i]) + (i == 5 ? "\n" : " ");
  }
  write_bytes(work / "landmarks.npy", npy("<f4", "(" + std::to_string(clip.frames) + ", 68, 3)",
                                          std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * 4)));
  write_bytes(work / "gaze.txt", gaze_text);
  const fs::path out = work / "dataset";
  const Run ok = run_cli("prep --out '" + out.string() + "' --size 64 --frames '" + clip_dir.string() + "' --landmarks '" +
                             (work / "landmarks.npy").string() + "' --gaze '" + (work / "gaze.txt").string() +
                             "' --no-crop --identity synth7 --quiet",
                         work / "log.txt");
  INFO(ok.output);
  REQUIRE(ok.status == 0);
  const data::Manifest pm = data::read_manifest(out.string());
  REQUIRE(pm.clips.size() == 1);
  CHECK(pm.clips[0].frames == clip.frames);
  CHECK(pm.image_size == 64);
  const data::ClipAnnotations got = data::read_clip_annotations(
      (out / pm.clips[0].name / data::kAnnotationsName).string(), clip.frames, pm.annotations);
  double worst_kp = 0, worst_gaze = 0;
  std::vector<Eigen::Matrix3d> fit, exact;
  for (int t = 0; t < clip.frames; ++t) {
    fit.push_back(matrix(got.row("rotation", t)));
    exact.push_back(matrix(truth.row("rotation", t)));
    for (int i = 0; i < 204; ++i)
      worst_kp = std::max(worst_kp, static_cast<double>(std::abs(got.row("keypoints", t)[i] - truth.row("keypoints", t)[i])));
    for (int i = 0; i < 6; ++i)
      worst_gaze = std::max(worst_gaze, static_cast<double>(std::abs(got.row("gaze", t)[i] - truth.row("gaze", t)[i])));
    // The frames are the clip's own (a 64² frame resized to 64² is itself).
    CHECK(read_png((out / pm.clips[0].name / data::frame_filename(t)).string()).pixels ==
          read_png((clip_dir / data::frame_filename(t)).string()).pixels);
  }
  PoseErrors pose;
  pose.add(fit, exact);
  pose.check("freehead prep");
  MESSAGE("key-points back to " << worst_kp);
  // The canonical points against the head's own neutral ones (both in head units): on the
  // points the morphable fit reads, the fit's error; elsewhere also the median expression.
  double worst_shape = 0, worst_all = 0;
  const std::vector<int>& shape_points = data::shape_keypoints();
  for (int k = 0; k < 68; ++k) {
    const Eigen::Vector3d a(got.row("canonical", 0)[3 * k], got.row("canonical", 0)[3 * k + 1], got.row("canonical", 0)[3 * k + 2]);
    const Eigen::Vector3d b(truth.row("canonical", 0)[3 * k], truth.row("canonical", 0)[3 * k + 1], truth.row("canonical", 0)[3 * k + 2]);
    worst_all = std::max(worst_all, (a - b).norm());
    if (std::find(shape_points.begin(), shape_points.end(), k) != shape_points.end()) worst_shape = std::max(worst_shape, (a - b).norm());
  }
  MESSAGE("canonical points against the head's neutral ones: worst " << worst_shape << " on the fitted points, "
                                                                       << worst_all << " over all 68");
  // Half a percent of the inter-ocular distance (about 1 head unit): the morphable model's
  // linearisation is the only error on these points.
  CHECK(worst_shape < 0.005);
  // Key-points went to pixels and back through float32: a few units of 2^-24 of values near 1,
  // times the (S-1)/2 = 31.5 scale there and back.
  CHECK(worst_kp < 4 * 32 * std::ldexp(1.0, -24));
  CHECK(worst_gaze < 1e-5);  // six printed digits of a unit vector
  // With gaze come eye meshes that carry it (gaze_from_eye_mesh reads it back), and the
  // loader's eye-crop sampling, E_gaze's training input, reads the prepared data.
  double worst_mesh_deg = 0;
  for (int t = 0; t < clip.frames; ++t)
    for (int e = 0; e < 2; ++e) {
      const float* m = got.row("eye_mesh", t) + static_cast<size_t>(e) * geometry::kEyeVertices * 3;
      std::vector<double> xyz(m, m + geometry::kEyeVertices * 3);
      const Eigen::Vector3d g = geometry::gaze_from_eye_mesh(xyz.data()).normalized();
      const float* want = got.row("gaze", t) + 3 * e;
      worst_mesh_deg = std::max(worst_mesh_deg, geometry::rad_to_deg(std::acos(std::clamp(
                                                    g.dot(Eigen::Vector3d(want[0], want[1], want[2])), -1.0, 1.0))));
    }
  MESSAGE("gaze read back from the prepared eye meshes: worst " << worst_mesh_deg << " deg");
  CHECK(worst_mesh_deg < 0.1);  // the bar the synthetic ground truth's meshes meet (docs/data.md)
  data::LoaderOptions lo;
  lo.sampling = data::Sampling::EyeCrops;
  lo.batch_size = 4;
  lo.workers = 0;
  data::Loader loader(data::Dataset::open(out.string()), lo);
  const data::Batch b = loader.next();
  CHECK(b["image"].shape() == Shape({4, 64, 64, 3}));
  CHECK(b["eye_mesh"].shape() == Shape({4, geometry::kEyeVertices, 3}));

  // The same clip as an MP4, cropped around its landmarks (the default): the frame count
  // is the video's, and the poses are those of the key-points, which the crop only shifts
  // and scales (the same rotations).
  if (video_supported()) {
    {
      VideoWriterOptions vo;
      vo.fps = 25;
      VideoWriter w((work / "clip.mp4").string(), S, S, vo);
      for (int t = 0; t < clip.frames; ++t) w.write(read_png((clip_dir / data::frame_filename(t)).string(), 3));
      w.finish();
    }
    const fs::path out2 = work / "from-video";
    const Run v = run_cli("prep --out '" + out2.string() + "' --size 64 --frames '" + (work / "clip.mp4").string() +
                              "' --landmarks '" + (work / "landmarks.npy").string() + "' --quiet",
                          work / "log.txt");
    if (v.status != 0) MESSAGE(v.output);
    REQUIRE(v.status == 0);
    const data::Manifest vm = data::read_manifest(out2.string());
    REQUIRE(vm.clips.size() == 1);
    CHECK(vm.clips[0].frames == clip.frames);
    const data::ClipAnnotations va = data::read_clip_annotations(
        (out2 / vm.clips[0].name / data::kAnnotationsName).string(), clip.frames, vm.annotations);
    std::vector<Eigen::Matrix3d> vfit;
    for (int t = 0; t < clip.frames; ++t) vfit.push_back(matrix(va.row("rotation", t)));
    PoseErrors vpose;
    vpose.add(vfit, exact);
    vpose.check("freehead prep from an MP4, cropped");
    CHECK(!va.has("gaze"));  // no gaze file: left out
  }

  // Several clips by a list (paths relative to the list's folder): clips named by identity,
  // one canonical shape per identity.
  write_bytes(work / "clips.txt", "# identity frames landmarks gaze\nalice " + clip_dir.string() +
                                      " landmarks.npy gaze.txt\nbob " + clip_dir.string() +
                                      " landmarks.npy gaze.txt\nalice " + clip_dir.string() + " landmarks.npy gaze.txt\n");
  const Run listed = run_cli("prep --out '" + (work / "listed").string() + "' --size 64 --list '" +
                                 (work / "clips.txt").string() + "' --no-crop --quiet",
                             work / "log.txt");
  if (listed.status != 0) MESSAGE(listed.output);
  REQUIRE(listed.status == 0);
  const data::Manifest lm = data::read_manifest((work / "listed").string());
  REQUIRE(lm.clips.size() == 3);
  CHECK(lm.clips[0].name == "clips/alice_0");
  CHECK(lm.clips[1].name == "clips/alice_1");
  CHECK(lm.clips[2].name == "clips/bob_0");
  CHECK(lm.clips[2].identity == "bob");
  CHECK(listed.output.find("prepared 3 clip(s) of 2 identities") != std::string::npos);
  const Run mixed = run_cli("prep --out '" + (work / "bad0").string() + "' --list '" + (work / "clips.txt").string() +
                                "' --frames x --quiet",
                            work / "log.txt");
  CHECK(mixed.status == 2);
  CHECK(mixed.output.find("--list excludes --frames") != std::string::npos);

  // Bad landmarks: a wrong shape and a wrong frame count, each an error naming the file, and
  // no dataset left behind.
  std::vector<float> short_rows(pixels.begin(), pixels.begin() + 204 * (clip.frames - 1));
  write_bytes(work / "short.npy", npy("<f4", "(" + std::to_string(clip.frames - 1) + ", 68, 3)",
                                      std::string(reinterpret_cast<const char*>(short_rows.data()), short_rows.size() * 4)));
  const Run few = run_cli("prep --out '" + (work / "bad1").string() + "' --frames '" + clip_dir.string() + "' --landmarks '" +
                              (work / "short.npy").string() + "' --no-crop --quiet",
                          work / "log.txt");
  CHECK(few.status == 1);
  CHECK(few.output.find("has more frames than the 39 rows of '" + (work / "short.npy").string() + "'") != std::string::npos);
  CHECK_FALSE(fs::exists(work / "bad1"));
  write_bytes(work / "flat.npy", npy("<f4", "(" + std::to_string(clip.frames) + ", 68, 2)",
                                     std::string(static_cast<size_t>(clip.frames) * 68 * 2 * 4, '\0')));
  const Run flat = run_cli("prep --out '" + (work / "bad2").string() + "' --frames '" + clip_dir.string() + "' --landmarks '" +
                               (work / "flat.npy").string() + "' --quiet",
                           work / "log.txt");
  CHECK(flat.status == 1);
  CHECK(flat.output.find("[40,68,2]; [T,68,3] is expected") != std::string::npos);
  CHECK_FALSE(fs::exists(work / "bad2"));
  for (const auto& e : fs::directory_iterator(work)) CHECK(e.path().filename().string().find(".partial-") == std::string::npos);
}
