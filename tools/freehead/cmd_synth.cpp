// `freehead synth`: writes a synthetic talking-head dataset with exact ground truth
// (docs/data.md) and a contact sheet of annotated samples.
#include <cstdio>

#include "data/synth.h"
#include "runtime/thread_pool.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"

namespace fh::cli {

namespace {

int bounded(const Options& opts, const char* name, int64_t lo, int64_t hi) {
  const int64_t v = opts.integer(name);
  if (v < lo || v > hi)
    throw UsageError{"--" + std::string(name) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                     std::to_string(v)};
  return static_cast<int>(v);
}

}  // namespace

int cmd_synth(const Args& args) {
  const Options opts(
      "synth",
      "Renders identities × clips × frames of synthetic talking heads with exact key-points, pose,\n"
      "gaze and eye meshes, plus evaluation triples (source, driver, exact target), a manifest\n"
      "with train/val/test splits and DIR/contact_sheet.png. The same options give the same bytes.",
      {
          {"out", "dataset folder to write (created if missing)", true, true, ""},
          {"identities", "number of people", true, true, ""},
          {"clips-per-identity", "clips per person", true, true, ""},
          {"frames", "frames per clip", true, true, ""},
          {"size", "image side in pixels, 64..512", true, true, ""},
          {"seed", "seed of every random choice", true, true, ""},
          {"pairs", "evaluation triples to render", true, false, "0"},
          {"supersampling", "samples per pixel along each axis (anti-aliasing)", true, false, "2"},
          {"quiet", "no progress bar", false, false, ""},
      },
      args);
  if (opts.help_requested()) {
    std::printf("%s", opts.help_text().c_str());
    return 0;
  }
  data::SynthOptions o;
  o.out = opts.str("out");
  o.identities = bounded(opts, "identities", 1, 1000000);
  o.clips_per_identity = bounded(opts, "clips-per-identity", 1, 10000);
  o.frames = bounded(opts, "frames", 1, 100000);
  o.size = bounded(opts, "size", 64, 512);
  const int64_t seed = opts.integer("seed");
  if (seed < 0) throw UsageError{"--seed must be non-negative, got " + std::to_string(seed)};
  o.seed = static_cast<uint64_t>(seed);
  o.pairs = bounded(opts, "pairs", 0, 1000000);
  o.supersampling = bounded(opts, "supersampling", 1, 4);
  o.progress = !opts.flag("quiet");
  const data::SynthReport r = data::synthesize(o);
  std::printf("wrote %lld images in %.1f s (%.1f frames/s on %d threads)\nmanifest:      %s\ncontact sheet: %s\n",
              static_cast<long long>(r.frames), r.seconds, r.seconds > 0 ? r.frames / r.seconds : 0.0, num_threads(),
              r.manifest.c_str(), r.contact_sheet.c_str());
  return 0;
}

}  // namespace fh::cli
