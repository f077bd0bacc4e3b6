// Implicit-GEMM convolution on the GPU: the three problems (forward, input gradient,
// weight gradient) as GEMMs whose operands are gathered from the NHWC tensors tile by tile,
// never materialised, and the block-level main loops that multiply them: one on CUDA cores
// (float32/float64, register-blocked) and one on tensor cores (TF32 `mma.sync`).
//
// Everything here is written once for two compilers. Under nvcc it is device code that the
// kernels in conv_igemm_launch.cuh run. Under a host compiler it is ordinary C++ that
// tests/test_conv_igemm_emulated.cpp runs with one fiber per CUDA thread, a round-robin pass
// over the fibers for __syncthreads and a per-warp exchange for `mma.sync`, so the index
// arithmetic, the loaders, the fragment layouts and the epilogues are checked on any machine.
// The `Ctx` parameter of the block functions is what differs: the CUDA built-ins on the
// device, the emulated block on the host.
//
// The GEMM view, C[rows, cols] = Σ_k A(row, k) · B(k, col):
//   forward         rows = output pixels N·Ho·Wo, cols = Cout, k = (i, j, c) over kh·kw·Cin;
//                   A = the input window of the pixel, B = the weight [Cout, K] transposed.
//   input gradient  one problem per stride phase (py, px) = ((iy + pad) mod s, (ix + pad) mod s):
//                   rows = the phase's input pixels, cols = Cin, k = (t, u, o) over the taps
//                   i = py + s·t, j = px + s·u that reach those pixels and the Cout channels;
//                   A = grad_out at (oy, ox) = ((iy + pad - i)/s, (ix + pad - j)/s), B = w(o, i, j, c).
//                   Each input pixel is written once (no scatter, no atomics); taps that skip a
//                   pixel (kernel smaller than the stride) leave an empty sum, i.e. zeros.
//   weight gradient rows = Cout, cols = K = kh·kw·Cin, k = output pixels, cut into a fixed
//                   number of slices by the shapes only; each slice writes its own partial
//                   [Cout, K] and the slices are added in slice order afterwards, so the result
//                   is the same bits on every run (no float atomics).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FH_IGEMM_FN __device__ __forceinline__
#define FH_IGEMM_UNROLL _Pragma("unroll")
#else
#define FH_IGEMM_FN inline
#define FH_IGEMM_UNROLL
#endif

namespace fh::kernels::cuda::igemm {

// A row or column coordinate that is never inside an image: out-of-range rows of a tile are
// given this origin so that every bounds check on them fails (|kFar| + any kernel size still
// fits in int32).
constexpr int kFar = -(1 << 29);

// ---- Configurations --------------------------------------------------------------------------

// CUDA cores: a block computes BM x BN outputs, each thread TM x TN of them (in groups of 4
// rows/columns spread over the tile so that shared-memory reads are conflict-free vectors),
// and the reduction advances BK at a time through a double-buffered shared-memory stage.
template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct SimtConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int kThreadCols = BN / TN, kThreadRows = BM / TM;
  static constexpr int kThreads = kThreadCols * kThreadRows;
  // Stage rows padded by 4: keeps 16-byte alignment for vector reads and sends the
  // transposed stores of the loaders to different banks.
  static constexpr int kPad = 4;
  static constexpr int kLdA = BM + kPad, kLdB = BN + kPad;
  static constexpr int kStageElems = BK * (kLdA + kLdB);
  static constexpr bool kTensorCores = false;
  // Two resident blocks per SM (the register cap this implies, 128 for 256 threads, costs no
  // spills in any configuration): one block's loads overlap the other's products.
  static constexpr int kMinBlocks = 2;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BM % TM == 0 && BN % TN == 0, "thread tiles are groups of 4");
  static_assert(kThreads % BK == 0, "every thread loads one reduction column of a K-contiguous operand");
};

// Tensor cores: a block of warps, each computing WM x WN outputs as (WM/16) x (WN/8)
// m16n8k8 TF32 products; the reduction advances 16 at a time (two k8 steps per stage).
template <int BM_, int BN_, int WM_, int WN_>
struct MmaConfig {
  static constexpr int BM = BM_, BN = BN_, BK = 16, WM = WM_, WN = WN_;
  static constexpr int kWarpRows = BM / WM, kWarpCols = BN / WN;
  static constexpr int kThreads = 32 * kWarpRows * kWarpCols;
  static constexpr int MI = WM / 16, NI = WN / 8;
  // Fragment reads touch (k = lane % 4 (+4), row = lane / 4 (+8)); a row pitch of 8 mod 32
  // words puts the 32 lanes on 32 different banks.
  static constexpr int kPad = 8;
  static constexpr int kLdA = BM + kPad, kLdB = BN + kPad;
  static constexpr int kStageElems = BK * (kLdA + kLdB);
  static constexpr bool kTensorCores = true;
  // The 256-thread 128x128 tile needs more than 128 registers for the gradients (spills
  // otherwise), so it runs one block per SM; the 128-thread tiles fit two.
  static constexpr int kMinBlocks = kThreads <= 128 ? 2 : 1;
  static_assert(BM % WM == 0 && BN % WN == 0 && WM % 16 == 0 && WN % 8 == 0, "warp tiles are m16n8 multiples");
  static_assert(kThreads % BK == 0, "every thread loads one reduction column of a K-contiguous operand");
};

// ---- Small helpers -----------------------------------------------------------------------------

FH_IGEMM_FN uint32_t float_bits(float v) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(v);
#else
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
#endif
}

