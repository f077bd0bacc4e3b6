#include "eval/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "data/annotation.h"
#include "data/loader.h"
#include "eval/case_grid.h"
#include "eval/metrics.h"
#include "geometry/conventions.h"
#include "pipeline/reenactor.h"
#include "runtime/error.h"
#include "io/progress.h"

namespace fh::eval {

namespace {

// ---- what one image is measured against -----------------------------------------------------

// The exact answer of one case: its picture (when there is one to compare with) and its
// ground-truth annotation row.
struct Truth {
  const Image* image = nullptr;
  const float* keypoints = nullptr;    // [68,3]
  const float* deformation = nullptr;  // [68,3]
  Angles angles;                       // degrees
  bool has_gaze = false;
  std::array<std::array<double, 3>, 2> gaze{};
};

Truth truth_of(const data::ClipAnnotations& a, int t, const Image* image) {
  Truth tr;
  tr.image = image;
  tr.keypoints = a.row("keypoints", t);
  tr.deformation = a.row("deformation", t);
  tr.angles = {geometry::rad_to_deg(*a.row("yaw", t)), geometry::rad_to_deg(*a.row("pitch", t)),
               geometry::rad_to_deg(*a.row("roll", t))};
  if (a.has("gaze")) {
    tr.has_gaze = true;
    const float* g = a.row("gaze", t);
    for (int e = 0; e < 2; ++e)
      for (int c = 0; c < 3; ++c) tr.gaze[static_cast<size_t>(e)][static_cast<size_t>(c)] = g[3 * e + c];
  }
  return tr;
}

using Metrics = std::map<std::string, double>;

// The geometry metrics of what E_can and E_gaze read from an S×S picture (`f`) against the
// answer's annotations.
Metrics geometry_metrics(const FaceReading& f, const Truth& truth, int s) {
  Metrics m;
  m["ard"] = euler_error_deg({f.yaw_deg, f.pitch_deg, f.roll_deg}, truth.angles);
  m["akd"] = keypoint_error_px(f.keypoints.data<float>(), truth.keypoints, s);
  m["aed"] = deformation_error_px(f.deformation.data<float>(), truth.deformation, s);
  if (truth.has_gaze)
    m["agd"] = (gaze_error_deg(f.gaze[0], truth.gaze[0]) + gaze_error_deg(f.gaze[1], truth.gaze[1])) / 2;
  return m;
}

// The image metrics of `candidate` against the answer's picture, and the geometry metrics of
// `f`, what E_can and E_gaze read from it.
Metrics measure(const FaceReading& f, const Image& candidate, const Truth& truth) {
  Metrics m = geometry_metrics(f, truth, candidate.width);
  m["l1"] = l1_255(candidate, *truth.image);
  m["psnr"] = psnr(candidate, *truth.image);
  m["ssim"] = ssim(candidate, *truth.image);
  return m;
}

// Sums of each method's metrics, in the order methods were first seen.
class Tally {
 public:
  void add(const std::string& id, const std::string& method, const Metrics& m) {
    auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Acc& a) { return a.id == id; });
    if (it == rows_.end()) it = rows_.insert(rows_.end(), Acc{id, method, {}, 0});
    ++it->cases;
    for (const auto& [k, v] : m)
      if (std::isfinite(v)) {
        it->sum[k].first += v;
        it->sum[k].second += 1;
      }
  }
  std::vector<Row> rows() const {
    std::vector<Row> out;
    for (const Acc& a : rows_) {
      Row r{a.id, a.method, {}, a.cases};
      for (const auto& [k, s] : a.sum) r.mean[k] = s.first / static_cast<double>(s.second);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  struct Acc {
    std::string id, method;
    std::map<std::string, std::pair<double, int64_t>> sum;
    int64_t cases = 0;
  };
  std::vector<Acc> rows_;
};

const std::vector<Column>& reenactment_columns() {
  static const std::vector<Column> c = {{"l1", "L1 ↓", 2},       {"psnr", "PSNR dB ↑", 2}, {"ssim", "SSIM ↑", 4},
                                        {"ard", "ARD ° ↓", 2},    {"akd", "AKD px ↓", 2},   {"aed", "AED px ↓", 2},
                                        {"agd", "AGD ° ↓", 2}};
  return c;
}

bool wants(const EvalOptions& o, const std::string& table) {
  return std::find(o.tables.begin(), o.tables.end(), table) != o.tables.end();
}

// The clips of the split, `max` of them spread evenly over it (0 = all).
std::vector<int> chosen_clips(const data::Dataset& ds, const std::string& split, int max) {
  const std::vector<int> all = ds.clips_in_split(split);
  if (all.empty()) {
    std::string have;
    for (const auto& [name, clips] : ds.manifest().splits()) have += (have.empty() ? "" : ", ") + name;
    throw Error("eval: dataset '" + ds.dir() + "' has no clips in split '" + split + "' (it has: " + have + ")");
  }
  if (max <= 0 || max >= static_cast<int>(all.size())) return all;
  std::vector<int> out;
  for (int i = 0; i < max; ++i) out.push_back(all[static_cast<size_t>(static_cast<int64_t>(i) * all.size() / max)]);
  return out;
}

// Source frame positions of a clip of T frames: 0, T/2, T/4, 3T/4, T/8, ... (bit-reversed
// fractions), so the first n of them spread over the clip and each set holds the smaller ones.
std::vector<int> source_frames(int frames, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    double f = 0, half = 0.5;
    for (int b = i; b > 0; b >>= 1, half /= 2)
      if (b & 1) f += half;
    out.push_back(static_cast<int>(f * frames));
  }
  return out;
}

// K driving frames near the middles of K equal stretches of the clip; one that falls on a
// source frame of the largest source set (or on a frame already taken) moves to the nearest
// free frame.
std::vector<int> driver_frames(int frames, int k, const std::vector<int>& sources) {
  std::vector<int> out;
  auto taken = [&](int t) {
    return std::find(sources.begin(), sources.end(), t) != sources.end() ||
           std::find(out.begin(), out.end(), t) != out.end();
  };
  for (int i = 0; i < k && i < frames; ++i) {
    const int mid = static_cast<int>((i + 0.5) * frames / k);
    for (int step = 0; step < frames; ++step) {
      if (const int t = mid + step; t < frames && !taken(t)) {
        out.push_back(t);
        break;
      }
      if (const int t = mid - step; step > 0 && t >= 0 && !taken(t)) {
        out.push_back(t);
        break;
      }
    }
  }
  return out;
}

std::string n_sources(int n) { return std::to_string(n) + (n == 1 ? " source" : " sources"); }

struct Context {
  const EvalOptions& o;
  std::shared_ptr<data::Dataset> ds;
  Reenactor& r;
  ProgressBar& bar;
};

// ---- self-reenactment and N-shot ------------------------------------------------------------

struct ClipResults {
  Tally tally;
  std::vector<Case> cases;  // best and worst (n = 1 self-reenactment grid)
};

ClipResults run_clips(Context& c, int n, const std::vector<int>& clips, int largest_n, bool with_floor) {
  ClipResults out;
  CaseKeeper keeper(c.o.grid_cases);
  for (int clip : clips) {
    const int frames = c.ds->clip(clip).frames;
    const auto ann = c.ds->annotations(clip);
    const std::vector<int> src = source_frames(frames, n);
    std::vector<Image> src_images;
    for (int t : src) src_images.push_back(c.ds->frame(clip, t));
    const auto set = c.r.prepare(src_images);
    for (int t : driver_frames(frames, c.o.drivers_per_clip, source_frames(frames, largest_n))) {
      const Image real = c.ds->frame(clip, t);
      const Truth truth = truth_of(*ann, t, &real);
      const ReenactResult res = c.r.reenact(*set, real);
      const Metrics mo = measure(c.r.read_face(res.image), res.image, truth);
      out.tally.add("output", "ŷ: freehead, " + n_sources(n), mo);
      out.tally.add("warped", n == 1 ? std::string("x̄: the warped source") : "x̄: " + std::to_string(n) + " warped sources, fused",
                    measure(c.r.read_face(res.warped), res.warped, truth));
      // The source nearest the answer (by PSNR) copied unchanged.
      size_t best = 0;
      double best_psnr = -1;
      for (size_t i = 0; i < src_images.size(); ++i)
        if (const double p = psnr(src_images[i], real); p > best_psnr) best_psnr = p, best = i;
      out.tally.add("source", n == 1 ? std::string("source copied") : "nearest of " + std::to_string(n) + " sources copied",
                    measure(c.r.read_face(src_images[best]), src_images[best], truth));
      // The driver is the answer: reenact() has already read it.
      if (with_floor)
        out.tally.add("answer", "the real frame (estimators' floor)", geometry_metrics(res.driver, truth, real.width));
      if (n == 1) keeper.offer({mo.at("psnr"), {src_images[0], real, res.target_sketch, res.warped, res.image}});
      c.bar.advance();
    }
  }
  out.cases = keeper.cases();
  return out;
}

std::string clip_setup(const Context& c, const std::vector<int>& clips, const std::string& sources) {
  std::set<std::string> ids;
  for (int clip : clips) ids.insert(c.ds->clip(clip).identity);
  return std::to_string(clips.size()) + " clips of split '" + c.o.split + "' (" + std::to_string(ids.size()) +
         " identities), " + sources + "; up to " + std::to_string(c.o.drivers_per_clip) +
         " driving frames per clip, evenly spaced and never a source frame; absolute motion; the answer is the "
         "driving frame itself";
}

// ---- cross-identity on triples --------------------------------------------------------------

Table run_cross(Context& c, std::vector<Case>& grid) {
  const auto& m = c.ds->manifest();
  const int count = c.o.max_triples > 0 ? std::min<int>(c.o.max_triples, static_cast<int>(m.triples.size()))
                                        : static_cast<int>(m.triples.size());
  const int src_clip = c.ds->clip_index("triples/source"), drv_clip = c.ds->clip_index("triples/driver"),
            tgt_clip = c.ds->clip_index("triples/target");
  const auto tgt_ann = c.ds->annotations(tgt_clip);
  Tally tally;
  CaseKeeper keeper(c.o.grid_cases);
  for (int i = 0; i < count; ++i) {
    const Image source = c.ds->frame(src_clip, i), driver = c.ds->frame(drv_clip, i),
                target = c.ds->frame(tgt_clip, i);
    const Truth truth = truth_of(*tgt_ann, i, &target);
    const auto set = c.r.prepare({source});
    const ReenactResult res = c.r.reenact(*set, driver);
    const Metrics mo = measure(c.r.read_face(res.image), res.image, truth);
    tally.add("output", "ŷ: freehead", mo);
    tally.add("warped", "x̄: warped source", measure(c.r.read_face(res.warped), res.warped, truth));
    tally.add("source", "source copied", measure(c.r.read_face(source), source, truth));
    // reenact() has already read the driver.
    tally.add("driver", "driver copied", measure(res.driver, driver, truth));
    tally.add("answer", "the exact target (estimators' floor)", geometry_metrics(c.r.read_face(target), truth, target.width));
    keeper.offer({mo.at("psnr"), {source, driver, res.target_sketch, res.warped, res.image, target}});
    c.bar.advance();
  }
  grid = keeper.cases();
  Table t{"cross", "Cross-identity reenactment on exact targets (Table II, right)",
          std::to_string(count) + " evaluation triples: source person A, driver person B ≠ A (both from the test "
                                  "identities), and the exact render of A with B's pose, expression and gaze; "
                                  "absolute motion",
          reenactment_columns(), tally.rows()};
  return t;
}

// ---- the components alone -------------------------------------------------------------------

Table run_components(Context& c, const std::vector<int>& clips) {
  double yaw = 0, pitch = 0, roll = 0, akd = 0, iod = 0, aed = 0, agd = 0, agd_true_crops = 0, crop_shift = 0;
  int64_t n = 0, ng = 0;
  for (int clip : clips) {
    const int frames = c.ds->clip(clip).frames;
    const auto ann = c.ds->annotations(clip);
    const int k = std::min(c.o.component_frames, frames);
    for (int i = 0; i < k; ++i) {
      const int t = static_cast<int>((i + 0.5) * frames / k);
      const Image img = c.ds->frame(clip, t);
      const Truth tr = truth_of(*ann, t, nullptr);
      const FaceReading f = c.r.read_face(img);
      yaw += angle_error_deg(f.yaw_deg, tr.angles.yaw);
      pitch += angle_error_deg(f.pitch_deg, tr.angles.pitch);
      roll += angle_error_deg(f.roll_deg, tr.angles.roll);
      akd += keypoint_error_px(f.keypoints.data<float>(), tr.keypoints, img.width);
      iod += 100 * point_error(f.keypoints.data<float>(), tr.keypoints) / inter_ocular(tr.keypoints);
      aed += deformation_error_px(f.deformation.data<float>(), tr.deformation, img.width);
      // How far E_can's points move the eye crops: centre offset as a fraction of the true side.
      for (int e = 0; e < 2; ++e) {
        const auto mine = data::eye_crop_from_keypoints(
            reinterpret_cast<const float(*)[3]>(f.keypoints.data<float>()), e, img.width);
        const auto truth = data::eye_crop_from_keypoints(reinterpret_cast<const float(*)[3]>(tr.keypoints), e, img.width);
        crop_shift += 100 * std::hypot(mine[0] - truth[0], mine[1] - truth[1]) / truth[2] / 2;
      }
      if (tr.has_gaze) {
        agd += (gaze_error_deg(f.gaze[0], tr.gaze[0]) + gaze_error_deg(f.gaze[1], tr.gaze[1])) / 2;
        // E_gaze alone: crops placed by the true key-points.
        const auto g = c.r.read_gaze(
            img, Tensor::from_vector(std::vector<float>(tr.keypoints, tr.keypoints + 68 * 3), {68, 3}));
        agd_true_crops += (gaze_error_deg(g[0], tr.gaze[0]) + gaze_error_deg(g[1], tr.gaze[1])) / 2;
        ++ng;
      }
      ++n;
      c.bar.advance();
    }
  }
  const double N = static_cast<double>(std::max<int64_t>(n, 1));
  Row row{"estimators", "E_can, and E_gaze on crops placed by E_can (the pipeline)", {}, n};
  row.mean = {{"yaw", yaw / N},  {"pitch", pitch / N}, {"roll", roll / N}, {"ard", (yaw + pitch + roll) / (3 * N)},
              {"akd", akd / N},  {"iod", iod / N},     {"aed", aed / N},     {"crop", crop_shift / N}};
  Row true_crops{"gaze_true_crops", "E_gaze on crops placed by the true key-points", {}, ng};
  if (ng > 0) {
    row.mean["agd"] = agd / static_cast<double>(ng);
    true_crops.mean["agd"] = agd_true_crops / static_cast<double>(ng);
  }
  Table t{"components",
          "The components alone against ground truth",
          std::to_string(n) + " frames (" + std::to_string(c.o.component_frames) + " evenly spaced per clip) of " +
              std::to_string(clips.size()) + " clips of split '" + c.o.split + "' at " +
              std::to_string(c.ds->image_size()) + "²; E_gaze reads eye crops placed by E_can's key-points, as "
              "the pipeline does",
          {{"yaw", "yaw error °", 2},
           {"pitch", "pitch error °", 2},
           {"roll", "roll error °", 2},
           {"ard", "ARD °", 2},
           {"akd", "AKD px", 2},
           {"iod", "3D key-point error % IOD", 1},
           {"aed", "AED px", 2},
           {"crop", "eye-crop offset % of side", 1},
           {"agd", "AGD °", 2}},
          {row, true_crops}};
  return t;
}

// ---- checks before any work -----------------------------------------------------------------

void check_inputs(const EvalOptions& o, const data::Dataset& ds, const Reenactor& r) {
  for (const std::string& t : o.tables)
    FH_CHECK(is_table_name(t), "eval", "unknown table '", t,
             "' (--tables takes self, cross, nshot, components)");
  const bool images = wants(o, "self") || wants(o, "cross") || wants(o, "nshot");
  if (images && ds.image_size() != r.image_size())
    throw Error("eval: the models in '" + r.models_dir() + "' (config " + r.config_name() + ") render " +
                std::to_string(r.image_size()) + "² images but dataset '" + ds.dir() + "' holds " +
                std::to_string(ds.image_size()) + "² frames; reenactment is scored at the models' size " +
                "(--tables components alone reads frames of at least that size)");
  FH_CHECK(ds.image_size() >= r.image_size(), "eval", "dataset '", ds.dir(), "' holds ", ds.image_size(),
           "² frames, smaller than the models' ", r.image_size(), "²");
  for (const char* a : {"keypoints", "deformation", "yaw", "pitch", "roll"})
    FH_CHECK(ds.has_annotation(a), "eval", "dataset '", ds.dir(), "' lacks the '", a,
             "' annotation the metrics compare with (manifest.json: annotations)");
  if (wants(o, "cross"))
    FH_CHECK(!ds.manifest().triples.empty(), "eval", "dataset '", ds.dir(),
             "' holds no evaluation triples (manifest.json: triples); make them with `freehead synth --pairs N` "
             "or leave cross out (--tables self,nshot,components)");
  if (wants(o, "nshot")) {
    FH_CHECK(!o.sources.empty(), "eval", "--sources lists no source counts");
    for (int n : o.sources) {
      FH_CHECK(n >= 1 && n <= 64, "eval", "--sources: ", n, " is not a source count in [1, 64]");
      FH_CHECK(n == 1 || r.has_nshot(), "eval", "--sources ", n, ": the models in '", r.models_dir(),
               "' hold no N-shot generator (models.json: gen_nshot)");
    }
  }
  FH_CHECK(o.drivers_per_clip >= 1, "eval", "--drivers-per-clip must be at least 1");
  // The clips must hold the sources (at distinct frames: the bit-reversed fractions of the
  // first n are multiples of 1/2^⌈log2 n⌉) and the driving frames besides.
  if (wants(o, "self") || wants(o, "nshot")) {
    int largest = 1;
    if (wants(o, "nshot"))
      for (int n : o.sources) largest = std::max(largest, n);
    int grid = 1;
    while (grid < largest) grid *= 2;
    for (int clip : ds.clips_in_split(o.split))
      FH_CHECK(ds.clip(clip).frames >= grid + o.drivers_per_clip, "eval", "clip '", ds.clip(clip).name, "' of '",
               ds.dir(), "' has ", ds.clip(clip).frames, " frames, too few for ", largest, " source(s) and ",
               o.drivers_per_clip, " driving frames (lower --sources or --drivers-per-clip)");
  }
  FH_CHECK(o.component_frames >= 1, "eval", "--component-frames must be at least 1");
}

}  // namespace

