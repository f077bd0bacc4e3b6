// The dataset loader: batches equal the files, shuffling is seeded and covers each epoch,
// pairs come from one clip, eye crops follow the crop mapping, and prefetching threads
// change nothing but speed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "data/annotation.h"
#include "data/dataset_format.h"
#include "data/loader.h"
#include "data/synth.h"
#include "geometry/conventions.h"
#include "geometry/crops.h"
#include "io/image_io.h"
#include "tests/harness/tolerance.h"
#include "weights/safetensors.h"
#include "tests/harness/synthetic_dataset.h"

namespace fs = std::filesystem;
using namespace fh::data;

namespace {

// One small dataset shared by the loader tests (built on first use, removed at exit).
std::shared_ptr<Dataset> shared_dataset() {
  static fh::test::SyntheticDataset temp("loader-test", 2, 2, 4, 64, 42);
  static std::shared_ptr<Dataset> d = Dataset::open(temp.data);
  return d;
}

bool same_floats(const float* a, const float* b, int64_t n) { return std::equal(a, a + n, b); }

// Whether RGB image b (s × s, HWC) is a read right to left.
bool reversed_rows(const float* a, const float* b, int64_t s) {
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x)
      for (int c = 0; c < 3; ++c)
        if (b[(y * s + x) * 3 + c] != a[(y * s + s - 1 - x) * 3 + c]) return false;
  return true;
}

std::string key(const FrameRef& r) { return std::to_string(r.clip) + "/" + std::to_string(r.frame) + "/" + std::to_string(r.eye); }

}  // namespace

TEST_CASE("loader: frame batches equal the files they come from") {
  const auto d = shared_dataset();
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 1;
  o.workers = 2;
  Loader loader(d, o);
  CHECK(loader.items_per_epoch() == 16);
  CHECK(loader.batches_per_epoch() == 4);
  for (int i = 0; i < 5; ++i) {
    const Batch b = loader.next();
    CHECK(b.index == i);
    CHECK(b["image"].shape() == fh::Shape{4, 64, 64, 3});
    CHECK(b["keypoints"].shape() == fh::Shape{4, 68, 3});
    CHECK(b["eye_mesh"].shape() == fh::Shape{4, 2, fh::geometry::kEyeVertices, 3});
    CHECK(b["yaw"].shape() == fh::Shape{4});
    for (int k = 0; k < 4; ++k) {
      const FrameRef& r = b.targets[k];
      // Pixels: the PNG, read independently, mapped to [-1, 1].
      const fh::Tensor png = fh::image_to_tensor(fh::read_png(d->frame_path(r.clip, r.frame)));
      CHECK(same_floats(b["image"].data<float>() + k * 64 * 64 * 3, png.data<float>(), 64 * 64 * 3));
      // Annotations: the safetensors file, read independently.
      const auto file = fh::safetensors::load(d->annotations_path(r.clip));
      for (const char* name : {"keypoints", "yaw", "translation", "gaze", "eye_mesh", "identity", "expression"}) {
        const fh::Tensor& t = file.get(name);
        const int64_t n = t.numel() / t.size(0);
        INFO(name);
        CHECK(same_floats(b[name].data<float>() + k * n, t.data<float>() + r.frame * n, n));
      }
    }
  }
}

TEST_CASE("dataset: the frame cache keeps decoded frames within its budget and serves them unchanged") {
  // A dataset of its own: the test removes a frame's file to tell a cached read from a decode.
  fh::test::SyntheticDataset temp("frame-cache-test", 1, 1, 4, 64, 7);
  const auto d = Dataset::open(temp.data);
  const size_t frame_bytes = 64 * 64 * 3;
  const fh::Image first = d->frame(0, 0);
  CHECK(d->frame_cache_bytes() == 0);  // no cache by default
  d->set_frame_cache(2 * frame_bytes + frame_bytes / 2);  // room for two frames
  for (int t = 0; t < 4; ++t) d->frame(0, t);
  CHECK(d->frame_cache_bytes() == 2 * frame_bytes);  // first come, first kept; the budget holds
  // Frames 0 and 1 now come from memory, pixel for pixel; frame 2 is decoded again.
  fs::remove(d->frame_path(0, 0));
  fs::remove(d->frame_path(0, 2));
  const fh::Image again = d->frame(0, 0);
  CHECK(again.width == 64);
  CHECK(again.pixels == first.pixels);
  CHECK_THROWS_WITH(d->frame(0, 2), doctest::Contains("000002.png"));
  // A smaller budget drops what it cannot hold.
  d->set_frame_cache(0);
  CHECK(d->frame_cache_bytes() == 0);
  CHECK_THROWS(d->frame(0, 0));
}