FH_IGEMM_FN float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
#endif
}

// float -> TF32 (8-bit exponent, 10-bit mantissa) rounded to nearest, ties away from zero,
// as PTX's cvt.rna.tf32.f32: add half a TF32 unit to the magnitude and drop the 13 low bits.
// Infinities and NaNs pass unchanged.
FH_IGEMM_FN float round_to_tf32(float v) {
  const uint32_t u = float_bits(v);
  if ((u & 0x7f800000u) == 0x7f800000u) return v;
  return bits_float((u + 0x1000u) & 0xffffe000u);
}

// A mixed-radix counter (hi, mid, lo) with value (hi·mid_n + mid)·lo_n + lo, advanced by a
// fixed step: divisions happen only when a digit wraps, which for steps below lo_n is once
// every few steps. hi is left unbounded; callers check the linear value.
struct Cursor {
  int hi = 0, mid = 0, lo = 0;
  FH_IGEMM_FN void set(int v, int mid_n, int lo_n) {
    lo = v % lo_n;
    v /= lo_n;
    mid = v % mid_n;
    hi = v / mid_n;
  }
  FH_IGEMM_FN void advance(int step, int mid_n, int lo_n) {
    lo += step;
    if (lo >= lo_n) {
      const int q = lo / lo_n;
      lo -= q * lo_n;
      mid += q;
      if (mid >= mid_n) {
        const int q2 = mid / mid_n;
        mid -= q2 * mid_n;
        hi += q2;
      }
    }
  }
};

// Which element of an operand tile [BK][D] a thread loads in each of its slots.
//
// K-contiguous operands (consecutive k are consecutive in memory, e.g. an NHWC window's
// channels): thread t always loads reduction column kk = t % BK, rows d = t / BK + e·(T/BK).
template <int D, int BK, int Threads>
struct KSlots {
  static constexpr int kCount = D * BK / Threads;
  static constexpr int kRowStep = Threads / BK;
  static_assert((D * BK) % Threads == 0, "tile not divisible among the threads");
  FH_IGEMM_FN static int kk(int tid, int = 0) { return tid % BK; }  // the same for every slot
  FH_IGEMM_FN static int d(int tid, int e) { return tid / BK + e * kRowStep; }
};

// MN-contiguous operands (consecutive rows/columns are consecutive in memory, e.g. the
// channels of grad_out for the weight gradient): consecutive threads take consecutive d.
// Slots that share a reduction column share a cursor (cursor(e)).
template <int D, int BK, int Threads>
struct MnSlots {
  static constexpr int kCount = D * BK / Threads;
  static_assert((D * BK) % Threads == 0, "tile not divisible among the threads");
  static_assert(D % Threads == 0 || Threads % D == 0, "tile width and thread count must divide each other");
  static constexpr bool kWide = D >= Threads;  // several slots per reduction column
  static constexpr int kPerColumn = kWide ? D / Threads : 1;
  static constexpr int kCursors = kCount / kPerColumn;
  FH_IGEMM_FN static int kk(int tid, int e) { return kWide ? e / kPerColumn : tid / D + e * (Threads / D); }
  FH_IGEMM_FN static int d(int tid, int e) { return kWide ? tid + (e % kPerColumn) * Threads : tid % D; }
  FH_IGEMM_FN static int cursor(int e) { return e / kPerColumn; }
};

// What goes into shared memory: the value itself on CUDA cores, the TF32-rounded value for
// tensor cores (rounded once here instead of at every fragment read).
template <class Cfg, class T>
FH_IGEMM_FN T staged(T v) {
  if constexpr (Cfg::kTensorCores) {
    return round_to_tf32(v);
  } else {
    return v;
  }
}

// Writes a thread's fetched values into their slots of a stage buffer [BK][ld].
template <class Cfg, class Slots, int kLd, class T>
FH_IGEMM_FN void store_slots(int tid, T* stage, const T (&v)[Slots::kCount]) {
  FH_IGEMM_UNROLL
  for (int e = 0; e < Slots::kCount; ++e) stage[Slots::kk(tid, e) * kLd + Slots::d(tid, e)] = staged<Cfg>(v[e]);
}

// ---- Geometry ---------------------------------------------------------------------------------

// Sizes of one convolution in 32-bit (the host checks that every per-image extent, the
// pixel counts and K fit; batch offsets are formed in 64-bit).
struct Geometry {
  int N = 0, H = 0, W = 0, Cin = 0, Cout = 0, kh = 0, kw = 0, stride = 1, pad = 0, Ho = 0, Wo = 0;
};

// ---- Forward -------------------------------------------------------------------------------------

template <class T>
struct ForwardProblem {
  using value_type = T;
  const T* x = nullptr;     // [N, H, W, Cin]
  const T* w = nullptr;     // [Cout, kh, kw, Cin] = [Cout, K]
  const T* bias = nullptr;  // [Cout] or null
  T* out = nullptr;         // [N, Ho, Wo, Cout]
  Geometry g;
  int64_t M = 0;  // N·Ho·Wo
  int K = 0;      // kh·kw·Cin

  FH_IGEMM_FN ForwardProblem view(int) const { return *this; }
  FH_IGEMM_FN int64_t rows() const { return M; }
  FH_IGEMM_FN int cols() const { return g.Cout; }
  FH_IGEMM_FN int red() const { return K; }

  // Per tile row: the image's offset and the window's top-left corner.
  template <class Cfg>
  struct Tables {
    int64_t base[Cfg::BM];
    int y0[Cfg::BM], x0[Cfg::BM];
  };

