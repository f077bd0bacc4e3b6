#include "data/loader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "data/random_stream.h"
#include "geometry/conventions.h"
#include "geometry/crops.h"
#include "runtime/error.h"

namespace fh::data {

namespace fs = std::filesystem;

// ---- Dataset -------------------------------------------------------------------------------

Dataset::Dataset(std::string dir, Manifest m) : dir_(std::move(dir)), manifest_(std::move(m)) {}

std::shared_ptr<Dataset> Dataset::open(const std::string& dir) {
  return std::shared_ptr<Dataset>(new Dataset(dir, read_manifest(dir)));
}

int Dataset::clip_index(const std::string& name) const {
  for (int i = 0; i < num_clips(); ++i)
    if (manifest_.clips[i].name == name) return i;
  FH_FAIL("dataset", "'", dir_, "' has no clip '", name, "'");
}

std::vector<int> Dataset::clips_in_split(const std::string& split) const {
  std::vector<int> out;
  for (int i = 0; i < num_clips(); ++i)
    if (manifest_.clips[i].split == split) out.push_back(i);
  return out;
}

bool Dataset::has_annotation(const std::string& name) const {
  return std::find(manifest_.annotations.begin(), manifest_.annotations.end(), name) != manifest_.annotations.end();
}

std::string Dataset::frame_path(int clip_index, int t) const {
  return (fs::path(dir_) / clip(clip_index).name / frame_filename(t)).string();
}

std::string Dataset::annotations_path(int clip_index) const {
  return (fs::path(dir_) / clip(clip_index).name / kAnnotationsName).string();
}

std::shared_ptr<const ClipAnnotations> Dataset::annotations(int clip_index) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->first == clip_index) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front().second;
      }
  }
  // Read outside the lock: other threads keep going; two may read the same clip once each.
  const int k = static_cast<int>(manifest_.identity_params.size()), j = static_cast<int>(manifest_.expression_params.size());
  auto a = std::make_shared<const ClipAnnotations>(read_clip_annotations(
      annotations_path(clip_index), clip(clip_index).frames, manifest_.annotations, k > 0 ? k : -1, j > 0 ? j : -1));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.emplace_front(clip_index, a);
  if (cache_.size() > kCacheClips) cache_.pop_back();
  return a;
}

Image Dataset::frame(int clip_index, int t) const {
  FH_CHECK(t >= 0 && t < clip(clip_index).frames, "dataset", "frame ", t, " is outside clip '", clip(clip_index).name,
           "' (", clip(clip_index).frames, " frames)");
  const int64_t key = (static_cast<int64_t>(clip_index) << 32) | t;
  {
    std::lock_guard<std::mutex> lock(frames_mutex_);
    if (auto it = frames_.find(key); it != frames_.end()) return it->second;
  }
  // Decoded outside the lock: other threads keep going; two may decode the same frame once each.
  Image img = read_frame(frame_path(clip_index, t), image_size());
  std::lock_guard<std::mutex> lock(frames_mutex_);
  if (frame_bytes_ + img.pixels.size() <= frame_budget_ && frames_.emplace(key, img).second)
    frame_bytes_ += img.pixels.size();
  return img;
}

void Dataset::set_frame_cache(size_t bytes) {
  std::lock_guard<std::mutex> lock(frames_mutex_);
  frame_budget_ = bytes;
  if (frame_bytes_ > bytes) {
    frames_.clear();
    frame_bytes_ = 0;
  }
}

size_t Dataset::frame_cache_bytes() const {
  std::lock_guard<std::mutex> lock(frames_mutex_);
  return frame_bytes_;
}

void Dataset::validate(bool frames) const {
  for (int c = 0; c < num_clips(); ++c) {
    annotations(c);
    if (frames)
      for (int t = 0; t < clip(c).frames; ++t) frame(c, t);
  }
}

// ---- Eye crops -----------------------------------------------------------------------------

