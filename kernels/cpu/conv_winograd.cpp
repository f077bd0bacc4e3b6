#include "kernels/cpu/conv_winograd.h"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>
#include <cstring>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "kernels/cpu/conv_gemm.h"
#include "kernels/cpu/register_product.h"
#include "runtime/error.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The transforms run on 16 channels at a time as one vector (the compiler maps it to the
// widest registers the target has), the leftover channels one at a time with the same code.
using product::kLanes;
using product::Lanes;

template <class V>
V load(const float* p) {
  if constexpr (std::is_same_v<V, float>) {
    return *p;
  } else {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
}

template <class V>
void store(float* p, const V& v) {
  if constexpr (std::is_same_v<V, float>)
    *p = v;
  else
    std::memcpy(p, &v, sizeof v);
}

// Runs body.template operator()<V>(c) over channels [0, n): V = Lanes for whole groups of
// 16, then V = float for the rest.
template <class Body>
void over_channels(int64_t n, const Body& body) {
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes) body.template operator()<Lanes>(c);
  for (; c < n; ++c) body.template operator()<float>(c);
}

// The 1-d transforms of F(m, 3): input Bᵀd (T = m+2 values), output Aᵀy (T → m), weight
// Gg (3 → T). The 2-d transforms apply them along columns, then along rows.
template <int M>
struct Winograd;

