// Training G (paper Eq. 14-15, HeadGAN's recipe): self-reenactment pairs of one clip. Each
// step first updates G against the current discriminators — hinge adversarial terms from
// D_I (target sketch ⊕ image) and D_M (mouth crops), D feature matching, and the VGG19
// perceptual terms on ŷ and on the warped source x̄ — then updates D_I and D_M on the real
// target and the detached ŷ. Stage 2 (`nshot`) adds the flow network's weight head,
// freezes the rest of the flow network and trains with several sources (paper §4.1).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/crops.h"
#include "geometry/sketch.h"
#include "nets/config.h"
#include "nets/discriminator.h"
#include "nets/generator.h"
#include "nets/vgg.h"
#include "runtime/error.h"
#include "train/losses.h"
#include "train/task_common.h"
#include "train/tasks.h"
#include "weights/safetensors.h"

namespace fh::train {

namespace {

DiscriminatorOutputs as_loss_input(const nets::DiscriminatorOutput& d) {
  DiscriminatorOutputs out;
  for (const auto& s : d.scales) out.push_back({s.logits, s.features});
  return out;
}

std::vector<Tensor> logits_of(const nets::DiscriminatorOutput& d) {
  std::vector<Tensor> out;
  for (const auto& s : d.scales) out.push_back(s.logits);
  return out;
}

// What one example set needs: sources [B,M,S,S,3] with their sketches, the target sketch,
// the target image and its key-points (mouth crops).
struct GenInputs {
  Tensor sources, source_sketches, target_sketch, target, target_points;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

class GeneratorTask : public Task {
 public:
  GeneratorTask(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds)
      : o_(o), ds_(std::move(ds)), cfg_(nets::config(o.config)), device_(training_device(o)), dtype_(training_dtype(o)),
        sources_(o.nshot ? o.sources : 1), gen_(cfg_, o.nshot), disc_image_(cfg_, "image"),
        disc_mouth_(cfg_, "mouth") {
    FH_CHECK(ds_->image_size() == cfg_.image_size, "train gen", "the dataset '", ds_->dir(), "' holds ",
             ds_->image_size(), "² frames but config '", cfg_.name, "' takes ", cfg_.image_size, "² images");
    for (const char* need : {"keypoints", "gaze"})
      FH_CHECK(ds_->has_annotation(need), "train gen", "the dataset '", ds_->dir(), "' lacks the annotation '", need,
               "' (sketches are drawn from the key-points and gaze)");
    FH_CHECK(!o.nshot || o.sources >= 2, "train gen", "--nshot trains with --sources >= 2, got ", o.sources);
    FH_CHECK(o.l1 >= 0, "train gen", "--l1 must be >= 0, got ", o.l1);
    fh::Generator rng(o.seed);
    gen_.reset_parameters(rng);
    disc_image_.reset_parameters(rng);
    disc_mouth_.reset_parameters(rng);
    vgg_.randomise_as_feature_extractor(rng);
    if (!o.vgg.empty()) {
      const safetensors::Contents c = safetensors::load(o.vgg);
      nn::load_weights(vgg_, nn::TensorMap(c.tensors.begin(), c.tensors.end()), "vgg.", o.vgg);
    }
    if (!o.init.empty()) load_init(o.init);
    if (o.nshot)  // the flow network is frozen except its new weight head
      for (auto& [name, t] : gen_.named_parameters())
        if (name.rfind("flow.", 0) == 0 && name.rfind("flow.weight_head.", 0) != 0) t.requires_grad_(false);
    vgg_.set_requires_grad(false);
    for (nn::Module* m : std::initializer_list<nn::Module*>{&gen_, &disc_image_, &disc_mouth_, &vgg_}) {
      m->to(device_);
      m->to(dtype_);
    }
    gen_.train();
    disc_image_.train();
    disc_mouth_.train();
    vgg_.eval();
    make_optimizers();
    // Held out: pairs of the validation split at least 32 frames apart (when clips allow),
    // and the evaluation triples (cross-identity, exact target) when the dataset has them.
    data::LoaderOptions lo = loader_options();
    lo.min_gap = 32;
    held_out_pairs_ = held_out_batches(ds_, lo, o.val_split, o.val_batches);
    if (!ds_->manifest().triples.empty()) load_triples(o.val_batches * o.batch);
  }

