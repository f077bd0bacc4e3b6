// A register-blocked matrix product for the CPU paths that can hand it their right operand
// already packed: C[rows, width] = A[rows, K] · B[K, width], A row-major with any leading
// dimension, B packed as K rows of `width` contiguous values (width a multiple of the
// 16-lane vector), C row-major with any leading dimension.
//
// Why it exists beside Eigen: a GEMM call through Eigen packs both operands into its own
// buffers and zeroes the destination before it accumulates into it. Where the caller makes
// B itself — the Winograd forward transforms each weight block straight into this layout
// (kernels/cpu/conv_winograd.cpp); the direct convolutions and single matrix products pack
// their weight once per call (pack_transposed; conv_gemm.h, matmul.cpp) — and A is read a
// few times from cache, those copies are most of the work on small images: the Winograd
// layers of a 32² batch-1 frame spent more time packing, zeroing and moving the transformed
// weight than multiplying. Tested on its own in tests/test_register_product.cpp.
//
// The micro-tile keeps MR rows × NV vectors of C in registers (24 accumulators at most, of
// the 32 vector registers AVX-512 has): for each k it loads NV vectors of B and broadcasts
// one A value per row into NV fused multiply-adds. Every C value is the sum over k in
// increasing order, whatever the tile or thread: results do not depend on how a product is
// split.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "runtime/thread_pool.h"

namespace fh::kernels::cpu::product {

using Lanes = float __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
// The widest product multiply() runs: 4 vectors of columns, 64 floats.
constexpr int64_t kPanelColumns = 4 * kLanes;

// a·b + c rounded once where the target has fused multiply-add (as Eigen's and PyTorch's CPU
// GEMMs do), else rounded twice.
inline Lanes multiply_add(Lanes a, Lanes b, Lanes c) {
#if defined(__AVX512F__)
  return reinterpret_cast<Lanes>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b),
                                                 reinterpret_cast<__m512>(c)));
#elif defined(__FMA__)
  __m256 a2[2], b2[2], c2[2];
  std::memcpy(a2, &a, sizeof a);
  std::memcpy(b2, &b, sizeof b);
  std::memcpy(c2, &c, sizeof c);
  c2[0] = _mm256_fmadd_ps(a2[0], b2[0], c2[0]);
  c2[1] = _mm256_fmadd_ps(a2[1], b2[1], c2[1]);
  Lanes r;
  std::memcpy(&r, c2, sizeof r);
  return r;
#else
  return a * b + c;
#endif
}

inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float* p, const Lanes& v) { std::memcpy(p, &v, sizeof v); }