  template <class Cfg>
  FH_IGEMM_FN void init_tables(Tables<Cfg>& t, int tid, int64_t m0, int) const {
    for (int r = tid; r < Cfg::BM; r += Cfg::kThreads) {
      const int64_t m = m0 + r;
      if (m < M) {
        const int pix = static_cast<int>(m % (static_cast<int64_t>(g.Ho) * g.Wo));
        const int64_t n = m / (static_cast<int64_t>(g.Ho) * g.Wo);
        t.base[r] = n * g.H * g.W * g.Cin;
        t.y0[r] = (pix / g.Wo) * g.stride - g.pad;
        t.x0[r] = (pix % g.Wo) * g.stride - g.pad;
      } else {
        t.base[r] = 0;
        t.y0[r] = kFar;
        t.x0[r] = kFar;
      }
    }
  }

  // A: the input windows, K-contiguous (a window row is kw·Cin consecutive values).
  template <class Cfg>
  struct ALoader {
    using Slots = KSlots<Cfg::BM, Cfg::BK, Cfg::kThreads>;
    const ForwardProblem& p;
    const Tables<Cfg>& t;
    int k;
    Cursor c;  // k as (i, j, channel)
    FH_IGEMM_FN ALoader(const ForwardProblem& p_, const Tables<Cfg>& t_, int tid, int64_t)
        : p(p_), t(t_), k(Slots::kk(tid)) {
      c.set(k, p.g.kw, p.g.Cin);
    }
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int r = Slots::d(tid, e);
        T value = T(0);
        const int iy = t.y0[r] + c.hi, ix = t.x0[r] + c.mid;
        if (k < p.K && iy >= 0 && iy < p.g.H && ix >= 0 && ix < p.g.W)
          value = p.x[t.base[r] + static_cast<int64_t>((iy * p.g.W + ix) * p.g.Cin + c.lo)];
        v[e] = value;
      }
    }
    FH_IGEMM_FN void advance() {
      k += Cfg::BK;
      c.advance(Cfg::BK, p.g.kw, p.g.Cin);
    }
  };

  // B: the weight rows, K-contiguous.
  template <class Cfg>
  struct BLoader {
    using Slots = KSlots<Cfg::BN, Cfg::BK, Cfg::kThreads>;
    const ForwardProblem& p;
    int k, n0;
    FH_IGEMM_FN BLoader(const ForwardProblem& p_, const Tables<Cfg>&, int tid, int64_t n0_)
        : p(p_), k(Slots::kk(tid)), n0(static_cast<int>(n0_)) {}
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int o = n0 + Slots::d(tid, e);
        v[e] = (k < p.K && o < p.g.Cout) ? p.w[static_cast<int64_t>(o) * p.K + k] : T(0);
      }
    }
    FH_IGEMM_FN void advance() { k += Cfg::BK; }
  };

  template <class Cfg>
  FH_IGEMM_FN void store(const Tables<Cfg>&, int, int64_t m, int o, T v) const {
    out[m * g.Cout + o] = bias != nullptr ? v + bias[o] : v;
  }
};

// ---- Input gradient ------------------------------------------------------------------------------

// One stride phase of the input gradient (see the file comment); view(z) fills in phase z.
template <class T>
struct BackwardInputProblem {
  using value_type = T;
  const T* grad_out = nullptr;  // [N, Ho, Wo, Cout]
  const T* w = nullptr;         // [Cout, kh, kw, Cin]
  T* grad_in = nullptr;         // [N, H, W, Cin]
  Geometry g;
  // Phase z = py·s + px, filled by view().
  int py = 0, px = 0, iy0 = 0, ix0 = 0, prow = 0, pcol = 0, taps_y = 0, taps_x = 0;
  int64_t M = 0;  // N·prow·pcol
  int K = 0;      // taps_y·taps_x·Cout

  FH_IGEMM_FN BackwardInputProblem view(int z) const {
    BackwardInputProblem v = *this;
    const int s = g.stride;
    v.py = z / s;
    v.px = z % s;
    v.iy0 = ((v.py - g.pad) % s + s) % s;
    v.ix0 = ((v.px - g.pad) % s + s) % s;
    v.prow = v.iy0 < g.H ? (g.H - 1 - v.iy0) / s + 1 : 0;
    v.pcol = v.ix0 < g.W ? (g.W - 1 - v.ix0) / s + 1 : 0;
    v.taps_y = v.py < g.kh ? (g.kh - 1 - v.py) / s + 1 : 0;
    v.taps_x = v.px < g.kw ? (g.kw - 1 - v.px) / s + 1 : 0;
    v.M = static_cast<int64_t>(g.N) * v.prow * v.pcol;
    v.K = v.taps_y * v.taps_x * g.Cout;
    return v;
  }
  FH_IGEMM_FN int64_t rows() const { return M; }
  FH_IGEMM_FN int cols() const { return g.Cin; }
  FH_IGEMM_FN int red() const { return K; }

  // Per tile row: grad_out's image offset, the grad_out pixel read by tap (0, 0), and the
  // input pixel written.
  template <class Cfg>
  struct Tables {
    int64_t gbase[Cfg::BM], out_offset[Cfg::BM];
    int gy0[Cfg::BM], gx0[Cfg::BM];
  };

