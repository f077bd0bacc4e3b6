// `freehead train kp|gaze|gen`: trains one Free-HeadGAN component from raw (or given)
// weights into a run folder, or continues a run with --resume (train/trainer.h). Under an
// MPI launcher (`mpirun -np K freehead train ...`) the K processes train one model together
// (docs/distributed.md); an error on any rank ends every rank with that error.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>

#include "dist/communicator.h"

#include "runtime/thread_pool.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "train/trainer.h"

namespace fh::cli {

namespace {

// Counts and step numbers: at least `lo`, and at most `hi` (INT32_MAX for those narrowed to
// int; the default keeps step arithmetic such as step + every from overflowing).
int64_t at_least(const Options& opts, const char* name, int64_t lo, int64_t hi = int64_t{1} << 40) {
  return opts.integer(name, lo, hi);
}

double positive_or_zero(const Options& opts, const char* name) {
  const double v = opts.number(name);
  if (!(v >= 0)) throw UsageError{"--" + std::string(name) + " must be >= 0, got " + opts.str(name)};
  return v;
}

// The run the options ask for: a new one, or the continuation of one (--resume).
train::TrainReport run_training(const Options& opts, const std::string& task, dist::Communicator& comm) {
  if (opts.has("resume")) {
    for (const char* other : {"data", "out", "config", "batch", "lr", "beta1", "beta2", "seed", "init", "nshot", "vgg", "l1", "eye-jitter", "dtype"})
      if (opts.has(other))
        throw UsageError{"--resume continues a run with its recorded options; only --steps, --decay-from, --threads and "
                         "--quiet may change (got --" + std::string(other) + ")"};
    if (!task.empty()) throw UsageError{"--resume takes no network name: the run folder records it"};
    return train::resume(opts.str("resume"), opts.has("steps") ? at_least(opts, "steps", 1) : 0, !opts.flag("quiet"),
                         opts.has("threads") ? static_cast<int>(at_least(opts, "threads", 1, 4096)) : 0,
                         opts.has("decay-from") ? at_least(opts, "decay-from", 1) : 0, comm);
  } else {
    if (task.empty()) throw UsageError{"name the network to train: freehead train kp|gaze|gen (or --resume RUN)"};
    if (task != "kp" && task != "gaze" && task != "gen")
      throw UsageError{"unknown network '" + task + "' (kp, gaze or gen)"};
    if (!opts.has("data")) throw UsageError{"missing required option --data"};
    if (!opts.has("out")) throw UsageError{"missing required option --out"};
    train::TrainOptions o;
    o.task = task;
    o.data = opts.str("data");
    o.out = opts.str("out");
    o.config = opts.str("config");
    o.steps = at_least(opts, "steps", 1);
    o.batch = at_least(opts, "batch", 1, 65536);
    o.decay_from = at_least(opts, "decay-from", 0);
    o.lr = positive_or_zero(opts, "lr");
    o.beta1 = positive_or_zero(opts, "beta1");
    o.beta2 = positive_or_zero(opts, "beta2");
    if (o.beta1 >= 1 || o.beta2 >= 1) throw UsageError{"--beta1 and --beta2 must be below 1"};
    o.seed = static_cast<uint64_t>(at_least(opts, "seed", 0, INT64_MAX));
    o.device = opts.str("device");
    o.dtype = opts.str("dtype");
    if (o.dtype != "float32" && o.dtype != "float64") throw UsageError{"--dtype must be float32 or float64, got '" + o.dtype + "'"};
    o.threads = static_cast<int>(at_least(opts, "threads", 0, 4096));
    o.init = opts.has("init") ? opts.str("init") : "";
    o.log_every = at_least(opts, "log-every", 1);
    o.sample_every = at_least(opts, "sample-every", 0);
    o.validate_every = at_least(opts, "validate-every", 0);
    o.checkpoint_every = at_least(opts, "checkpoint-every", 0);
    o.keep_checkpoints = at_least(opts, "keep-checkpoints", 1);
    o.val_batches = at_least(opts, "val-batches", 1);
    o.val_split = opts.str("val-split");
    o.workers = static_cast<int>(at_least(opts, "workers", 0, 256));
    o.frame_cache_mb = at_least(opts, "frame-cache-mb", 0, int64_t{1} << 30);
    o.nshot = opts.flag("nshot");
    o.sources = static_cast<int>(at_least(opts, "sources", 1, 64));
    o.vgg = opts.has("vgg") ? opts.str("vgg") : "";
    o.min_gap = static_cast<int>(at_least(opts, "min-gap", 0, INT32_MAX));
    o.l1 = positive_or_zero(opts, "l1");
    o.eye_jitter = positive_or_zero(opts, "eye-jitter");
    if (o.eye_jitter > 0.5) throw UsageError{"--eye-jitter is a fraction of the crop side, at most 0.5"};
    if (task != "gaze" && o.eye_jitter > 0) throw UsageError{"--eye-jitter applies to `train gaze` only"};
    o.mirror = opts.flag("mirror");
    o.inject_nan_at = at_least(opts, "inject-nan-at", 0);
    o.progress = !opts.flag("quiet");
    if (task != "gen" && (o.nshot || !o.vgg.empty() || o.l1 > 0))
      throw UsageError{"--nshot, --vgg and --l1 apply to `train gen` only"};
    return train::train(o, comm);
  }
}

}  // namespace

int cmd_train(const Args& all_args) {
  std::string task;
  Args args = all_args;
  if (!args.empty() && args[0].rfind("--", 0) != 0 && args[0] != "-h") {
    task = args[0];
    args.erase(args.begin());
  }
  const Options opts(
      "train",
      "Trains a Free-HeadGAN network: `freehead train kp|gaze|gen --data DIR --out RUN [...]`\n"
      "(E_can, E_gaze, or the generator with its two discriminators), or continues a run:\n"
      "`freehead train --resume RUN [--steps N]`. The run folder holds config.json, log.jsonl,\n"
      "validation.jsonl, samples/, curves.png, checkpoints/ and weights.safetensors (inference).\n"
      "SIGINT/SIGTERM write a checkpoint and exit 0. Learning rates and betas default to the\n"
      "model's (E_can, G, D: 2e-4, (0.5, 0.999); E_gaze: 1e-4, (0.9, 0.999)).",
      {
          {"data", "dataset folder (docs/data.md)", true, false, ""},
          {"out", "run folder to create", true, false, ""},
          {"resume", "continue the run in this folder from its latest checkpoint", true, false, ""},
          {"config", "tiny, small or paper", true, false, "tiny"},
          {"steps", "total optimisation steps of the run", true, false, "1000"},
          {"decay-from", "learning rates fall linearly from this step to 0 at --steps (0 = constant)", true, false, "0"},
          {"batch", "images (kp: pairs, gaze: eyes, gen: targets) per step", true, false, "8"},
          {"lr", "learning rate (0 = the network's default)", true, false, "0"},
          {"beta1", "Adam beta1 (0 = default)", true, false, "0"},
          {"beta2", "Adam beta2 (0 = default)", true, false, "0"},
          {"seed", "seed of the initial weights and the data order", true, false, "0"},
          {"device", "cpu or cuda[:N] (the optimiser steps on the host)", true, false, "cpu"},
          {"dtype", "float32, or float64 on the CPU (slower; for checking results to rounding)", true, false, "float32"},
          {"threads", "CPU threads (0 = FH_NUM_THREADS or all cores)", true, false, "0"},
          {"init", "start from these weights (e.g. an ImageNet trunk, one-shot G for --nshot, or an N-shot G, its weight head left out, for one-shot)", true, false, ""},
          {"log-every", "steps between log lines", true, false, "10"},
          {"sample-every", "steps between sample grids (0 = never)", true, false, "250"},
          {"validate-every", "steps between validations (0 = never)", true, false, "250"},
          {"checkpoint-every", "steps between checkpoints (0 = only the final one)", true, false, "250"},
          {"keep-checkpoints", "checkpoints kept (oldest removed)", true, false, "3"},
          {"val-batches", "held-out batches per validation", true, false, "4"},
          {"val-split", "held-out split", true, false, "val"},
          {"workers", "data loader threads", true, false, "2"},
          {"frame-cache-mb", "decoded frames kept in memory, at most this many MiB (0 = decode every read)", true, false, "1024"},
          {"nshot", "gen: stage 2, weight head on, flow network frozen, --sources sources", false, false, ""},
          {"sources", "gen --nshot: sources per target", true, false, "2"},
          {"vgg", "gen: VGG19 ImageNet weights (converted); without it a seeded random VGG19", true, false, ""},
          {"min-gap", "pairs: source at least this many frames from the target", true, false, "0"},
          {"l1", "gen: weight of an extra L1(output, target) term (0 = the paper's loss)", true, false, "0"},
          {"eye-jitter", "gaze: move eye crops at random by this fraction of their side (0 = true crops)", true, false, "0"},
          {"mirror",
           "mirror half the training items, left and right swapped (kp, gen: whole frames with every annotation; "
           "gaze: crops with mesh and gaze)",
           false, false, ""},
          {"inject-nan-at", "testing: make the loss NaN at this step", true, false, "0"},
          {"quiet", "no progress bar", false, false, ""},
      },
      args);
  train::TrainReport r;
  dist::Communicator& comm = dist::world();
  try {
    r = run_training(opts, task, comm);
  } catch (const std::exception& e) {
    // One rank's error must not leave the others waiting in a collective: end the job.
    if (comm.size() > 1) {
      const bool oom = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
      comm.abort(std::string("freehead train: error: ") + (oom ? "out of memory" : e.what()), 1);
    }
    throw;
  }
  comm.finalize();
  if (!comm.is_root()) return 0;  // rank 0 reports for the job
  std::printf("%s at step %lld of this run (%lld steps in %.1f s, %d threads)\n",
              r.interrupted ? "interrupted; checkpoint written" : "finished", static_cast<long long>(r.last_step),
              static_cast<long long>(r.last_step - r.first_step), r.seconds, num_threads());
  for (const auto& [k, v] : r.last_validation) std::printf("  %-28s %.4f\n", k.c_str(), v);
  if (r.ranks > 1 && r.allreduce_calls > 0)
    std::printf("data-parallel: %d ranks; rank 0 spent %.3f s in %lld gradient all-reduces of %.3g values each on "
                "average (%.2f ms per step)\n",
                r.ranks, r.allreduce_seconds, static_cast<long long>(r.allreduce_calls),
                static_cast<double>(r.allreduce_values) / static_cast<double>(r.allreduce_calls),
                r.last_step > r.first_step ? 1e3 * r.allreduce_seconds / static_cast<double>(r.last_step - r.first_step) : 0.0);
  std::printf("run folder: %s\n", r.run_dir.c_str());
  return 0;
}

}  // namespace fh::cli
