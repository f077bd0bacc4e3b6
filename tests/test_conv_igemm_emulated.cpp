// The CUDA convolution kernels' block code (kernels/cuda/conv_igemm.h) run on the CPU: every
// CUDA thread of a block is a fiber, __syncthreads() is a round-robin pass over the fibers
// (each runs to its next barrier), and mma.sync exchanges the warp's fragments as PTX
// documents them for m16n8k8 TF32. This checks the index arithmetic, loaders, tile
// configurations, fragment layouts, stride phases and weight-gradient slices of every kernel
// on any machine, GPU or not; the GPU tests (tests/cuda/test_cuda_conv.cpp) check the rest.
//
// Inputs are small integers, so every product and partial sum is exact in float32 and TF32:
// each kernel must reproduce the reference bit for bit, whatever its summation order.
#include <doctest/doctest.h>
#include <ucontext.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/conv_igemm.h"

namespace ig = fh::kernels::cuda::igemm;

namespace {

// ---- An emulated thread block ------------------------------------------------------------------

class FiberBlock {
 public:
  explicit FiberBlock(int threads)
      : n_(threads), uc_(threads), stacks_(threads), done_(threads), syncs_(threads), a_(threads), b_(threads) {
    for (auto& s : stacks_) s.reset(new char[kStack]);
  }

  // Runs fn(tid) on every thread of the block; returns when all have finished. Every thread
  // must pass the same number of barriers (CUDA requires it too); a mismatch fails the test.
  void run(const std::function<void(int)>& fn) {
    fn_ = &fn;
    for (int i = 0; i < n_; ++i) {
      getcontext(&uc_[i]);
      uc_[i].uc_stack.ss_sp = stacks_[i].get();
      uc_[i].uc_stack.ss_size = kStack;
      uc_[i].uc_link = nullptr;
      makecontext(&uc_[i], reinterpret_cast<void (*)()>(&FiberBlock::entry), 1, i);
      done_[i] = false;
      syncs_[i] = 0;
    }
    current() = this;
    swapcontext(&main_, &uc_[0]);
    for (int i = 1; i < n_; ++i) REQUIRE_MESSAGE(syncs_[i] == syncs_[0], "threads passed different numbers of barriers");
  }

  // __syncthreads(): everyone runs up to this point before anyone continues.
  void sync(int tid) {
    ++syncs_[tid];
    switch_from(tid);
  }

  // mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the warp of `tid`, d += a·b, from
  // the fragment layouts in the PTX ISA (independent of how the kernels load them).
  void mma_tf32(int tid, float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    for (int r = 0; r < 4; ++r) a_[tid][r] = a[r];
    for (int r = 0; r < 2; ++r) b_[tid][r] = b[r];
    sync(tid);  // every lane (of every warp) has published its fragments
    const int warp0 = tid & ~31, lane = tid & 31, g = lane >> 2, q = lane & 3;
    for (int r = 0; r < 4; ++r) {
      const int row = g + 8 * (r >> 1), col = 2 * q + (r & 1);
      float sum = d[r];
      for (int k = 0; k < 8; ++k) {
        // A[row][k] is register (row / 8) + 2·(k / 4) of lane 4·(row % 8) + k % 4;
        // B[k][col] is register k / 4 of lane 4·col + k % 4.
        const float av = ig::bits_float(a_[warp0 + 4 * (row % 8) + k % 4][row / 8 + 2 * (k / 4)]);
        const float bv = ig::bits_float(b_[warp0 + 4 * col + k % 4][k / 4]);
        sum += av * bv;
      }
      d[r] = sum;
    }
    sync(tid);  // nobody overwrites the fragments before every lane has read them
  }

 private:
  static constexpr size_t kStack = 256 << 10;

