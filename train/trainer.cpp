#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

#include <unistd.h>

#include "layers/sync_batch_norm.h"
#include "runtime/build_info.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "io/progress.h"
#include "runtime/thread_pool.h"
#include "train/curves.h"
#include "train/data_parallel.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;

namespace fh::train {

// ---- options ----------------------------------------------------------------------------------

json::Value TrainOptions::to_json() const {
  json::Value v = json::Value::object();
  v.set("task", task);
  v.set("data", data);
  v.set("config", config);
  v.set("out", out);
  v.set("steps", steps);
  v.set("decay_from", decay_from);
  v.set("batch", batch);
  v.set("lr", lr);
  v.set("beta1", beta1);
  v.set("beta2", beta2);
  v.set("seed", static_cast<int64_t>(seed));
  v.set("device", device);
  v.set("dtype", dtype);
  v.set("threads", threads);
  v.set("init", init);
  v.set("log_every", log_every);
  v.set("sample_every", sample_every);
  v.set("validate_every", validate_every);
  v.set("checkpoint_every", checkpoint_every);
  v.set("keep_checkpoints", keep_checkpoints);
  v.set("val_batches", val_batches);
  v.set("val_split", val_split);
  v.set("workers", workers);
  v.set("frame_cache_mb", frame_cache_mb);
  v.set("eye_jitter", eye_jitter);
  v.set("mirror", mirror);
  v.set("nshot", nshot);
  v.set("sources", sources);
  v.set("vgg", vgg);
  v.set("min_gap", min_gap);
  v.set("l1", l1);
  v.set("inject_nan_at", inject_nan_at);
  return v;
}

TrainOptions TrainOptions::from_json(const json::Value& v, const std::string& source) {
  // Options a run folder lacks take their defaults (folders written before an option existed
  // still resume); the four that say what the run is are required.
  TrainOptions o;
  for (const char* key : {"task", "data", "config", "out"})
    FH_CHECK(v.find(key) != nullptr, "train", "'", source, "' has no option '", key, "'");
  auto str = [&](const char* key, std::string& to) {
    if (const json::Value* m = v.find(key)) to = m->as_string(source + ": " + key);
  };
  auto integer = [&](const char* key, auto& to) {
    if (const json::Value* m = v.find(key)) to = static_cast<std::decay_t<decltype(to)>>(m->as_int(source + ": " + key));
  };
  auto number = [&](const char* key, double& to) {
    if (const json::Value* m = v.find(key)) to = m->as_double(source + ": " + key);
  };
  auto flag = [&](const char* key, bool& to) {
    if (const json::Value* m = v.find(key)) to = m->as_bool(source + ": " + key);
  };
  str("task", o.task);
  str("data", o.data);
  str("config", o.config);
  str("out", o.out);
  integer("steps", o.steps);
  integer("decay_from", o.decay_from);
  integer("batch", o.batch);
  number("lr", o.lr);
  number("beta1", o.beta1);
  number("beta2", o.beta2);
  integer("seed", o.seed);
  str("device", o.device);
  str("dtype", o.dtype);
  integer("threads", o.threads);
  str("init", o.init);
  integer("log_every", o.log_every);
  integer("sample_every", o.sample_every);
  integer("validate_every", o.validate_every);
  integer("checkpoint_every", o.checkpoint_every);
  integer("keep_checkpoints", o.keep_checkpoints);
  integer("val_batches", o.val_batches);
  str("val_split", o.val_split);
  integer("workers", o.workers);
  integer("frame_cache_mb", o.frame_cache_mb);
  number("eye_jitter", o.eye_jitter);
  flag("mirror", o.mirror);
  flag("nshot", o.nshot);
  integer("sources", o.sources);
  str("vgg", o.vgg);
  integer("min_gap", o.min_gap);
  number("l1", o.l1);
  integer("inject_nan_at", o.inject_nan_at);
  return o;
}

// ---- finiteness guards ------------------------------------------------------------------------

namespace {

template <typename T>
bool all_finite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

// Read in place on the host (every gradient, every step: no copy there); device tensors and
// other dtypes come to the host as float32 first.
bool all_finite(const Tensor& t) {
  if (t.device().is_cpu() && t.dtype() == DType::F32) return all_finite(t.data<float>(), t.numel());
  if (t.device().is_cpu() && t.dtype() == DType::F64) return all_finite(t.data<double>(), t.numel());
  const Tensor f = t.detach().to(Device::cpu()).to(DType::F32);
  return all_finite(f.data<float>(), f.numel());
}

}  // namespace

void StepContext::optimise(const std::string& what, const Tensor& loss,
                           const std::vector<std::pair<std::string, Tensor>>& terms, Adam& adam) {
  // The injected NaN (testing the guards) strikes the last rank only: in a data-parallel run
  // that is one rank failing while the others wait for it.
  const bool inject = options_.inject_nan_at == step_ && comm_.rank() == comm_.size() - 1;
  for (const auto& [name, t] : terms) {
    const double v = inject ? std::nan("") : t.item();
    FH_CHECK(std::isfinite(v), "train", "step ", step_, ": loss term '", name, "' of ", what, " is ", v,
             "; stopping (the last checkpoint is untouched)");
  }
  loss.backward();
  average_gradients(adam.parameters(), comm_, reduce_stats_);
  for (const auto& p : adam.parameters()) {
    const Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    FH_CHECK(all_finite(g), "train", "step ", step_, ": the gradient of '", p.name, "' (", what,
             ") is not finite; stopping (the last checkpoint is untouched)");
  }
  adam.step();
}

// ---- run folder -------------------------------------------------------------------------------

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::string file_hash(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path, "hash");
  const uint64_t h = fnv1a(kHashStart, bytes.data(), bytes.size());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step_", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%07lld", static_cast<long long>(step));
  return buf;
}

