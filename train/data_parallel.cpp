#include "train/data_parallel.h"

#include <chrono>
#include <cstring>

#include "kernels/core.h"
#include "runtime/error.h"
#include "train/trainer.h"

namespace fh::train {

namespace {

template <typename T>
void pack_and_average(const std::vector<Tensor>& grads, dist::Communicator& comm, int64_t total) {
  std::vector<T> flat(static_cast<size_t>(total));
  int64_t off = 0;
  for (const Tensor& g : grads) {
    const Tensor h = g.device().is_cpu() ? g : g.to(Device::cpu());  // host staging for device gradients
    std::memcpy(flat.data() + off, h.data<T>(), static_cast<size_t>(g.numel()) * sizeof(T));
    off += g.numel();
  }
  comm.sum(flat.data(), total, 1.0 / comm.size());
  off = 0;
  for (const Tensor& g : grads) {
    if (g.device().is_cpu()) {
      Tensor w = g;
      std::memcpy(w.data<T>(), flat.data() + off, static_cast<size_t>(g.numel()) * sizeof(T));
    } else {
      std::vector<T> part(flat.begin() + off, flat.begin() + off + g.numel());
      Tensor w = g;
      kernels::fill(w, 0.0);
      kernels::binary_(kernels::BinaryOp::Add, w, Tensor::from_vector(part, g.shape()).to(g.device()));
    }
    off += g.numel();
  }
}

uint64_t hash_tensor(uint64_t h, const std::string& name, const Tensor& t) {
  h = fnv1a(h, name.data(), name.size());
  if (!t.defined()) return h;
  const Tensor c = t.detach().to(Device::cpu());
  return fnv1a(h, c.raw_data(), static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

// Whether every rank's `values` equal rank 0's (every rank learns the answer).
bool ranks_agree(dist::Communicator& comm, std::vector<double> values) {
  std::vector<double> root = values;
  comm.broadcast(root.data(), static_cast<int64_t>(root.size() * sizeof(double)), 0);
  double differs = root == values ? 0.0 : 1.0;
  comm.sum(&differs, 1);
  return differs == 0;
}

}  // namespace

void average_gradients(const std::vector<NamedParameter>& params, dist::Communicator& comm, ReduceStats* stats) {
  if (comm.size() == 1) return;
  const auto start = std::chrono::steady_clock::now();
  // Which parameters have gradients, as one signature every rank must share.
  std::vector<Tensor> grads32, grads64;
  int64_t n32 = 0, n64 = 0;
  double signature[2] = {0, 0};
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor g = params[i].tensor.grad();
    if (!g.defined()) continue;
    FH_CHECK(g.dtype() == DType::F32 || g.dtype() == DType::F64, "distributed", "the gradient of '", params[i].name,
             "' is ", g.describe(), "; only float32 and float64 gradients are all-reduced");
    (g.dtype() == DType::F64 ? grads64 : grads32).push_back(g);
    (g.dtype() == DType::F64 ? n64 : n32) += g.numel();
    signature[0] += static_cast<double>(i + 1);
    signature[1] += static_cast<double>(g.numel());
  }
  // The first collective: it returns when the last rank has arrived, so the time until then
  // is waiting (for the slowest rank's backward), the rest is the exchange itself.
  const bool agree = ranks_agree(comm, {signature[0], signature[1]});
  const auto arrived = std::chrono::steady_clock::now();
  FH_CHECK(agree, "distributed",
           "the ranks hold gradients for different parameters (this rank: ", grads32.size() + grads64.size(),
           " gradients, ", n32 + n64, " values); every rank must run the same graph");
  if (n32 > 0) pack_and_average<float>(grads32, comm, n32);
  if (n64 > 0) pack_and_average<double>(grads64, comm, n64);
  if (stats != nullptr) {
    stats->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats->wait_seconds += std::chrono::duration<double>(arrived - start).count();
    stats->values += n32 + n64;
    stats->calls += 1;
  }
}

void average_terms(Terms& terms, dist::Communicator& comm, bool& stop) {
  if (comm.size() == 1) return;
  std::vector<double> v;
  for (const auto& [name, x] : terms) v.push_back(x);
  v.push_back(stop ? 1.0 : 0.0);
  comm.sum(v.data(), static_cast<int64_t>(v.size()), 1.0 / comm.size());
  for (size_t i = 0; i < terms.size(); ++i) terms[i].second = v[i];
  stop = v.back() > 0;
}

uint64_t state_fingerprint(Task& task) {
  uint64_t h = kHashStart;
  for (const auto& m : task.modules())
    for (const auto& [name, t] : m.module->state_dict(m.prefix)) h = hash_tensor(h, name, t);
  for (const auto& opt : task.optimizers())
    for (const auto& p : opt.adam->parameters()) {
      const Adam::State& s = opt.adam->state(p.name);
      h = hash_tensor(h, p.name + ".exp_avg", s.exp_avg);
      h = hash_tensor(h, p.name + ".exp_avg_sq", s.exp_avg_sq);
      h = fnv1a(h, &s.step, sizeof s.step);
    }
  return h;
}

void check_replicas_agree(Task& task, dist::Communicator& comm, const std::string& when) {
  if (comm.size() == 1) return;
  const uint64_t mine = state_fingerprint(task);
  uint64_t root = mine;
  comm.broadcast(&root, sizeof root, 0);
  std::vector<double> differs(static_cast<size_t>(comm.size()), 0.0);
  differs[static_cast<size_t>(comm.rank())] = mine == root ? 0.0 : 1.0;
  comm.sum(differs.data(), static_cast<int64_t>(differs.size()));
  std::string ranks;
  for (size_t r = 0; r < differs.size(); ++r)
    if (differs[r] != 0) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  FH_CHECK(ranks.empty(), "distributed", when, ": the model or optimiser state of rank(s) ", ranks,
           " differs from rank 0's (the replicas must stay identical)");
}

}  // namespace fh::train