  static FiberBlock*& current() {
    static FiberBlock* block = nullptr;
    return block;
  }
  static void entry(int i) {
    FiberBlock* self = current();
    (*self->fn_)(i);
    self->done_[i] = true;
    self->switch_from(i);
  }
  // Continues with the next unfinished fiber after `i`, or returns to run() when none is left.
  void switch_from(int i) {
    for (int s = 1; s <= n_; ++s) {
      const int j = (i + s) % n_;
      if (!done_[j]) {
        if (j != i) swapcontext(&uc_[i], &uc_[j]);
        return;
      }
    }
    swapcontext(&uc_[i], &main_);
  }

  int n_;
  std::vector<ucontext_t> uc_;
  ucontext_t main_{};
  std::vector<std::unique_ptr<char[]>> stacks_;
  std::vector<bool> done_;
  std::vector<long> syncs_;
  std::vector<std::array<uint32_t, 4>> a_;
  std::vector<std::array<uint32_t, 2>> b_;
  const std::function<void(int)>* fn_ = nullptr;
};

struct HostCtx {
  FiberBlock* block;
  int tid;
  int64_t bx;
  int by, bz;
  int thread() const { return tid; }
  int64_t block_x() const { return bx; }
  int block_y() const { return by; }
  int block_z() const { return bz; }
  void sync() const { block->sync(tid); }
  void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) const { block->mma_tf32(tid, d, a, b); }
};

// Launches the kernel `Cfg` over its whole grid, block after block. Shared memory and tables
// start as garbage (NaN) in every block so that a read of something never written shows.
template <class Cfg, class P>
void emulate(const P& prob, const ig::LaunchShape& shape) {
  using T = typename P::value_type;
  const int64_t gx = (shape.rows + Cfg::BM - 1) / Cfg::BM, gy = (shape.cols + Cfg::BN - 1) / Cfg::BN;
  FiberBlock block(Cfg::kThreads);
  std::vector<T> smem(2 * Cfg::kStageElems);
  auto tables = std::make_unique<typename P::template Tables<Cfg>>();
  for (int z = 0; z < shape.z; ++z) {
    for (int by = 0; by < gy; ++by) {
      for (int64_t bx = 0; bx < gx; ++bx) {
        std::fill(smem.begin(), smem.end(), std::nan(""));
        std::memset(static_cast<void*>(tables.get()), 0x7f, sizeof(*tables));
        block.run([&](int tid) {
          HostCtx ctx{&block, tid, bx, by, z};
          if constexpr (Cfg::kTensorCores) {
            ig::mma_block<Cfg>(ctx, prob, smem.data(), *tables);
          } else {
            ig::simt_block<Cfg>(ctx, prob, smem.data(), *tables);
          }
        });
      }
    }
  }
}

// ---- References (float64, straight from the definitions) ---------------------------------------

struct Conv {
  int N, H, W, Cin, Cout, kh, kw, stride, pad;
  int Ho() const { return (H + 2 * pad - kh) / stride + 1; }
  int Wo() const { return (W + 2 * pad - kw) / stride + 1; }
  ig::Geometry geometry() const { return ig::geometry(N, H, W, Cin, Cout, kh, kw, stride, pad, Ho(), Wo()); }
  std::string str() const {
    return "N" + std::to_string(N) + " " + std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(Cin) +
           " -> " + std::to_string(Cout) + " k" + std::to_string(kh) + "x" + std::to_string(kw) + " s" +
           std::to_string(stride) + " p" + std::to_string(pad);
  }
};

std::vector<double> integers(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-4, 4);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Calls fn(n, oy, ox, o, i, j, c, iy, ix) for every tap that reads inside the input.
template <class Fn>
void for_each_tap(const Conv& c, Fn&& fn) {
  for (int n = 0; n < c.N; ++n)
    for (int oy = 0; oy < c.Ho(); ++oy)
      for (int ox = 0; ox < c.Wo(); ++ox)
        for (int o = 0; o < c.Cout; ++o)
          for (int i = 0; i < c.kh; ++i)
            for (int j = 0; j < c.kw; ++j) {
              const int iy = oy * c.stride - c.pad + i, ix = ox * c.stride - c.pad + j;
              if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
              for (int ch = 0; ch < c.Cin; ++ch) fn(n, oy, ox, o, i, j, ch, iy, ix);
            }
}