std::string format_terms(const Terms& terms, size_t max_terms = 6) {
  std::string s;
  char buf[96];
  for (size_t i = 0; i < terms.size() && i < max_terms; ++i) {
    std::snprintf(buf, sizeof buf, "%s%s %.4g", i ? " " : "", terms[i].first.c_str(), terms[i].second);
    s += buf;
  }
  return s;
}

json::Value terms_json(const Terms& terms) {
  json::Value v = json::Value::object();
  for (const auto& [k, x] : terms) v.set(k, std::isfinite(x) ? json::Value(x) : json::Value());
  return v;
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  FH_CHECK(f.good(), "train", "cannot append to '", path, "'");
  f << line << '\n';
  f.flush();
  FH_CHECK(f.good(), "train", "writing '", path, "' failed");
}

// Layout converters for an optimiser's state file: its parameters' moments are stored in
// their file layout, named as the parameters are (prefix included).
StateLayout layout_converter(const nn::Module& module, const std::string& prefix, bool to_file, DType dtype) {
  auto layouts = std::make_shared<std::map<std::string, nn::FileLayout>>(module.parameter_layouts(prefix));
  return [layouts, to_file, dtype](const std::string& name, const Tensor& t) {
    const auto it = layouts->find(name);
    const nn::FileLayout layout = it == layouts->end() ? nn::FileLayout::Same : it->second;
    return to_file ? nn::Module::to_file_layout(t, layout)
                   : nn::Module::from_file_layout(t, layout, dtype, Device::cpu());
  };
}

// SIGINT/SIGTERM ask the loop to checkpoint and stop at the next step boundary.
std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

