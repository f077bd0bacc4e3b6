// Data-parallel training across real ranks (docs/distributed.md): K ranks × batch B against
// one process with batch K·B, and the trainer's 2-rank runs against each other.
//
// In float64 (--dtype float64) the two differ only in the order of their sums, so they agree
// to float64 rounding carried through a few Adam steps; the bound is derived below. In
// float32 the first step's loss terms — the same weights, the same images — agree to the
// float32 network tolerance; later float32 steps are not compared: Adam's step
// m̂/(√v̂ + ε) is about ±lr for any gradient element far below ε's scale, so a rounding-level
// difference in such an element can flip the sign of its update.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "dist/communicator.h"
#include "layers/sync_batch_norm.h"
#include "io/file_io.h"
#include "tests/harness/synthetic_dataset.h"
#include "tests/harness/tolerance.h"
#include "train/data_parallel.h"
#include "train/trainer.h"
#include "weights/json.h"

namespace fs = std::filesystem;
using namespace fh;

namespace {

// Rank 0's string on every rank (a folder every rank must name alike).
std::string from_rank0(std::string s) {
  dist::Communicator& comm = dist::world();
  double len = static_cast<double>(s.size());
  comm.broadcast(&len, sizeof len, 0);
  s.resize(static_cast<size_t>(len));
  comm.broadcast(s.data(), static_cast<int64_t>(s.size()), 0);
  return s;
}

// Every rank makes the same dataset (one seed) in a folder of its own; rank 0's folder is
// the run folders' parent.
struct Workspace : test::SyntheticDataset {
  fs::path runs;
  explicit Workspace(const std::string& name)
      : SyntheticDataset("mpi-" + name, 10, 1, 40, 64, 7, 4), runs(from_rank0(root.string())) {}
  train::TrainOptions options(const std::string& task, const std::string& run) const {
    train::TrainOptions o;
    o.task = task;
    o.data = data;
    o.out = (runs / run).string();
    o.config = "tiny";
    o.steps = 3;
    o.batch = 4;
    o.seed = 3;
    o.log_every = 1;
    o.sample_every = 0;
    o.validate_every = 0;
    o.checkpoint_every = 0;
    o.val_batches = 1;
    o.workers = 0;
    o.progress = false;
    return o;
  }
};

using StateMap = std::map<std::string, Tensor>;

// What train() does each step — the sharded batch, synchronised BatchNorm, gradients
// averaged over the ranks inside StepContext — for `steps` steps, keeping the task in memory
// (a float64 run's checkpoints are written in float32). Returns every parameter, buffer and
// Adam moment, and the largest gradient element of the first step (from Adam's first moment).
StateMap run_steps(const train::TrainOptions& o, dist::Communicator& comm, double& first_step_max_grad) {
  auto ds = data::Dataset::open(o.data);
  std::unique_ptr<train::Task> task = train::make_task(o, ds);
  data::LoaderOptions lo = task->loader_options();
  lo.workers = 0;
  lo.shards = comm.size();
  lo.shard = comm.rank();
  data::Loader loader(ds, lo);
  nn::BatchNormSync sync(comm);
  first_step_max_grad = 0;
  for (int64_t i = 0; i < o.steps; ++i) {
    train::StepContext ctx(i + 1, o, comm);
    train::Terms terms = task->step(loader.make_batch(i), ctx);
    bool stop = false;
    train::average_terms(terms, comm, stop);
    if (i == 0)
      for (const auto& opt : task->optimizers())
        for (const auto& p : opt.adam->parameters()) {
          const Tensor m = opt.adam->state(p.name).exp_avg;
          if (!m.defined()) continue;
          const double* v = m.data<double>();
          for (int64_t j = 0; j < m.numel(); ++j)
            first_step_max_grad = std::max(first_step_max_grad, std::abs(v[j]) / (1 - opt.adam->options().beta1));
        }
  }
  train::check_replicas_agree(*task, comm, "after the test's steps");
  StateMap out;
  for (const auto& m : task->modules()) {
    for (const auto& [name, t] : m.module->named_parameters(m.prefix)) out[name] = t.detach();
    for (const auto& [name, t] : m.module->named_buffers(m.prefix)) out[name] = t.detach();
  }
  for (const auto& opt : task->optimizers())
    for (const auto& p : opt.adam->parameters()) {
      const train::Adam::State& s = opt.adam->state(p.name);
      if (!s.exp_avg.defined()) continue;
      out[p.name + ".exp_avg"] = s.exp_avg;
      out[p.name + ".exp_avg_sq"] = s.exp_avg_sq;
    }
  return out;
}

// Rank 0 alone runs `fn` (a single-process reference) while the other ranks wait for it.
template <class Fn>
void on_rank0_alone(Fn fn) {
  dist::Communicator& comm = dist::world();
  if (comm.is_root()) fn();
  double done = 0;
  comm.sum(&done, 1);
}

void compare_float64(const std::string& task, int64_t batch, int64_t summands_per_value) {
  dist::Communicator& comm = dist::world();
  Workspace ws("f64-" + task);
  train::TrainOptions o = ws.options(task, "unused");
  o.dtype = "float64";
  o.batch = batch;
  double g_dist = 0, g_one = 0;
  const StateMap dist_state = run_steps(o, comm, g_dist);
  StateMap one_state;
  on_rank0_alone([&] { one_state = run_steps(o, dist::local(), g_one); });
  if (!comm.is_root()) return;
  // Both runs make the same sums in different orders. A float64 sum of at most n terms (n =
  // summands_per_value: every image position of the global batch) is off by at most n·u of
  // its terms' scale, so the first step's gradients differ by at most δ = n·u·G (G = the
  // largest gradient element). Adam's update lr·m̂/(√v̂ + ε) moves by at most lr·δ/ε for a
  // change δ in g, so after `steps` steps the weights differ by at most steps·lr·n·u·G/ε;
  // the moments by steps·δ (first) and steps·2·G·δ (second).
  const double u = std::numeric_limits<double>::epsilon() / 2, eps = 1e-8, lr = 2e-4;
  const double n = static_cast<double>(summands_per_value), G = g_one, steps = static_cast<double>(o.steps);
  const double delta = n * u * G;
  const test::Tolerance weights{steps * lr * delta / eps, 0}, first{steps * delta, 0}, second{steps * 2 * G * delta, 0};
  MESSAGE(task << ": largest first-step gradient element " << G << " (2 ranks: " << g_dist << "); tolerances: weights "
               << weights.atol << ", exp_avg " << first.atol << ", exp_avg_sq " << second.atol);
  REQUIRE(dist_state.size() == one_state.size());
  double worst = 0;
  std::string worst_name;
  for (const auto& [name, ref] : one_state) {
    CAPTURE(name);
    const auto it = dist_state.find(name);
    REQUIRE(it != dist_state.end());
    const bool is_first = name.size() > 8 && name.compare(name.size() - 8, 8, ".exp_avg") == 0;
    const bool is_second = name.size() > 11 && name.compare(name.size() - 11, 11, ".exp_avg_sq") == 0;
    const test::Tolerance tol = is_second ? second : is_first ? first : weights;
    const test::Comparison c = test::compare(it->second, ref, tol);
    INFO(c.report(name));
    CHECK(c.ok());
    if (c.worst_fraction > worst) {
      worst = c.worst_fraction;
      worst_name = name;
    }
  }
  MESSAGE(task << ": worst fraction of the tolerance " << worst << " (" << worst_name << ")");
}

json::Value read_json_line(const fs::path& path, int64_t step) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    json::Value v = json::parse(line, path.string());
    if (v.find("step") && v.find("step")->as_int("step") == step) return v;
  }
  FH_FAIL("test", "no step ", step, " in ", path.string());
}

