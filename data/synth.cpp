#include "data/synth.h"

#include "io/file_io.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "data/dataset_format.h"
#include "data/draw.h"
#include "data/posed_head.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "io/progress.h"
#include "runtime/thread_pool.h"

namespace fh::data {

namespace fs = std::filesystem;

namespace {

constexpr int kSheetTiles = 16;
constexpr int64_t kMaxClips = 1000000, kMaxImages = 1000000000;

void check_options(const SynthOptions& o) {
  FH_CHECK(!o.out.empty(), "synth", "--out must name a folder");
  FH_CHECK(o.identities >= 1 && o.identities <= 1000000, "synth", "--identities must be 1..1000000, got ", o.identities);
  FH_CHECK(o.clips_per_identity >= 1 && o.clips_per_identity <= 10000, "synth",
           "--clips-per-identity must be 1..10000, got ", o.clips_per_identity);
  FH_CHECK(o.frames >= 1 && o.frames <= 100000, "synth", "--frames must be 1..100000, got ", o.frames);
  FH_CHECK(o.size >= 64 && o.size <= 512, "synth", "--size must be 64..512, got ", o.size);
  FH_CHECK(o.pairs >= 0 && o.pairs <= 1000000, "synth", "--pairs must be 0..1000000, got ", o.pairs);
  // Totals are bounded too: each clip is listed in memory and in the manifest, so a product
  // of in-range options could otherwise ask for terabytes before the first frame is drawn.
  const int64_t clips = int64_t{o.identities} * o.clips_per_identity;
  FH_CHECK(clips <= kMaxClips, "synth", "--identities × --clips-per-identity = ", clips, " clips; at most ", kMaxClips,
           " are supported");
  const int64_t images = clips * o.frames + 3 * int64_t{o.pairs};
  FH_CHECK(images <= kMaxImages, "synth", "the options ask for ", images,
           " images (clips × --frames + 3 × --pairs); at most ", kMaxImages, " are supported");
  // A triple's source and driver are different people (docs/data.md).
  FH_CHECK(o.pairs == 0 || o.identities >= 2, "synth", "--pairs needs at least 2 --identities (a triple's source and ",
           "driver are different people), got ", o.identities);
  FH_CHECK(o.supersampling >= 1 && o.supersampling <= 4, "synth", "supersampling must be 1..4, got ", o.supersampling);
  FH_CHECK(o.head_motion > 0 && o.head_motion <= 4, "synth", "--head-motion must be in (0, 4], got ", o.head_motion);
}

struct ClipJob {
  int identity, clip;
  std::string name;
};

// A contact-sheet sample: a clip and the frame that shows it best for the tile's kind.
struct SheetPick {
  int job, frame;
};

std::vector<SheetPick> pick_sheet_frames(const std::vector<ClipJob>& jobs, const SynthOptions& o) {
  std::vector<SheetPick> picks;
  const int n = static_cast<int>(std::min<int64_t>(kSheetTiles, static_cast<int64_t>(jobs.size()) * o.frames));
  for (int i = 0; i < n; ++i) {
    const int job = i % static_cast<int>(jobs.size());
    const int kind = (i / static_cast<int>(jobs.size()) + i) % 4;
    const ClipScript script(o.seed, jobs[job].identity, jobs[job].clip, o.frames, o.head_motion);
    int best = o.frames / 2;
    double best_score = -1;
    // Kinds: the widest-open mouth, the most turned eyes, the most turned head, mid-clip.
    // Long clips are scanned at a stride: the sheet needs a good frame, not the best.
    const int stride = std::max(1, o.frames / 2000);
    for (int t = 0; kind < 3 && t < o.frames; t += stride) {
      const FrameParams p = script.frame(t);
      const double score = kind == 0 ? p.expression.jaw_open
                           : kind == 1 ? std::abs(p.gaze[0].phi) + std::abs(p.gaze[0].theta)
                                       : std::abs(p.pose.yaw);
      if (score > best_score) best_score = score, best = t;
    }
    for (const SheetPick& earlier : picks)  // the same clip twice: show another moment
      if (earlier.job == job && earlier.frame == best) best = (best + o.frames / 2) % o.frames;
    picks.push_back({job, best});
  }
  return picks;
}

void write_contact_sheet(const std::string& path, const std::vector<RenderedFrame>& tiles, int size) {
  if (tiles.empty()) return;
  const int pairs_per_row = std::min<int>(4, static_cast<int>(tiles.size()));
  const int rows = (static_cast<int>(tiles.size()) + pairs_per_row - 1) / pairs_per_row;
  Image sheet(2 * size * pairs_per_row, size * rows, 3);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int col = static_cast<int>(i) % pairs_per_row, row = static_cast<int>(i) / pairs_per_row;
    Image marked = tiles[i].image;
    draw_annotation(marked, tiles[i].annotation);
    paste(sheet, tiles[i].image, 2 * size * col, size * row);
    paste(sheet, marked, 2 * size * col + size, size * row);
  }
  write_png(path, sheet);
}

std::map<std::string, std::string> clip_metadata(const std::string& name, const std::string& identity, const SynthOptions& o) {
  return {{"format", kFormatName},
          {"clip", name},
          {"identity", identity},
          {"image_size", std::to_string(o.size)},
          {"generator", "freehead synth, seed " + std::to_string(o.seed)}};
}

// Calls render(renderer, i) for i = 0 … n−1 over the thread pool, a few items per thread
// at a time so that the progress bar moves; each task draws with its own renderer. An item
// counts `images_per_item` images on the bar.
template <class Render>
void render_all(int n, int images_per_item, int supersampling, ProgressBar* bar, Render&& render) {
  const int chunk = 4 * num_threads();
  for (int first = 0; first < n; first += chunk) {
    const int count = std::min(chunk, n - first);
    parallel_for(count, 1, [&](int64_t b, int64_t e) {
      Renderer renderer(supersampling);
      for (int64_t i = b; i < e; ++i) render(renderer, first + static_cast<int>(i));
    });
    if (bar) bar->advance(static_cast<int64_t>(images_per_item) * count);
  }
}

}  // namespace