void crop_eye(const Tensor& image, double cx, double cy, double side, int e, float* out) {
  FH_CHECK(image.dtype() == DType::F32 && image.device().is_cpu() &&
               (image.dim() == 3 || (image.dim() == 4 && image.size(0) == 1)) && image.size(-1) == 3,
           "crop_eye", "expects a float32 CPU image [H,W,3] or [1,H,W,3], got ", image.describe());
  FH_CHECK(e >= 2 && side > 0, "crop_eye", "crop of side ", side, " to ", e, "x", e, " pixels");
  // The model's own eye crop (geometry/crops.h), so that training sees what inference feeds.
  geometry::crop_box_into(image.data<float>(), image.size(-3), image.size(-2), 3, {cx, cy, side}, e, out);
}

// ---- Loader --------------------------------------------------------------------------------

const Tensor& Batch::operator[](const std::string& name) const {
  const auto it = tensors.find(name);
  FH_CHECK(it != tensors.end(), "Batch", "no tensor '", name, "' in this batch");
  return it->second;
}

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  const Dataset& d = *dataset_;
  const std::string manifest = (fs::path(d.dir()) / kManifestName).string();
  FH_CHECK(options_.batch_size >= 1, "Loader", "batch_size must be at least 1, got ", options_.batch_size);
  FH_CHECK(options_.workers >= 0 && options_.prefetch >= 1, "Loader", "workers ", options_.workers, " and prefetch ",
           options_.prefetch, " must be >= 0 and >= 1");
  FH_CHECK(options_.shards >= 1 && options_.shard >= 0 && options_.shard < options_.shards, "Loader", "shard ",
           options_.shard, " of ", options_.shards, " shards does not exist");
  FH_CHECK(options_.batch_size % options_.shards == 0, "Loader", "the batch of ", options_.batch_size,
           " does not split into ", options_.shards, " equal shards (the batch must be a multiple of the ranks)");
  FH_CHECK(options_.first_batch >= 0 && options_.min_gap >= 0, "Loader", "first_batch ", options_.first_batch,
           " and min_gap ", options_.min_gap, " must be >= 0");
  next_to_make_ = next_to_return_ = options_.first_batch;
  const std::vector<int> clips = d.clips_in_split(options_.split);
  FH_CHECK(!clips.empty(), "Loader", "'", manifest, "' has no clips in split '", options_.split, "'");
  for (const auto& a : d.manifest().annotations)
    if (find_annotation_field(a) && (!options_.mirror || annotation_has_mirror_image(a))) annotations_.push_back(a);

  switch (options_.sampling) {
    case Sampling::Frames:
      for (int c : clips)
        for (int t = 0; t < d.clip(c).frames; ++t) items_.push_back({c, t});
      break;
    case Sampling::Pairs:
      FH_CHECK(options_.sources >= 1, "Loader", "sources must be at least 1, got ", options_.sources);
      for (int c : clips)
        if (d.clip(c).frames >= 2)
          for (int t = 0; t < d.clip(c).frames; ++t) items_.push_back({c, t});
      FH_CHECK(!items_.empty(), "Loader", "split '", options_.split, "' of '", manifest,
               "' has no clip with two frames to pair");
      break;
    case Sampling::EyeCrops: {
      FH_CHECK(options_.eye_size >= 2, "Loader", "eye_size must be at least 2, got ", options_.eye_size);
      for (const char* need : {"eye_mesh", "gaze"})
        FH_CHECK(d.has_annotation(need), "Loader", "eye crops need the annotation '", need, "', which '", manifest,
                 "' does not list");
      FH_CHECK(d.has_annotation("eye_crop") || d.has_annotation("keypoints"), "Loader",
               "eye crops need 'eye_crop' or 'keypoints', which '", manifest, "' does not list");
      // An eye whose crop has no extent is absent (eye-only sources fill one slot).
      for (int c : clips) {
        const auto a = d.annotations(c);
        for (int t = 0; t < d.clip(c).frames; ++t)
          for (int e = 0; e < 2; ++e) {
            const bool present = !a->has("eye_crop") || a->row("eye_crop", t)[3 * e + 2] > 0;
            if (present) items_.push_back({c, t, e});
          }
      }
      break;
    }
  }
  FH_CHECK(items_per_epoch() >= options_.batch_size, "Loader", "split '", options_.split, "' of '", manifest, "' has ",
           items_per_epoch(), " items, fewer than one batch of ", options_.batch_size);
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  consumed_.notify_all();
  for (auto& w : workers_) w.join();
}