TEST_CASE("loader: seeded shuffling covers each epoch once, workers and prefetch change nothing") {
  const auto d = shared_dataset();
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 5;
  o.workers = 0;
  Loader serial(d, o);
  o.workers = 3;
  o.prefetch = 2;
  Loader threaded(d, o);
  std::multiset<std::string> epoch0;
  std::vector<std::string> order0, order1;
  for (int i = 0; i < 8; ++i) {
    const Batch a = serial.next(), b = threaded.next();
    CHECK(a.targets.size() == 4);
    for (int k = 0; k < 4; ++k) {
      CHECK(key(a.targets[k]) == key(b.targets[k]));
      (i < 4 ? order0 : order1).push_back(key(a.targets[k]));
      if (i < 4) epoch0.insert(key(a.targets[k]));
    }
    CHECK(same_floats(a["image"].data<float>(), b["image"].data<float>(), a["image"].numel()));
  }
  // Epoch 0 holds every train frame once; epoch 1 is another order of the same frames.
  CHECK(epoch0.size() == 16);
  CHECK(std::set<std::string>(epoch0.begin(), epoch0.end()).size() == 16);
  CHECK(order0 != order1);
  CHECK(std::multiset<std::string>(order1.begin(), order1.end()) == epoch0);
  // Another seed gives another order; no shuffling keeps the manifest's order.
  o.seed = 6;
  CHECK(key(Loader(d, o).epoch_order(0)[0]) + key(Loader(d, o).epoch_order(0)[1]) != order0[0] + order0[1]);
  o.shuffle = false;
  o.workers = 0;
  const auto plain = Loader(d, o).epoch_order(3);
  CHECK(key(plain[0]) == "0/0/-1");
  CHECK(key(plain[5]) == "1/1/-1");
}

TEST_CASE("loader: pairs take M sources from the target's clip, distinct and other than the target") {
  const auto d = shared_dataset();
  LoaderOptions o;
  o.sampling = Sampling::Pairs;
  o.batch_size = 3;
  o.sources = 3;
  o.workers = 1;
  Loader loader(d, o);
  for (int i = 0; i < 4; ++i) {
    const Batch b = loader.next();
    CHECK(b["target.image"].shape() == fh::Shape{3, 64, 64, 3});
    CHECK(b["source.image"].shape() == fh::Shape{3, 3, 64, 64, 3});
    CHECK(b["source.keypoints"].shape() == fh::Shape{3, 3, 68, 3});
    CHECK(b["target.gaze"].shape() == fh::Shape{3, 2, 3});
    for (int k = 0; k < 3; ++k) {
      std::set<int> frames;
      for (int m = 0; m < 3; ++m) {
        const FrameRef& s = b.sources[k][m];
        CHECK(s.clip == b.targets[k].clip);
        CHECK(s.frame != b.targets[k].frame);
        frames.insert(s.frame);
        const fh::Tensor png = fh::image_to_tensor(fh::read_png(d->frame_path(s.clip, s.frame)));
        CHECK(same_floats(b["source.image"].data<float>() + (k * 3 + m) * 64 * 64 * 3, png.data<float>(), 64 * 64 * 3));
        const auto a = d->annotations(s.clip);
        CHECK(same_floats(b["source.keypoints"].data<float>() + (k * 3 + m) * 204, a->row("keypoints", s.frame), 204));
      }
      CHECK(frames.size() == 3);  // 4 frames per clip: the 3 others
    }
  }
}

