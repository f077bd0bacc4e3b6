// What the three training tasks share: optimisers over a module's trainable parameters,
// starting weights, device moves, image metrics and sample-sheet drawing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "layers/module.h"
#include "io/image_io.h"
#include "io/image_layout.h"
#include "train/adam.h"
#include "train/trainer.h"
#include "weights/safetensors.h"

namespace fh::train {

// Adam over every parameter of `module` that requires grad, named `prefix + name`.
std::unique_ptr<Adam> make_adam(const nn::Module& module, const std::string& prefix, const AdamOptions& options);

// The task's optimiser settings: the defaults of docs/geometry.md#adam-trainadamh unless
// the options override them.
AdamOptions adam_options(const TrainOptions& o, double lr, double beta1, double beta2);

// Loads `path` into `module` under `prefix`. Tensors the module lacks are an error; tensors
// the file lacks keep their initial values only when `partial` (e.g. the N-shot weight head
// on one-shot weights) — the missing names are printed. At least one tensor must match.
void load_initial_weights(nn::Module& module, const std::string& prefix, const std::string& path, bool partial);
// The same from a file's contents already read (`path` names it in messages).
void load_initial_weights(nn::Module& module, const std::string& prefix, const safetensors::Contents& contents,
                          const std::string& path, bool partial);

Device training_device(const TrainOptions& o);
// The dtype of the networks, losses and optimiser states (--dtype): float32, or float64 on
// the CPU (for checking: sums differ from another order only by float64 rounding).
DType training_dtype(const TrainOptions& o);

// The batch's tensors moved to `device` as `dtype` (the loader fills host float32 memory).
Tensor on(const data::Batch& b, const std::string& name, Device device, DType dtype);

// A fixed set of held-out batches: `count` batches of the split, shuffled with a seed of
// their own, never mirrored, built once and reused at every validation.
std::vector<data::Batch> held_out_batches(const std::shared_ptr<const data::Dataset>& ds, data::LoaderOptions lo,
                                          const std::string& split, int64_t count);

// PSNR in dB and mean absolute error on [0, 255] of images in [-1, 1] ([B,H,W,C]), per image.
std::vector<double> psnr_per_image(const Tensor& a, const Tensor& b);
std::vector<double> l1_255_per_image(const Tensor& a, const Tensor& b);

// Image b of a batch tensor [B,H,W,C] as an 8-bit picture, [lo, hi] mapped to [0, 255].
Image tile(const Tensor& batch, int64_t b, double lo = -1, double hi = 1);

}  // namespace fh::train
