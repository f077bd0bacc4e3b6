// The training loop shared by the three Free-HeadGAN components (E_can, E_gaze, G): one
// loop — data → forward → losses → backward → optimiser steps → logs, samples, validation,
// checkpoints — into which a Task plugs what is particular to a network.
//
// A run folder describes itself and can be resumed:
//   RUN/config.json            every option, the dataset's manifest hash, commit and build
//   RUN/log.jsonl              one line per logged step: every loss term, lr, time, rate
//   RUN/validation.jsonl       one line per validation
//   RUN/samples/step_NNNNNNN.png, RUN/curves.png
//   RUN/checkpoints/step_NNNNNNN/{weights,adam_<name>}.safetensors + state.json
//   RUN/weights.safetensors    inference weights of the latest checkpoint
//
// Determinism: batch k is a pure function of (dataset, options, k), every module's state
// (spectral-norm vectors and BatchNorm statistics included) and every optimiser's state are
// in the checkpoint, and no step draws from a shared random stream, so N steps then
// --resume for N more gives the same bits as 2N straight steps.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/loader.h"
#include "dist/communicator.h"
#include "layers/module.h"
#include "runtime/device.h"
#include "runtime/tensor.h"
#include "train/adam.h"
#include "weights/json.h"

namespace fh::train {

struct TrainOptions {
  std::string task;          // "kp", "gaze" or "gen"
  std::string data;          // dataset folder (docs/data.md)
  std::string config = "tiny";
  std::string out;           // run folder
  int64_t steps = 1000;      // total steps of the run (a resumed run continues to this)
  int64_t decay_from = 0;    // > 0: learning rates fall linearly from this step to 0 at `steps`
  int64_t batch = 8;
  double lr = 0, beta1 = 0, beta2 = 0;  // 0 = the task's default (docs/geometry.md#adam-trainadamh)
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string dtype = "float32";  // or "float64" (CPU): networks, losses, optimiser states
  int threads = 0;           // 0 = the thread pool's default
  std::string init;          // weights file to start from (may hold only some tensors)
  int64_t log_every = 10, sample_every = 250, validate_every = 250, checkpoint_every = 250;
  int64_t keep_checkpoints = 3;
  int64_t val_batches = 4;   // held-out batches per validation
  std::string val_split = "val";
  int workers = 2;           // loader threads
  int64_t frame_cache_mb = 1024;  // decoded frames kept in memory (Dataset::set_frame_cache)
  // E_gaze only: eye crops moved at random by this fraction of their side (LoaderOptions).
  double eye_jitter = 0;
  bool mirror = false;  // training items mirrored at random (LoaderOptions::mirror); validation never
  // Generator only.
  bool nshot = false;        // stage 2: weight head, frozen flow network, `sources` sources
  int sources = 2;           // sources per target in the N-shot stage
  std::string vgg;           // VGG19 ImageNet weights (converted); empty = seeded random VGG19
  int min_gap = 0;           // pairs: source at least this many frames from the target
  double l1 = 0;             // weight of an extra L1(ŷ, y) term (0 = the paper's loss)
  // Testing the guards: make the loss NaN at this step (0 = never; in a data-parallel run on
  // the last rank only).
  int64_t inject_nan_at = 0;
  bool progress = true;

  json::Value to_json() const;
  static TrainOptions from_json(const json::Value& v, const std::string& source);
};

// Loss terms of one step, by name, in a fixed order.
using Terms = std::vector<std::pair<std::string, double>>;

struct ReduceStats;  // train/data_parallel.h

// What a task hands the loop for each optimisation: the loss (a 0-d tensor), its terms, and
// the optimiser to step. The loop checks the terms and the gradients and runs the step.
// In data-parallel training (`comm` of K > 1 ranks) each rank's loss is over its share of
// the batch, and the gradients are averaged over the ranks before the step.
class StepContext {
 public:
  StepContext(int64_t step, const TrainOptions& options, dist::Communicator& comm = dist::local(),
              ReduceStats* reduce_stats = nullptr)
      : step_(step), options_(options), comm_(comm), reduce_stats_(reduce_stats) {}
  int64_t step() const { return step_; }
  // Checks every term is finite, backpropagates `loss`, averages the gradients of `adam`'s
  // parameters over the ranks, checks every one is finite and steps `adam` (after zeroing
  // nothing: callers zero before their forward). `what` names the optimisation in errors
  // ("G", "D_I", ...).
  void optimise(const std::string& what, const Tensor& loss, const std::vector<std::pair<std::string, Tensor>>& terms,
                Adam& adam);

