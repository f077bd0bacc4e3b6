// The evaluation (eval/): its image metrics against an independent implementation
// (scikit-image through tools/reference/image_metrics.py), its angle and point metrics on
// cases with known answers, the best/worst case keeper, and the tables on a small synthetic
// dataset — deterministic, with their baselines, and clear errors for inputs that cannot be
// scored.
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "eval/case_grid.h"
#include "eval/evaluation.h"
#include "eval/metrics.h"
#include "geometry/conventions.h"
#include "pipeline/reenactor.h"
#include "runtime/error.h"
#include "tests/harness/oracle.h"
#include "tests/harness/scratch.h"
#include "tests/harness/synthetic_dataset.h"
#include "weights/json.h"

namespace fs = std::filesystem;
using namespace fh;

namespace {

using fh::test::TempDir;
using fh::test::error_of;

constexpr double kEps = std::numeric_limits<double>::epsilon();

// A deterministic picture: `kind` 0 noise, 1 a smooth gradient with a disc, 2 flat grey.
Image picture(int w, int h, int kind, uint64_t seed) {
  Image img(w, h, 3);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int v = 128;
        if (kind == 0) v = static_cast<int>(s >> 56);
        if (kind == 1) v = (x * 255 / w + y * 97 / h + c * 40 + ((x - w / 2) * (x - w / 2) + (y - h / 3) * (y - h / 3) < 90 ? 80 : 0)) % 256;
        img.at(x, y)[c] = static_cast<uint8_t>(v);
      }
  return img;
}

// `img` with seeded noise of amplitude `amp` added (clamped).
Image perturbed(const Image& img, int amp, uint64_t seed) {
  Image out = img;
  uint64_t s = seed;
  for (uint8_t& p : out.pixels) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const int d = static_cast<int>((s >> 33) % static_cast<uint64_t>(2 * amp + 1)) - amp;
    p = static_cast<uint8_t>(std::clamp(int(p) + d, 0, 255));
  }
  return out;
}