struct Data {
  std::vector<double> x, w, bias, grad_out;
  std::vector<double> out, grad_in, grad_w;  // references
};

Data make_data(const Conv& c, std::mt19937& rng) {
  Data d;
  d.x = integers(size_t(c.N) * c.H * c.W * c.Cin, rng);
  d.w = integers(size_t(c.Cout) * c.kh * c.kw * c.Cin, rng);
  d.bias = integers(c.Cout, rng);
  d.grad_out = integers(size_t(c.N) * c.Ho() * c.Wo() * c.Cout, rng);
  d.out.assign(d.grad_out.size(), 0.0);
  d.grad_in.assign(d.x.size(), 0.0);
  d.grad_w.assign(d.w.size(), 0.0);
  for (size_t e = 0; e < d.out.size(); ++e) d.out[e] = d.bias[e % c.Cout];
  for_each_tap(c, [&](int n, int oy, int ox, int o, int i, int j, int ch, int iy, int ix) {
    const size_t xo = ((size_t(n) * c.H + iy) * c.W + ix) * c.Cin + ch;
    const size_t wo = ((size_t(o) * c.kh + i) * c.kw + j) * c.Cin + ch;
    const size_t go = ((size_t(n) * c.Ho() + oy) * c.Wo() + ox) * c.Cout + o;
    d.out[go] += d.x[xo] * d.w[wo];
    d.grad_in[xo] += d.grad_out[go] * d.w[wo];
    d.grad_w[wo] += d.grad_out[go] * d.x[xo];
  });
  return d;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
void check_exact(const std::vector<T>& got, const std::vector<double>& ref, const std::string& what) {
  REQUIRE(got.size() == ref.size());
  size_t bad = 0, first = 0;
  for (size_t e = 0; e < ref.size(); ++e) {
    if (!(static_cast<double>(got[e]) == ref[e])) {
      if (bad++ == 0) first = e;
    }
  }
  INFO(what << ": " << bad << " of " << ref.size() << " values differ; first at " << first << ": got "
            << (bad ? static_cast<double>(got[first]) : 0.0) << ", expected " << (bad ? ref[first] : 0.0));
  CHECK(bad == 0);
}

// ---- The three problems through one configuration ----------------------------------------------

template <class Cfg, class T>
void check_forward(const Conv& c, const Data& d, const std::string& name) {
  std::vector<T> x = as<T>(d.x), w = as<T>(d.w), bias = as<T>(d.bias), out(d.out.size(), T(-999));
  ig::ForwardProblem<T> p;
  p.g = c.geometry();
  p.x = x.data(), p.w = w.data(), p.bias = bias.data(), p.out = out.data();
  p.M = int64_t(c.N) * c.Ho() * c.Wo();
  p.K = c.kh * c.kw * c.Cin;
  emulate<Cfg>(p, ig::forward_shape(p.g));
  check_exact(out, d.out, "forward " + name);
}

template <class Cfg, class T>
void check_backward_input(const Conv& c, const Data& d, const std::string& name) {
  std::vector<T> g = as<T>(d.grad_out), w = as<T>(d.w), gin(d.grad_in.size(), T(-999));
  ig::BackwardInputProblem<T> p;
  p.g = c.geometry();
  p.grad_out = g.data(), p.w = w.data(), p.grad_in = gin.data();
  emulate<Cfg>(p, ig::backward_input_shape(p.g));
  check_exact(gin, d.grad_in, "input gradient " + name);
}

// With the slice count the GPU would use, and with 3 slices summed in order afterwards.
template <class Cfg, class T>
void check_backward_weight(const Conv& c, const Data& d, const std::string& name) {
  std::vector<T> g = as<T>(d.grad_out), x = as<T>(d.x);
  ig::BackwardWeightProblem<T> p;
  p.g = c.geometry();
  p.grad_out = g.data(), p.x = x.data();
  p.M = int64_t(c.N) * c.Ho() * c.Wo();
  p.K = c.kh * c.kw * c.Cin;
  const int total = c.Cout * p.K;
  for (int slices : {ig::weight_grad_slices(c.Cout, p.K, p.M, Cfg::BM, Cfg::BN), 3}) {
    std::vector<T> partial(size_t(slices) * total, T(-999)), grad_w(total);
    p.slices = slices;
    p.dst = partial.data();
    emulate<Cfg>(p, ig::backward_weight_shape(p.g, slices));
    for (int e = 0; e < total; ++e) {
      T s = partial[e];
      for (int z = 1; z < slices; ++z) s += partial[size_t(z) * total + e];
      grad_w[e] = s;
    }
    check_exact(grad_w, d.grad_w, "weight gradient " + name + " in " + std::to_string(slices) + " slices");
  }
}

template <class Cfg, class T>
void check_all(const Conv& c, const Data& d, const char* tile) {
  const std::string name = c.str() + " with tile " + tile;
  check_forward<Cfg, T>(c, d, name);
  check_backward_input<Cfg, T>(c, d, name);
  check_backward_weight<Cfg, T>(c, d, name);
}

// Odd sizes, every kernel shape the networks use (1x1, 3x3 s1/s2, 4x4 s2/s1 pad 2, 7x7 s1/s2),
// a kernel smaller than its stride (phases without taps), several row/column blocks and many
// reduction stages.
const Conv kCases[] = {
    {2, 7, 6, 3, 5, 3, 3, 1, 1},     // 3x3 s1, tiny channels
    {1, 9, 11, 6, 7, 4, 4, 2, 2},    // discriminator 4x4 s2 p2
    {1, 6, 5, 5, 3, 4, 4, 1, 2},     // discriminator 4x4 s1 p2 (output larger than input)
    {2, 8, 8, 9, 37, 1, 1, 2, 0},    // 1x1 s2 shortcut: three of four phases get no tap
    {1, 11, 10, 4, 3, 7, 7, 2, 3},   // 7x7 s2 stem
    {1, 9, 9, 5, 2, 7, 7, 1, 3},     // 7x7 head with 2 outputs
    {1, 7, 8, 2, 3, 2, 2, 3, 1},     // kernel smaller than the stride
    {2, 12, 13, 20, 70, 3, 3, 1, 1}, // several blocks in rows and columns, 23 stages
    {2, 9, 9, 33, 130, 3, 3, 2, 1},  // 3x3 s2, more columns than the largest tile
};

}  // namespace