// x in every lane (written out: `Lanes{} + x` would add 0 to x first, which is not a no-op
// for x = -0, and costs an add per broadcast).
inline Lanes broadcast(float x) { return Lanes{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// Rows of one micro-tile for NV vectors of columns: as many as keep MR·NV accumulators,
// NV vectors of B and a broadcast within the 32 registers.
constexpr int rows_per_tile(int nv) { return nv == 4 ? 6 : nv == 3 ? 8 : 12; }

// C[MR, cols] = A[MR, K] · B[K, NV·16] (B's rows ldb apart), or with Accumulate C += A · B
// continuing each value's sum from what C holds (the same bits as one product over both K
// ranges); only the first `cols` columns of C are read or written. Every row of B is read
// whole (NV vectors) even where cols is less: the values past cols, which may lie past the
// matrix on its last row, must be readable and only reach the lanes that are not stored.
template <int MR, int NV, bool Accumulate = false>
void micro_tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t K, float* c, int64_t ldc,
                int64_t cols) {
  Lanes acc[MR][NV] = {};
  if constexpr (Accumulate) {
    if (cols == NV * kLanes) {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = load(c + r * ldc + v * kLanes);
    } else {
      for (int r = 0; r < MR; ++r) std::memcpy(&acc[r][0], c + r * ldc, static_cast<size_t>(cols) * sizeof(float));
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    Lanes bk[NV];
    for (int v = 0; v < NV; ++v) bk[v] = load(b + k * ldb + v * kLanes);
    for (int r = 0; r < MR; ++r) {
      const Lanes ar = broadcast(a[r * lda + k]);
      for (int v = 0; v < NV; ++v) acc[r][v] = multiply_add(ar, bk[v], acc[r][v]);
    }
  }
  if (cols == NV * kLanes) {
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NV; ++v) store(c + r * ldc + v * kLanes, acc[r][v]);
  } else {
    for (int r = 0; r < MR; ++r) std::memcpy(c + r * ldc, &acc[r][0], static_cast<size_t>(cols) * sizeof(float));
  }
}

// Stage H of a 16×16 transpose held in 16 vectors: swaps the off-diagonal H×H blocks of every
// 2H×2H block (rows i and i + H, i & H == 0, exchange the halves that cross). After stages
// 8, 4, 2 and 1 row i holds column i.
template <int H>
void transpose_stage(Lanes (&r)[16]) {
  using Index = int __attribute__((vector_size(64)));
  constexpr auto mask = [](bool high) {
    std::array<int, 16> m{};
    for (int c = 0; c < 16; ++c) m[c] = high ? ((c & H) ? 16 + c : c + H) : ((c & H) ? 16 + c - H : c);
    return m;
  };
  constexpr std::array<int, 16> lo = mask(false), hi = mask(true);
  const Index lo_v = {lo[0], lo[1], lo[2],  lo[3],  lo[4],  lo[5],  lo[6],  lo[7],
                      lo[8], lo[9], lo[10], lo[11], lo[12], lo[13], lo[14], lo[15]};
  const Index hi_v = {hi[0], hi[1], hi[2],  hi[3],  hi[4],  hi[5],  hi[6],  hi[7],
                      hi[8], hi[9], hi[10], hi[11], hi[12], hi[13], hi[14], hi[15]};
  for (int i = 0; i < 16; ++i) {
    if (i & H) continue;
    const Lanes a = __builtin_shuffle(r[i], r[i + H], lo_v), b = __builtin_shuffle(r[i], r[i + H], hi_v);
    r[i] = a;
    r[i + H] = b;
  }
}

// The right operand in the layout the product reads: dst[k·ld_dst + j] = src[j·ld_src + k]
// for j < n, k < K, and 0 for n ≤ j < n_pad (a multiple of 16). Whole 16×16 blocks are
// transposed in registers, the edges one value at a time.
inline void pack_transposed(const float* src, int64_t ld_src, int64_t n, int64_t K, int64_t n_pad, float* dst,
                            int64_t ld_dst) {
  for (int64_t j0 = 0; j0 < n_pad; j0 += kLanes) {
    float* d = dst + j0;
    int64_t k0 = 0;
    if (j0 + kLanes <= n) {
      for (; k0 + kLanes <= K; k0 += kLanes) {
        Lanes r[16];
        for (int i = 0; i < 16; ++i) r[i] = load(src + (j0 + i) * ld_src + k0);
        transpose_stage<8>(r);
        transpose_stage<4>(r);
        transpose_stage<2>(r);
        transpose_stage<1>(r);
        for (int i = 0; i < 16; ++i) store(d + (k0 + i) * ld_dst, r[i]);
      }
    }
    for (int64_t k = k0; k < K; ++k)
      for (int64_t i = 0; i < kLanes; ++i) d[k * ld_dst + i] = j0 + i < n ? src[(j0 + i) * ld_src + k] : 0.0f;
  }
}

using MicroTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t);

template <int NV, bool Accumulate, int... MR>
constexpr MicroTile tile_for_rows(int rows, std::integer_sequence<int, MR...>) {
  MicroTile tiles[] = {&micro_tile<MR + 1, NV, Accumulate>...};
  return tiles[rows - 1];
}