TEST_CASE("loader: eye crops resample the frame around each eye and carry its mesh and gaze") {
  // The crop mapping on a linear ramp: bilinear sampling reproduces it exactly.
  const int h = 40, w = 50;
  fh::Tensor ramp = fh::Tensor::empty({h, w, 3});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) ramp.data<float>()[(y * w + x) * 3 + c] = static_cast<float>(0.5 * x + 0.25 * y + c);
  const int e = 9;
  std::vector<float> out(e * e * 3);
  crop_eye(ramp, 20.3, 17.8, 12.0, e, out.data());
  for (int j = 0; j < e; ++j)
    for (int i = 0; i < e; ++i) {
      const double x = 20.3 + (2.0 * i / (e - 1) - 1) * 6.0, y = 17.8 + (2.0 * j / (e - 1) - 1) * 6.0;
      CHECK(out[(j * e + i) * 3 + 1] == doctest::Approx(0.5 * x + 0.25 * y + 1).epsilon(1e-5));
    }

  const auto d = shared_dataset();
  LoaderOptions o;
  o.sampling = Sampling::EyeCrops;
  o.batch_size = 6;
  o.eye_size = 33;
  o.workers = 2;
  Loader loader(d, o);
  CHECK(loader.items_per_epoch() == 32);  // both eyes of 16 frames
  const Batch b = loader.next();
  CHECK(b["image"].shape() == fh::Shape{6, 33, 33, 3});
  CHECK(b["eye_mesh"].shape() == fh::Shape{6, fh::geometry::kEyeVertices, 3});
  for (int k = 0; k < 6; ++k) {
    const FrameRef& r = b.targets[k];
    REQUIRE(r.eye >= 0);
    const auto a = d->annotations(r.clip);
    const int64_t nv = fh::geometry::kEyeVertices * 3;
    CHECK(same_floats(b["eye_mesh"].data<float>() + k * nv, a->row("eye_mesh", r.frame) + r.eye * nv, nv));
    CHECK(same_floats(b["gaze"].data<float>() + k * 3, a->row("gaze", r.frame) + r.eye * 3, 3));
    CHECK(b["eye"].data<float>()[k] == r.eye);
    // Openness: the lid gap over the corner distance, from the key-points, and the head's yaw.
    const float* kp = a->row("keypoints", r.frame);
    const int o = r.eye == 0 ? 36 : 42;
    auto dist = [&](int i, int j) { return std::hypot(kp[3 * i] - kp[3 * j], kp[3 * i + 1] - kp[3 * j + 1]); };
    CHECK(b["eye_openness"].data<float>()[k] ==
          doctest::Approx(0.5 * (dist(o + 1, o + 5) + dist(o + 2, o + 4)) / dist(o, o + 3)).epsilon(1e-6));
    CHECK(b["head_yaw"].data<float>()[k] == *a->row("yaw", r.frame));
    // The crop's centre pixel samples the frame at the crop's centre.
    const float* crop = a->row("eye_crop", r.frame) + 3 * r.eye;
    const fh::Tensor frame = fh::image_to_tensor(d->frame(r.clip, r.frame));
    std::vector<float> one(3 * 3 * 3);
    crop_eye(frame, crop[0], crop[1], 1.0, 3, one.data());  // the middle of a 3x3 crop is the centre
    CHECK(same_floats(b["image"].data<float>() + (k * 33 * 33 + 16 * 33 + 16) * 3, one.data() + (1 * 3 + 1) * 3, 3));
    // The whole crop is the model's own eye crop (geometry/crops.h) at the stored box.
    const fh::Tensor box = fh::Tensor::from_vector(std::vector<double>{crop[0], crop[1], crop[2]}, {1, 1, 3});
    const fh::Tensor model_crop = fh::geometry::crop_boxes(frame, box, 33);  // frame is [1,H,W,3]
    CHECK(same_floats(b["image"].data<float>() + k * 33 * 33 * 3, model_crop.data<float>(), 33 * 33 * 3));
    // The eyeball's centre sits inside the crop, a little off its centre at most.
    std::vector<double> xyz(a->row("eye_mesh", r.frame) + r.eye * nv, a->row("eye_mesh", r.frame) + (r.eye + 1) * nv);
    const Eigen::Vector3d c = fh::geometry::eyeball_centre(xyz.data());
    CHECK(std::abs(c.x()) < 0.3);
    CHECK(std::abs(c.y()) < 0.3);
  }
  // Errors: eye crops need the eye annotations; a split must exist and hold a batch.
  LoaderOptions bad;
  bad.split = "holiday";
  CHECK_THROWS_WITH_AS(Loader(d, bad), doctest::Contains("no clips in split 'holiday'"), fh::Error);
  bad.split = "train";
  bad.batch_size = 100;
  CHECK_THROWS_WITH_AS(Loader(d, bad), doctest::Contains("fewer than one batch of 100"), fh::Error);
}