bool skimage_available(std::string& why) {
  try {
    test::run_python({"-c", "import skimage.metrics, PIL"});
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

}  // namespace

TEST_CASE("eval metrics: L1, PSNR and SSIM match scikit-image") {
  std::string why;
  if (!skimage_available(why)) {
    MESSAGE("[fh skip] scikit-image unavailable: " << why);
    return;
  }
  // Pairs of every kind the evaluation meets: noise against its perturbation, a smooth picture
  // against a slightly and a strongly perturbed copy, a flat picture against a textured one,
  // one pixel changed, and a size that is not square.
  std::vector<std::pair<Image, Image>> pairs;
  const Image noise = picture(64, 64, 0, 1), smooth = picture(64, 64, 1, 2), flat = picture(64, 64, 2, 3);
  pairs.emplace_back(noise, perturbed(noise, 20, 4));
  pairs.emplace_back(smooth, perturbed(smooth, 3, 5));
  pairs.emplace_back(smooth, perturbed(smooth, 90, 6));
  pairs.emplace_back(flat, smooth);
  Image one = smooth;
  one.at(10, 20)[1] ^= 0x40;
  pairs.emplace_back(smooth, one);
  const Image wide = picture(48, 40, 1, 7);
  pairs.emplace_back(wide, perturbed(wide, 12, 8));

  TempDir dir("eval-metrics");
  std::vector<std::string> args{(fs::path(test::reference_dir()) / "image_metrics.py").string(),
                                (dir.path / "out.json").string()};
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::string a = (dir.path / ("a" + std::to_string(i) + ".png")).string();
    const std::string b = (dir.path / ("b" + std::to_string(i) + ".png")).string();
    write_png(a, pairs[i].first);
    write_png(b, pairs[i].second);
    args.push_back(a);
    args.push_back(b);
  }
  test::run_python(args);
  std::ifstream in(dir.path / "out.json");
  std::stringstream text;
  text << in.rdbuf();
  const json::Value ref = json::parse(text.str(), "image_metrics.py output");

  // Tolerances from the computations, both in float64:
  //   L1: sums of integers (exact), one division each side → a few ε relative.
  //   PSNR: the squared errors sum exactly; log10 of the same quotient → 10/ln10 · a few ε dB.
  //   SSIM: each local moment is a weighted sum of 121 terms of at most 255² (error ≲ 64ε·255²
  //   per moment, the variance's cancellation included); the quotient's denominators are at
  //   least C2 = (0.03·255)², so each map value moves by ≲ 64ε·255²/C2, and so does the mean.
  const double l1_rtol = 4 * kEps, psnr_atol = 10 / std::log(10.0) * 16 * kEps;
  const double ssim_atol = 64 * kEps * 255.0 * 255.0 / ((0.03 * 255) * (0.03 * 255));
  double worst_ssim = 0, worst_psnr = 0, worst_l1 = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& r = ref.as_array("image_metrics.py output")[i];
    const double l1 = eval::l1_255(pairs[i].first, pairs[i].second);
    const double ps = eval::psnr(pairs[i].first, pairs[i].second);
    const double ss = eval::ssim(pairs[i].first, pairs[i].second);
    const double rl1 = r.find("l1")->as_double("l1"), rps = r.find("psnr")->as_double("psnr"),
                 rss = r.find("ssim")->as_double("ssim");
    worst_l1 = std::max(worst_l1, std::abs(l1 - rl1) / (l1_rtol * std::abs(rl1) + 1e-300));
    worst_psnr = std::max(worst_psnr, std::abs(ps - rps) / psnr_atol);
    worst_ssim = std::max(worst_ssim, std::abs(ss - rss) / ssim_atol);
    INFO("pair " << i << ": L1 " << l1 << " vs " << rl1 << ", PSNR " << ps << " vs " << rps << ", SSIM " << ss
                 << " vs " << rss);
    CHECK(std::abs(l1 - rl1) <= l1_rtol * std::abs(rl1));
    CHECK(std::abs(ps - rps) <= psnr_atol);
    CHECK(std::abs(ss - rss) <= ssim_atol);
  }
  MESSAGE("worst fraction of threshold: L1 " << worst_l1 << ", PSNR " << worst_psnr << ", SSIM " << worst_ssim);
  // The metrics' fixed points: an image against itself.
  CHECK(eval::l1_255(noise, noise) == 0);
  CHECK(std::isinf(eval::psnr(noise, noise)));
  CHECK(eval::ssim(noise, noise) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(error_of([&] { eval::ssim(noise, wide); }).find("differ in size") != std::string::npos);
  CHECK(error_of([&] { eval::ssim(picture(8, 8, 0, 1), picture(8, 8, 0, 2)); }).find("smaller than the 11x11") !=
        std::string::npos);
}