TEST_CASE("emulated conv kernels: the tile each shape gets, float32, float64 and TF32") {
  std::mt19937 rng(7);
  for (const Conv& c : kCases) {
    const Data d = make_data(c, rng);
    const ig::Geometry g = c.geometry();
    const int K = c.kh * c.kw * c.Cin;
    // The tiles the GPU dispatch picks for each problem (conv.cu does the same).
    const ig::LaunchShape fs = ig::forward_shape(g), bs = ig::backward_input_shape(g);
    const auto run = [&](auto tensor_cores) {
      constexpr bool kTc = decltype(tensor_cores)::value;
      ig::with_tile<kTc>(ig::choose_tile(fs.rows, fs.cols, kTc),
                         [&](auto cfg) { check_forward<decltype(cfg), float>(c, d, c.str() + (kTc ? " tc" : "")); });
      ig::with_tile<kTc>(ig::choose_tile(bs.rows, bs.cols, kTc), [&](auto cfg) {
        check_backward_input<decltype(cfg), float>(c, d, c.str() + (kTc ? " tc" : ""));
      });
      ig::with_tile<kTc>(ig::choose_tile(c.Cout, K, kTc), [&](auto cfg) {
        check_backward_weight<decltype(cfg), float>(c, d, c.str() + (kTc ? " tc" : ""));
      });
    };
    run(std::false_type{});
    run(std::true_type{});
    check_all<ig::SimtF64, double>(c, d, "f64");
  }
}

