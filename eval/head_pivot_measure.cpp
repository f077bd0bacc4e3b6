#include "eval/head_pivot_measure.h"

#include <algorithm>

#include "data/loader.h"
#include "runtime/error.h"

namespace fh::eval {

pipeline::HeadPivotFit measure_head_pivot(const Reenactor& r, const std::string& data_dir, const std::string& split,
                                          int frames) {
  FH_CHECK(frames >= 2, "head pivot", "needs at least 2 frames, got ", frames);
  const auto ds = data::Dataset::open(data_dir);
  const std::vector<int> clips = ds->clips_in_split(split);
  FH_CHECK(!clips.empty(), "head pivot", "dataset '", data_dir, "' has no clip in split '", split, "'");
  // Frames spread evenly: every clip in turn, each contributing frames at even spacing.
  const int n_clips = static_cast<int>(clips.size());
  const int per_clip = std::max(1, (frames + n_clips - 1) / n_clips);
  std::vector<pipeline::PivotObservation> obs;
  for (int k = 0; k < per_clip && static_cast<int>(obs.size()) < frames; ++k)
    for (int c : clips) {
      if (static_cast<int>(obs.size()) >= frames) break;
      const int length = ds->clip(c).frames;
      if (k >= length) continue;
      const int t = static_cast<int>(static_cast<int64_t>(k) * length / std::min(per_clip, length));
      const FaceReading f = r.read_face(ds->frame(c, t));
      const float* truth = ds->annotations(c)->row("translation", t);
      obs.push_back({pipeline::rotation_of(f), pipeline::translation_of(f), f.scale, {truth[0], truth[1]}});
    }
  return pipeline::fit_head_pivot(obs);
}

}  // namespace fh::eval