TEST_CASE("loader: mirrored eye crops are the crops reversed, with the mesh and gaze mirrored and the same draws") {
  const auto& partner = fh::geometry::mirrored_eye_vertices();
  for (int v = 0; v < fh::geometry::kEyeVertices; ++v) CHECK(partner[partner[v]] == v);
  // The template is its own mirror image under the renumbering: x negated, y and z kept.
  const auto& t = fh::geometry::eye_mesh_template();
  for (int v = 0; v < fh::geometry::kEyeVertices; ++v) {
    INFO("vertex " << v);
    CHECK((t.vertices[partner[v]] - Eigen::Vector3d(-t.vertices[v].x(), t.vertices[v].y(), t.vertices[v].z())).norm() <
          1e-12);
  }
  const auto d = shared_dataset();
  LoaderOptions o{
      .sampling = Sampling::EyeCrops, .batch_size = 16, .eye_size = 33, .eye_jitter = 0.05, .seed = 5, .workers = 0};
  Loader plain(d, o);
  o.mirror = true;
  Loader mirrored(d, o);
  const int64_t e = 33, nv = fh::geometry::kEyeVertices * 3;
  int flipped = 0;
  for (int i = 0; i < 2; ++i) {
    const Batch a = plain.next(), b = mirrored.next();
    for (int k = 0; k < 16; ++k) {
      CHECK(a.targets[k].clip == b.targets[k].clip);
      CHECK(a.targets[k].frame == b.targets[k].frame);
      CHECK(same_floats(a["eye_crop"].data<float>() + 3 * k, b["eye_crop"].data<float>() + 3 * k, 3));  // same jitter
      const float* ia = a["image"].data<float>() + k * e * e * 3;
      const float* ib = b["image"].data<float>() + k * e * e * 3;
      const float* ma = a["eye_mesh"].data<float>() + k * nv;
      const float* mb = b["eye_mesh"].data<float>() + k * nv;
      const float* ga = a["gaze"].data<float>() + 3 * k;
      const float* gb = b["gaze"].data<float>() + 3 * k;
      if (same_floats(ia, ib, e * e * 3)) {
        CHECK(same_floats(ma, mb, nv));
        CHECK(same_floats(ga, gb, 3));
        continue;
      }
      ++flipped;
      CHECK(reversed_rows(ia, ib, e));
      for (int v = 0; v < fh::geometry::kEyeVertices; ++v) {
        const float* from = ma + 3 * partner[v];
        CHECK((mb[3 * v] == -from[0] && mb[3 * v + 1] == from[1] && mb[3 * v + 2] == from[2]));
      }
      CHECK((gb[0] == -ga[0] && gb[1] == ga[1] && gb[2] == ga[2]));
      CHECK(b["eye"].data<float>()[k] == 1 - a["eye"].data<float>()[k]);
      CHECK(b["head_yaw"].data<float>()[k] == -a["head_yaw"].data<float>()[k]);
      // The mirrored mesh still gives the mirrored gaze (iris centre minus eyeball centre).
      std::vector<double> m(mb, mb + nv);
      const Eigen::Vector3d g = fh::geometry::gaze_from_eye_mesh(m.data());
      std::vector<double> m0(ma, ma + nv);
      const Eigen::Vector3d g0 = fh::geometry::gaze_from_eye_mesh(m0.data());
      CHECK((g - Eigen::Vector3d(-g0.x(), g0.y(), g0.z())).norm() < 1e-6);
    }
  }
  // About half of the 32 crops.
  CHECK(flipped >= 8);
  CHECK(flipped <= 24);
}

namespace {

// One item's row of every annotation a batch holds under `prefix` (`items` rows per tensor).
std::map<std::string, std::vector<float>> rows_of(const Batch& b, const std::string& prefix, int64_t slot,
                                                  int64_t items) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [key, t] : b.tensors) {
    if (key.rfind(prefix, 0) != 0 || key.find("image") != std::string::npos) continue;
    if (prefix.empty() && key.find('.') != std::string::npos) continue;
    const int64_t n = t.numel() / items;
    out[key.substr(prefix.size())] = std::vector<float>(t.data<float>() + slot * n, t.data<float>() + (slot + 1) * n);
  }
  return out;
}

}  // namespace