  template <class Cfg>
  FH_IGEMM_FN void init_tables(Tables<Cfg>& t, int tid, int64_t m0, int) const {
    const int s = g.stride;
    for (int r = tid; r < Cfg::BM; r += Cfg::kThreads) {
      const int64_t m = m0 + r;
      if (m < M) {
        const int64_t per_image = static_cast<int64_t>(prow) * pcol;
        const int64_t n = m / per_image;
        const int q = static_cast<int>(m % per_image);
        const int iy = iy0 + s * (q / pcol), ix = ix0 + s * (q % pcol);
        t.gbase[r] = n * g.Ho * g.Wo * g.Cout;
        t.out_offset[r] = ((n * g.H + iy) * g.W + ix) * g.Cin;
        t.gy0[r] = (iy + g.pad - py) / s;  // exact: iy + pad ≡ py (mod s) and iy + pad >= py
        t.gx0[r] = (ix + g.pad - px) / s;
      } else {
        t.gbase[r] = 0;
        t.out_offset[r] = 0;
        t.gy0[r] = kFar;
        t.gx0[r] = kFar;
      }
    }
  }

  // A: grad_out at the pixels the taps read, K-contiguous over (t, u, o).
  template <class Cfg>
  struct ALoader {
    using Slots = KSlots<Cfg::BM, Cfg::BK, Cfg::kThreads>;
    const BackwardInputProblem& p;
    const Tables<Cfg>& t;
    int k;
    Cursor c;  // k as (t, u, o)
    FH_IGEMM_FN ALoader(const BackwardInputProblem& p_, const Tables<Cfg>& t_, int tid, int64_t)
        : p(p_), t(t_), k(Slots::kk(tid)) {
      c.set(k, p.taps_x, p.g.Cout);
    }
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int r = Slots::d(tid, e);
        const int gy = t.gy0[r] - c.hi, gx = t.gx0[r] - c.mid;
        T value = T(0);
        if (k < p.K && gy >= 0 && gy < p.g.Ho && gx >= 0 && gx < p.g.Wo)
          value = p.grad_out[t.gbase[r] + static_cast<int64_t>((gy * p.g.Wo + gx) * p.g.Cout + c.lo)];
        v[e] = value;
      }
    }
    FH_IGEMM_FN void advance() {
      k += Cfg::BK;
      c.advance(Cfg::BK, p.taps_x, p.g.Cout);
    }
  };

  // B: w(o, py + s·t, px + s·u, c), contiguous along c (the columns).
  template <class Cfg>
  struct BLoader {
    using Slots = MnSlots<Cfg::BN, Cfg::BK, Cfg::kThreads>;
    const BackwardInputProblem& p;
    int n0, k0;          // first column, first reduction index of the current stage
    Cursor c[Slots::kCursors];
    FH_IGEMM_FN BLoader(const BackwardInputProblem& p_, const Tables<Cfg>&, int tid, int64_t n0_)
        : p(p_), n0(static_cast<int>(n0_)), k0(0) {
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; e += Slots::kPerColumn) c[Slots::cursor(e)].set(Slots::kk(tid, e), p.taps_x, p.g.Cout);
    }
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int col = n0 + Slots::d(tid, e);
        const Cursor& q = c[Slots::cursor(e)];
        T value = T(0);
        if (k0 + Slots::kk(tid, e) < p.K && col < p.g.Cin) {
          const int i = p.py + p.g.stride * q.hi, j = p.px + p.g.stride * q.mid;
          value = p.w[(static_cast<int64_t>(q.lo * p.g.kh + i) * p.g.kw + j) * p.g.Cin + col];
        }
        v[e] = value;
      }
    }
    FH_IGEMM_FN void advance() {
      k0 += Cfg::BK;
      FH_IGEMM_UNROLL
      for (int q = 0; q < Slots::kCursors; ++q) c[q].advance(Cfg::BK, p.taps_x, p.g.Cout);
    }
  };

  template <class Cfg>
  FH_IGEMM_FN void store(const Tables<Cfg>& t, int r, int64_t, int col, T v) const {
    grad_in[t.out_offset[r] + col] = v;
  }
};

// ---- Weight gradient -----------------------------------------------------------------------------

// grad_w [Cout, K] summed over the output pixels of slice z (view(z)); with one slice dst is
// grad_w itself, otherwise slice z writes dst + z·Cout·K.
template <class T>
struct BackwardWeightProblem {
  using value_type = T;
  const T* grad_out = nullptr;  // [N, Ho, Wo, Cout] = [M, Cout]
  const T* x = nullptr;         // [N, H, W, Cin]
  T* dst = nullptr;
  Geometry g;
  int64_t M = 0;  // N·Ho·Wo, the reduction
  int K = 0;      // kh·kw·Cin
  int slices = 1;
  int64_t r0 = 0, r1 = 0;  // this slice's output pixels, filled by view()

  FH_IGEMM_FN BackwardWeightProblem view(int z) const {
    BackwardWeightProblem v = *this;
    v.r0 = M * z / slices;
    v.r1 = M * (z + 1) / slices;
    v.dst = dst + static_cast<int64_t>(z) * g.Cout * K;
    return v;
  }
  FH_IGEMM_FN int64_t rows() const { return g.Cout; }
  FH_IGEMM_FN int cols() const { return K; }
  FH_IGEMM_FN int red() const { return static_cast<int>(r1 - r0); }

  // Per tile column k: its tap (i, j) and channel.
  template <class Cfg>
  struct Tables {
    int ci[Cfg::BN], cj[Cfg::BN], cc[Cfg::BN];
  };

