// Data-parallel training's single-process side (docs/distributed.md): the one-rank
// communicator, synchronised batch norm on one rank against the batch-norm kernel and
// against central differences, the replica fingerprint, and a process started without a
// launcher training alone. The two-rank behaviour is checked under mpirun by fh_mpi_tests
// (tests/mpi/).
#include <doctest/doctest.h>

#include <cstdlib>
#include <limits>

#include "autograd/norm.h"
#include "autograd/ops.h"
#include "dist/communicator.h"
#include "kernels/core.h"
#include "layers/basic.h"
#include "layers/sync_batch_norm.h"
#include "runtime/random.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/tolerance.h"
#include "train/data_parallel.h"

using namespace fh;

TEST_CASE("dist: the one-rank communicator scales in place, broadcasts nothing, and is the world without a launcher") {
  dist::Communicator& c = dist::local();
  CHECK(c.rank() == 0);
  CHECK(c.size() == 1);
  CHECK(c.is_root());
  float f[3] = {1.0f, -3.0f, 0.1f};
  c.sum(f, 3);
  CHECK(f[2] == 0.1f);
  c.sum(f, 3, 0.5);
  CHECK(f[0] == 0.5f);
  CHECK(f[1] == -1.5f);
  double d[2] = {2.0, 6.0};
  c.sum(d, 2, 0.25);
  CHECK(d[1] == 1.5);
  CHECK_THROWS_WITH_AS(c.broadcast(d, sizeof d, 1), doctest::Contains("root 1 is not a rank"), Error);
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMI_SIZE") == nullptr) {
    CHECK(dist::launcher_world_size() == 1);
    CHECK(&dist::world() == &dist::local());
  }
}

TEST_CASE("sync_batch_norm2d on one rank: output, input/weight/bias gradients and running statistics equal batch_norm2d's") {
  Generator gen(test::run_seed());
  const Shape shape{3, 5, 4, 6};
  const int64_t n = 3 * 5 * 4;  // values per channel
  const Tensor x = randn(shape, gen, 0.7, 2.0, DType::F64);
  const Tensor w = randn({6}, gen, 1.0, 0.3, DType::F64), b = randn({6}, gen, 0.0, 0.5, DType::F64);
  const Tensor up = randn(shape, gen, 0.0, 1.0, DType::F64);
  // Two independent sets of leaves and running statistics.
  Tensor x1 = kernels::copy(x), x2 = kernels::copy(x);
  Tensor w1 = kernels::copy(w), w2 = kernels::copy(w);
  Tensor b1 = kernels::copy(b), b2 = kernels::copy(b);
  for (Tensor* t : {&x1, &x2, &w1, &w2, &b1, &b2}) t->requires_grad_(true);
  Tensor rm1 = Tensor::zeros({6}, DType::F64), rv1 = Tensor::ones({6}, DType::F64);
  Tensor rm2 = Tensor::zeros({6}, DType::F64), rv2 = Tensor::ones({6}, DType::F64);
  const Tensor y1 = batch_norm2d(x1, w1, b1, rm1, rv1, true, 0.1, 1e-5);
  const Tensor y2 = nn::sync_batch_norm2d(x2, w2, b2, rm2, rv2, 0.1, 1e-5, dist::local());
  sum(y1 * up).backward();
  sum(y2 * up).backward();
  // Float64, values of unit scale: each statistic is a sum of n terms (relative error at
  // most n·u, u = 2^-53); the variance E[x²] − mean² scales that by 1 + mean²/var (here
  // 1.12), and the output and gradients combine a few such sums, so 8·n·u bounds the
  // difference between the two computations.
  const double u = std::numeric_limits<double>::epsilon() / 2;
  const test::Tolerance tol{8 * n * u, 8 * n * u};
  FH_CHECK_CLOSE(y2, y1, tol, "output");
  FH_CHECK_CLOSE(x2.grad(), x1.grad(), tol, "grad x");
  FH_CHECK_CLOSE(w2.grad(), w1.grad(), tol, "grad weight");
  FH_CHECK_CLOSE(b2.grad(), b1.grad(), tol, "grad bias");
  FH_CHECK_CLOSE(rm2, rm1, tol, "running_mean");
  FH_CHECK_CLOSE(rv2, rv1, tol, "running_var");
}

TEST_CASE("gradcheck: sync_batch_norm2d on one rank (input, weight, bias)") {
  Generator gen(test::run_seed() + 1);
  Tensor x = randn({2, 3, 3, 4}, gen, 0.0, 1.0, DType::F64);
  Tensor w = randn({4}, gen, 1.0, 0.2, DType::F64), b = randn({4}, gen, 0.0, 0.2, DType::F64);
  for (Tensor* t : {&x, &w, &b}) t->requires_grad_(true);
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor rm, rv;  // no running statistics
        return nn::sync_batch_norm2d(in[0], in[1], in[2], rm, rv, 0.1, 1e-5, dist::local());
      },
      {x, w, b}, "sync_batch_norm2d");
}

// The multi-rank side (statistics synchronised in training, not in eval) is checked under
// mpirun in tests/mpi/.
TEST_CASE("a BatchNormSync scope over one rank activates nothing") {
  {
    nn::BatchNormSync scope(dist::local());  // one rank: nothing to synchronise
    CHECK(nn::BatchNormSync::active() == nullptr);
  }
  CHECK(nn::BatchNormSync::active() == nullptr);
}

TEST_CASE("dist: the replica fingerprint sees one changed BatchNorm statistic, and averaging on one rank changes nothing") {
  // A tiny task-like set of modules through the fingerprint's Task interface.
  struct OneModule : train::Task {
    nn::BatchNorm2d bn{4};
    std::unique_ptr<train::Adam> adam;
    OneModule() { make_optimizers(); }
    std::vector<ModuleEntry> modules() override { return {{"bn.", &bn, true}}; }
    std::vector<OptimizerEntry> optimizers() override { return {{"bn", adam.get(), "bn.", &bn, 1e-3}}; }
    void make_optimizers() override {
      std::vector<train::NamedParameter> ps;
      for (auto& [name, t] : bn.named_parameters("bn.")) ps.push_back({name, t});
      adam = std::make_unique<train::Adam>(ps, train::AdamOptions{});
    }
    data::LoaderOptions loader_options() const override { return {}; }
    train::Terms step(const data::Batch&, train::StepContext&) override { return {}; }
    train::Terms validate() override { return {}; }
    void write_samples(const data::Batch&, const std::string&) override {}
  } task;
  const uint64_t before = train::state_fingerprint(task);
  CHECK(train::state_fingerprint(task) == before);
  for (auto& [name, t] : task.bn.named_buffers())
    if (name == "running_var") t.data<float>()[2] = 1.0f + 1e-7f;
  CHECK(train::state_fingerprint(task) != before);

  Tensor g = Tensor::full({4}, 0.25);
  Tensor weight = task.adam->parameters()[0].tensor;  // shares the parameter
  weight.set_grad(g);
  train::ReduceStats stats;
  train::average_gradients(task.adam->parameters(), dist::local(), &stats);
  CHECK(task.adam->parameters()[0].tensor.grad().data<float>()[3] == 0.25f);
  CHECK(stats.calls == 0);  // one rank: no all-reduce at all
}