  std::vector<ModuleEntry> modules() override {
    return {{"gen.", &gen_, true}, {"disc_image.", &disc_image_, false}, {"disc_mouth.", &disc_mouth_, false}};
  }
  std::vector<OptimizerEntry> optimizers() override {
    const double lr = adam_options(o_, 2e-4, 0.5, 0.999).lr;
    return {{"gen", adam_g_.get(), "gen.", &gen_, lr},
            {"disc_image", adam_di_.get(), "disc_image.", &disc_image_, lr},
            {"disc_mouth", adam_dm_.get(), "disc_mouth.", &disc_mouth_, lr}};
  }

  void make_optimizers() override {
    const AdamOptions a = adam_options(o_, 2e-4, 0.5, 0.999);
    adam_g_ = make_adam(gen_, "gen.", a);
    adam_di_ = make_adam(disc_image_, "disc_image.", a);
    adam_dm_ = make_adam(disc_mouth_, "disc_mouth.", a);
  }

  data::LoaderOptions loader_options() const override {
    data::LoaderOptions lo;
    lo.sampling = data::Sampling::Pairs;
    lo.sources = sources_;
    lo.batch_size = static_cast<int>(o_.batch);
    lo.seed = o_.seed;
    lo.min_gap = o_.min_gap;
    lo.mirror = o_.mirror;
    return lo;
  }

  Terms step(const data::Batch& b, StepContext& ctx) override {
    const GenInputs in = inputs_of(b);
    const nets::GeneratorOutput g = gen_.forward(in.sources, in.source_sketches, in.target_sketch);
    const Tensor mouth_real = geometry::mouth_crops(in.target, in.target_points);

    // ---- G against the current discriminators.
    disc_image_.set_requires_grad(false);
    disc_mouth_.set_requires_grad(false);
    GeneratorLossInputs li;
    li.fake.push_back(as_loss_input(disc_image_.forward(concat({in.target_sketch, g.output}, 3))));
    li.fake.push_back(as_loss_input(disc_mouth_.forward(geometry::mouth_crops(g.output, in.target_points))));
    {
      NoGradGuard no_grad;
      li.real.push_back(as_loss_input(disc_image_.forward(concat({in.target_sketch, in.target}, 3))));
      li.real.push_back(as_loss_input(disc_mouth_.forward(mouth_real)));
      li.vgg_target = vgg_.forward(in.target);
    }
    const int64_t n = in.target.size(0);
    const std::vector<Tensor> both = vgg_.forward(concat({g.output, g.warped}, 0));
    for (const Tensor& f : both) {
      li.vgg_output.push_back(slice(f, 0, 0, n));
      li.vgg_warped.push_back(slice(f, 0, n, n));
    }
    const GeneratorLossTerms gl = generator_loss(li);
    Tensor g_total = gl.total;
    std::vector<std::pair<std::string, Tensor>> g_terms = {{"adversarial", gl.adversarial},
                                                           {"vgg_output", gl.vgg_output},
                                                           {"vgg_warped", gl.vgg_warped},
                                                           {"feature_matching", gl.feature_matching}};
    Tensor l1;
    if (o_.l1 > 0) {
      l1 = l1_loss(g.output, in.target);
      g_total = g_total + l1 * o_.l1;
      g_terms.emplace_back("l1", l1);
    }
    g_terms.emplace_back("total", g_total);
    adam_g_->zero_grad();
    ctx.optimise("G", g_total, g_terms, *adam_g_);

    // ---- The discriminators on the real target and the detached ŷ.
    disc_image_.set_requires_grad(true);
    disc_mouth_.set_requires_grad(true);
    const Tensor fake = g.output.detach();
    adam_di_->zero_grad();
    const DiscriminatorLossTerms di =
        discriminator_loss(logits_of(disc_image_.forward(concat({in.target_sketch, in.target}, 3))),
                           logits_of(disc_image_.forward(concat({in.target_sketch, fake}, 3))));
    ctx.optimise("D_I", di.total, {{"d_image_real", di.real}, {"d_image_fake", di.fake}}, *adam_di_);
    adam_dm_->zero_grad();
    const DiscriminatorLossTerms dm =
        discriminator_loss(logits_of(disc_mouth_.forward(mouth_real)),
                           logits_of(disc_mouth_.forward(geometry::mouth_crops(fake, in.target_points))));
    ctx.optimise("D_M", dm.total, {{"d_mouth_real", dm.real}, {"d_mouth_fake", dm.fake}}, *adam_dm_);

    const double psnr = mean_of(psnr_per_image(fake, in.target));
    Terms t = {{"total", g_total.item()},          {"adversarial", gl.adversarial.item()},
               {"vgg_output", gl.vgg_output.item()}, {"vgg_warped", gl.vgg_warped.item()},
               {"feature_matching", gl.feature_matching.item()}};
    if (o_.l1 > 0) t.emplace_back("l1", l1.item());
    t.insert(t.end(), {{"d_image_real", di.real.item()},
                       {"d_image_fake", di.fake.item()},
                       {"d_mouth_real", dm.real.item()},
                       {"d_mouth_fake", dm.fake.item()},
                       {"psnr", psnr}});
    return t;
  }