TEST_CASE("emulated conv kernels: every tile configuration") {
  std::mt19937 rng(11);
  // Two shapes cover every configuration's corners: partial tiles in both directions, several
  // blocks, stride phases of different sizes.
  for (const Conv& c : {Conv{2, 12, 13, 20, 70, 3, 3, 1, 1}, Conv{1, 9, 11, 6, 7, 4, 4, 2, 2}}) {
    const Data d = make_data(c, rng);
    check_all<ig::SimtLarge, float>(c, d, "SimtLarge");
    check_all<ig::SimtWide64, float>(c, d, "SimtWide64");
    check_all<ig::SimtTall64, float>(c, d, "SimtTall64");
    check_all<ig::SimtWide32, float>(c, d, "SimtWide32");
    check_all<ig::SimtTall32, float>(c, d, "SimtTall32");
    check_all<ig::SimtNarrow, float>(c, d, "SimtNarrow");
    check_all<ig::SimtFlat, float>(c, d, "SimtFlat");
    check_all<ig::SimtSmall, float>(c, d, "SimtSmall");
    check_all<ig::MmaLarge, float>(c, d, "MmaLarge");
    check_all<ig::MmaWide64, float>(c, d, "MmaWide64");
    check_all<ig::MmaTall64, float>(c, d, "MmaTall64");
    check_all<ig::MmaWide32, float>(c, d, "MmaWide32");
    check_all<ig::MmaTall32, float>(c, d, "MmaTall32");
    check_all<ig::MmaNarrow, float>(c, d, "MmaNarrow");
    check_all<ig::MmaFlat, float>(c, d, "MmaFlat");
    check_all<ig::MmaSmall, float>(c, d, "MmaSmall");
  }
}

TEST_CASE("emulated TF32 kernels round their inputs like cvt.rna") {
  // 1 + 2^-11 is halfway between two TF32 values and rounds away from zero; 1 + 2^-12 rounds
  // down; values already in TF32 pass unchanged; NaN and infinity survive.
  CHECK(ig::round_to_tf32(1.0f + std::ldexp(1.0f, -11)) == 1.0f + std::ldexp(1.0f, -10));
  CHECK(ig::round_to_tf32(-(1.0f + std::ldexp(1.0f, -11))) == -(1.0f + std::ldexp(1.0f, -10)));
  CHECK(ig::round_to_tf32(1.0f + std::ldexp(1.0f, -12)) == 1.0f);
  CHECK(ig::round_to_tf32(3.0f) == 3.0f);
  CHECK(std::isnan(ig::round_to_tf32(std::nanf(""))));
  CHECK(ig::round_to_tf32(INFINITY) == INFINITY);
  // A product of TF32-rounded values differs from float32's by at most ~2^-10 relative.
  const float a = 1.2345678f, b = -7.654321f;
  CHECK(std::fabs(ig::round_to_tf32(a) * ig::round_to_tf32(b) - a * b) <= std::ldexp(std::fabs(a * b), -10));
}

TEST_CASE("weight-gradient slices depend on the shapes only") {
  // Enough blocks for a large GPU, each slice at least 256 pixels, never more than 256 slices.
  CHECK(ig::weight_grad_slices(512, 4608, 8 * 64 * 64, 128, 128) == 8);    // 144 tiles
  CHECK(ig::weight_grad_slices(2, 1568, 8 * 256 * 256, 4, 128) == 79);     // 13 tiles
  CHECK(ig::weight_grad_slices(32, 288, 100, 32, 128) == 1);               // too few pixels to split
  CHECK(ig::weight_grad_slices(1, 1, int64_t(1) << 30, 4, 128) == 256);    // capped
}
