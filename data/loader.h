// Reading a dataset (data/dataset_format.h) for training: an opened Dataset (manifest,
// validated and cached annotations, frames) and a Loader that shuffles (seeded, per
// epoch), batches into NHWC float tensors in [-1, 1], prefetches on background threads,
// and samples what each trainer needs:
//   Frames    single frames with their annotations (E_can);
//   Pairs     a target frame and M source frames of the same clip (G, one- and N-shot);
//   EyeCrops  eye crops with their meshes and gaze (E_gaze).
// Batch i is a pure function of (dataset, options, i): the worker count changes only speed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "data/dataset_format.h"
#include "io/image_io.h"
#include "runtime/tensor.h"

namespace fh::data {

class Dataset {
 public:
  // Reads and validates the manifest; frames and annotations are read (and validated) on
  // first use.
  static std::shared_ptr<Dataset> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  int image_size() const { return manifest_.image_size; }
  int num_clips() const { return static_cast<int>(manifest_.clips.size()); }
  const ClipEntry& clip(int index) const { return manifest_.clips.at(static_cast<size_t>(index)); }
  int clip_index(const std::string& name) const;  // error when absent
  std::vector<int> clips_in_split(const std::string& split) const;
  bool has_annotation(const std::string& name) const;

  std::string frame_path(int clip, int t) const;
  std::string annotations_path(int clip) const;
  // The clip's annotations, validated against the manifest on first read; kept in a cache of
  // recently used clips.
  std::shared_ptr<const ClipAnnotations> annotations(int clip) const;
  Image frame(int clip, int t) const;  // validated size, RGB
  // Keeps decoded frames in memory, up to `bytes` of pixels in all (first come, first kept;
  // 0, the default, keeps none): training reads every frame once per epoch, and decoding
  // PNGs again each time cost a loader thread a core's share on small machines. The
  // values are the same either way.
  void set_frame_cache(size_t bytes);
  size_t frame_cache_bytes() const;  // pixels held now

  // Reads every annotation file, and with `frames` decodes every frame: the first problem
  // is an error naming its file.
  void validate(bool frames) const;

 private:
  explicit Dataset(std::string dir, Manifest m);
  std::string dir_;
  Manifest manifest_;
  mutable std::mutex cache_mutex_;
  mutable std::list<std::pair<int, std::shared_ptr<const ClipAnnotations>>> cache_;  // most recent first
  static constexpr size_t kCacheClips = 256;
  mutable std::mutex frames_mutex_;
  mutable std::unordered_map<int64_t, Image> frames_;  // (clip << 32 | t) -> decoded frame
  mutable size_t frame_bytes_ = 0;
  size_t frame_budget_ = 0;
};

enum class Sampling { Frames, Pairs, EyeCrops };

struct LoaderOptions {
  std::string split = "train";
  Sampling sampling = Sampling::Frames;
  int batch_size = 8;
  int sources = 1;      // Pairs: source frames per target (M of N-shot)
  int min_gap = 0;      // Pairs: sources at least this many frames from the target (when the
                        // clip has such frames; else any other frame)
  int eye_size = 64;    // EyeCrops: side E of the resampled crop
  // EyeCrops: the crop box moved and resized at random, as a key-point estimator's error
  // moves it (centre offsets of sd `eye_jitter`·side per axis, side scaled by exp(sd
  // `eye_jitter`)); the mesh follows into the moved crop's coordinates. 0 = the true box.
  double eye_jitter = 0;
  // Each item mirrored (left and right swapped) with probability 1/2 — the mirror image of a
  // face is as likely a face, so every person lends the network a second one. EyeCrops: the
  // crop, with its mesh, gaze, eye and head yaw — a right eye seen in a mirror is a left eye.
  // Frames and Pairs: the frame (for Pairs the target and its sources together, one person
  // in one mirror) with every annotation mirrored as the picture is (mirror_annotation_row);
  // the generator's `identity` and `expression` parameters, which describe the person before
  // the mirror, are then not served.
  bool mirror = false;
  uint64_t seed = 0;
  bool shuffle = true;
  int workers = 2;      // background threads preparing batches; 0 prepares them in next()
  int prefetch = 4;     // batches prepared ahead of the consumer
  int64_t first_batch = 0;  // the index next() starts at (resuming training mid-stream)
  // Data-parallel training (docs/distributed.md): `batch_size` is the global batch, cut into
  // `shards` equal parts, and this loader's batches hold part `shard` only — items
  // shard·B/K … (shard+1)·B/K − 1 of global batch i, drawn exactly as the global batch
  // draws them (the same epoch order, the same per-item random streams), so K shards
  // side by side are the global batch.
  int shards = 1, shard = 0;
};

struct FrameRef {
  int clip = 0, frame = 0;
  int eye = -1;  // EyeCrops: 0 = right eye (36-41), 1 = left
};

// Tensors by name. Frames: "image" [B,S,S,3] and every annotation "<name>" [B, ...].
// Pairs: "target.image" [B,S,S,3], "target.<name>" [B, ...], "source.image" [B,M,S,S,3],
// "source.<name>" [B,M, ...]. EyeCrops: "image" [B,E,E,3], "eye_mesh" [B,482,3], "gaze"
// [B,3], "eye_crop" [B,3] (centre x, y and side in source pixels), "eye" [B], "eye_openness"
// [B] (lid gap over corner distance from the key-points; -1 without them) and "head_yaw" [B]
// (radians; NaN without it), by which validation splits its error.
struct Batch {
  int64_t index = 0;
  int64_t epoch = 0;
  std::map<std::string, Tensor> tensors;
  std::vector<FrameRef> targets;               // the B items (Pairs: targets)
  std::vector<std::vector<FrameRef>> sources;  // Pairs: M sources per target
  const Tensor& operator[](const std::string& name) const;
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch in order (0, 1, 2, ...), across epochs without end.
  Batch next();
  int64_t items_per_epoch() const { return static_cast<int64_t>(items_.size()); }
  int64_t batches_per_epoch() const { return items_per_epoch() / options_.batch_size; }
  // Batch `index`, built on the calling thread (what the workers run).
  Batch make_batch(int64_t index) const;
  // The items of an epoch in the order they are batched.
  std::vector<FrameRef> epoch_order(int64_t epoch) const;