TEST_CASE("loader: mirrored frames and pairs are the frames reversed, every annotation mirrored, the same draws") {
  const auto d = shared_dataset();
  const int64_t s = 64, px = s * s * 3;
  int flipped = 0, items = 0;
  // Frames: each frame on its own.
  LoaderOptions o{.batch_size = 8, .seed = 9, .workers = 0};
  Loader plain(d, o);
  o.mirror = true;
  Loader mirrored(d, o);
  for (int i = 0; i < 3; ++i) {
    const Batch a = plain.next(), b = mirrored.next();
    REQUIRE(a.tensors.count("identity") == 1);
    // The generator's parameters describe the person before the mirror: not served.
    CHECK(b.tensors.count("identity") == 0);
    CHECK(b.tensors.count("expression") == 0);
    for (int k = 0; k < 8; ++k, ++items) {
      CHECK(key(a.targets[k]) == key(b.targets[k]));
      const float* ia = a["image"].data<float>() + k * px;
      const float* ib = b["image"].data<float>() + k * px;
      const bool flip = !same_floats(ia, ib, px);
      flipped += flip;
      if (flip) CHECK(reversed_rows(ia, ib, s));
      auto want = rows_of(a, "", k, 8);
      want.erase("identity"), want.erase("expression");
      if (flip)
        for (auto& [name, row] : want) mirror_annotation_row(name, row.data(), 64);
      CHECK(rows_of(b, "", k, 8) == want);
    }
  }
  // Pairs: a target and its two sources, one person in one mirror.
  LoaderOptions p{.sampling = Sampling::Pairs, .batch_size = 4, .sources = 2, .seed = 3, .workers = 0};
  Loader plain_pairs(d, p);
  p.mirror = true;
  Loader mirrored_pairs(d, p);
  for (int i = 0; i < 3; ++i) {
    const Batch a = plain_pairs.next(), b = mirrored_pairs.next();
    for (int k = 0; k < 4; ++k, ++items) {
      CHECK(key(a.targets[k]) == key(b.targets[k]));
      CHECK(key(a.sources[k][0]) == key(b.sources[k][0]));
      CHECK(key(a.sources[k][1]) == key(b.sources[k][1]));
      const bool flip =
          !same_floats(a["target.image"].data<float>() + k * px, b["target.image"].data<float>() + k * px, px);
      flipped += flip;
      const std::vector<std::pair<std::string, int64_t>> frames = {
          {"target.", k}, {"source.", 2 * k}, {"source.", 2 * k + 1}};
      for (const auto& [prefix, slot] : frames) {
        const int64_t n = prefix == "target." ? 4 : 8;
        const float* ia = a[prefix + "image"].data<float>() + slot * px;
        const float* ib = b[prefix + "image"].data<float>() + slot * px;
        CHECK((flip ? reversed_rows(ia, ib, s) : same_floats(ia, ib, px)));
        auto want = rows_of(a, prefix, slot, n);
        want.erase("identity"), want.erase("expression");
        if (flip)
          for (auto& [name, row] : want) mirror_annotation_row(name, row.data(), 64);
        CHECK(rows_of(b, prefix, slot, n) == want);
      }
    }
  }
  // About half of the 36 items.
  CHECK(flipped >= 9);
  CHECK(flipped <= 27);
}