  template <class Cfg>
  FH_IGEMM_FN void init_tables(Tables<Cfg>& t, int tid, int64_t, int n0) const {
    for (int col = tid; col < Cfg::BN; col += Cfg::kThreads) {
      const int k = n0 + col;
      if (k < K) {
        const int tap = k / g.Cin;
        t.cc[col] = k % g.Cin;
        t.ci[col] = tap / g.kw;
        t.cj[col] = tap % g.kw;
      } else {
        t.cc[col] = 0;
        t.ci[col] = kFar;
        t.cj[col] = kFar;
      }
    }
  }

  // A = grad_outᵀ: rows o, contiguous along o.
  template <class Cfg>
  struct ALoader {
    using Slots = MnSlots<Cfg::BM, Cfg::BK, Cfg::kThreads>;
    const BackwardWeightProblem& p;
    int m0, k0;
    FH_IGEMM_FN ALoader(const BackwardWeightProblem& p_, const Tables<Cfg>&, int, int64_t m0_)
        : p(p_), m0(static_cast<int>(m0_)), k0(0) {}
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      const int red = p.red();
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int kk = k0 + Slots::kk(tid, e), o = m0 + Slots::d(tid, e);
        v[e] = (kk < red && o < p.g.Cout) ? p.grad_out[(p.r0 + kk) * p.g.Cout + o] : T(0);
      }
    }
    FH_IGEMM_FN void advance() { k0 += Cfg::BK; }
  };

  // B = the column matrix: rows are output pixels (the reduction), columns (i, j, c); a
  // window row's channels are contiguous.
  template <class Cfg>
  struct BLoader {
    using Slots = MnSlots<Cfg::BN, Cfg::BK, Cfg::kThreads>;
    const BackwardWeightProblem& p;
    const Tables<Cfg>& t;
    int k0;
    Cursor c[Slots::kCursors];  // output pixel as (n, oy, ox)
    FH_IGEMM_FN BLoader(const BackwardWeightProblem& p_, const Tables<Cfg>& t_, int tid, int64_t)
        : p(p_), t(t_), k0(0) {
      // The slice starts at r0; a pixel index below 2^31 (checked on the host) fits the cursor.
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; e += Slots::kPerColumn)
        c[Slots::cursor(e)].set(static_cast<int>(p.r0) + Slots::kk(tid, e), p.g.Ho, p.g.Wo);
    }
    FH_IGEMM_FN void fetch(int tid, T (&v)[Slots::kCount]) const {
      const int red = p.red();
      FH_IGEMM_UNROLL
      for (int e = 0; e < Slots::kCount; ++e) {
        const int col = Slots::d(tid, e);
        const Cursor& q = c[Slots::cursor(e)];
        const int iy = q.mid * p.g.stride - p.g.pad + t.ci[col];
        const int ix = q.lo * p.g.stride - p.g.pad + t.cj[col];
        T value = T(0);
        if (k0 + Slots::kk(tid, e) < red && iy >= 0 && iy < p.g.H && ix >= 0 && ix < p.g.W)
          value = p.x[(static_cast<int64_t>(q.hi * p.g.H + iy) * p.g.W + ix) * p.g.Cin + t.cc[col]];
        v[e] = value;
      }
    }
    FH_IGEMM_FN void advance() {
      k0 += Cfg::BK;
      FH_IGEMM_UNROLL
      for (int q = 0; q < Slots::kCursors; ++q) c[q].advance(Cfg::BK, p.g.Ho, p.g.Wo);
    }
  };

  template <class Cfg>
  FH_IGEMM_FN void store(const Tables<Cfg>&, int, int64_t o, int k, T v) const {
    dst[o * K + k] = v;
  }
};

// ---- Block main loops --------------------------------------------------------------------------

// Four consecutive values from shared memory (16-byte aligned for float, 32 for double).
template <class T>
struct Quad {
  T v[4];
};
template <class T>
FH_IGEMM_FN Quad<T> load_quad(const T* p) {
  Quad<T> q;
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(T) == 4) {
    const float4 f = *reinterpret_cast<const float4*>(p);
    q.v[0] = f.x, q.v[1] = f.y, q.v[2] = f.z, q.v[3] = f.w;
  } else {
    const double2 a = *reinterpret_cast<const double2*>(p), b = *reinterpret_cast<const double2*>(p + 2);
    q.v[0] = a.x, q.v[1] = a.y, q.v[2] = b.x, q.v[3] = b.y;
  }
#else
  for (int i = 0; i < 4; ++i) q.v[i] = p[i];
#endif
  return q;
}

// Tile row of a CUDA-core thread's i-th output row: groups of 4 rows, group g at g·(BM/(TM/4)).
template <class Cfg>
FH_IGEMM_FN int simt_row(int ty, int i) {
  return (i / 4) * (Cfg::BM / (Cfg::TM / 4)) + ty * 4 + i % 4;
}
template <class Cfg>
FH_IGEMM_FN int simt_col(int tx, int j) {
  return (j / 4) * (Cfg::BN / (Cfg::TN / 4)) + tx * 4 + j % 4;
}