std::vector<FrameRef> Loader::epoch_order(int64_t epoch) const {
  std::vector<FrameRef> order = items_;
  if (options_.shuffle) {
    RandomStream rng(options_.seed, StreamPurpose::Loader, {0, static_cast<uint64_t>(epoch)});
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng.integer(static_cast<int64_t>(i)))]);
  }
  return order;
}

std::shared_ptr<const std::vector<FrameRef>> Loader::shared_epoch_order(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(order_mutex_);
  if (order_epoch_ != epoch) {
    order_ = std::make_shared<const std::vector<FrameRef>>(epoch_order(epoch));
    order_epoch_ = epoch;
  }
  return order_;
}

void Loader::fill_frame(Tensor& images, int64_t slot, const FrameRef& ref) const {
  const Image img = dataset_->frame(ref.clip, ref.frame);
  float* dst = images.data<float>() + slot * static_cast<int64_t>(img.pixels.size());
  for (size_t i = 0; i < img.pixels.size(); ++i) dst[i] = static_cast<float>(img.pixels[i] * (2.0 / 255.0) - 1.0);
}

void Loader::fill_annotations(std::map<std::string, Tensor>& out, const std::string& prefix, int64_t slot,
                              int64_t per_item, int64_t batch_items, const FrameRef& ref) const {
  const auto a = dataset_->annotations(ref.clip);
  for (const auto& name : annotations_) {
    const Tensor& t = a->get(name);
    const std::string key = prefix + name;
    auto it = out.find(key);
    if (it == out.end()) {
      std::vector<int64_t> dims = {batch_items};
      if (per_item > 1) dims.push_back(per_item);
      for (int d = 1; d < t.dim(); ++d) dims.push_back(t.size(d));
      it = out.emplace(key, Tensor::zeros(Shape(dims))).first;
    }
    const int64_t n = a->row_size(name);
    const float* src = a->row(name, ref.frame);
    std::copy(src, src + n, it->second.data<float>() + slot * n);
  }
}