std::string split_of_identity(int identity, int identities) {
  const int held = identities >= 3 ? std::max(1, identities / 10) : 0;
  if (identity >= identities - held) return "test";
  if (identity >= identities - 2 * held) return "val";
  return "train";
}

std::string identity_name(int identity) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "id%04d", identity);
  return buf;
}

std::string clip_name(int identity, int clip) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "clips/id%04d_c%02d", identity, clip);
  return buf;
}

RenderedFrame render_frame(const HeadMesh& mesh, const FrameParams& params, const BackgroundImage& background,
                           Renderer& renderer) {
  PosedHead head;
  pose_head(mesh, params, head);
  RenderedFrame f;
  renderer.render(head, background, f.image);
  f.annotation = annotate(head, background.size);
  return f;
}

SynthReport synthesize(const SynthOptions& o) {
  check_options(o);
  const auto start = std::chrono::steady_clock::now();
  // Written whole or not at all: a killed or failed run leaves no dataset that looks complete,
  // and an existing dataset is never overwritten (--out must be absent or empty).
  StagedDirectory staged(o.out, "synth");
  const fs::path root(staged.staging());
  std::error_code ec;

  std::vector<ClipJob> jobs;
  for (int id = 0; id < o.identities; ++id)
    for (int c = 0; c < o.clips_per_identity; ++c) jobs.push_back({id, c, clip_name(id, c)});
  const std::vector<SheetPick> picks = pick_sheet_frames(jobs, o);
  std::vector<RenderedFrame> tiles(picks.size());

  const int64_t total = static_cast<int64_t>(jobs.size()) * o.frames + 3LL * o.pairs;
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("synth", total, "frames");

  Manifest manifest;
  manifest.image_size = o.size;
  for (const auto& f : annotation_fields()) manifest.annotations.push_back(f.name);
  manifest.identity_params = identity_param_names();
  manifest.expression_params = expression_param_names();

  for (size_t j = 0; j < jobs.size(); ++j) {
    const ClipJob& job = jobs[j];
    const fs::path dir = root / job.name;
    fs::create_directories(dir, ec);
    FH_CHECK(!ec, "synth", "cannot create '", dir.string(), "': ", ec.message());
    const ClipScript script(o.seed, job.identity, job.clip, o.frames, o.head_motion);
    const HeadMesh mesh(script.identity());
    const BackgroundImage background = draw_background(script.background(), o.size);
    std::vector<FrameAnnotation> annotations(o.frames);
    render_all(o.frames, 1, o.supersampling, bar.get(), [&](Renderer& renderer, int t) {
      RenderedFrame f = render_frame(mesh, script.frame(t), background, renderer);
      write_png((dir / frame_filename(t)).string(), f.image);
      for (size_t p = 0; p < picks.size(); ++p)
        if (picks[p].job == static_cast<int>(j) && picks[p].frame == t) tiles[p] = f;
      annotations[t] = std::move(f.annotation);
    });
    write_clip_annotations((dir / kAnnotationsName).string(), annotations,
                           clip_metadata(job.name, identity_name(job.identity), o));
    manifest.clips.push_back({job.name, identity_name(job.identity), o.frames, split_of_identity(job.identity, o.identities)});
  }

  if (o.pairs > 0) {
    // Triples come from held-out identities when there are at least two of them.
    std::vector<int> pool;
    for (int id = 0; id < o.identities; ++id)
      if (split_of_identity(id, o.identities) == "test") pool.push_back(id);
    if (pool.size() < 2) {
      pool.clear();
      for (int id = 0; id < o.identities; ++id) pool.push_back(id);
    }
    const char* roles[3] = {"triples/source", "triples/driver", "triples/target"};
    for (const char* r : roles) {
      fs::create_directories(root / r, ec);
      FH_CHECK(!ec, "synth", "cannot create '", (root / r).string(), "': ", ec.message());
    }
    std::vector<FrameAnnotation> role_annotations[3];
    for (auto& v : role_annotations) v.resize(o.pairs);
    render_all(o.pairs, 3, o.supersampling, bar.get(), [&](Renderer& renderer, int index) {
      const TripleSpec s = triple_spec(o.seed, index, pool, o.clips_per_identity, o.frames);
      const ClipScript source(o.seed, s.source_identity, s.source_clip, o.frames, o.head_motion);
      const ClipScript driver(o.seed, s.driver_identity, s.driver_clip, o.frames, o.head_motion);
      const HeadMesh source_mesh(source.identity()), driver_mesh(driver.identity());
      const BackgroundImage source_bg = draw_background(source.background(), o.size);
      const BackgroundImage driver_bg = draw_background(driver.background(), o.size);
      const FrameParams source_params = source.frame(s.source_frame);
      const FrameParams driver_params = driver.frame(s.driver_frame);
      FrameParams target_params = driver_params;        // B's pose, expression and gaze...
      target_params.lighting = source_params.lighting;  // ...in A's scene
      RenderedFrame frames[3] = {render_frame(source_mesh, source_params, source_bg, renderer),
                                 render_frame(driver_mesh, driver_params, driver_bg, renderer),
                                 render_frame(source_mesh, target_params, source_bg, renderer)};
      for (int r = 0; r < 3; ++r) {
        write_png((root / roles[r] / frame_filename(index)).string(), frames[r].image);
        role_annotations[r][index] = std::move(frames[r].annotation);
      }
    });
    for (int r = 0; r < 3; ++r) {
      write_clip_annotations((root / roles[r] / kAnnotationsName).string(), role_annotations[r],
                             clip_metadata(roles[r], "", o));
      manifest.clips.push_back({roles[r], "mixed", o.pairs, "triples"});  // row i belongs to triple i
    }
    for (int i = 0; i < o.pairs; ++i) {
      const TripleSpec s = triple_spec(o.seed, i, pool, o.clips_per_identity, o.frames);
      manifest.triples.push_back({s.source_identity, s.source_clip, s.source_frame, s.driver_identity, s.driver_clip,
                                  s.driver_frame});
    }
  }

  json::Value gen = json::Value::object();
  gen.set("program", "freehead synth");
  gen.set("seed", static_cast<int64_t>(o.seed));
  gen.set("identities", o.identities);
  gen.set("clips_per_identity", o.clips_per_identity);
  gen.set("frames", o.frames);
  gen.set("size", o.size);
  gen.set("pairs", o.pairs);
  gen.set("supersampling", o.supersampling);
  // Recorded only when it differs from the default, so default datasets keep their bytes.
  if (o.head_motion != 1) gen.set("head_motion", o.head_motion);
  manifest.generator = gen;
  write_manifest(root.string(), manifest);
  write_contact_sheet((root / "contact_sheet.png").string(), tiles, o.size);
  staged.commit();

  SynthReport report;
  report.manifest = (fs::path(o.out) / kManifestName).string();
  report.contact_sheet = (fs::path(o.out) / "contact_sheet.png").string();
  if (bar) bar->finish();
  report.frames = total;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fh::data