// One stage on CUDA cores: acc[i][j] += Σ_kk A[kk][row i] · B[kk][col j].
template <class Cfg, class T>
FH_IGEMM_FN void simt_multiply(const T* As, const T* Bs, int tx, int ty, T (&acc)[Cfg::TM][Cfg::TN]) {
  FH_IGEMM_UNROLL
  for (int kk = 0; kk < Cfg::BK; ++kk) {
    T a[Cfg::TM], b[Cfg::TN];
    FH_IGEMM_UNROLL
    for (int g = 0; g < Cfg::TM / 4; ++g) {
      const Quad<T> q = load_quad(As + kk * Cfg::kLdA + simt_row<Cfg>(ty, 4 * g));
      FH_IGEMM_UNROLL
      for (int i = 0; i < 4; ++i) a[4 * g + i] = q.v[i];
    }
    FH_IGEMM_UNROLL
    for (int g = 0; g < Cfg::TN / 4; ++g) {
      const Quad<T> q = load_quad(Bs + kk * Cfg::kLdB + simt_col<Cfg>(tx, 4 * g));
      FH_IGEMM_UNROLL
      for (int j = 0; j < 4; ++j) b[4 * g + j] = q.v[j];
    }
    FH_IGEMM_UNROLL
    for (int i = 0; i < Cfg::TM; ++i) {
      FH_IGEMM_UNROLL
      for (int j = 0; j < Cfg::TN; ++j) acc[i][j] += a[i] * b[j];
    }
  }
}

// One stage on tensor cores. Fragment layouts of mma.m16n8k8 with TF32 operands (PTX ISA),
// with g = lane / 4 and q = lane % 4:
//   A (16x8, row):  a0 = A[g][q], a1 = A[g+8][q], a2 = A[g][q+4], a3 = A[g+8][q+4]
//   B (8x8, col):   b0 = B[q][g], b1 = B[q+4][g]
//   C (16x8):       c0 = C[g][2q], c1 = C[g][2q+1], c2 = C[g+8][2q], c3 = C[g+8][2q+1]
// The stage holds A as [k][row] and B as [k][col], so both are read with k = q (+4).
template <class Cfg, class Ctx>
FH_IGEMM_FN void mma_multiply(Ctx& ctx, const float* As, const float* Bs, int lane, int row0, int col0,
                              float (&acc)[Cfg::MI][Cfg::NI][4]) {
  const int g = lane >> 2, q = lane & 3;
  FH_IGEMM_UNROLL
  for (int ks = 0; ks < Cfg::BK; ks += 8) {
    uint32_t a[Cfg::MI][4], b[Cfg::NI][2];
    FH_IGEMM_UNROLL
    for (int mi = 0; mi < Cfg::MI; ++mi) {
      const float* p = As + (ks + q) * Cfg::kLdA + row0 + mi * 16 + g;
      a[mi][0] = float_bits(p[0]);
      a[mi][1] = float_bits(p[8]);
      a[mi][2] = float_bits(p[4 * Cfg::kLdA]);
      a[mi][3] = float_bits(p[4 * Cfg::kLdA + 8]);
    }
    FH_IGEMM_UNROLL
    for (int ni = 0; ni < Cfg::NI; ++ni) {
      const float* p = Bs + (ks + q) * Cfg::kLdB + col0 + ni * 8 + g;
      b[ni][0] = float_bits(p[0]);
      b[ni][1] = float_bits(p[4 * Cfg::kLdB]);
    }
    FH_IGEMM_UNROLL
    for (int mi = 0; mi < Cfg::MI; ++mi) {
      FH_IGEMM_UNROLL
      for (int ni = 0; ni < Cfg::NI; ++ni) ctx.mma_tf32(acc[mi][ni], a[mi], b[ni]);
    }
  }
}

// The shared pipeline of both main loops: load stage 0, then for each stage fetch the next
// one from global memory into registers while multiplying the current one, store it into
// the other buffer, one barrier per stage. A block whose rows all lie past the problem (a
// short stride phase) returns before its first barrier, as a whole. The problem's loaders
// say what each slot fetches (fetch, advance); where a slot goes in the stage is its Slots'.
template <class Cfg, class P, class Ctx, class Multiply>
FH_IGEMM_FN void run_stages(Ctx& ctx, const P& v, typename P::value_type* smem,
                            const typename P::template Tables<Cfg>& tables, int tid, int64_t m0, int64_t n0,
                            Multiply&& multiply) {
  using T = typename P::value_type;
  using A = typename P::template ALoader<Cfg>;
  using B = typename P::template BLoader<Cfg>;
  const int stages = (v.red() + Cfg::BK - 1) / Cfg::BK;
  if (stages == 0) return;
  // Buffers by offset, not through a pointer array (which a dynamic index would put in local memory).
  constexpr int kA = Cfg::BK * Cfg::kLdA, kB = Cfg::BK * Cfg::kLdB;
  T* const As = smem;           // two stages of A
  T* const Bs = smem + 2 * kA;  // two stages of B
  A a(v, tables, tid, m0);
  B b(v, tables, tid, n0);
  using SlotsA = typename A::Slots;
  using SlotsB = typename B::Slots;
  T ra[SlotsA::kCount], rb[SlotsB::kCount];
  a.fetch(tid, ra);
  b.fetch(tid, rb);
  store_slots<Cfg, SlotsA, Cfg::kLdA>(tid, As, ra);
  store_slots<Cfg, SlotsB, Cfg::kLdB>(tid, Bs, rb);
  ctx.sync();
  for (int s = 0; s < stages; ++s) {
    const int cur = s & 1;
    const bool more = s + 1 < stages;
    if (more) {
      a.advance();
      b.advance();
      a.fetch(tid, ra);
      b.fetch(tid, rb);
    }
    multiply(As + cur * kA, Bs + cur * kB);
    // The other buffer was last read in stage s - 1, which every thread finished before the
    // barrier that ended it.
    if (more) {
      store_slots<Cfg, SlotsA, Cfg::kLdA>(tid, As + (cur ^ 1) * kA, ra);
      store_slots<Cfg, SlotsB, Cfg::kLdB>(tid, Bs + (cur ^ 1) * kB, rb);
    }
    ctx.sync();
  }
}