void Loader::fill_eye(Batch& b, int64_t slot, int64_t global_slot, const FrameRef& ref, int64_t batch_index) const {
  const auto a = dataset_->annotations(ref.clip);
  const int size = dataset_->image_size(), e = options_.eye_size;
  std::array<double, 3> box;  // (c_x, c_y, L)
  if (a->has("eye_crop")) {
    const float* c = a->row("eye_crop", ref.frame) + 3 * ref.eye;
    box = {c[0], c[1], c[2]};
  } else {
    float k[68][3];
    std::copy(a->row("keypoints", ref.frame), a->row("keypoints", ref.frame) + 68 * 3, &k[0][0]);
    box = eye_crop_from_keypoints(k, ref.eye, size);
  }
  FH_CHECK(box[2] > 0, "Loader", "eye ", ref.eye, " of frame ", ref.frame, " in '", dataset_->annotations_path(ref.clip),
           "' has an empty crop");
  const std::array<double, 3> true_box = box;
  if (options_.eye_jitter > 0) {
    // Drawn from a stream of its own per (seed, batch, slot): batch i stays a pure function
    // of its index.
    RandomStream r(options_.seed, StreamPurpose::Loader,
                   {2, static_cast<uint64_t>(batch_index), static_cast<uint64_t>(global_slot)});
    const double j = options_.eye_jitter;
    box[0] += j * box[2] * r.normal();
    box[1] += j * box[2] * r.normal();
    box[2] *= std::exp(j * r.normal());
    // Rounded as the batch stores it, so its `eye_crop` describes the crop exactly.
    for (double& v : box) v = static_cast<float>(v);
  }
  const Image img = dataset_->frame(ref.clip, ref.frame);
  const Tensor full = image_to_tensor(img);
  crop_eye(full, box[0], box[1], box[2], e, b.tensors.at("image").data<float>() + slot * e * e * 3);
  const int64_t nv = geometry::kEyeVertices * 3;
  const float* mesh = a->row("eye_mesh", ref.frame) + ref.eye * nv;
  float* mesh_out = b.tensors.at("eye_mesh").data<float>() + slot * nv;
  if (box == true_box) {
    std::copy(mesh, mesh + nv, mesh_out);
  } else {
    // The mesh is in the true crop's coordinates (an affine map of image coordinates, z
    // scaled as x): back to the image, then into the moved crop.
    const geometry::CropAffine from = geometry::image_to_crop_affine(true_box, size, size),
                               to = geometry::image_to_crop_affine(box, size, size);
    for (int64_t v = 0; v < geometry::kEyeVertices; ++v) {
      const float* m = mesh + 3 * v;
      const std::array<double, 3> p =
          to((m[0] - from.bx) / from.ax, (m[1] - from.by) / from.ay, m[2] / from.ax);
      for (int i = 0; i < 3; ++i) mesh_out[3 * v + i] = static_cast<float>(p[i]);
    }
  }
  const float* g = a->row("gaze", ref.frame) + 3 * ref.eye;
  std::copy(g, g + 3, b.tensors.at("gaze").data<float>() + slot * 3);
  float* crop = b.tensors.at("eye_crop").data<float>() + slot * 3;
  for (int i = 0; i < 3; ++i) crop[i] = static_cast<float>(box[i]);
  b.tensors.at("eye").data<float>()[slot] = static_cast<float>(ref.eye);
  // How open the eye is and how far the head is turned, for the validation's breakdown
  // (gaze is ill-posed behind a closed lid or a nose): the lid gap over the corner-to-corner
  // width, from the key-points (-1 without them), and the yaw (NaN without it).
  float openness = -1;
  if (a->has("keypoints")) {
    const float* k = a->row("keypoints", ref.frame);
    const int o = ref.eye == 0 ? 36 : 42;  // corners o, o+3; upper lid o+1, o+2; lower lid o+5, o+4
    auto dist = [&](int i, int j) { return std::hypot(k[3 * i] - k[3 * j], k[3 * i + 1] - k[3 * j + 1]); };
    const float width = dist(o, o + 3);
    if (width > 0) openness = 0.5f * (dist(o + 1, o + 5) + dist(o + 2, o + 4)) / width;
  }
  b.tensors.at("eye_openness").data<float>()[slot] = openness;
  b.tensors.at("head_yaw").data<float>()[slot] = a->has("yaw") ? *a->row("yaw", ref.frame) : NAN;
  if (options_.mirror && mirrored(batch_index, global_slot)) mirror_eye_item(b, slot);
}

namespace {

// An RGB image of side × side pixels (HWC) read right to left, in place.
void reverse_rows(float* img, int64_t side) {
  for (int64_t y = 0; y < side; ++y)
    for (int64_t x = 0; x < side / 2; ++x)
      for (int c = 0; c < 3; ++c) std::swap(img[(y * side + x) * 3 + c], img[(y * side + (side - 1 - x)) * 3 + c]);
}

// N points (x, y, z) replaced by their mirror image, in place: point i becomes its partner's
// with x negated, so that each keeps its meaning (the 68 key-points, an eye mesh's vertices).
template <size_t N>
void mirror_points(float* xyz, const std::array<int, N>& partner) {
  std::array<float, 3 * N> was;
  std::copy(xyz, xyz + was.size(), was.begin());
  for (size_t i = 0; i < N; ++i) {
    const float* from = was.data() + 3 * partner[i];
    xyz[3 * i] = -from[0], xyz[3 * i + 1] = from[1], xyz[3 * i + 2] = from[2];
  }
}

}  // namespace

void Loader::mirror_eye_item(Batch& b, int64_t slot) const {
  // Crop pixel j samples u = 2j/(E − 1) − 1 of the crop-normalised frame, so reversing each
  // row negates u: the mesh's x (u) and the gaze's x change sign, and the mesh's vertices are
  // renumbered so that vertex i stays the template's vertex i.
  const int64_t e = options_.eye_size;
  reverse_rows(b.tensors.at("image").data<float>() + slot * e * e * 3, e);
  mirror_points(b.tensors.at("eye_mesh").data<float>() + slot * geometry::kEyeVertices * 3,
                geometry::mirrored_eye_vertices());
  b.tensors.at("gaze").data<float>()[slot * 3] *= -1;
  float& eye = b.tensors.at("eye").data<float>()[slot];
  eye = 1 - eye;
  b.tensors.at("head_yaw").data<float>()[slot] *= -1;
}