template <>
struct Winograd<2> {
  static constexpr int T = 4;
  template <class V>
  static void input(const V* d, V* r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  template <class V>
  static void output(const V* m, V* y) {
    y[0] = m[0] + m[1] + m[2];
    y[1] = m[1] - m[2] - m[3];
  }
  template <class V>
  static void weight(const V* g, V* u) {
    u[0] = g[0];
    u[1] = (g[0] + g[1] + g[2]) * 0.5f;
    u[2] = (g[0] - g[1] + g[2]) * 0.5f;
    u[3] = g[2];
  }
  // The weight gradient's transforms are the transposes of the forward's (see
  // weight_gradient below): A for grad_out (m → T), Gᵀ for the summed products (T → 3).
  template <class V>
  static void grad_output(const V* g, V* e) {
    e[0] = g[0];
    e[1] = g[0] + g[1];
    e[2] = g[0] - g[1];
    e[3] = -g[1];
  }
  template <class V>
  static void weight_gradient(const V* x, V* r) {
    r[0] = x[0] + (x[1] + x[2]) * 0.5f;
    r[1] = (x[1] - x[2]) * 0.5f;
    r[2] = (x[1] + x[2]) * 0.5f + x[3];
  }
};

// Interpolation points 0, ±1, ±2 and ∞ (the usual choice: the smallest coefficients).
template <>
struct Winograd<4> {
  static constexpr int T = 6;
  template <class V>
  static void input(const V* d, V* r) {
    r[0] = d[0] * 4.0f - d[2] * 5.0f + d[4];
    r[1] = d[3] + d[4] - (d[1] + d[2]) * 4.0f;
    r[2] = d[4] - d[3] + (d[1] - d[2]) * 4.0f;
    r[3] = d[4] - d[2] + (d[3] - d[1]) * 2.0f;
    r[4] = d[4] - d[2] + (d[1] - d[3]) * 2.0f;
    r[5] = d[1] * 4.0f - d[3] * 5.0f + d[5];
  }
  template <class V>
  static void output(const V* m, V* y) {
    const V s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + d34 * 2.0f;
    y[2] = s12 + s34 * 4.0f;
    y[3] = d12 + d34 * 8.0f + m[5];
  }
  template <class V>
  static void weight(const V* g, V* u) {
    u[0] = g[0] * (1.0f / 4);
    u[1] = (g[0] + g[1] + g[2]) * (-1.0f / 6);
    u[2] = (g[0] - g[1] + g[2]) * (-1.0f / 6);
    u[3] = g[0] * (1.0f / 24) + g[1] * (1.0f / 12) + g[2] * (1.0f / 6);
    u[4] = g[0] * (1.0f / 24) - g[1] * (1.0f / 12) + g[2] * (1.0f / 6);
    u[5] = g[2];
  }
  template <class V>
  static void grad_output(const V* g, V* e) {
    const V s02 = g[0] + g[2], s13 = g[1] + g[3];
    const V q02 = g[0] + g[2] * 4.0f, q13 = (g[1] + g[3] * 4.0f) * 2.0f;
    e[0] = g[0];
    e[1] = s02 + s13;
    e[2] = s02 - s13;
    e[3] = q02 + q13;
    e[4] = q02 - q13;
    e[5] = g[3];
  }
  template <class V>
  static void weight_gradient(const V* x, V* r) {
    const V s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
    r[0] = x[0] * (1.0f / 4) - s12 * (1.0f / 6) + s34 * (1.0f / 24);
    r[1] = d12 * (-1.0f / 6) + d34 * (1.0f / 12);
    r[2] = s12 * (-1.0f / 6) + s34 * (1.0f / 6) + x[5];
  }
};

// (rows × IN) → (rows × OUT) by `f` along every column, then `g` along every row, where f and
// g map arrays of IN → OUT and IN2 → OUT2 values.
template <int Rin, int Rout, int Cin, int Cout, class V, class F, class G>
void separable(const V (&in)[Rin][Cin], V (&out)[Rout][Cout], const F& f, const G& g) {
  V cols[Rout][Cin];
  for (int b = 0; b < Cin; ++b) {
    V column[Rin], result[Rout];
    for (int a = 0; a < Rin; ++a) column[a] = in[a][b];
    f(column, result);
    for (int a = 0; a < Rout; ++a) cols[a][b] = result[a];
  }
  for (int a = 0; a < Rout; ++a) g(cols[a], out[a]);
}

// U[ξ][o][c] = (G g Gᵀ)[ξ] for output channel o and input channel c: each ξ is a [Cout, Cin]
// matrix, read transposed by the GEMM, so that both the weight and U are walked along Cin.
template <int M>
void transform_weight(const float* w, const Conv2dParams& p, float* u) {
  using F = Winograd<M>;
  constexpr int T = F::T;
  const int64_t cin = p.Cin, cout = p.Cout, plane = cout * cin;
  parallel_for(cout, 4, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      over_channels(cin, [&]<class V>(int64_t c) {
        V g[3][3], t[T][T];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) g[i][j] = load<V>(w + ((o * 3 + i) * 3 + j) * cin + c);
        const auto weight = [](const V* in, V* out) { F::weight(in, out); };
        separable(g, t, weight, weight);
        for (int xi = 0; xi < T * T; ++xi) store(u + xi * plane + o * cin + c, t[xi / T][xi % T]);
      });
  });
}

struct Tiling {
  int64_t H, W, tiles_x, tiles_per_image;
  int64_t image(int64_t tile) const { return tile / tiles_per_image; }
  int64_t ty(int64_t tile) const { return tile % tiles_per_image / tiles_x; }
  int64_t tx(int64_t tile) const { return tile % tiles_per_image % tiles_x; }
};

// The m×m tiles of a layer and the chunks they are processed in.
struct Chunking {
  Tiling tiling;
  int64_t tiles = 0;  // over the whole batch
  int64_t rows = 0;   // tiles per chunk (the last chunk may have fewer)
};