// A block of the CUDA-core kernel. smem holds Cfg::kStageElems·2 values.
template <class Cfg, class P, class Ctx>
FH_IGEMM_FN void simt_block(Ctx& ctx, const P& prob, typename P::value_type* smem,
                            typename P::template Tables<Cfg>& tables) {
  using T = typename P::value_type;
  const int tid = ctx.thread();
  const P v = prob.view(ctx.block_z());
  const int64_t m0 = ctx.block_x() * Cfg::BM, n0 = static_cast<int64_t>(ctx.block_y()) * Cfg::BN;
  if (m0 >= v.rows()) return;
  v.template init_tables<Cfg>(tables, tid, m0, static_cast<int>(n0));
  ctx.sync();
  const int tx = tid % Cfg::kThreadCols, ty = tid / Cfg::kThreadCols;
  T acc[Cfg::TM][Cfg::TN];
  for (int i = 0; i < Cfg::TM; ++i)
    for (int j = 0; j < Cfg::TN; ++j) acc[i][j] = T(0);
  run_stages<Cfg>(ctx, v, smem, tables, tid, m0, n0,
                  [&](const T* As, const T* Bs) { simt_multiply<Cfg>(As, Bs, tx, ty, acc); });
  const int64_t rows = v.rows();
  const int cols = v.cols();
  FH_IGEMM_UNROLL
  for (int i = 0; i < Cfg::TM; ++i) {
    const int r = simt_row<Cfg>(ty, i);
    if (m0 + r >= rows) continue;
    FH_IGEMM_UNROLL
    for (int j = 0; j < Cfg::TN; ++j) {
      const int col = static_cast<int>(n0) + simt_col<Cfg>(tx, j);
      if (col < cols) v.template store<Cfg>(tables, r, m0 + r, col, acc[i][j]);
    }
  }
}

// A block of the tensor-core kernel (float only).
template <class Cfg, class P, class Ctx>
FH_IGEMM_FN void mma_block(Ctx& ctx, const P& prob, float* smem, typename P::template Tables<Cfg>& tables) {
  const int tid = ctx.thread();
  const P v = prob.view(ctx.block_z());
  const int64_t m0 = ctx.block_x() * Cfg::BM, n0 = static_cast<int64_t>(ctx.block_y()) * Cfg::BN;
  if (m0 >= v.rows()) return;
  v.template init_tables<Cfg>(tables, tid, m0, static_cast<int>(n0));
  ctx.sync();
  const int lane = tid & 31, warp = tid >> 5;
  const int row0 = (warp / Cfg::kWarpCols) * Cfg::WM, col0 = (warp % Cfg::kWarpCols) * Cfg::WN;
  float acc[Cfg::MI][Cfg::NI][4];
  for (int mi = 0; mi < Cfg::MI; ++mi)
    for (int ni = 0; ni < Cfg::NI; ++ni)
      for (int r = 0; r < 4; ++r) acc[mi][ni][r] = 0.0f;
  run_stages<Cfg>(ctx, v, smem, tables, tid, m0, n0, [&](const float* As, const float* Bs) {
    mma_multiply<Cfg>(ctx, As, Bs, lane, row0, col0, acc);
  });
  const int64_t rows = v.rows();
  const int cols = v.cols();
  const int g = lane >> 2, q = lane & 3;
  FH_IGEMM_UNROLL
  for (int mi = 0; mi < Cfg::MI; ++mi) {
    FH_IGEMM_UNROLL
    for (int ni = 0; ni < Cfg::NI; ++ni) {
      FH_IGEMM_UNROLL
      for (int r = 0; r < 4; ++r) {
        const int row = row0 + mi * 16 + g + 8 * (r >> 1);
        const int col = static_cast<int>(n0) + col0 + ni * 8 + 2 * q + (r & 1);
        if (m0 + row < rows && col < cols) v.template store<Cfg>(tables, row, m0 + row, col, acc[mi][ni][r]);
      }
    }
  }
}

// ---- Tile choice and launch shapes (host) ------------------------------------------------------

// The configurations the kernels are built for, by the GEMM's rows and columns: a tile
// never much wider than the problem (the 7x7 heads have 1-3 output channels, the weight
// gradient of such a head has 1-3 rows).
enum class Tile { Large, Wide64, Tall64, Wide32, Tall32, Narrow, Flat, Small };

// The widest GEMM (in columns, or rows) that gets the Narrow (Flat) tile.
constexpr int kSimtNarrowLimit = 4;
constexpr int kMmaNarrowLimit = 8;

inline Tile choose_tile(int64_t rows, int64_t cols, bool tensor_cores) {
  const int narrow_limit = tensor_cores ? kMmaNarrowLimit : kSimtNarrowLimit;
  if (cols <= narrow_limit && rows > 32) return Tile::Narrow;
  if (rows <= narrow_limit && cols > 32) return Tile::Flat;
  if (rows <= 32 && cols <= 32) return Tile::Small;
  if (cols <= 32) return Tile::Wide32;   // 128 rows x 32 columns
  if (rows <= 32) return Tile::Tall32;   // 32 rows x 128 columns
  if (cols <= 64) return Tile::Wide64;   // 128 x 64
  if (rows <= 64) return Tile::Tall64;   // 64 x 128
  return Tile::Large;
}