class SignalScope {
 public:
  SignalScope() {
    g_stop_signal.store(0);
    previous_int_ = std::signal(SIGINT, on_stop_signal);
    previous_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

class Run {
 public:
  Run(TrainOptions options, bool resuming, dist::Communicator& comm)
      : o_(std::move(options)), dir_(o_.out), comm_(comm), root_(comm.is_root()) {
    FH_CHECK(o_.steps >= 1, "train", "--steps must be at least 1, got ", o_.steps);
    FH_CHECK(o_.batch >= 1, "train", "--batch must be at least 1, got ", o_.batch);
    FH_CHECK(o_.log_every >= 1 && o_.sample_every >= 0 && o_.validate_every >= 0 && o_.checkpoint_every >= 0,
             "train", "--log-every must be >= 1 and the other intervals >= 0 (0 = never)");
    FH_CHECK(o_.keep_checkpoints >= 1, "train", "--keep-checkpoints must be at least 1, got ", o_.keep_checkpoints);
    FH_CHECK(o_.batch % comm_.size() == 0, "train", "--batch ", o_.batch, " does not split over ", comm_.size(),
             " ranks: the global batch must be a multiple of the ranks (each reads batch/ranks items)");
    if (!root_) o_.progress = false;  // rank 0 speaks for the job
    if (o_.threads > 0) set_num_threads(o_.threads);
    dataset_ = data::Dataset::open(o_.data);
    dataset_->set_frame_cache(static_cast<size_t>(o_.frame_cache_mb) << 20);
    task_ = make_task(o_, dataset_);
    if (!resuming && root_) {
      std::error_code ec;
      FH_CHECK(!fs::exists(fs::path(dir_) / "config.json", ec), "train", "'", dir_,
               "' already holds a run (config.json); use --resume to continue it or choose another --out");
      fs::create_directories(fs::path(dir_) / "samples");
      fs::create_directories(fs::path(dir_) / "checkpoints");
      write_config();
    }
  }

  Task& task() { return *task_; }
  const TrainOptions& options() const { return o_; }

  void write_config() const {
    json::Value v = json::Value::object();
    v.set("options", o_.to_json());
    json::Value d = json::Value::object();
    d.set("dir", o_.data);
    d.set("manifest_hash", file_hash((fs::path(o_.data) / data::kManifestName).string()));
    d.set("image_size", dataset_->image_size());
    v.set("dataset", d);
    v.set("task", task_->describe());
    v.set("freehead", std::string(version()));
    v.set("commit", std::string(git_commit()));
    v.set("build", std::string(build_options()));
    v.set("threads", num_threads());
    v.set("ranks", comm_.size());
    write_file_atomic((fs::path(dir_) / "config.json").string(), v.dump() + "\n", "train config");
  }

  // Renames a folder to a hidden name (which list_checkpoints skips), then deletes it.
  static void discard_folder(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return;
    const fs::path trash = dir.parent_path() / (".trash_" + dir.filename().string());
    fs::remove_all(trash, ec);
    fs::rename(dir, trash, ec);
    fs::remove_all(ec ? dir : trash, ec);
  }

  // Checkpoint `step` (the number of steps done): a folder written under a temporary name
  // and renamed when complete, so a crash leaves either the old set or the new one.
  void save_checkpoint(int64_t step) {
    check_replicas_agree(*task_, comm_, "at the checkpoint of step " + std::to_string(step));
    if (!root_) return;  // rank 0 writes; the others hold the same state (just checked)
    const fs::path root = fs::path(dir_) / "checkpoints";
    const fs::path final_dir = root / step_name(step);
    const fs::path tmp = root / (".tmp_" + step_name(step));
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp);
    safetensors::NamedTensors all, inference;
    for (const auto& m : task_->modules()) {
      for (auto& [name, t] : m.module->state_dict(m.prefix)) {
        if (m.inference && !ends_with(name, ".weight_orig") && !ends_with(name, ".weight_u"))
          inference.emplace_back(name, t);
        all.emplace_back(std::move(name), std::move(t));
      }
    }
    const std::map<std::string, std::string> meta = {{"step", std::to_string(step)}, {"task", o_.task},
                                                     {"config", o_.config}, {"commit", git_commit()}};
    safetensors::save((tmp / "weights.safetensors").string(), all, meta);
    for (const auto& opt : task_->optimizers())
      opt.adam->save_state((tmp / ("adam_" + opt.name + ".safetensors")).string(),
                           layout_converter(*opt.module, opt.prefix, true, DType::F32));
    json::Value state = json::Value::object();
    state.set("step", step);
    state.set("next_batch", step);  // one batch per step: the data position
    state.set("seed", static_cast<int64_t>(o_.seed));
    write_file_atomic((tmp / "state.json").string(), state.dump() + "\n", "checkpoint state");
    // A checkpoint of this step written before (a resumed run passing it again) is moved out
    // of the way, not deleted in place: a kill mid-delete must not leave a half checkpoint
    // under a name that resume would pick.
    discard_folder(final_dir);
    fs::rename(tmp, final_dir);
    // Inference weights beside the run, then prune the oldest checkpoints.
    safetensors::save((fs::path(dir_) / "weights.safetensors").string(), inference, meta);
    std::vector<std::string> all_ckpts = list_checkpoints(dir_);
    while (static_cast<int64_t>(all_ckpts.size()) > o_.keep_checkpoints) {
      discard_folder(all_ckpts.front());
      all_ckpts.erase(all_ckpts.begin());
    }
  }

  // Restores the latest checkpoint; returns its step.
  int64_t load_latest_checkpoint() {
    const std::vector<std::string> ckpts = list_checkpoints(dir_);
    FH_CHECK(!ckpts.empty(), "train", "'", dir_, "' has no checkpoint to resume from (checkpoints/step_*)");
    const fs::path dir = ckpts.back();
    const std::string state_path = (dir / "state.json").string();
    const std::vector<unsigned char> bytes = read_file_bytes(state_path, "checkpoint state");
    const json::Value state = json::parse(std::string(bytes.begin(), bytes.end()), state_path);
    const json::Value* step_v = state.find("step");
    FH_CHECK(step_v != nullptr, "train", "'", state_path, "' has no 'step'");
    const int64_t step = step_v->as_int(state_path + ": step");
    const std::string weights_path = (dir / "weights.safetensors").string();
    const safetensors::Contents c = safetensors::load(weights_path);
    nn::TensorMap map(c.tensors.begin(), c.tensors.end());
    for (const auto& m : task_->modules()) nn::load_weights(*m.module, map, m.prefix, weights_path);
    task_->make_optimizers();
    for (const auto& opt : task_->optimizers())
      opt.adam->load_state((dir / ("adam_" + opt.name + ".safetensors")).string(),
                           layout_converter(*opt.module, opt.prefix, false, state_dtype()));
    return step;
  }

  TrainReport loop(int64_t first_step) {
    TrainReport report;
    report.run_dir = dir_;
    report.first_step = first_step;
    data::LoaderOptions lo = task_->loader_options();
    lo.first_batch = first_step;
    lo.workers = o_.workers;
    lo.shards = comm_.size();
    lo.shard = comm_.rank();
    data::Loader loader(dataset_, lo);
    report.ranks = comm_.size();
    if (comm_.size() > 1) {
      check_replicas_agree(*task_, comm_, "at the start");
      if (root_) announce_distributed();
    }
    // Training-mode BatchNorm normalises with the statistics of every rank's images.
    nn::BatchNormSync sync_batch_norm(comm_);
    ReduceStats reduce_stats;
    const std::string log_path = (fs::path(dir_) / "log.jsonl").string();
    const std::string val_path = (fs::path(dir_) / "validation.jsonl").string();
    SignalScope signals;
    std::unique_ptr<ProgressBar> bar;
    if (o_.progress) bar = std::make_unique<ProgressBar>("train " + o_.task, o_.steps, "steps", first_step);
    const auto start = std::chrono::steady_clock::now();
    auto window_start = start;
    int64_t window_steps = 0;
    double window_reduce_seconds = 0, window_wait_seconds = 0;
    int64_t step = first_step;
    const int64_t pace_every = std::max<int64_t>(1, o_.log_every);
    // Ranks agree to stop after a step on which any of them was signalled (their signals
    // arrive at different moments; each must stop at the same step).
    bool stop_agreed = false;
    while (step < o_.steps) {
      if (comm_.size() == 1 ? g_stop_signal.load() != 0 : stop_agreed) {
        report.interrupted = true;
        break;
      }
      set_learning_rates(step);
      const data::Batch batch = loader.next();
      StepContext ctx(step + 1, o_, comm_, &reduce_stats);
      Terms terms = task_->step(batch, ctx);
      stop_agreed = g_stop_signal.load() != 0;
      average_terms(terms, comm_, stop_agreed);
      ++step;
      ++window_steps;
      report.last_terms = terms;
      if (!root_) {  // rank 0 logs, samples, validates and checkpoints
        if (o_.checkpoint_every > 0 && step % o_.checkpoint_every == 0) save_checkpoint(step);
        continue;
      }
      if (step % pace_every == 0 || step == o_.steps) {
        const auto now = std::chrono::steady_clock::now();
        const double window = std::chrono::duration<double>(now - window_start).count();
        json::Value line = json::Value::object();
        line.set("step", step);
        line.set("time", std::chrono::duration<double>(now - start).count());
        line.set("steps_per_s", window > 0 ? window_steps / window : 0.0);
        line.set("images_per_s", window > 0 ? window_steps * o_.batch / window : 0.0);
        const auto opts = task_->optimizers();
        if (!opts.empty()) line.set("lr", opts.front().adam->lr());
        if (comm_.size() > 1 && window_steps > 0) {  // rank 0's wall time in the gradient all-reduces, per step
          line.set("allreduce_s_per_step", (reduce_stats.seconds - window_reduce_seconds) / window_steps);
          line.set("allreduce_wait_s_per_step", (reduce_stats.wait_seconds - window_wait_seconds) / window_steps);
        }
        line.set("terms", terms_json(terms));
        append_line(log_path, line.dump());
        window_start = now;
        window_steps = 0;
        window_reduce_seconds = reduce_stats.seconds;
        window_wait_seconds = reduce_stats.wait_seconds;
      }
      if (bar) {
        bar->set_status(format_terms(terms));
        bar->advance();
      }
      if (o_.sample_every > 0 && step % o_.sample_every == 0)
        task_->write_samples(batch, (fs::path(dir_) / "samples" / (step_name(step) + ".png")).string());
      if (o_.validate_every > 0 && (step % o_.validate_every == 0 || step == o_.steps)) {
        const Terms v = task_->validate();
        report.last_validation = v;
        json::Value line = json::Value::object();
        line.set("step", step);
        line.set("metrics", terms_json(v));
        append_line(val_path, line.dump());
        if (bar) std::fprintf(stderr, "%svalidation at step %lld: %s\n", isatty_stderr() ? "\n" : "",
                              static_cast<long long>(step), format_terms(v, 12).c_str());
        write_curves(dir_);
      }
      if (o_.checkpoint_every > 0 && step % o_.checkpoint_every == 0) save_checkpoint(step);
    }
    // The final state (or the state at an interruption) is always checkpointed: rank 0 says
    // whether it already is, so that every rank takes part in the replica check.
    double need_final = 0;
    if (root_) {
      const std::vector<std::string> ckpts = list_checkpoints(dir_);
      need_final = ckpts.empty() || ckpts.back() != (fs::path(dir_) / "checkpoints" / step_name(step)).string();
    }
    comm_.broadcast(&need_final, sizeof need_final, 0);
    if (need_final != 0) save_checkpoint(step);
    if (root_) write_curves(dir_);
    if (bar) bar->finish();
    report.allreduce_seconds = reduce_stats.seconds;
    report.allreduce_calls = reduce_stats.calls;
    report.allreduce_values = reduce_stats.values;
    report.last_step = step;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }

 private:
  // Constant, or linear decay to zero from --decay-from to --steps (each optimiser from its
  // own base rate, which its options hold).
  void set_learning_rates(int64_t step) {
    if (o_.decay_from <= 0) return;
    const int64_t end = std::max(o_.steps, o_.decay_from + 1);
    for (const auto& opt : task_->optimizers())
      opt.adam->set_lr(LrSchedule::linear_decay(opt.base_lr, o_.decay_from, end).at(step));
  }
  static bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  static bool isatty_stderr() { return ::isatty(STDERR_FILENO) != 0; }
  // The optimiser states' dtype in memory: their parameters' (--dtype).
  DType state_dtype() const { return o_.dtype == "float64" ? DType::F64 : DType::F32; }

  // Said once, by rank 0, when a data-parallel run starts.
  void announce_distributed() const {
    const int k = comm_.size();
    std::fprintf(stderr, "data-parallel: %d ranks × %lld per rank = batch %lld; gradients averaged over %s; "
                 "BatchNorm synchronised\n", k, static_cast<long long>(o_.batch / k), static_cast<long long>(o_.batch),
                 comm_.transport().c_str());
    if (o_.device != "cpu")
      std::fprintf(stderr, "data-parallel on %s: NO NCCL and no CUDA-aware transport in this build — every gradient "
                   "all-reduce and every BatchNorm statistic is staged through host memory (device → host → MPI → "
                   "device)\n", o_.device.c_str());
  }

  TrainOptions o_;
  std::string dir_;
  dist::Communicator& comm_;
  bool root_;
  std::shared_ptr<data::Dataset> dataset_;
  std::unique_ptr<Task> task_;
};

}  // namespace


