// The MPI transport and synchronised batch norm across real ranks: sums are exact where the
// values are, equal on every rank and cut into buckets correctly; batch norm over the
// ranks' shards equals batch norm over the joined batch.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "autograd/norm.h"
#include "autograd/ops.h"
#include "dist/communicator.h"
#include "kernels/core.h"
#include "layers/sync_batch_norm.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"

using namespace fh;

namespace {

// Whether every rank's bytes equal rank 0's.
bool same_on_every_rank(const void* data, size_t bytes) {
  dist::Communicator& comm = dist::world();
  std::vector<char> root(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
  comm.broadcast(root.data(), static_cast<int64_t>(bytes), 0);
  double differs = std::memcmp(root.data(), data, bytes) != 0 ? 1.0 : 0.0;
  comm.sum(&differs, 1);
  return differs == 0;
}

}  // namespace

TEST_CASE("MPI: sums of buffers longer than a bucket, in float32 and float64, are exact and equal on every rank") {
  dist::Communicator& comm = dist::world();
  const int k = comm.size(), r = comm.rank();
  // 2^22 + 7 values: more than one bucket, and neither part divides evenly into k chunks.
  const int64_t n = (int64_t{1} << 22) + 7;
  std::vector<float> f(static_cast<size_t>(n));
  std::vector<double> d(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    f[i] = static_cast<float>((r + 1) * (i % 1000)) + 0.5f * static_cast<float>(r);  // exact in float32
    d[i] = static_cast<double>(f[i]) + 1e-9 * r;
  }
  comm.sum(f.data(), n, 0.5);
  comm.sum(d.data(), n);
  // Σ_r (r+1)·m + r/2 over k ranks, halved: exact in float32 for these sizes.
  const double ranks_plus = k * (k + 1) / 2.0, halves = (k * (k - 1) / 2.0) * 0.5;
  int64_t wrong_f = 0, wrong_d = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double m = static_cast<double>(i % 1000);
    if (f[i] != static_cast<float>(0.5 * (ranks_plus * m + halves))) ++wrong_f;
    double want = 0;
    for (int q = 0; q < k; ++q) want += static_cast<double>(static_cast<float>((q + 1) * m) + 0.5f * q) + 1e-9 * q;
    if (d[i] != want) ++wrong_d;
  }
  CHECK(wrong_f == 0);
  CHECK(wrong_d == 0);
  CHECK(same_on_every_rank(f.data(), f.size() * sizeof(float)));
  CHECK(same_on_every_rank(d.data(), d.size() * sizeof(double)));
  // An empty sum and a one-value sum (fewer values than ranks).
  comm.sum(static_cast<float*>(nullptr), 0);
  float one = 1.0f;
  comm.sum(&one, 1);
  CHECK(one == static_cast<float>(k));
}

TEST_CASE("MPI: sync_batch_norm2d over the ranks' shards equals batch_norm2d over the joined batch (float64)") {
  dist::Communicator& comm = dist::world();
  const int k = comm.size(), r = comm.rank();
  Generator gen(test::run_seed());
  const int64_t per = 2, h = 5, w = 4, c = 6;
  const Shape global{per * k, h, w, c};
  const Tensor x = randn(global, gen, 0.7, 2.0, DType::F64);  // the same on every rank (one seed)
  const Tensor weight = randn({c}, gen, 1.0, 0.3, DType::F64), bias = randn({c}, gen, 0.0, 0.5, DType::F64);
  const Tensor up = randn(global, gen, 0.0, 1.0, DType::F64);

  // One process, the joined batch.
  Tensor xg = kernels::copy(x), wg = kernels::copy(weight), bg = kernels::copy(bias);
  for (Tensor* t : {&xg, &wg, &bg}) t->requires_grad_(true);
  Tensor rmg = Tensor::zeros({c}, DType::F64), rvg = Tensor::ones({c}, DType::F64);
  const Tensor yg = batch_norm2d(xg, wg, bg, rmg, rvg, true, 0.1, 1e-5);
  sum(yg * up).backward();

  // This rank's shard, synchronised.
  Tensor xs = kernels::copy(slice(x, 0, r * per, per)), ws = kernels::copy(weight), bs = kernels::copy(bias);
  for (Tensor* t : {&xs, &ws, &bs}) t->requires_grad_(true);
  Tensor rms = Tensor::zeros({c}, DType::F64), rvs = Tensor::ones({c}, DType::F64);
  const Tensor ys = nn::sync_batch_norm2d(xs, ws, bs, rms, rvs, 0.1, 1e-5, comm);
  sum(ys * slice(up, 0, r * per, per)).backward();
  // The parameters' gradients are this rank's share: summed over the ranks they are the
  // joined batch's (the trainer's all-reduce does this).
  Tensor gw = kernels::copy(ws.grad()), gb = kernels::copy(bs.grad());
  comm.sum(gw.data<double>(), c);
  comm.sum(gb.data<double>(), c);

  // Float64 sums of n = (values per channel) unit-scale terms in two orders differ by at
  // most n·u relatively (u = 2^-53); the variance E[x²] − mean² scales that by
  // 1 + mean²/var (here 1.12); output and gradients combine a few such sums: 8·n·u.
  const double n = static_cast<double>(per * k * h * w), u = std::numeric_limits<double>::epsilon() / 2;
  const test::Tolerance tol{8 * n * u, 8 * n * u};
  FH_CHECK_CLOSE(ys, slice(yg, 0, r * per, per), tol, "output");
  FH_CHECK_CLOSE(xs.grad(), slice(xg.grad(), 0, r * per, per), tol, "grad x");
  FH_CHECK_CLOSE(gw, wg.grad(), tol, "grad weight");
  FH_CHECK_CLOSE(gb, bg.grad(), tol, "grad bias");
  FH_CHECK_CLOSE(rms, rmg, tol, "running_mean");
  FH_CHECK_CLOSE(rvs, rvg, tol, "running_var");
  CHECK(same_on_every_rank(rms.data<double>(), c * sizeof(double)));
  CHECK(same_on_every_rank(rvs.data<double>(), c * sizeof(double)));
}
