// The synthetic dataset on disk: identical bytes for identical options (whatever the thread
// count), clips that vary smoothly, exact evaluation triples, the manifest and splits, and
// refusal of damaged files with messages naming them.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "data/dataset_format.h"
#include "data/loader.h"
#include "data/sequence.h"
#include "data/synth.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "runtime/thread_pool.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;
using namespace fh::data;

namespace {

fs::path data_temp(const std::string& name) {
  // Each test removes its folder when it ends.
  const fs::path dir = fs::temp_directory_path() / ("fh-data-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

SynthOptions small_options(const fs::path& dir, uint64_t seed) {
  SynthOptions o;
  o.out = dir.string();
  o.identities = 3;
  o.clips_per_identity = 1;
  o.frames = 3;
  o.size = 64;
  o.seed = seed;
  o.pairs = 2;
  o.progress = false;
  return o;
}

// Every file under `dir` (relative path → bytes).
std::map<std::string, std::vector<unsigned char>> files_under(const fs::path& dir) {
  std::map<std::string, std::vector<unsigned char>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = fh::read_file_bytes(e.path().string(), "test");
  return out;
}

}  // namespace

TEST_CASE("synth: identical options give identical bytes on 1 and 2 threads, another seed differs") {
  const int before = fh::num_threads();
  const fs::path a = data_temp("same-a"), b = data_temp("same-b"), c = data_temp("same-c");
  fh::set_num_threads(2);
  synthesize(small_options(a, 7));
  fh::set_num_threads(1);
  synthesize(small_options(b, 7));
  fh::set_num_threads(before);
  synthesize(small_options(c, 8));
  const auto fa = files_under(a), fb = files_under(b), fc = files_under(c);
  // 3 clips and 3 triple roles, each with 3 or 2 frames and annotations, + manifest and sheet.
  CHECK(fa.size() == 3 * (3 + 1) + 3 * (2 + 1) + 2);
  CHECK(fa.count("manifest.json") == 1);
  CHECK(fa.count("contact_sheet.png") == 1);
  CHECK(fa.count("clips/id0000_c00/000002.png") == 1);
  CHECK(fa.count("triples/target/annotations.safetensors") == 1);
  bool all_equal = fa.size() == fb.size();
  for (const auto& [name, bytes] : fa) {
    const auto it = fb.find(name);
    const bool same = it != fb.end() && it->second == bytes;
    if (!same) INFO("differs: " << name);
    CHECK(same);
    all_equal = all_equal && same;
  }
  CHECK(all_equal);
  CHECK(fa.at("clips/id0000_c00/000000.png") != fc.at("clips/id0000_c00/000000.png"));
  CHECK(fa.at("clips/id0000_c00/annotations.safetensors") != fc.at("clips/id0000_c00/annotations.safetensors"));
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

TEST_CASE("synth: the manifest lists clips, splits by identity and triples, and its files validate") {
  const fs::path dir = data_temp("manifest");
  SynthOptions o = small_options(dir, 3);
  o.identities = 12;
  o.frames = 2;
  o.pairs = 3;
  synthesize(o);
  const auto d = Dataset::open(dir.string());
  const Manifest& m = d->manifest();
  CHECK(m.image_size == 64);
  CHECK(m.clips.size() == 12 + 3);
  CHECK(m.identity_params.size() == static_cast<size_t>(kIdentityParams));
  CHECK(m.expression_params.size() == static_cast<size_t>(kExpressionParams));
  const auto splits = m.splits();
  CHECK(splits.at("train").size() == 10);
  CHECK(splits.at("val") == std::vector<std::string>{"clips/id0010_c00"});
  CHECK(splits.at("test") == std::vector<std::string>{"clips/id0011_c00"});
  CHECK(splits.at("triples").size() == 3);
  REQUIRE(m.triples.size() == 3);
  for (const auto& t : m.triples) {
    // One held-out identity is too few for pairs, so triples draw from every identity.
    CHECK(t.source_identity != t.driver_identity);
    CHECK(t.source_frame < 2);
  }
  d->validate(true);
  // The manifest round-trips through its JSON form.
  const Manifest again = Manifest::from_json(m.to_json(), "round trip");
  CHECK(again.to_json().dump() == m.to_json().dump());
  fs::remove_all(dir);
}

TEST_CASE("synth: a clip varies smoothly and keeps one identity, triples render A with B's motion") {
  const ClipScript script(21, 4, 1, 200);
  double worst_yaw = 0, worst_scale = 0;
  for (int t = 1; t < 200; ++t) {
    const FrameParams a = script.frame(t - 1), b = script.frame(t);
    worst_yaw = std::max({worst_yaw, std::abs(a.pose.yaw - b.pose.yaw), std::abs(a.pose.pitch - b.pose.pitch),
                          std::abs(a.pose.roll - b.pose.roll)});
    worst_scale = std::max(worst_scale, std::abs(a.pose.scale - b.pose.scale));
    CHECK(std::abs(b.pose.yaw) <= fh::geometry::deg_to_rad(45));
    CHECK(std::abs(b.pose.pitch) <= fh::geometry::deg_to_rad(25));
    CHECK(std::abs(b.pose.roll) <= fh::geometry::deg_to_rad(20));
    for (const auto& g : b.gaze) {
      CHECK(std::abs(g.phi) <= fh::geometry::deg_to_rad(35) + 1e-12);
      CHECK(std::abs(g.theta) <= fh::geometry::deg_to_rad(25) + 1e-12);
    }
  }
  CHECK(worst_yaw < fh::geometry::deg_to_rad(2));
  CHECK(worst_scale < 0.005);

  const fs::path dir = data_temp("triples");
  SynthOptions o = small_options(dir, 5);
  o.frames = 4;
  synthesize(o);
  const auto d = Dataset::open(dir.string());
  const auto src = d->annotations(d->clip_index("triples/source"));
  const auto drv = d->annotations(d->clip_index("triples/driver"));
  const auto tgt = d->annotations(d->clip_index("triples/target"));
  for (int i = 0; i < o.pairs; ++i) {
    const TripleEntry& t = d->manifest().triples[i];
    // The source and driver are frames of their clips.
    const auto clip_a = d->annotations(d->clip_index(clip_name(t.source_identity, t.source_clip)));
    const auto clip_b = d->annotations(d->clip_index(clip_name(t.driver_identity, t.driver_clip)));
    for (const char* name : {"keypoints", "eye_mesh", "identity"}) {
      const int64_t n = src->row_size(name);
      CHECK(std::equal(src->row(name, i), src->row(name, i) + n, clip_a->row(name, t.source_frame)));
      CHECK(std::equal(drv->row(name, i), drv->row(name, i) + n, clip_b->row(name, t.driver_frame)));
    }
    CHECK(fh::read_file_bytes(d->frame_path(d->clip_index("triples/source"), i), "t") ==
          fh::read_file_bytes(d->frame_path(d->clip_index(clip_name(t.source_identity, t.source_clip)), t.source_frame), "t"));
    // The target: A's identity and canonical face, B's pose, expression and gaze.
    for (const char* name : {"identity", "canonical", "lighting"})
      CHECK(std::equal(tgt->row(name, i), tgt->row(name, i) + tgt->row_size(name), src->row(name, i)));
    for (const char* name : {"yaw", "pitch", "roll", "translation", "scale", "expression", "gaze_head", "gaze"})
      CHECK(std::equal(tgt->row(name, i), tgt->row(name, i) + tgt->row_size(name), drv->row(name, i)));
    CHECK(!std::equal(tgt->row("keypoints", i), tgt->row("keypoints", i) + 204, drv->row("keypoints", i)));
  }
  fs::remove_all(dir);
}

TEST_CASE("dataset: a truncated PNG is refused with a message naming the file") {
  const fs::path dir = data_temp("truncated");
  synthesize(small_options(dir, 9));
  const auto d = Dataset::open(dir.string());
  const int clip = d->clip_index("clips/id0001_c00");
  const std::string frame = d->frame_path(clip, 1);
  const auto bytes = fh::read_file_bytes(frame, "test");
  fh::write_file_atomic(frame, std::string(bytes.begin(), bytes.begin() + bytes.size() / 2), "test");
  CHECK_THROWS_WITH_AS(d->frame(clip, 1), doctest::Contains("clips/id0001_c00/000001.png"), fh::Error);
  CHECK_THROWS_WITH_AS(d->validate(true), doctest::Contains("000001.png"), fh::Error);
  // Through the loader: the worker's error reaches the consumer.
  LoaderOptions lo;
  lo.split = "val";   // id0001 is the validation identity of three
  lo.batch_size = 3;  // all its frames in one batch
  lo.workers = 2;
  Loader loader(d, lo);
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("000001.png"), fh::Error);
  // A frame of the wrong size is refused too.
  fh::write_png(frame, fh::Image(32, 32, 3));
  CHECK_THROWS_WITH_AS(d->frame(clip, 1), doctest::Contains("is 32x32, expected 64x64"), fh::Error);
  fs::remove_all(dir);
}

TEST_CASE("dataset: annotation files with a wrong shape, a missing tensor or a NaN are refused naming the file") {
  const fs::path dir = data_temp("shapes");
  synthesize(small_options(dir, 10));
  const auto d = Dataset::open(dir.string());
  const int clip = d->clip_index("clips/id0002_c00");
  const std::string path = d->annotations_path(clip);
  const auto original = fh::safetensors::load(path);
  auto rewrite = [&](const std::function<void(fh::safetensors::NamedTensors&)>& edit) {
    fh::safetensors::NamedTensors t = original.tensors;
    edit(t);
    fh::safetensors::save(path, t);
  };
  auto fresh = [&] { return Dataset::open(dir.string()); };  // no cached annotations

  rewrite([](fh::safetensors::NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "keypoints") tensor = fh::Tensor::zeros({3, 67, 3});
  });
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("id0002_c00/annotations.safetensors"), fh::Error);
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("tensor 'keypoints' has shape [3, 67, 3]"), fh::Error);
  rewrite([](fh::safetensors::NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "eye_mesh") tensor = fh::Tensor::zeros({2, 2, 482, 3});  // two frames, not three
  });
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("'eye_mesh' has shape [2, 2, 482, 3]"), fh::Error);
  rewrite([](fh::safetensors::NamedTensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const auto& p) { return p.first == "gaze"; }), t.end());
  });
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("lacks the tensor 'gaze'"), fh::Error);
  rewrite([](fh::safetensors::NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "yaw") tensor = tensor.to(fh::DType::F64);
  });
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("expected float32"), fh::Error);
  rewrite([](fh::safetensors::NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "scale") {
        tensor = tensor.clone();
        tensor.data<float>()[1] = std::nanf("");
      }
  });
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("non-finite"), fh::Error);
  // A truncated annotation file.
  const auto bytes = fh::read_file_bytes(path, "test");
  fh::write_file_atomic(path, std::string(bytes.begin(), bytes.end() - 100), "test");
  CHECK_THROWS_WITH_AS(fresh()->annotations(clip), doctest::Contains("annotations.safetensors"), fh::Error);
  fs::remove_all(dir);
}