TEST_CASE("loader: a mirrored frame's annotations agree with each other as the frame's own do") {
  namespace geo = fh::geometry;
  const auto d = shared_dataset();
  Loader loader(d, LoaderOptions{.batch_size = 16, .seed = 2, .workers = 0});
  const Batch b = loader.next();
  double worst_eq2 = 0, worst_rotation = 0, worst_gaze = 0, worst_gaze_head = 0, worst_crop = 0, worst_mesh = 0;
  for (int k = 0; k < 16; ++k) {
    const auto own = rows_of(b, "", k, 16);
    auto m = own;
    for (auto& [name, row] : m)
      if (annotation_has_mirror_image(name)) mirror_annotation_row(name, row.data(), 64);
    CHECK_THROWS_WITH_AS(mirror_annotation_row("identity", m.at("identity").data(), 64),
                         doctest::Contains("'identity' describes the person before the mirror"), fh::Error);
    // Mirroring twice gives the frame back.
    auto twice = m;
    for (auto& [name, row] : twice)
      if (annotation_has_mirror_image(name)) mirror_annotation_row(name, row.data(), 64);
    for (const auto& [name, row] : own) {
      INFO(name);
      if (name != "eye_crop") {
        CHECK(twice.at(name) == row);
        continue;
      }
      // S − 1 − x rounds to float once each way: back within an ulp of values below 64.
      for (size_t i = 0; i < row.size(); ++i) CHECK(std::abs(twice.at(name)[i] - row[i]) <= std::ldexp(1.0f, -18));
    }
    const auto v3 = [](const std::vector<float>& r, int i) {
      return Eigen::Vector3d(r[3 * i], r[3 * i + 1], r[3 * i + 2]);
    };
    Eigen::Matrix3d R;
    for (int i = 0; i < 9; ++i) R(i / 3, i % 3) = m.at("rotation")[i];
    // The angles give the rotation; Eq. 2 holds: p = s·R·p_can + t + d.
    const Eigen::Matrix3d from_angles = geo::rotation_from_euler(m.at("yaw")[0], m.at("pitch")[0], m.at("roll")[0]);
    worst_rotation = std::max(worst_rotation, (from_angles - R).cwiseAbs().maxCoeff());
    for (int i = 0; i < 68; ++i)
      worst_eq2 = std::max(worst_eq2, (m.at("scale")[0] * (R * v3(m.at("canonical"), i)) + v3(m.at("translation"), 0) +
                                       v3(m.at("deformation"), i) - v3(m.at("keypoints"), i)).norm());
    float kp[68][3];
    std::copy(m.at("keypoints").begin(), m.at("keypoints").end(), &kp[0][0]);
    for (int e = 0; e < 2; ++e) {
      const Eigen::Vector3d g = v3(m.at("gaze"), e);
      // Camera-frame angles, head-frame angles rotated by R, and the eye's crop from the points.
      const auto angles = [&](const char* name) {
        return geo::gaze_from_angles(m.at(name)[2 * e], m.at(name)[2 * e + 1]);
      };
      worst_gaze = std::max(worst_gaze, (angles("gaze_angles") - g).norm());
      worst_gaze_head = std::max(worst_gaze_head, (R * angles("gaze_head") - g).norm());
      const std::array<double, 3> box = eye_crop_from_keypoints(kp, e, 64);
      for (int i = 0; i < 3; ++i) worst_crop = std::max(worst_crop, std::abs(box[i] - m.at("eye_crop")[3 * e + i]));
      // The eye's mesh: iris centre minus eyeball centre is the mirrored gaze, as closely as
      // the other eye's own mesh gives its gaze (the mesh is in crop coordinates: y down).
      const auto mesh_gaze = [&](const std::vector<float>& mesh, const std::vector<float>& gaze, int eye) {
        const int64_t nv = geo::kEyeVertices * 3;
        const std::vector<double> xyz(mesh.begin() + eye * nv, mesh.begin() + (eye + 1) * nv);
        return geo::gaze_from_eye_mesh(xyz.data()).normalized().dot(v3(gaze, eye));
      };
      worst_mesh = std::max(worst_mesh, std::abs(mesh_gaze(m.at("eye_mesh"), m.at("gaze"), e) -
                                                 mesh_gaze(own.at("eye_mesh"), own.at("gaze"), 1 - e)));
    }
  }
  MESSAGE("mirrored annotations: rotation vs angles " << worst_rotation << ", Eq. 2 " << worst_eq2
                                                     << ", gaze vs angles " << worst_gaze << ", head-frame gaze "
                                                     << worst_gaze_head << ", crop " << worst_crop << " px, mesh "
                                                     << worst_mesh);
  // float32 rows of values below 2: a few units of 2^-24 each, summed over a handful of terms.
  CHECK(worst_rotation < 1e-6);
  CHECK(worst_eq2 < 1e-6);
  CHECK(worst_gaze < 1e-6);
  CHECK(worst_gaze_head < 1e-6);
  CHECK(worst_crop < 1e-4);  // pixels: values near 64
  CHECK(worst_mesh < 1e-6);
}

TEST_CASE("loader: jittered eye crops move the box, and the mesh follows into the moved crop") {
  const auto d = shared_dataset();
  LoaderOptions o;
  o.sampling = Sampling::EyeCrops;
  o.batch_size = 8;
  o.eye_size = 21;
  o.workers = 0;
  const Batch plain = Loader(d, o).make_batch(3);
  o.eye_jitter = 0.1;
  const Batch moved = Loader(d, o).make_batch(3), again = Loader(d, o).make_batch(3);
  CHECK(same_floats(moved["image"].data<float>(), again["image"].data<float>(), moved["image"].numel()));
  const int s = d->image_size();
  const int64_t nv = fh::geometry::kEyeVertices * 3;
  double largest_shift = 0;
  for (int k = 0; k < 8; ++k) {
    REQUIRE(key(plain.targets[k]) == key(moved.targets[k]));
    const float* tb = plain["eye_crop"].data<float>() + 3 * k;
    const float* mb = moved["eye_crop"].data<float>() + 3 * k;
    largest_shift = std::max(largest_shift, std::abs(double(tb[0]) - mb[0]) / tb[2]);
    // The crop pictures the moved box (the model's own crop at the batch's box).
    const fh::Tensor frame = fh::image_to_tensor(d->frame(moved.targets[k].clip, moved.targets[k].frame));
    const fh::Tensor box = fh::Tensor::from_vector(std::vector<double>{mb[0], mb[1], mb[2]}, {1, 1, 3});
    CHECK(same_floats(moved["image"].data<float>() + k * 21 * 21 * 3,
                      fh::geometry::crop_boxes(frame, box, 21).data<float>(), 21 * 21 * 3));
    // Each mesh vertex, mapped back to the image through its own box, lands on the same image
    // point: the mesh describes the same eye in the moved crop's coordinates.
    const auto back = [&](const float* m, const float* b, int v) {
      const fh::geometry::CropAffine a = fh::geometry::image_to_crop_affine({b[0], b[1], b[2]}, s, s);
      return std::array<double, 3>{(m[3 * v] - a.bx) / a.ax, (m[3 * v + 1] - a.by) / a.ay, m[3 * v + 2] / a.ax};
    };
    const float* pm = plain["eye_mesh"].data<float>() + k * nv;
    const float* mm = moved["eye_mesh"].data<float>() + k * nv;
    double worst = 0;
    for (int v = 0; v < fh::geometry::kEyeVertices; ++v) {
      const auto p = back(pm, tb, v), m = back(mm, mb, v);
      for (int i = 0; i < 3; ++i) worst = std::max(worst, std::abs(p[i] - m[i]));
    }
    CHECK(worst < 1e-5);  // float32 rounding of coordinates of order 1
    // The gaze (a direction) is unchanged by the crop's shift and uniform scale.
    CHECK(same_floats(plain["gaze"].data<float>() + 3 * k, moved["gaze"].data<float>() + 3 * k, 3));
  }
  CHECK(largest_shift > 0.02);  // the boxes did move (sd 0.1 of the side over 8 crops)
}