namespace {

// With several ranks an error on one must not leave the others waiting in a collective:
// it ends the whole job, printing this rank's error (Communicator::abort never returns).
template <class Fn>
TrainReport ending_the_job_on_error(dist::Communicator& comm, Fn&& fn) {
  if (comm.size() == 1) return fn();
  std::string error;
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    error = "out of memory";
  } catch (const std::exception& e) {
    error = e.what();
  }
  comm.abort("freehead train: error: " + error, 1);
}

}  // namespace

TrainReport train(const TrainOptions& options) { return train(options, dist::world()); }

TrainReport train(const TrainOptions& options, dist::Communicator& comm) {
  return ending_the_job_on_error(comm, [&] {
    FH_CHECK(!options.out.empty(), "train", "--out is required");
    const fs::path dir(options.out);
    std::error_code ec;
    const bool existed = fs::exists(dir, ec);
    const bool had_run = fs::exists(dir / "config.json", ec);  // another run's folder: never touched
    try {
      Run run(options, false, comm);
      return run.loop(0);
    } catch (...) {
      // A run that fails before it has logged or checkpointed anything (bad data, bad --init,
      // a full disk) holds nothing worth keeping: what it created goes, so the same command
      // runs again once the input is fixed instead of finding "already holds a run". Rank 0
      // alone created it (with several ranks, an error on another rank ends rank 0 first).
      if (comm.is_root() && !had_run && list_checkpoints(options.out).empty() && !fs::exists(dir / "log.jsonl", ec)) {
        if (!existed) {
          fs::remove_all(dir, ec);
        } else {
          for (const char* name : {"config.json", "samples", "checkpoints", "validation.jsonl"})
            fs::remove_all(dir / name, ec);
        }
      }
      throw;
    }
  });
}