template <int M>
Chunking plan_chunks(const Conv2dParams& p) {
  constexpr int64_t kPositions = (M + 2) * (M + 2);
  const int64_t tiles_x = (p.W + M - 1) / M, tiles_y = (p.H + M - 1) / M;
  Chunking c;
  c.tiling = {p.H, p.W, tiles_x, tiles_x * tiles_y};
  c.tiles = p.N * c.tiling.tiles_per_image;
  // The chunk's transformed inputs and products (or grad_out values) together about 4 MB,
  // so that they are still in cache between the transforms and the GEMMs, but at least 256
  // rows, enough that the GEMMs run at full rate and each U[ξ] is packed rarely. (Measured
  // on the generator's layers with BM_conv2d_algorithm: 4 MB is up to 2x faster than whole
  // images at 256², and 2-16 MB or 128-row minimums were no better.)
  const int64_t chunk_bytes = int64_t{4} << 20, row_bytes = kPositions * (p.Cin + p.Cout) * int64_t{sizeof(float)};
  c.rows = std::min(c.tiles, std::max<int64_t>(256, chunk_bytes / row_bytes));
  return c;
}

// A chunk array holds one [rows, ld] slice per position ξ, each `position_stride` floats
// after the last. The transforms write (or read) all (m+2)² slices for every tile: were the
// slices a power of two apart (rows·ld often is, e.g. 64·256), those 16-36 streams would
// fall into one cache set and evict each other, so one cache line of padding separates them.
int64_t position_stride(int64_t rows, int64_t ld) { return rows * ld + 16; }

// Rows [0, count) of position ξ's [rows, ld] slice of a chunk array.
template <class Scalar>
auto chunk_rows(Scalar* base, int64_t xi, int64_t rows, int64_t count, int64_t ld) {
  using Matrix = std::conditional_t<std::is_const_v<Scalar>, const RowMatrix, RowMatrix>;
  return Eigen::Map<Matrix, 0, Eigen::OuterStride<>>(base + xi * position_stride(rows, ld), count, ld,
                                                     Eigen::OuterStride<>(ld));
}

// V[ξ][t - first][c] for tiles [t0, t1) of the chunk starting at `first`; input pixels
// outside the image read from `zeros`.
template <int M>
void transform_input(const float* x, const Tiling& tl, int64_t cin, int64_t first, int64_t rows, int64_t t0,
                     int64_t t1, const float* zeros, float* v) {
  using F = Winograd<M>;
  constexpr int T = F::T;
  const int64_t stride = position_stride(rows, cin);  // between positions ξ
  for (int64_t t = t0; t < t1; ++t) {
    const float* image = x + tl.image(t) * tl.H * tl.W * cin;
    const int64_t y0 = M * tl.ty(t) - 1, x0 = M * tl.tx(t) - 1;
    const float* d[T][T];
    for (int a = 0; a < T; ++a)
      for (int b = 0; b < T; ++b) {
        const int64_t r = y0 + a, col = x0 + b;
        d[a][b] = (r >= 0 && r < tl.H && col >= 0 && col < tl.W) ? image + (r * tl.W + col) * cin : zeros;
      }
    float* vt = v + (t - first) * cin;
    over_channels(cin, [&]<class V>(int64_t c) {
      V patch[T][T], out[T][T];
      for (int a = 0; a < T; ++a)
        for (int b = 0; b < T; ++b) patch[a][b] = load<V>(d[a][b] + c);
      const auto input = [](const V* in, V* res) { F::input(in, res); };
      separable(patch, out, input, input);
      for (int xi = 0; xi < T * T; ++xi) store(vt + xi * stride + c, out[xi / T][xi % T]);
    });
  }
}