bool is_table_name(const std::string& name) {
  return std::find(table_names().begin(), table_names().end(), name) != table_names().end();
}

Report evaluate(const EvalOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto ds = data::Dataset::open(o.data_dir);
  Reenactor r(o.models_dir, o.device);
  r.set_mirror_average(o.mirror_average);
  check_inputs(o, *ds, r);

  const std::vector<int> clips = chosen_clips(*ds, o.split, o.max_clips);
  const bool self = wants(o, "self"), nshot = wants(o, "nshot"), cross = wants(o, "cross"),
             components = wants(o, "components");
  std::vector<int> counts;  // source counts of the clip runs, 1 first when self is asked
  if (self) counts.push_back(1);
  if (nshot)
    for (int n : o.sources)
      if (std::find(counts.begin(), counts.end(), n) == counts.end()) counts.push_back(n);
  const int largest = counts.empty() ? 1 : *std::max_element(counts.begin(), counts.end());

  int64_t drivers = 0;  // per clip run, the same for every source count
  for (int clip : clips) {
    const int f = ds->clip(clip).frames;
    drivers += static_cast<int64_t>(driver_frames(f, o.drivers_per_clip, source_frames(f, largest)).size());
  }
  int64_t work = drivers * static_cast<int64_t>(counts.size());
  const int triples = static_cast<int>(ds->manifest().triples.size());
  if (cross) work += o.max_triples > 0 ? std::min(o.max_triples, triples) : triples;
  if (components)
    for (int clip : clips) work += std::min(o.component_frames, ds->clip(clip).frames);
  ProgressBar bar("eval", work, "cases");
  Context c{o, ds, r, bar};

  Report rep;
  rep.data_dir = o.data_dir;
  rep.models_dir = r.models_dir();
  rep.config = r.config_name();
  rep.split = o.split;
  rep.image_size = r.image_size();
  rep.mirror_average = o.mirror_average;
  rep.dataset_summary = std::to_string(ds->num_clips()) + " clips at " + std::to_string(ds->image_size()) + "², " +
                        std::to_string(triples) + " triples";

  std::map<int, ClipResults> by_n;
  for (int n : counts) by_n[n] = run_clips(c, n, clips, largest, n == 1);
  if (self) {
    Table t{"self", "Self-reenactment (Table II, left)", clip_setup(c, clips, "the source is each clip's first frame"),
            reenactment_columns(), by_n[1].tally.rows()};
    rep.tables.push_back(std::move(t));
    rep.grids["self_cases"] = case_grid(by_n[1].cases, {"source", "driver = answer", "target sketch", "warped", "output"});
  }
  if (cross) {
    std::vector<Case> cases;
    rep.tables.push_back(run_cross(c, cases));
    rep.grids["cross_cases"] =
        case_grid(cases, {"source", "driver", "target sketch", "warped", "output", "exact target"});
  }
  if (nshot) {
    Table t{"nshot", "N-shot self-reenactment (Table III)",
            clip_setup(c, clips, "the sources are frames 0, T/2, T/4, 3T/4, ... of the clip (each set holds the "
                                 "smaller ones)"),
            reenactment_columns(), {}};
    for (const char* id : {"output", "warped", "source"})
      for (int n : o.sources)
        for (Row row : by_n[n].tally.rows())
          if (row.id == id) {
            row.id = std::string(id) + "_" + std::to_string(n);
            t.rows.push_back(std::move(row));
          }
    rep.tables.push_back(std::move(t));
  }
  if (components) rep.tables.push_back(run_components(c, clips));
  bar.finish();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rep;
}

}  // namespace fh::eval