std::vector<unsigned char> bytes_of(const fs::path& p) { return read_file_bytes(p.string(), "test"); }

}  // namespace

TEST_CASE("MPI: E_can, 2 ranks × 2 pairs, 3 steps, match one process with 4 pairs to float64 rounding") {
  // E_can reads 2B images of 64²: a conv weight's gradient sums over 2·4·64·64 positions.
  compare_float64("kp", 4, 2 * 4 * 64 * 64);
}

TEST_CASE("MPI: G with both discriminators, 2 ranks × 1 pair, 3 steps, match one process with 2 pairs to float64 rounding") {
  // The generator's largest sums run over the VGG features of ŷ and x̄ of both pairs.
  compare_float64("gen", 2, 2 * 2 * 64 * 64);
}

TEST_CASE("MPI: the trainer in float32 — first-step loss terms match one process, two 2-rank runs give the same bits, resume") {
  dist::Communicator& comm = dist::world();
  for (const std::string task : {"kp", "gen"}) {
    CAPTURE(task);
    Workspace ws("trainer-" + task);
    train::TrainOptions o = ws.options(task, "two_ranks");
    if (task == "gen") o.batch = 2;
    o.checkpoint_every = 2;
    o.steps = 4;
    const train::TrainReport a = train::train(o, comm);
    CHECK(a.last_step == 4);
    CHECK(a.ranks == comm.size());
    train::TrainOptions again = o;
    again.out = (ws.runs / "two_ranks_again").string();
    train::train(again, comm);
    // Half the steps, then --resume on the same ranks: the bits of the straight run.
    train::TrainOptions half = o;
    half.out = (ws.runs / "two_ranks_half").string();
    half.steps = 2;
    train::train(half, comm);
    train::resume(half.out, 4, false, 0, 0, comm);
    train::TrainOptions one = o;
    one.out = (ws.runs / "one_process").string();
    on_rank0_alone([&] { train::train(one, dist::local()); });
    if (comm.is_root()) {
      const fs::path final_ckpt = fs::path("checkpoints") / "step_0000004";
      for (const char* file : {"weights.safetensors", task == "kp" ? "adam_kp.safetensors" : "adam_gen.safetensors"}) {
        CAPTURE(file);
        CHECK(bytes_of(fs::path(o.out) / final_ckpt / file) == bytes_of(fs::path(again.out) / final_ckpt / file));
        CHECK(bytes_of(fs::path(o.out) / final_ckpt / file) == bytes_of(fs::path(half.out) / final_ckpt / file));
      }
      // Step 1: the same weights, the same images; the loss terms differ by the order of
      // float32 sums through the networks (the float32 network tolerance of the parity tests).
      const test::Tolerance f32_network{5e-5, 5e-4};
      const json::Value t2 = *read_json_line(fs::path(o.out) / "log.jsonl", 1).find("terms");
      const json::Value t1 = *read_json_line(fs::path(one.out) / "log.jsonl", 1).find("terms");
      for (const auto& [name, value] : t1.as_object("terms")) {
        CAPTURE(name);
        const double x = t2.find(name)->as_double(name), ref = t1.find(name)->as_double(name);
        const double allowed = f32_network.atol + f32_network.rtol * std::abs(ref);
        MESSAGE(task << " step 1 " << name << ": 2 ranks " << x << ", 1 process " << ref << " (" << std::abs(x - ref) / allowed
                     << " of the tolerance)");
        CHECK(std::abs(x - ref) <= allowed);
      }
      // Resume with another rank count: rank 0 alone continues the 2-rank run.
      CHECK(train::resume(o.out, 6, false, 0, 0, dist::local()).last_step == 6);
    }
    double done = 0;  // the other ranks wait for rank 0's checks
    comm.sum(&done, 1);
  }
}