// C[rows, cols] = A[rows, K] · B[K, nv·16] (cols ≤ nv·16, nv in 1..4), B packed (rows nv·16
// apart) or, with ldb > 0, any row-major matrix whose rows are ldb apart; with `accumulate`,
// C += A · B (micro_tile).
inline void multiply(const float* a, int64_t lda, int64_t rows, const float* b, int64_t K, int nv, float* c,
                     int64_t ldc, int64_t cols, bool accumulate = false, int64_t ldb = 0) {
  if (ldb == 0) ldb = nv * kLanes;
  const auto run = [&]<int NV, bool Acc>() {
    constexpr int MR = rows_per_tile(NV);
    int64_t r = 0;
    for (; r + MR <= rows; r += MR) micro_tile<MR, NV, Acc>(a + r * lda, lda, b, ldb, K, c + r * ldc, ldc, cols);
    if (r < rows)
      tile_for_rows<NV, Acc>(static_cast<int>(rows - r), std::make_integer_sequence<int, MR - 1>{})(
          a + r * lda, lda, b, ldb, K, c + r * ldc, ldc, cols);
  };
  const auto by_width = [&]<bool Acc>() {
    switch (nv) {
      case 1:
        return run.template operator()<1, Acc>();
      case 2:
        return run.template operator()<2, Acc>();
      case 3:
        return run.template operator()<3, Acc>();
      default:
        return run.template operator()<4, Acc>();
    }
  };
  if (accumulate) return by_width.template operator()<true>();
  by_width.template operator()<false>();
}

// C[rows, n] = A[rows, K] · B[K, n] (or += with `accumulate`) for B any row-major matrix
// whose rows are ldb apart, 64 columns at a time. The last row of B is read up to a whole
// vector past column n: kLanes - 1 readable values must follow it.
inline void multiply_strided(const float* a, int64_t lda, int64_t rows, const float* b, int64_t ldb, int64_t K,
                             int64_t n, float* c, int64_t ldc, bool accumulate) {
  for (int64_t c0 = 0; c0 < n; c0 += kPanelColumns) {
    const int64_t cols = std::min(kPanelColumns, n - c0);
    multiply(a, lda, rows, b + c0, K, static_cast<int>((cols + kLanes - 1) / kLanes), c + c0, ldc, cols, accumulate,
             ldb);
  }
}

// A right operand B [K, n] packed once for many products: its columns in panels of 64 (the
// last one 16·⌈rest/16⌉ wide), panel b laid out [K, width(b)] from data + begin(b)·K, zeros
// past column n. Packed in parallel over the panels.
struct PackedPanels {
  static constexpr int64_t kPanel = kPanelColumns;
  std::unique_ptr<float[]> data;
  int64_t K = 0, n = 0, n_pad = 0, panels = 0;

  int64_t begin(int64_t b) const { return b * kPanel; }
  int64_t width(int64_t b) const { return std::min(kPanel, n_pad - begin(b)); }
  int64_t columns(int64_t b) const { return std::min(width(b), n - begin(b)); }

  // B given transposed, bt [n, K] row-major (a weight [outputs, K]), or as b [K, n].
  static PackedPanels pack(const float* b, int64_t K, int64_t n, bool transposed) {
    PackedPanels p;
    p.K = K;
    p.n = n;
    p.n_pad = (n + kLanes - 1) / kLanes * kLanes;
    p.panels = (p.n_pad + kPanel - 1) / kPanel;
    p.data.reset(new float[K * p.n_pad]);
    parallel_for(p.panels, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t panel = b0; panel < b1; ++panel) {
        const int64_t o0 = p.begin(panel), width = p.width(panel), cols = p.columns(panel);
        float* dst = p.data.get() + o0 * K;
        if (transposed) {
          pack_transposed(b + o0 * K, K, cols, K, width, dst, width);
        } else {
          for (int64_t k = 0; k < K; ++k) {
            std::copy(b + k * n + o0, b + k * n + o0 + cols, dst + k * width);
            std::fill(dst + k * width + cols, dst + (k + 1) * width, 0.0f);
          }
        }
      }
    });
    return p;
  }

  // Columns [begin(b), begin(b) + columns(b)) of C = A[rows, K] · B; c points at C's
  // column 0 (row-major, leading dimension ldc).
  void multiply_panel(const float* a, int64_t lda, int64_t rows, int64_t b, float* c, int64_t ldc) const {
    multiply(a, lda, rows, data.get() + begin(b) * K, K, static_cast<int>(width(b) / kLanes), c + begin(b), ldc,
             columns(b));
  }
};

}  // namespace fh::kernels::cpu::product