TEST_CASE("dataset: manifest errors name the manifest and the field") {
  const fs::path dir = data_temp("manifest-errors");
  const std::string path = (dir / "manifest.json").string();
  auto expect = [&](const std::string& text, const std::string& message) {
    fh::write_file_atomic(path, text, "test");
    CHECK_THROWS_WITH_AS(Dataset::open(dir.string()), doctest::Contains(message.c_str()), fh::Error);
    CHECK_THROWS_WITH_AS(Dataset::open(dir.string()), doctest::Contains("manifest.json"), fh::Error);
  };
  expect("{\"format\": \"other\"}", "format is 'other'");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, \"image_size\": 64, \"annotations\": [\"keypoints\"]}",
         "missing field 'clips'");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, \"image_size\": 64, \"annotations\": [\"shoes\"], "
         "\"clips\": []}",
         "unknown annotation 'shoes'");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, \"image_size\": 64, \"annotations\": [\"keypoints\"], "
         "\"clips\": [{\"name\": \"a\", \"identity\": \"x\", \"frames\": 2, \"split\": \"train\"}, "
         "{\"name\": \"a\", \"identity\": \"y\", \"frames\": 2, \"split\": \"train\"}]}",
         "clip 'a' is listed twice");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, \"image_size\": 64, \"annotations\": [\"keypoints\"], "
         "\"clips\": [{\"name\": \"../up\", \"identity\": \"x\", \"frames\": 2, \"split\": \"train\"}]}",
         "must be a relative path");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, \"image_size\": 64, \"annotations\": [\"keypoints\"], "
         "\"clips\": [], \"triples\": [{\"source\": [4294967296, 0, 0], \"driver\": [1, 0, 0]}]}",
         "a triple's source holds 4294967296, out of range");
  expect("{\"format\": \"freehead-dataset\", \"version\": 1, ", "manifest.json");
  fs::remove_all(dir);
}

TEST_CASE("synth: triples need two people, and absurd totals are refused before any work") {
  const fs::path dir = data_temp("refused");
  SynthOptions o = small_options(dir, 1);
  o.identities = 1;
  o.pairs = 2;
  CHECK_THROWS_WITH_AS(synthesize(o), doctest::Contains("--pairs needs at least 2 --identities"), fh::Error);
  o = small_options(dir, 1);
  o.identities = 1000000;
  o.clips_per_identity = 10000;
  CHECK_THROWS_WITH_AS(synthesize(o), doctest::Contains("clips; at most 1000000 are supported"), fh::Error);
  o = small_options(dir, 1);
  o.identities = 100000;
  o.clips_per_identity = 10;
  o.frames = 100000;
  CHECK_THROWS_WITH_AS(synthesize(o), doctest::Contains("images (clips × --frames + 3 × --pairs)"), fh::Error);
  CHECK_FALSE(fs::exists(dir / "manifest.json"));
  fs::remove_all(dir);
}