// Y = Aᵀ M A (+ bias) into output channels [o0, o0 + channels) of the m×m outputs of tiles
// [t0, t1) that lie inside the image (out has `cout` channels). The products of tile t and
// channel o0 + j are m[ξ·xi_stride + (t − first)·ld + j].
template <int M>
void transform_output(const float* m, int64_t xi_stride, int64_t ld, const Tiling& tl, int64_t cout, int64_t o0,
                      int64_t channels, int64_t first, int64_t t0, int64_t t1, const float* bias, float* out) {
  using F = Winograd<M>;
  constexpr int T = F::T;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t oy = M * tl.ty(t), ox = M * tl.tx(t);
    const int64_t valid_y = std::min<int64_t>(M, tl.H - oy), valid_x = std::min<int64_t>(M, tl.W - ox);
    float* corner = out + ((tl.image(t) * tl.H + oy) * tl.W + ox) * cout + o0;
    const float* mt = m + (t - first) * ld;
    over_channels(channels, [&]<class V>(int64_t o) {
      V products[T][T], y[M][M];
      for (int xi = 0; xi < T * T; ++xi) products[xi / T][xi % T] = load<V>(mt + xi * xi_stride + o);
      const auto output = [](const V* in, V* res) { F::output(in, res); };
      separable(products, y, output, output);
      const V b = bias ? load<V>(bias + o0 + o) : V{};
      for (int64_t i = 0; i < valid_y; ++i)
        for (int64_t j = 0; j < valid_x; ++j) store(corner + (i * tl.W + j) * cout + o, y[i][j] + b);
    });
  }
}

// wt[tap][c][o] = w[o][tap][c] for o < cout, 0 for cout <= o < cout_pad: the weight with the
// outputs innermost, the layout the register product reads its right operand in.
void transpose_weight(const float* w, int64_t cout, int64_t cin, int64_t cout_pad, float* wt) {
  const int64_t o_blocks = cout_pad / kLanes;
  parallel_for(9 * o_blocks, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t tap = task / o_blocks, o0 = task % o_blocks * kLanes;
      product::pack_transposed(w + o0 * 9 * cin + tap * cin, 9 * cin, std::min(kLanes, cout - o0), cin, kLanes,
                               wt + tap * cin * cout_pad + o0, cout_pad);
    }
  });
}