// CUDA cores, float32.
using SimtLarge = SimtConfig<128, 128, 8, 8, 8>;
using SimtWide64 = SimtConfig<128, 64, 8, 8, 4>;
using SimtTall64 = SimtConfig<64, 128, 8, 4, 8>;
using SimtWide32 = SimtConfig<128, 32, 8, 4, 4>;
using SimtTall32 = SimtConfig<32, 128, 8, 4, 4>;
using SimtNarrow = SimtConfig<128, 4, 8, 4, 4>;
using SimtFlat = SimtConfig<4, 128, 8, 4, 4>;
using SimtSmall = SimtConfig<32, 32, 8, 4, 4>;
// Float64 (the gradient checks' precision): one modest tile for every shape.
using SimtF64 = SimtConfig<64, 64, 8, 4, 4>;
// Tensor cores (TF32).
using MmaLarge = MmaConfig<128, 128, 64, 32>;
using MmaWide64 = MmaConfig<128, 64, 64, 32>;
using MmaTall64 = MmaConfig<64, 128, 32, 64>;
using MmaWide32 = MmaConfig<128, 32, 32, 32>;
using MmaTall32 = MmaConfig<32, 128, 32, 32>;
using MmaNarrow = MmaConfig<128, 8, 32, 8>;
using MmaFlat = MmaConfig<16, 128, 16, 32>;
using MmaSmall = MmaConfig<32, 32, 16, 16>;

// Calls fn(Config{}) with the configuration type of `tile`.
template <bool kTensorCores, class Fn>
void with_tile(Tile tile, Fn&& fn) {
  if constexpr (kTensorCores) {
    switch (tile) {
      case Tile::Large: return fn(MmaLarge{});
      case Tile::Wide64: return fn(MmaWide64{});
      case Tile::Tall64: return fn(MmaTall64{});
      case Tile::Wide32: return fn(MmaWide32{});
      case Tile::Tall32: return fn(MmaTall32{});
      case Tile::Narrow: return fn(MmaNarrow{});
      case Tile::Flat: return fn(MmaFlat{});
      case Tile::Small: return fn(MmaSmall{});
    }
  } else {
    switch (tile) {
      case Tile::Large: return fn(SimtLarge{});
      case Tile::Wide64: return fn(SimtWide64{});
      case Tile::Tall64: return fn(SimtTall64{});
      case Tile::Wide32: return fn(SimtWide32{});
      case Tile::Tall32: return fn(SimtTall32{});
      case Tile::Narrow: return fn(SimtNarrow{});
      case Tile::Flat: return fn(SimtFlat{});
      case Tile::Small: return fn(SimtSmall{});
    }
  }
}

// Grid of one launch: x over the rows (the largest phase's), y over the columns, z over
// phases or slices.
struct LaunchShape {
  int64_t rows = 0, cols = 0;
  int z = 1;
};

inline Geometry geometry(int64_t N, int64_t H, int64_t W, int64_t Cin, int64_t Cout, int64_t kh, int64_t kw,
                         int64_t stride, int64_t pad, int64_t Ho, int64_t Wo) {
  Geometry g;
  g.N = static_cast<int>(N), g.H = static_cast<int>(H), g.W = static_cast<int>(W), g.Cin = static_cast<int>(Cin);
  g.Cout = static_cast<int>(Cout), g.kh = static_cast<int>(kh), g.kw = static_cast<int>(kw);
  g.stride = static_cast<int>(stride), g.pad = static_cast<int>(pad), g.Ho = static_cast<int>(Ho), g.Wo = static_cast<int>(Wo);
  return g;
}

inline LaunchShape forward_shape(const Geometry& g) {
  return {static_cast<int64_t>(g.N) * g.Ho * g.Wo, g.Cout, 1};
}
// Phase (0, 0) has the most rows: ceil(H/s) x ceil(W/s) per image.
inline LaunchShape backward_input_shape(const Geometry& g) {
  const int64_t rows = static_cast<int64_t>(g.N) * ((g.H + g.stride - 1) / g.stride) * ((g.W + g.stride - 1) / g.stride);
  return {rows, g.Cin, g.stride * g.stride};
}

// Slices of the weight gradient's reduction, from the shapes and the tile only (so the
// partial sums, and their order, are the same on every run and every GPU): enough blocks to
// fill a large GPU, each slice at least kMinPixels output pixels, the partials within a
// memory budget.
inline int weight_grad_slices(int64_t cout, int64_t K, int64_t M, int bm, int bn) {
  constexpr int64_t kTargetBlocks = 1024, kMinPixels = 256, kMaxSlices = 256;
  constexpr int64_t kPartialBudget = int64_t{1} << 28;  // values (1 GiB of float32)
  const int64_t tiles = ((cout + bm - 1) / bm) * ((K + bn - 1) / bn);
  int64_t s = (kTargetBlocks + tiles - 1) / tiles;
  s = std::min(s, std::max<int64_t>(1, M / kMinPixels));
  s = std::min(s, std::max<int64_t>(1, kPartialBudget / std::max<int64_t>(1, cout * K)));
  return static_cast<int>(std::clamp<int64_t>(s, 1, kMaxSlices));
}

inline LaunchShape backward_weight_shape(const Geometry& g, int slices) {
  return {g.Cout, static_cast<int64_t>(g.kh) * g.kw * g.Cin, slices};
}

}  // namespace fh::kernels::cuda::igemm