bool annotation_has_mirror_image(const std::string& name) { return name != "identity" && name != "expression"; }

void mirror_annotation_row(const std::string& name, float* row, int image_size) {
  FH_CHECK(annotation_has_mirror_image(name), "mirror", "the annotation '", name,
           "' describes the person before the mirror and has no mirror image");
  // Two eyes of n values each, exchanged.
  const auto swap_eyes = [&](int n) { std::swap_ranges(row, row + n, row + n); };
  if (name == "keypoints" || name == "canonical" || name == "deformation") {
    mirror_points(row, geometry::mirrored_keypoints());
  } else if (name == "yaw" || name == "roll" || name == "translation" || name == "lighting") {
    row[0] = -row[0];  // the angle, or the x of t and of the light's direction
  } else if (name == "rotation") {
    for (int i : {1, 2, 3, 6}) row[i] = -row[i];  // F·R·F negates (0,1), (0,2), (1,0), (2,0)
  } else if (name == "gaze" || name == "eyeball") {
    const int n = name == "gaze" ? 3 : 4;  // gaze (x, y, z); eyeball centre (x, y, z) and radius
    swap_eyes(n);
    row[0] = -row[0], row[n] = -row[n];
  } else if (name == "gaze_angles" || name == "gaze_head") {
    swap_eyes(2);
    row[1] = -row[1], row[3] = -row[3];  // (θ, φ): φ = atan2(−g_x, −g_z) changes sign with g_x
  } else if (name == "eye_crop") {
    swap_eyes(3);
    for (int e = 0; e < 2; ++e)
      if (row[3 * e + 2] > 0) row[3 * e] = static_cast<float>(image_size - 1) - row[3 * e];
  } else if (name == "eye_mesh") {
    // Each mesh is in its crop's coordinates, centred on the crop: the mirrored eye's crop
    // is the mirror of the other eye's, so the other eye's mesh with x negated, renumbered.
    constexpr int nv = geometry::kEyeVertices * 3;
    swap_eyes(nv);
    for (int e = 0; e < 2; ++e) mirror_points(row + e * nv, geometry::mirrored_eye_vertices());
  } else if (name != "pitch" && name != "scale") {  // a nod and a size are their own mirror images
    FH_FAIL("mirror", "no mirror image is defined for the annotation '", name, "'");
  }
}

bool Loader::mirrored(int64_t batch_index, int64_t global_slot) const {
  RandomStream r(options_.seed, StreamPurpose::Loader,
                 {3, static_cast<uint64_t>(batch_index), static_cast<uint64_t>(global_slot)});
  return r.uniform() < 0.5;
}

void Loader::mirror_frame_item(std::map<std::string, Tensor>& tensors, const std::string& images,
                               const std::string& prefix, int64_t slot, int64_t items) const {
  const int64_t s = dataset_->image_size();
  reverse_rows(tensors.at(images).data<float>() + slot * s * s * 3, s);
  for (const auto& name : annotations_) {
    Tensor& t = tensors.at(prefix + name);
    const int64_t n = t.numel() / items;  // one item's row
    mirror_annotation_row(name, t.data<float>() + slot * n, static_cast<int>(s));
  }
}