// The forward with the weight transformed block by block inside the tasks that use it, and
// the products folded back into outputs by the task that made them. A task owns up to 64
// output channels and a range of a chunk's tiles. For each row a of the (m+2)×(m+2)
// positions it transforms its weight block into (m+2) [Cin, width] panels and multiplies
// them at once (register_product.h) into its own products; when all positions are done it
// applies the output transform to them. Its panels and products (a few hundred KB) stay in
// the core's cache: the whole transformed weight, (m+2)²/9 times the weight's size, and the
// chunk's products are never written out, and nothing is packed or zeroed. The transformed
// weights are those of transform_weight, bit for bit.
template <int M>
void winograd(const float* x, const float* w, const float* bias, const Conv2dParams& p, float* out) {
  using F = Winograd<M>;
  constexpr int T = F::T;
  constexpr int kPositions = T * T;
  constexpr int64_t kBlock = 64;  // output channels per task: 4 vectors, 6-row micro-tiles
  // Products per task at most (tiles × channels): 36 positions of them are 590 KB.
  constexpr int64_t kTaskProducts = 4096;
  const int64_t cin = p.Cin, cout = p.Cout, cout_pad = (cout + kLanes - 1) / kLanes * kLanes;
  const Chunking plan = plan_chunks<M>(p);
  const Tiling& tl = plan.tiling;
  const int64_t rows = plan.rows;

  Tensor wt_t = Tensor::empty({9 * cin * cout_pad});
  Tensor v_t = Tensor::empty({kPositions * position_stride(rows, cin)});
  float *wt = wt_t.data<float>(), *v = v_t.data<float>();
  transpose_weight(w, cout, cin, cout_pad, wt);
  const std::vector<float> zeros(static_cast<size_t>(cin), 0.0f);
  const int64_t blocks = (cout_pad + kBlock - 1) / kBlock, tap_stride = cin * cout_pad;
  const int64_t block_width = std::min(kBlock, cout_pad);
  const int64_t max_part_rows = std::max<int64_t>(1, kTaskProducts / block_width);
  struct Scratch {
    std::unique_ptr<float[]> panels, products;
  };

  for (int64_t first = 0; first < plan.tiles; first += rows) {
    const int64_t count = std::min(rows, plan.tiles - first);
    parallel_for(count, 8, [&](int64_t a, int64_t b) {
      transform_input<M>(x, tl, cin, first, rows, first + a, first + b, zeros.data(), v);
    });
    // Tiles split into parts small enough for the products to stay in cache, and into more
    // parts where there are few output blocks, so that every thread has work (each part
    // transforms its block's weight again, so not below 24 tiles for that).
    const int64_t parts = std::max((count + max_part_rows - 1) / max_part_rows,
                                   std::clamp<int64_t>((2 * num_threads() + blocks - 1) / blocks, 1,
                                                       std::max<int64_t>(1, count / 24)));
    const int64_t part_rows = (count + parts - 1) / parts;
    const int64_t products_stride = position_stride(part_rows, block_width);  // between positions
    conv::for_each_task(
        blocks * parts,
        [&] {
          return Scratch{std::unique_ptr<float[]>(new float[T * cin * block_width]),
                         std::unique_ptr<float[]>(new float[kPositions * products_stride])};
        },
        [&](Scratch& scratch, int64_t task) {
          const int64_t block = task / parts, part = task % parts;
          const int64_t o0 = block * kBlock, width = std::min(kBlock, cout_pad - o0),
                        cols = std::min(width, cout - o0);
          const int nv = static_cast<int>(width / kLanes);
          const int64_t r0 = part * part_rows, r1 = std::min(count, r0 + part_rows);
          if (r0 >= r1) return;
          float *panel = scratch.panels.get(), *products = scratch.products.get();
          const auto position_row = [&]<int A>() {
            // panel[b][c][o] = (G g Gᵀ)[A][b] for the block's outputs o.
            for (int64_t c = 0; c < cin; ++c)
              for (int vi = 0; vi < nv; ++vi) {
                const float* g = wt + c * cout_pad + o0 + vi * kLanes;
                Lanes row[3], u[T];
                for (int j = 0; j < 3; ++j) {
                  const Lanes column[3] = {load<Lanes>(g + j * tap_stride), load<Lanes>(g + (3 + j) * tap_stride),
                                           load<Lanes>(g + (6 + j) * tap_stride)};
                  Lanes transformed[T];
                  F::weight(column, transformed);
                  row[j] = transformed[A];
                }
                F::weight(row, u);
                for (int b = 0; b < T; ++b) store(panel + (b * cin + c) * width + vi * kLanes, u[b]);
              }
            for (int b = 0; b < T; ++b) {
              const int64_t xi = A * T + b;
              product::multiply(v + xi * position_stride(rows, cin) + r0 * cin, cin, r1 - r0, panel + b * cin * width,
                                cin, nv, products + xi * products_stride, width, width);
            }
          };
          [&]<int... A>(std::integer_sequence<int, A...>) {
            (position_row.template operator()<A>(), ...);
          }(std::make_integer_sequence<int, T>{});
          transform_output<M>(products, products_stride, width, tl, cout, o0, cols, first + r0, first + r0,
                              first + r1, bias, out);
        });
  }
}

