// `freehead synth`: writes a synthetic talking-head dataset with exact ground truth
// (docs/data.md) and a contact sheet of annotated samples.
#include <cstdint>
#include <cstdio>

#include "data/synth.h"
#include "runtime/thread_pool.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"

namespace fh::cli {

int cmd_synth(const Args& args) {
  const Options opts(
      "synth",
      "Renders identities × clips × frames of synthetic talking heads with exact key-points, pose,\n"
      "gaze and eye meshes, plus evaluation triples (source, driver, exact target), a manifest\n"
      "with train/val/test splits and DIR/contact_sheet.png. The same options give the same bytes.",
      {
          {"out", "dataset folder to write (absent or empty; written whole or not at all)", true, true, ""},
          {"identities", "number of people", true, true, ""},
          {"clips-per-identity", "clips per person", true, true, ""},
          {"frames", "frames per clip", true, true, ""},
          {"size", "image side in pixels, 64..512", true, true, ""},
          {"seed", "seed of every random choice", true, true, ""},
          {"pairs", "evaluation triples to render", true, false, "0"},
          {"supersampling", "samples per pixel along each axis (anti-aliasing)", true, false, "2"},
          {"head-motion", "scale of how far the head turns within a clip (larger: training pairs with large pose changes)",
           true, false, "1"},
          {"quiet", "no progress bar", false, false, ""},
      },
      args);
  data::SynthOptions o;
  o.out = opts.str("out");
  o.identities = static_cast<int>(opts.integer("identities", 1, 1000000));
  o.clips_per_identity = static_cast<int>(opts.integer("clips-per-identity", 1, 10000));
  o.frames = static_cast<int>(opts.integer("frames", 1, 100000));
  o.size = static_cast<int>(opts.integer("size", 64, 512));
  o.seed = static_cast<uint64_t>(opts.integer("seed", 0, INT64_MAX));
  o.pairs = static_cast<int>(opts.integer("pairs", 0, 1000000));
  o.supersampling = static_cast<int>(opts.integer("supersampling", 1, 4));
  o.head_motion = opts.number("head-motion");  // checked by synthesize()
  o.progress = !opts.flag("quiet");
  const data::SynthReport r = data::synthesize(o);
  std::printf("wrote %lld images in %.1f s (%.1f frames/s on %d threads)\nmanifest:      %s\ncontact sheet: %s\n",
              static_cast<long long>(r.frames), r.seconds, r.seconds > 0 ? r.frames / r.seconds : 0.0, num_threads(),
              r.manifest.c_str(), r.contact_sheet.c_str());
  return 0;
}

}  // namespace fh::cli