 private:
  int64_t step_;
  const TrainOptions& options_;
  dist::Communicator& comm_;
  ReduceStats* reduce_stats_;
};

class Task {
 public:
  virtual ~Task() = default;

  // A module the run saves: file prefix ("kp.", "gen.", "disc_image.", ...), whether it
  // belongs to the inference weights.
  struct ModuleEntry {
    std::string prefix;
    nn::Module* module;
    bool inference;
  };
  struct OptimizerEntry {
    std::string name;  // file: adam_<name>.safetensors
    Adam* adam;
    std::string prefix;  // the prefix of its parameter names (file layout conversion)
    nn::Module* module;
    double base_lr;      // the rate a schedule scales
  };

  virtual std::vector<ModuleEntry> modules() = 0;
  virtual std::vector<OptimizerEntry> optimizers() = 0;
  // (Re)creates the optimisers over the modules' current parameter tensors, with fresh
  // state. Loading weights replaces parameter tensors, so the loop calls this after
  // restoring a checkpoint's weights and before restoring the optimisers' state.
  virtual void make_optimizers() = 0;
  virtual data::LoaderOptions loader_options() const = 0;
  // One training step: forwards, losses and optimisations through ctx. Returns every term.
  virtual Terms step(const data::Batch& batch, StepContext& ctx) = 0;
  // Validation on held-out data; the loop logs what it returns.
  virtual Terms validate() = 0;
  // A picture of what the networks do on `batch`.
  virtual void write_samples(const data::Batch& batch, const std::string& path) = 0;
  // A one-line description for the log (e.g. which VGG weights).
  virtual json::Value describe() const { return json::Value::object(); }
};

// Result of a run.
struct TrainReport {
  int64_t first_step = 0, last_step = 0;  // steps done before and after this process
  double seconds = 0;
  bool interrupted = false;  // stopped by SIGINT/SIGTERM (checkpoint written)
  std::string run_dir;
  Terms last_terms, last_validation;
  int ranks = 1;                       // data-parallel ranks
  double allreduce_seconds = 0;        // in the gradient all-reduces, this rank
  int64_t allreduce_calls = 0;
  int64_t allreduce_values = 0;        // gradient values reduced, in all
};

// Builds the task that `options.task` names (kp, gaze, gen) on `dataset`.
std::unique_ptr<Task> make_task(const TrainOptions& options, std::shared_ptr<const data::Dataset> dataset);

// Trains from scratch (or from options.init) into options.out, which must not hold a run.
// Over `comm`'s K ranks (docs/distributed.md): every rank runs this with the same options;
// options.batch is the global batch (a multiple of K), each rank reads its 1/K of every
// batch, and only rank 0 writes the run folder. The default is dist::world(): the ranks an
// MPI launcher started, else this process alone.
TrainReport train(const TrainOptions& options);
TrainReport train(const TrainOptions& options, dist::Communicator& comm);
// Continues the run in `run_dir` from its latest checkpoint (with any K that divides the
// batch); `steps` > 0 changes the total, `threads` > 0 the CPU threads (which may change the
// rounding of later steps), `decay_from` > 0 the step the learning rates start falling from.
TrainReport resume(const std::string& run_dir, int64_t steps, bool progress, int threads = 0, int64_t decay_from = 0);
TrainReport resume(const std::string& run_dir, int64_t steps, bool progress, int threads, int64_t decay_from,
                   dist::Communicator& comm);

// The checkpoint folders of a run, oldest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

// An FNV-1a-style 64-bit hash of `n` bytes, continuing from `h` (start from kHashStart).
// kHashStart is one digit short of FNV's offset basis; it stays, since the manifest hashes
// that resumed runs compare against were made with it.
inline constexpr uint64_t kHashStart = 1469598103934665603ull;
uint64_t fnv1a(uint64_t h, const void* data, size_t n);

// fnv1a of a file's bytes, as 16 hex digits (the dataset's manifest identity).
std::string file_hash(const std::string& path);

}  // namespace fh::train