// The first version, kept beside the one above as the plainer statement of the algorithm and
// to measure it against (BM_conv2d_winograd_product): the whole weight transformed into U
// once per call, then per chunk the (m+2)² position GEMMs through Eigen, one task each, and
// the output transform over the chunk's products. On small images its weight transform,
// Eigen's packing and the zeroing of the products took more time than the multiplies.
template <int M>
void winograd_eigen(const float* x, const float* w, const float* bias, const Conv2dParams& p, float* out) {
  constexpr int kPositions = (M + 2) * (M + 2);
  const int64_t cin = p.Cin, cout = p.Cout;
  const Chunking plan = plan_chunks<M>(p);
  const Tiling& tl = plan.tiling;
  const int64_t rows = plan.rows;

  // Scratch from the host allocator, whose cache of large blocks spares the page faults of
  // fresh allocations on every call.
  Tensor u_t = Tensor::empty({kPositions, cout, cin});
  Tensor v_t = Tensor::empty({kPositions * position_stride(rows, cin)}),
         m_t = Tensor::empty({kPositions * position_stride(rows, cout)});
  float *u = u_t.data<float>(), *v = v_t.data<float>(), *m = m_t.data<float>();
  transform_weight<M>(w, p, u);
  const std::vector<float> zeros(static_cast<size_t>(cin), 0.0f);

  for (int64_t first = 0; first < plan.tiles; first += rows) {
    const int64_t count = std::min(rows, plan.tiles - first);
    parallel_for(count, 8, [&](int64_t a, int64_t b) {
      transform_input<M>(x, tl, cin, first, rows, first + a, first + b, zeros.data(), v);
    });
    // (m+2)² products [count, Cin] · [Cin, Cout], one task each; U[ξ] is [Cout, Cin].
    parallel_for(kPositions, 1, [&](int64_t x0, int64_t x1) {
      for (int64_t xi = x0; xi < x1; ++xi) {
        const Eigen::Map<const RowMatrix> um(u + xi * cout * cin, cout, cin);
        chunk_rows(m, xi, rows, count, cout).noalias() = chunk_rows(v, xi, rows, count, cin) * um.transpose();
      }
    });
    parallel_for(count, 8, [&](int64_t a, int64_t b) {
      transform_output<M>(m, position_stride(rows, cout), cout, tl, cout, 0, cout, first, first + a, first + b, bias,
                          out);
    });
  }
}

// E[ξ][t - first][o] = (A g Aᵀ)[ξ] for the m×m grad_out values of tiles [t0, t1) of the
// chunk starting at `first`; outputs outside the image (partial tiles) count as zeros.
template <int M>
void transform_grad_output(const float* grad_out, const Tiling& tl, int64_t cout, int64_t first, int64_t rows,
                           int64_t t0, int64_t t1, const float* zeros, float* e) {
  using F = Winograd<M>;
  constexpr int T = F::T;
  const int64_t stride = position_stride(rows, cout);
  for (int64_t t = t0; t < t1; ++t) {
    const float* image = grad_out + tl.image(t) * tl.H * tl.W * cout;
    const int64_t oy = M * tl.ty(t), ox = M * tl.tx(t);
    const float* g[M][M];
    for (int a = 0; a < M; ++a)
      for (int b = 0; b < M; ++b)
        g[a][b] = (oy + a < tl.H && ox + b < tl.W) ? image + ((oy + a) * tl.W + ox + b) * cout : zeros;
    float* et = e + (t - first) * cout;
    over_channels(cout, [&]<class V>(int64_t o) {
      V tile[M][M], out[T][T];
      for (int a = 0; a < M; ++a)
        for (int b = 0; b < M; ++b) tile[a][b] = load<V>(g[a][b] + o);
      const auto grad = [](const V* in, V* res) { F::grad_output(in, res); };
      separable(tile, out, grad, grad);
      for (int xi = 0; xi < T * T; ++xi) store(et + xi * stride + o, out[xi / T][xi % T]);
    });
  }
}