  Terms validate() override {
    Terms out;
    score("pairs", held_out_pairs_, out);
    if (!triples_.empty()) score("triples", triples_, out);
    return out;
  }

  void write_samples(const data::Batch& b, const std::string& path) override {
    NoGradGuard no_grad;
    gen_.eval();
    const int64_t n = std::min<int64_t>(4, b["target.image"].size(0));
    std::vector<std::vector<Image>> rows;
    sample_rows(inputs_of(b), n, rows);
    if (!triples_.empty()) sample_rows(inputs_of(triples_.front()), std::min<int64_t>(4, triples_.front()["target.image"].size(0)), rows);
    gen_.train();
    write_png(path, tile_rows(rows));
  }

  json::Value describe() const override {
    json::Value v = json::Value::object();
    v.set("network", o_.nshot ? "G, N-shot stage (gen.), flow network frozen but its weight head" : "G, one-shot (gen.)");
    v.set("parameters", gen_.num_parameters());
    v.set("sources", sources_);
    v.set("vgg", o_.vgg.empty() ? "seeded random-weight VGG19 (no ImageNet weights given)" : "ImageNet VGG19 from " + o_.vgg);
    v.set("extra_l1", o_.l1);
    v.set("samples", "rows: source | source sketch | target sketch | flow (colour wheel) | warped source x̄ | ŷ | target; "
                     "training pairs, then held-out triples");
    return v;
  }

 private:
  // Sketches drawn from key-points and gaze; sources flattened to [B·M, ...] for drawing.
  GenInputs inputs_of(const data::Batch& b) const {
    const int64_t n = b["target.image"].size(0), s = cfg_.image_size, m = b["source.image"].size(1);
    GenInputs in;
    in.sources = on(b, "source.image", device_, dtype_);
    const Tensor src_pts = reshape(b["source.keypoints"], {n * m, geometry::kNumKeypoints, 3});
    const Tensor src_gaze = reshape(b["source.gaze"], {n * m, 2, 3});
    in.source_sketches = reshape(geometry::draw_sketches(src_pts, src_gaze, s), {n, m, s, s, 3}).to(device_).to(dtype_);
    in.target_sketch = geometry::draw_sketches(b["target.keypoints"], b["target.gaze"], s).to(device_).to(dtype_);
    in.target = on(b, "target.image", device_, dtype_);
    in.target_points = b["target.keypoints"];
    return in;
  }