Batch Loader::make_batch(int64_t index) const {
  FH_CHECK(index >= 0, "Loader", "batch index must be non-negative, got ", index);
  // bsz items of this shard, the global batch's slots slot0 … slot0 + bsz − 1.
  const int64_t per_epoch = batches_per_epoch(), bsz = options_.batch_size / options_.shards,
                slot0 = options_.shard * bsz;
  Batch b;
  b.index = index;
  b.epoch = index / per_epoch;
  const std::shared_ptr<const std::vector<FrameRef>> order = shared_epoch_order(b.epoch);
  const int64_t first = (index % per_epoch) * options_.batch_size + slot0;
  b.targets.assign(order->begin() + first, order->begin() + first + bsz);
  const int s = dataset_->image_size();

  switch (options_.sampling) {
    case Sampling::Frames: {
      b.tensors["image"] = Tensor::empty({bsz, s, s, 3});
      for (int64_t i = 0; i < bsz; ++i) {
        fill_frame(b.tensors["image"], i, b.targets[i]);
        fill_annotations(b.tensors, "", i, 1, bsz, b.targets[i]);
        if (options_.mirror && mirrored(index, slot0 + i)) mirror_frame_item(b.tensors, "image", "", i, bsz);
      }
      break;
    }
    case Sampling::Pairs: {
      const int m = options_.sources;
      b.tensors["target.image"] = Tensor::empty({bsz, s, s, 3});
      b.tensors["source.image"] = Tensor::empty({bsz, m, s, s, 3});
      for (int64_t i = 0; i < bsz; ++i) {
        const FrameRef& target = b.targets[i];
        fill_frame(b.tensors["target.image"], i, target);
        fill_annotations(b.tensors, "target.", i, 1, bsz, target);
        // M sources from the same clip, distinct and other than the target when it has
        // enough frames, else drawn with repetition.
        const int frames = dataset_->clip(target.clip).frames;
        RandomStream rng(options_.seed, StreamPurpose::Loader,
                         {1, static_cast<uint64_t>(index), static_cast<uint64_t>(slot0 + i)});
        std::vector<int> others;
        for (int t = 0; t < frames; ++t)
          if (std::abs(t - target.frame) >= std::max(1, options_.min_gap)) others.push_back(t);
        if (others.empty())
          for (int t = 0; t < frames; ++t)
            if (t != target.frame) others.push_back(t);
        const int n = static_cast<int>(others.size());
        std::vector<FrameRef> srcs;
        for (int k = 0; k < m; ++k) {
          if (n >= m) {  // a partial Fisher-Yates shuffle: distinct frames
            std::swap(others[k], others[k + static_cast<int>(rng.integer(n - k))]);
            srcs.push_back({target.clip, others[k]});
          } else {
            srcs.push_back({target.clip, others[static_cast<size_t>(rng.integer(n))]});
          }
        }
        for (int k = 0; k < m; ++k) {
          fill_frame(b.tensors["source.image"], i * m + k, srcs[k]);
          fill_annotations(b.tensors, "source.", i * m + k, m, bsz, srcs[k]);
        }
        // Drawn after the sources (their stream is another), one draw for the whole item.
        if (options_.mirror && mirrored(index, slot0 + i)) {
          mirror_frame_item(b.tensors, "target.image", "target.", i, bsz);
          for (int k = 0; k < m; ++k) mirror_frame_item(b.tensors, "source.image", "source.", i * m + k, bsz * m);
        }
        b.sources.push_back(std::move(srcs));
      }
      break;
    }
    case Sampling::EyeCrops: {
      const int e = options_.eye_size;
      b.tensors["image"] = Tensor::empty({bsz, e, e, 3});
      b.tensors["eye_mesh"] = Tensor::empty({bsz, geometry::kEyeVertices, 3});
      b.tensors["gaze"] = Tensor::empty({bsz, 3});
      b.tensors["eye_crop"] = Tensor::empty({bsz, 3});
      b.tensors["eye"] = Tensor::empty({bsz});
      b.tensors["eye_openness"] = Tensor::empty({bsz});
      b.tensors["head_yaw"] = Tensor::empty({bsz});
      for (int64_t i = 0; i < bsz; ++i) fill_eye(b, i, slot0 + i, b.targets[i], index);
      break;
    }
  }
  return b;
}

void Loader::worker_loop() {
  for (;;) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      consumed_.wait(lock, [&] { return stopping_ || next_to_make_ - next_to_return_ < options_.prefetch; });
      if (stopping_) return;
      index = next_to_make_++;
    }
    std::pair<Batch, std::exception_ptr> result;
    try {
      result.first = make_batch(index);
    } catch (...) {
      result.second = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(index, std::move(result));
    }
    produced_.notify_all();
  }
}

Batch Loader::next() {
  if (workers_.empty()) return make_batch(next_to_return_++);
  std::pair<Batch, std::exception_ptr> result;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    produced_.wait(lock, [&] { return ready_.count(next_to_return_) != 0; });
    auto it = ready_.find(next_to_return_);
    result = std::move(it->second);
    ready_.erase(it);
    ++next_to_return_;
  }
  consumed_.notify_all();
  if (result.second) std::rethrow_exception(result.second);
  return std::move(result.first);
}

}  // namespace fh::data