// The weight gradient by the transposition of the forward: the forward computes
// y = Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A per tile, so d<y, g>/dw = Gᵀ[(A g Aᵀ) ⊙ (Bᵀ d B)]G, and summed
// over tiles (and batch) that is the exact weight gradient. Per position ξ the sum over
// tiles of E[ξ]ᵀ·V[ξ] is one GEMM [Cout, tiles]·[tiles, Cin], accumulated chunk by chunk
// in chunk order; the final Gᵀ X G folds each [Cout, Cin] position set to 3x3.
template <int M>
void winograd_weight_grad(const float* grad_out, const float* x, const Conv2dParams& p, float* grad_w) {
  using F = Winograd<M>;
  constexpr int T = F::T, kPositions = T * T;
  const int64_t cin = p.Cin, cout = p.Cout, plane = cout * cin;
  const Chunking plan = plan_chunks<M>(p);
  const Tiling& tl = plan.tiling;
  const int64_t rows = plan.rows;

  Tensor v_t = Tensor::empty({kPositions * position_stride(rows, cin)}),
         e_t = Tensor::empty({kPositions * position_stride(rows, cout)}),
         x_t = Tensor::zeros({kPositions, cout, cin});
  float *v = v_t.data<float>(), *e = e_t.data<float>(), *sums = x_t.data<float>();
  const std::vector<float> zeros(static_cast<size_t>(std::max(cin, cout)), 0.0f);

  for (int64_t first = 0; first < plan.tiles; first += rows) {
    const int64_t count = std::min(rows, plan.tiles - first);
    parallel_for(count, 8, [&](int64_t a, int64_t b) {
      transform_input<M>(x, tl, cin, first, rows, first + a, first + b, zeros.data(), v);
      transform_grad_output<M>(grad_out, tl, cout, first, rows, first + a, first + b, zeros.data(), e);
    });
    // X[ξ] [Cout, Cin] += E[ξ]ᵀ · V[ξ], one position per task. Over 64 tiles or more by the
    // register product: E[ξ] transposed once into [Cout, count], V[ξ] read where it lies (the
    // slack after each position's slice covers the last row's read past Cin); 1.1-1.2x Eigen
    // on 64²-256² layers. Over fewer (8²-16² images) every product
    // is a few steps long and Eigen's was measured ahead (1.3x at 8², 128 channels).
    constexpr int64_t kMinProductTiles = 64;
    if (count < kMinProductTiles) {
      parallel_for(kPositions, 1, [&](int64_t x0, int64_t x1) {
        for (int64_t xi = x0; xi < x1; ++xi) {
          Eigen::Map<RowMatrix> sm(sums + xi * plane, cout, cin);
          sm.noalias() += chunk_rows(e, xi, rows, count, cout).transpose() * chunk_rows(v, xi, rows, count, cin);
        }
      });
      continue;
    }
    const int64_t count_pad = (count + kLanes - 1) / kLanes * kLanes;
    parallel_for(kPositions, 1, [&](int64_t x0, int64_t x1) {
      const std::unique_ptr<float[]> et(new float[cout * count_pad]);
      for (int64_t xi = x0; xi < x1; ++xi) {
        product::pack_transposed(e + xi * position_stride(rows, cout), cout, count, cout, count_pad, et.get(),
                                 count_pad);
        product::multiply_strided(et.get(), count_pad, cout, v + xi * position_stride(rows, cin), cin, count, cin,
                                  sums + xi * plane, cin, /*accumulate=*/true);
      }
    });
  }
  parallel_for(cout, 4, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      over_channels(cin, [&]<class V>(int64_t c) {
        V summed[T][T], g[3][3];
        for (int xi = 0; xi < kPositions; ++xi) summed[xi / T][xi % T] = load<V>(sums + xi * plane + o * cin + c);
        const auto fold = [](const V* in, V* res) { F::weight_gradient(in, res); };
        separable(summed, g, fold, fold);
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) store(grad_w + ((o * 3 + i) * 3 + j) * cin + c, g[i][j]);
      });
  });
}

}  // namespace

bool winograd_possible(const Conv2dParams& p) {
  return p.kh == 3 && p.kw == 3 && p.stride == 1 && p.pad == 1 && p.H >= 1 && p.W >= 1;
}

namespace {

// Output tiles of side m over the whole batch: how many tiles share one weight transform.
int64_t tile_count(const Conv2dParams& p, int64_t m) { return p.N * ((p.H + m - 1) / m) * ((p.W + m - 1) / m); }

}  // namespace