  void score(const std::string& what, const std::vector<data::Batch>& batches, Terms& out) {
    NoGradGuard no_grad;
    gen_.eval();
    std::vector<double> psnr_y, psnr_w, psnr_s, l1_y, l1_w, l1_s;
    for (const data::Batch& b : batches) {
      const GenInputs in = inputs_of(b);
      const nets::GeneratorOutput g = gen_.forward(in.sources, in.source_sketches, in.target_sketch);
      const Tensor first_source = reshape(slice(in.sources, 1, 0, 1), {in.target.size(0), cfg_.image_size, cfg_.image_size, 3});
      auto add = [&](std::vector<double>& to, const std::vector<double>& v) { to.insert(to.end(), v.begin(), v.end()); };
      add(psnr_y, psnr_per_image(g.output, in.target));
      add(psnr_w, psnr_per_image(g.warped, in.target));
      add(psnr_s, psnr_per_image(first_source, in.target));
      add(l1_y, l1_255_per_image(g.output, in.target));
      add(l1_w, l1_255_per_image(g.warped, in.target));
      add(l1_s, l1_255_per_image(first_source, in.target));
    }
    gen_.train();
    out.insert(out.end(), {{what + ".psnr_output", mean_of(psnr_y)},
                           {what + ".psnr_warped", mean_of(psnr_w)},
                           {what + ".psnr_source", mean_of(psnr_s)},
                           {what + ".l1_output", mean_of(l1_y)},
                           {what + ".l1_warped", mean_of(l1_w)},
                           {what + ".l1_source", mean_of(l1_s)},
                           {what + ".images", static_cast<double>(psnr_y.size())}});
  }

  void sample_rows(const GenInputs& in, int64_t n, std::vector<std::vector<Image>>& rows) {
    const nets::GeneratorOutput g = gen_.forward(in.sources, in.source_sketches, in.target_sketch);
    const int64_t s = cfg_.image_size;
    const Tensor src0 = reshape(slice(in.sources, 1, 0, 1), {in.sources.size(0), s, s, 3});
    const Tensor sk0 = reshape(slice(in.source_sketches, 1, 0, 1), {in.sources.size(0), s, s, 3});
    const Tensor flow0 = reshape(slice(g.flows, 1, 0, 1), {in.sources.size(0), s, s, 2});
    const int factor = std::max(1, static_cast<int>(128 / s));
    for (int64_t i = 0; i < n; ++i)
      rows.push_back({upscale(tile(src0, i), factor), upscale(tile(sk0, i, 0, 1), factor),
                      upscale(tile(in.target_sketch, i, 0, 1), factor), upscale(flow_image(flow0, i), factor),
                      upscale(tile(g.warped, i), factor), upscale(tile(g.output, i), factor),
                      upscale(tile(in.target, i), factor)});
  }

  // --init: weights for G (and the discriminators when the file holds them, e.g. a
  // one-shot checkpoint). Missing G tensors are allowed only for the N-shot weight head; an
  // N-shot generator given to one-shot training (to train its G further) has its weight head
  // left out, which is said.
  void load_init(const std::string& path) {
    safetensors::Contents c = safetensors::load(path);
    auto holds = [&](const std::string& prefix) {
      for (const auto& [name, t] : c.tensors)
        if (name.rfind(prefix, 0) == 0) return true;
      return false;
    };
    FH_CHECK(holds("gen."), "train gen", "--init '", path, "' holds no generator tensor (gen.*)");
    const std::string head = "gen.flow.weight_head.";
    if (!o_.nshot && holds(head)) {
      std::erase_if(c.tensors, [&](const auto& named) { return named.first.rfind(head, 0) == 0; });
      std::fprintf(stderr, "train: --init '%s' is an N-shot generator; one-shot training leaves its weight head (%s*) out\n",
                   path.c_str(), head.c_str());
    }
    load_initial_weights(gen_, "gen.", c, path, o_.nshot);
    if (holds("disc_image.")) load_initial_weights(disc_image_, "disc_image.", c, path, false);
    if (holds("disc_mouth.")) load_initial_weights(disc_mouth_, "disc_mouth.", c, path, false);
  }