 private:
  void worker_loop();
  void fill_frame(Tensor& images, int64_t slot, const FrameRef& ref) const;
  void fill_annotations(std::map<std::string, Tensor>& out, const std::string& prefix, int64_t slot,
                        int64_t per_item, int64_t batch_items, const FrameRef& ref) const;
  // `slot` in this loader's batch; `global_slot` in the global batch (its random stream).
  void fill_eye(Batch& b, int64_t slot, int64_t global_slot, const FrameRef& ref, int64_t batch_index) const;
  // Mirrors item `slot` of an EyeCrops batch in place (LoaderOptions::mirror).
  void mirror_eye_item(Batch& b, int64_t slot) const;
  // Whether item `global_slot` of batch `batch_index` is mirrored (LoaderOptions::mirror): a
  // random stream of its own, so the other draws stay what they are without mirroring.
  bool mirrored(int64_t batch_index, int64_t global_slot) const;
  // Mirrors frame `slot` of the image tensor `images` ([..., S, S, 3], `items` frames in
  // order) and row `slot` of every annotation under `prefix` in place (Frames, Pairs).
  void mirror_frame_item(std::map<std::string, Tensor>& tensors, const std::string& images, const std::string& prefix,
                         int64_t slot, int64_t items) const;
  // epoch_order, shuffled once per epoch and shared by the batches (and workers) that read it.
  std::shared_ptr<const std::vector<FrameRef>> shared_epoch_order(int64_t epoch) const;

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
  std::vector<FrameRef> items_;
  std::vector<std::string> annotations_;  // what each item carries (Frames, Pairs)
  mutable std::mutex order_mutex_;
  mutable int64_t order_epoch_ = -1;
  mutable std::shared_ptr<const std::vector<FrameRef>> order_;  // epoch order_epoch_'s

  std::mutex mutex_;
  std::condition_variable produced_, consumed_;
  std::map<int64_t, std::pair<Batch, std::exception_ptr>> ready_;
  int64_t next_to_make_ = 0, next_to_return_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Whether annotation `name` has a mirror image (mirror_annotation_row); false for the
// generator's `identity` and `expression` parameters, which describe the person before the mirror.
bool annotation_has_mirror_image(const std::string& name);

// Row `row` of annotation `name` (one frame's, as the dataset stores it) made that of the
// frame's mirror image, in place: x negated in every camera- and head-frame vector (an
// image-normalised x is centred on the image), the 68 points and the eye meshes renumbered
// so that each keeps its meaning (geometry::mirrored_keypoints, mirrored_eye_vertices), the
// two eyes swapped, yaw and roll negated (R becomes F·R·F, F = diag(−1, 1, 1)), eye crops'
// pixel x taken to S − 1 − x. Throws for a name without one (annotation_has_mirror_image).
void mirror_annotation_row(const std::string& name, float* row, int image_size);

// Bilinear resampling of an eye crop: output pixel (i, j) of E×E samples the source at
// pixel (cx + u_i·side/2, cy + v_j·side/2), u_i = 2i/(E−1) − 1 (the crop's normalised
// coordinates), clamping at the image border. `image` is [1,H,W,3] or [H,W,3] float32;
// writes E·E·3 floats.
void crop_eye(const Tensor& image, double cx, double cy, double side, int eye_size, float* out);

}  // namespace fh::data