TEST_CASE("loader: without 'eye_crop' the eye crops come from the key-points") {
  // The shared dataset with 'eye_crop' dropped from the manifest and the annotation files:
  // the sampler computes each box from the stored key-points, which gives the stored box to
  // float rounding.
  const auto d = shared_dataset();
  const fs::path dir = fs::temp_directory_path() / ("fh-loader-nocrop-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(d->dir(), dir, fs::copy_options::recursive);
  Manifest m = d->manifest();
  m.annotations.erase(std::find(m.annotations.begin(), m.annotations.end(), "eye_crop"));
  write_manifest(dir.string(), m);
  const auto no_crop = Dataset::open(dir.string());
  for (int c = 0; c < no_crop->num_clips(); ++c) {
    fh::safetensors::NamedTensors kept;
    for (const auto& [name, t] : fh::safetensors::load(no_crop->annotations_path(c)).tensors)
      if (name != "eye_crop") kept.emplace_back(name, t);
    fh::safetensors::save(no_crop->annotations_path(c), kept);
  }
  REQUIRE(!no_crop->annotations(0)->has("eye_crop"));

  LoaderOptions o;
  o.sampling = Sampling::EyeCrops;
  o.batch_size = 8;
  o.eye_size = 17;
  o.workers = 0;
  const Batch b = Loader(no_crop, o).next(), with_crop = Loader(d, o).next();
  for (int k = 0; k < 8; ++k) {
    REQUIRE(key(b.targets[k]) == key(with_crop.targets[k]));
    for (int i = 0; i < 3; ++i)
      CHECK(b["eye_crop"].data<float>()[3 * k + i] ==
            doctest::Approx(with_crop["eye_crop"].data<float>()[3 * k + i]).epsilon(1e-5));
  }
  FH_CHECK_CLOSE(b["image"], with_crop["image"], (fh::test::Tolerance{1e-3, 0}), "eye crops");
  fs::remove_all(dir);
}

TEST_CASE("loader: an eye-only dataset (crops as frames, one eye slot) feeds the eye-crop sampler") {
  // A gaze dataset converted as docs/data.md describes: each frame is an eye crop, slot 0
  // covers the whole frame, slot 1 is absent (side 0).
  const fs::path dir = fs::temp_directory_path() / ("fh-eyes-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "eyes/p00");
  const int s = 24, frames = 3;
  std::vector<float> crop(frames * 2 * 3, 0.f), mesh(frames * 2 * fh::geometry::kEyeVertices * 3, 0.f), gaze(frames * 2 * 3, 0.f);
  for (int t = 0; t < frames; ++t) {
    fh::Image img(s, s, 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 7 + t * 31) % 256);
    fh::write_png((dir / "eyes/p00" / frame_filename(t)).string(), img);
    crop[t * 6 + 0] = crop[t * 6 + 1] = 0.5f * (s - 1);
    crop[t * 6 + 2] = static_cast<float>(s - 1);
    for (int v = 0; v < fh::geometry::kEyeVertices * 3; ++v) mesh[t * 2 * fh::geometry::kEyeVertices * 3 + v] = 0.01f * v + t;
    gaze[t * 6 + 2] = -1.f;
  }
  fh::safetensors::save((dir / "eyes/p00" / kAnnotationsName).string(),
                        {{"eye_crop", fh::Tensor::from_vector(crop, {frames, 2, 3})},
                         {"eye_mesh", fh::Tensor::from_vector(mesh, {frames, 2, fh::geometry::kEyeVertices, 3})},
                         {"gaze", fh::Tensor::from_vector(gaze, {frames, 2, 3})}});
  Manifest m;
  m.image_size = s;
  m.annotations = {"eye_crop", "eye_mesh", "gaze"};
  m.clips.push_back({"eyes/p00", "p00", frames, "train"});
  write_manifest(dir.string(), m);

  LoaderOptions o;
  o.sampling = Sampling::EyeCrops;
  o.eye_size = s;  // the crop is the frame itself
  o.batch_size = 3;
  o.shuffle = false;
  o.workers = 0;
  const auto d = Dataset::open(dir.string());
  Loader loader(d, o);
  CHECK(loader.items_per_epoch() == 3);
  const Batch b = loader.next();
  for (int t = 0; t < frames; ++t) {
    CHECK(b.targets[t].eye == 0);
    const fh::Tensor png = fh::image_to_tensor(d->frame(0, t));
    for (int64_t i = 0; i < s * s * 3; ++i)
      REQUIRE(b["image"].data<float>()[t * s * s * 3 + i] == doctest::Approx(png.data<float>()[i]).epsilon(1e-6));
    CHECK(b["eye_mesh"].data<float>()[t * fh::geometry::kEyeVertices * 3] == static_cast<float>(t));
  }
  fs::remove_all(dir);
}

TEST_CASE("loader: K shards of a batch, side by side, are the global batch bit for bit (data-parallel training)") {
  const auto d = shared_dataset();
  struct Case {
    const char* what;
    LoaderOptions o;
  };
  std::vector<Case> cases;
  LoaderOptions frames;
  frames.batch_size = 4;
  frames.seed = 5;
  cases.push_back({"frames", frames});
  LoaderOptions pairs = frames;
  pairs.sampling = Sampling::Pairs;
  pairs.sources = 2;
  pairs.min_gap = 2;
  cases.push_back({"pairs", pairs});
  LoaderOptions eyes = frames;
  eyes.sampling = Sampling::EyeCrops;
  eyes.batch_size = 8;
  eyes.eye_size = 16;
  eyes.eye_jitter = 0.1;  // per-item random streams: keyed by the item's slot in the global batch
  cases.push_back({"eye crops", eyes});
  for (Case& c : cases) {
    CAPTURE(c.what);
    c.o.workers = 0;
    Loader whole(d, c.o);
    for (int shards : {2, 4}) {
      CAPTURE(shards);
      std::vector<std::unique_ptr<Loader>> parts;
      for (int k = 0; k < shards; ++k) {
        LoaderOptions o = c.o;
        o.shards = shards;
        o.shard = k;
        parts.push_back(std::make_unique<Loader>(d, o));
      }
      // Batches 0 … 5 cross an epoch boundary (4 batches per epoch).
      for (int64_t i = 0; i < 6; ++i) {
        const Batch g = whole.make_batch(i);
        const int64_t per = c.o.batch_size / shards;
        for (int k = 0; k < shards; ++k) {
          const Batch s = parts[static_cast<size_t>(k)]->make_batch(i);
          CHECK(s.index == i);
          CHECK(s.epoch == g.epoch);
          REQUIRE(s.targets.size() == static_cast<size_t>(per));
          for (int64_t j = 0; j < per; ++j) {
            CHECK(key(s.targets[j]) == key(g.targets[k * per + j]));
            if (!g.sources.empty())
              for (size_t m = 0; m < g.sources[k * per + j].size(); ++m)
                CHECK(key(s.sources[j][m]) == key(g.sources[k * per + j][m]));
          }
          for (const auto& [name, t] : g.tensors) {
            CAPTURE(name);
            const fh::Tensor& st = s[name];
            REQUIRE(st.size(0) == per);
            const int64_t row = t.numel() / t.size(0);
            CHECK(same_floats(st.data<float>(), t.data<float>() + k * per * row, per * row));
          }
        }
      }
    }
  }
}

TEST_CASE("loader: a batch that does not split into the shards, or a shard that does not exist, is an error") {
  const auto d = shared_dataset();
  LoaderOptions o;
  o.batch_size = 6;
  o.shards = 4;
  o.workers = 0;
  CHECK_THROWS_WITH_AS(Loader(d, o), doctest::Contains("the batch of 6 does not split into 4 equal shards"), fh::Error);
  o.shards = 2;
  o.shard = 2;
  CHECK_THROWS_WITH_AS(Loader(d, o), doctest::Contains("shard 2 of 2 shards does not exist"), fh::Error);
}