  // The evaluation triples as Pairs-like batches: source = triples/source frame i, target =
  // triples/target frame i (the exact answer), its key-points and gaze drawn as the target
  // sketch (the driver's expression and pose on the source's face: G alone is judged).
  void load_triples(int64_t count) {
    const int src = ds_->clip_index("triples/source"), tgt = ds_->clip_index("triples/target");
    const int64_t total = std::min<int64_t>(count, ds_->clip(tgt).frames);
    const int64_t bsz = std::min<int64_t>(o_.batch, total), s = cfg_.image_size;
    const auto sa = ds_->annotations(src), ta = ds_->annotations(tgt);
    for (int64_t first = 0; first + bsz <= total; first += bsz) {
      data::Batch b;
      Tensor ti = Tensor::empty({bsz, s, s, 3}), si = Tensor::empty({bsz, sources_, s, s, 3});
      Tensor tk = Tensor::empty({bsz, 68, 3}), tg = Tensor::empty({bsz, 2, 3});
      Tensor sk = Tensor::empty({bsz, sources_, 68, 3}), sg = Tensor::empty({bsz, sources_, 2, 3});
      for (int64_t i = 0; i < bsz; ++i) {
        const int t = static_cast<int>(first + i);
        copy_image(ds_->frame(tgt, t), ti.data<float>() + i * s * s * 3);
        std::copy_n(ta->row("keypoints", t), 68 * 3, tk.data<float>() + i * 68 * 3);
        std::copy_n(ta->row("gaze", t), 6, tg.data<float>() + i * 6);
        for (int k = 0; k < sources_; ++k) {  // one source frame per triple: repeated for N-shot
          copy_image(ds_->frame(src, t), si.data<float>() + (i * sources_ + k) * s * s * 3);
          std::copy_n(sa->row("keypoints", t), 68 * 3, sk.data<float>() + (i * sources_ + k) * 68 * 3);
          std::copy_n(sa->row("gaze", t), 6, sg.data<float>() + (i * sources_ + k) * 6);
        }
      }
      b.tensors = {{"target.image", ti}, {"source.image", si}, {"target.keypoints", tk},
                   {"target.gaze", tg}, {"source.keypoints", sk}, {"source.gaze", sg}};
      triples_.push_back(std::move(b));
    }
  }

  static void copy_image(const Image& img, float* out) {
    const Tensor t = image_to_tensor(img);  // [0, 255] → [-1, 1], the loader's mapping
    std::copy_n(t.data<float>(), t.numel(), out);
  }

  TrainOptions o_;
  std::shared_ptr<const data::Dataset> ds_;
  nets::Config cfg_;
  Device device_;
  DType dtype_;
  int sources_;
  nets::Generator gen_;
  nets::Discriminator disc_image_, disc_mouth_;
  nets::Vgg19 vgg_;
  std::unique_ptr<Adam> adam_g_, adam_di_, adam_dm_;
  std::vector<data::Batch> held_out_pairs_, triples_;
};

}  // namespace

std::unique_ptr<Task> make_generator_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds) {
  return std::make_unique<GeneratorTask>(o, std::move(ds));
}

std::unique_ptr<Task> make_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds) {
  if (o.task == "kp") return make_keypoint_task(o, std::move(ds));
  if (o.task == "gaze") return make_gaze_task(o, std::move(ds));
  if (o.task == "gen") return make_generator_task(o, std::move(ds));
  FH_FAIL("train", "unknown task '", o.task, "' (kp, gaze or gen)");
}

}  // namespace fh::train