namespace {

// resume() on this rank (ending_the_job_on_error wraps it).
TrainReport resume_run(const std::string& run_dir, int64_t steps, bool progress, int threads, int64_t decay_from,
                       dist::Communicator& comm) {
  const std::string config_path = (fs::path(run_dir) / "config.json").string();
  std::error_code ec;
  FH_CHECK(fs::exists(config_path, ec), "train", "'", run_dir, "' is not a run folder (no config.json)");
  const std::vector<unsigned char> bytes = read_file_bytes(config_path, "train config");
  const json::Value cfg = json::parse(std::string(bytes.begin(), bytes.end()), config_path);
  const json::Value* opts = cfg.find("options");
  FH_CHECK(opts != nullptr, "train", "'", config_path, "' has no 'options'");
  TrainOptions o = TrainOptions::from_json(*opts, config_path);
  o.out = run_dir;
  o.progress = progress;
  if (steps > 0) o.steps = steps;
  if (threads > 0) o.threads = threads;
  if (decay_from > 0) o.decay_from = decay_from;
  // The dataset must be the one the run started on.
  const json::Value* d = cfg.find("dataset");
  if (d != nullptr && d->find("manifest_hash") != nullptr) {
    const std::string want = d->find("manifest_hash")->as_string(config_path + ": manifest_hash");
    const std::string got = file_hash((fs::path(o.data) / data::kManifestName).string());
    FH_CHECK(want == got, "train", "the dataset '", o.data, "' changed since the run began (manifest hash ", got,
             ", the run recorded ", want, ")");
  }
  Run run(o, true, comm);
  const int64_t step = run.load_latest_checkpoint();
  if (comm.is_root() && (steps > 0 || threads > 0 || decay_from > 0)) run.write_config();
  return run.loop(step);
}

}  // namespace

TrainReport resume(const std::string& run_dir, int64_t steps, bool progress, int threads, int64_t decay_from) {
  return resume(run_dir, steps, progress, threads, decay_from, dist::world());
}

TrainReport resume(const std::string& run_dir, int64_t steps, bool progress, int threads, int64_t decay_from,
                   dist::Communicator& comm) {
  return ending_the_job_on_error(comm, [&] { return resume_run(run_dir, steps, progress, threads, decay_from, comm); });
}

}  // namespace fh::train