TEST_CASE("eval metrics: pose, key-point, expression and gaze errors on cases with known answers") {
  // Euler differences wrap: 179° against −179° is 2° apart.
  CHECK(eval::euler_error_deg({179, 0, 0}, {-179, 0, 0}) == doctest::Approx(2.0 / 3));
  CHECK(eval::euler_error_deg({10, -20, 5}, {13, -14, 5}) == doctest::Approx(3.0));
  CHECK(eval::euler_error_deg({-90, 45, 180}, {90, -135, -180}) == doctest::Approx(120.0));
  CHECK(eval::angle_error_deg(-170, 170) == doctest::Approx(20.0));

  // Gaze: known angles, and precision at the extremes (atan2 of |a×b| and a·b).
  const double d = geometry::kPi / 180;
  CHECK(eval::gaze_error_deg({0, 0, -1}, {std::sin(30 * d), 0, -std::cos(30 * d)}) == doctest::Approx(30.0));
  CHECK(eval::gaze_error_deg({0, 0, -1}, {0, 2, 0}) == doctest::Approx(90.0));  // lengths do not matter
  CHECK(eval::gaze_error_deg({0, 0, -1}, {0, 0, 1}) == doctest::Approx(180.0));
  CHECK(eval::gaze_error_deg({0, 0, -1}, {std::sin(1e-6 * d), 0, -std::cos(1e-6 * d)}) ==
        doctest::Approx(1e-6).epsilon(1e-6));
  CHECK(error_of([] { eval::gaze_error_deg({0, 0, 0}, {0, 0, 1}); }).find("zero gaze") != std::string::npos);

  // Key-points: every point moved by one pixel of a 64² image in x is 1 px; a 3D move of
  // (3, 4, 0) pixels is 5 px of deformation error but 5 px of key-point error only in the plane.
  const int s = 64;
  const double unit = 2.0 / (s - 1);  // normalised units per pixel
  std::vector<float> a(68 * 3), b(68 * 3), c(68 * 3);
  for (int j = 0; j < 68; ++j)
    for (int k = 0; k < 3; ++k) a[3 * j + k] = static_cast<float>(0.01 * j - 0.3 * k);
  for (int j = 0; j < 68; ++j) {
    b[3 * j] = a[3 * j] + static_cast<float>(unit), b[3 * j + 1] = a[3 * j + 1], b[3 * j + 2] = a[3 * j + 2];
    c[3 * j] = a[3 * j], c[3 * j + 1] = a[3 * j + 1] + static_cast<float>(3 * unit),
    c[3 * j + 2] = a[3 * j + 2] + static_cast<float>(4 * unit);
  }
  // float32 points: the rounding of a + unit is at most ε_f·|a| ≈ 1e-7 units, 3e-6 px.
  CHECK(eval::keypoint_error_px(a.data(), b.data(), s) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(eval::keypoint_error_px(a.data(), c.data(), s) == doctest::Approx(3.0).epsilon(1e-5));
  CHECK(eval::deformation_error_px(a.data(), c.data(), s) == doctest::Approx(5.0).epsilon(1e-5));
  std::vector<float> eyes(68 * 3, 0.f);
  eyes[36 * 3] = -0.3f, eyes[45 * 3] = 0.3f, eyes[45 * 3 + 2] = 0.8f;  // (0.6, 0, 0.8): length 1
  CHECK(eval::inter_ocular(eyes.data()) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("eval: the case keeper holds the best and the worst, in a fixed order") {
  auto one = [](double score) {
    eval::Case c;
    c.score = score;
    c.images.push_back(Image(16, 16, 3));
    return c;
  };
  eval::CaseKeeper keep(2);
  for (double s : {20.0, 25.0, 18.0, 30.0, 18.0, 22.0}) keep.offer(one(s));
  std::vector<double> got;
  for (const eval::Case& c : keep.cases()) got.push_back(c.score);
  CHECK(got == std::vector<double>{30, 25, 18, 18});
  eval::CaseKeeper few(3);  // fewer cases than 2k: each shown once
  for (double s : {5.0, 7.0, 6.0}) few.offer(one(s));
  got.clear();
  for (const eval::Case& c : few.cases()) got.push_back(c.score);
  CHECK(got == std::vector<double>{7, 6, 5});
  const Image grid = eval::case_grid(keep.cases(), {"one"});
  CHECK(grid.width > 128);
  CHECK(grid.height > 4 * 128);
}

namespace {

// A 64² dataset of 6 identities (one in the test split) with 4 triples, made once.
struct EvalData : test::SyntheticDataset {
  EvalData() : SyntheticDataset("eval", 6, 1, 16, 64, 5, 4) {}
};
const EvalData& eval_data() {
  static EvalData d;
  return d;
}

eval::EvalOptions small_options() {
  eval::EvalOptions o;
  o.data_dir = eval_data().data;
  o.models_dir = Reenactor::default_models_dir();
  o.sources = {1, 2, 4};
  o.drivers_per_clip = 4;
  o.component_frames = 4;
  o.grid_cases = 2;
  return o;
}

const eval::Table& table(const eval::Report& r, const std::string& id) {
  for (const auto& t : r.tables)
    if (t.id == id) return t;
  throw Error("no table " + id);
}

const eval::Row& row(const eval::Table& t, const std::string& id) {
  for (const auto& r : t.rows)
    if (r.id == id) return r;
  throw Error("no row " + id + " in " + t.id);
}

}  // namespace

TEST_CASE("eval: the tables on a small dataset carry their baselines and are deterministic") {
  const eval::Report a = eval::evaluate(small_options());
  eval::Report b = eval::evaluate(small_options());
  b.seconds = a.seconds;  // the one figure that may differ
  CHECK(eval::to_json(a, "x").dump() == eval::to_json(b, "x").dump());

  const eval::Table& self = table(a, "self");
  for (const char* id : {"output", "warped", "source", "answer"}) CHECK(row(self, id).cases == 4);
  CHECK(row(self, "answer").mean.count("psnr") == 0);  // the answer is not compared with itself
  CHECK(row(self, "output").mean.count("agd") == 1);
  const eval::Table& cross = table(a, "cross");
  for (const char* id : {"output", "warped", "source", "driver", "answer"}) CHECK(row(cross, id).cases == 4);
  // The driver copied carries the target's pose but not its person: its ARD is near the
  // estimators' floor while its pixels are far from the target's.
  CHECK(row(cross, "driver").mean.at("psnr") < row(cross, "source").mean.at("psnr"));
  // The nearest of nested source sets can only get nearer: the baseline is monotone.
  const eval::Table& nshot = table(a, "nshot");
  CHECK(row(nshot, "source_1").mean.at("psnr") <= row(nshot, "source_2").mean.at("psnr"));
  CHECK(row(nshot, "source_2").mean.at("psnr") <= row(nshot, "source_4").mean.at("psnr"));
  CHECK(row(nshot, "output_1").mean.at("psnr") == row(self, "output").mean.at("psnr"));
  CHECK(row(table(a, "components"), "estimators").cases == 4);
  CHECK(a.grids.count("self_cases") == 1);
  CHECK(a.grids.count("cross_cases") == 1);

  TempDir out("eval-report");
  eval::write_report(a, out.path.string(), "freehead eval ...");
  for (const char* f : {"eval.md", "eval.json", "self_cases.png", "cross_cases.png"})
    CHECK(fs::file_size(out.path / f) > 100);
}

TEST_CASE("eval: inputs that cannot be scored are clear errors") {
  SUBCASE("models of another size than the data") {
    const test::SyntheticDataset large("eval128", 3, 1, 2, 128, 1, 0);
    eval::EvalOptions o = small_options();
    o.data_dir = large.data;
    const std::string e = error_of([&] { eval::evaluate(o); });
    CHECK(e.find("render 64² images but dataset '" + large.data + "' holds 128² frames") != std::string::npos);
    // The components alone read larger frames (E_gaze crops the eyes at full resolution).
    o.tables = {"components"};
    o.component_frames = 1;
    CHECK(row(table(eval::evaluate(o), "components"), "estimators").cases == 1);
  }
  SUBCASE("cross-identity asked of a dataset without triples") {
    const test::SyntheticDataset none("eval-none", 3, 1, 2, 64, 1, 0);
    eval::EvalOptions o = small_options();
    o.data_dir = none.data;
    CHECK(error_of([&] { eval::evaluate(o); }).find("holds no evaluation triples") != std::string::npos);
  }
  SUBCASE("a split the dataset lacks, an unknown table") {
    eval::EvalOptions o = small_options();
    o.split = "holdout";
    CHECK(error_of([&] { eval::evaluate(o); }).find("no clips in split 'holdout' (it has: ") != std::string::npos);
    o = small_options();
    o.sources = {1, 16};  // 16 frames per clip hold 16 sources but not 4 drivers besides
    CHECK(error_of([&] { eval::evaluate(o); }).find("has 16 frames, too few for 16 source(s) and 4 driving frames") !=
          std::string::npos);
    o = small_options();
    o.tables = {"self", "speed"};
    CHECK(error_of([&] { eval::evaluate(o); }).find("unknown table 'speed'") != std::string::npos);
  }
}