int winograd_tile(const Conv2dParams& p) {
  if (!winograd_possible(p)) return 0;
  // Measured on the generator's, the gaze network's and E_can's 3x3 layers, forward and weight
  // gradient (benchmarks/bench_conv.cpp, BM_conv2d_algorithm and BM_conv2d_weight_algorithm, 2
  // threads, the fastest of interleaved repetitions; tables in docs/cpu-conv.md). Every call
  // transforms the whole weight, a cost shared by the tiles of the whole batch: from 16 pixels
  // F(4x4) (1.4-4x the direct path at batch 1; F(2x2) is ahead only on one 16², 32-channel layer,
  // by 6-11 %). Under 16 pixels it takes wide layers or many tiles: at 8 pixels F(4x4) for layers
  // of 128 channels and more (the same time as the direct path at batch 1, 1.8x faster at batch
  // 2) or from 32 tiles (a training batch: 1.2-4x); at 4 pixels F(4x4) from 32 tiles of 32
  // channels and more (1.2-2.5x); at 2 pixels F(2x2) from 32 tiles of 128 channels and more
  // (1.2-1.7x; at 32-64 channels it breaks even, and F(4x4) would waste three quarters of its
  // tile). Fewer tiles, the direct path (1.3-4.6x at batch 1-2). With fewer than 16 channels in
  // or out the product is too short or too narrow to repay the transforms (3 input channels:
  // the SPADE convolutions of the sketch).
  if (p.Cin < 16 || p.Cout < 16) return 0;
  const int64_t side = std::min(p.H, p.W), narrow = std::min(p.Cin, p.Cout);
  if (side >= 16) return 4;
  if (side >= 8) return narrow >= 128 || tile_count(p, 4) >= 32 ? 4 : 0;
  if (side >= 4) return narrow >= 32 && tile_count(p, 4) >= 32 ? 4 : 0;
  if (side >= 2) return narrow >= 128 && tile_count(p, 2) >= 32 ? 2 : 0;
  return 0;
}

namespace {

using Forward = void (*)(const float*, const float*, const float*, const Conv2dParams&, float*);

// Checks the layer and the tile, then runs the F(2x2) or F(4x4) version; errors name `what`.
void forward_by_tile(const char* what, Forward f2, Forward f4, const float* x, const float* w, const float* bias,
                     const Conv2dParams& p, int tile, float* out) {
  FH_CHECK(winograd_possible(p), what, "needs a 3x3 stride-1 pad-1 convolution, got ", p.kh, "x", p.kw, " stride ",
           p.stride, " padding ", p.pad);
  FH_CHECK(tile == 2 || tile == 4, what, "tile must be 2 or 4, got ", tile);
  (tile == 2 ? f2 : f4)(x, w, bias, p, out);
}

}  // namespace

void conv2d_winograd(const float* x, const float* w, const float* bias, const Conv2dParams& p, int tile, float* out) {
  forward_by_tile("conv2d_winograd", &winograd<2>, &winograd<4>, x, w, bias, p, tile, out);
}

void conv2d_winograd_eigen(const float* x, const float* w, const float* bias, const Conv2dParams& p, int tile,
                           float* out) {
  forward_by_tile("conv2d_winograd_eigen", &winograd_eigen<2>, &winograd_eigen<4>, x, w, bias, p, tile, out);
}

void conv2d_backward_weight_winograd(const float* grad_out, const float* x, const Conv2dParams& p, int tile,
                                     float* grad_w) {
  FH_CHECK(winograd_possible(p), "conv2d_backward_weight_winograd", "needs a 3x3 stride-1 pad-1 convolution, got ",
           p.kh, "x", p.kw, " stride ", p.stride, " padding ", p.pad);
  switch (tile) {
    case 2:
      return winograd_weight_grad<2>(grad_out, x, p, grad_w);
    case 4:
      return winograd_weight_grad<4>(grad_out, x, p, grad_w);
    default:
      FH_FAIL("conv2d_backward_weight_winograd", "tile must be 2 or 4, got ", tile);
  }
}

}  // namespace fh::kernels::cpu
