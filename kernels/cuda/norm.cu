// Batch norm, instance norm and the fused SPADE modulation on the GPU (NHWC).
//
// Every op is a per-(group, channel) reduction followed by an elementwise pass with
// per-(group, channel) coefficients, as on the CPU (kernels/cpu/norm.cpp), whose formulas,
// roundings and double-precision statistics these kernels follow step by step:
//   forward:  channel sums of d = x - K and d² (K = the group's first row: a large mean
//             does not cancel the variance's digits) -> mean, invstd, scale -> apply pass;
//   backward: channel sums of grad and grad·x̂ (SPADE: of gh = grad·(1 + gamma) and gh·x̂,
//             writing grad_gamma = grad·x̂ on the way) -> coefficients -> apply pass.
// So x (and grad, gamma) are read twice and every output written once: the stats pass and
// the apply pass the op needs, with the coefficients computed once per (group, channel) in
// between. The sums are deterministic (channel_sums.cuh): no atomics, fixed trees.
#include <cmath>

#include "kernels/cuda/channel_sums.cuh"
#include "kernels/cuda/cuda_kernels.h"

namespace fh::kernels::cuda {

namespace {

GroupedRows batch_geometry(const Tensor& x) { return {1, x.size(0) * x.size(1) * x.size(2), x.size(3)}; }
GroupedRows instance_geometry(const Tensor& x) { return {x.size(0), x.size(1) * x.size(2), x.size(3)}; }

// ---- Pass-1 terms ------------------------------------------------------------------------------

// s0 += d, s1 += d², d = x - K with K the group's first row (the CPU's Moments).
template <class T>
struct MomentTerm {
  const T* x;
  int64_t rows, channels;
  struct Ctx {
    double shift;
  };
  __device__ Ctx context(int64_t g, int64_t c) const { return {static_cast<double>(x[g * rows * channels + c])}; }
  __device__ void add(int64_t e, const Ctx& k, double (&s)[2]) const {
    const double d = static_cast<double>(x[e]) - k.shift;
    s[0] += d;
    s[1] += d * d;
  }
};

// s0 += grad, s1 += grad·x̂ with x̂ = (x - mean)·invstd in T (the CPU's grad_sum_rows).
template <class T>
struct GradTerm {
  const T *grad, *x, *mean, *invstd;
  int64_t channels;
  struct Ctx {
    T mean, invstd;
  };
  __device__ Ctx context(int64_t g, int64_t c) const { return {mean[g * channels + c], invstd[g * channels + c]}; }
  __device__ void add(int64_t e, const Ctx& k, double (&s)[2]) const {
    const T gv = grad[e];
    const T xhat = (x[e] - k.mean) * k.invstd;
    s[0] += static_cast<double>(gv);
    s[1] += static_cast<double>(gv * xhat);
  }
};

// SPADE: s0 += gh, s1 += gh·x̂, gh = grad·(1 + gamma); grad_gamma = grad·x̂ when wanted.
template <class T>
struct SpadeGradTerm {
  const T *grad, *x, *gamma, *mean, *invstd;
  T* grad_gamma;  // null: not wanted
  int64_t channels;
  struct Ctx {
    T mean, invstd;
  };
  __device__ Ctx context(int64_t g, int64_t c) const { return {mean[g * channels + c], invstd[g * channels + c]}; }
  __device__ void add(int64_t e, const Ctx& k, double (&s)[2]) const {
    const T gv = grad[e];
    const T xhat = (x[e] - k.mean) * k.invstd;
    const T gh = gv * (T(1) + gamma[e]);
    if (grad_gamma) grad_gamma[e] = gv * xhat;
    s[0] += static_cast<double>(gh);
    s[1] += static_cast<double>(gh * xhat);
  }
};

// ---- Finishing functors (run once per (group, channel)) --------------------------------------

// Forward statistics: save_mean, save_invstd, the apply pass's scale, and (batch norm in
// training) the running averages with the unbiased variance. The CPU's Moments::finish.
template <class T>
struct StatsFinish {
  const T* x;
  int64_t rows, channels;
  double eps;
  const T* weight;  // null: none
  T *save_mean, *save_invstd, *scale;  // scale null: not wanted
  T *running_mean, *running_var;  // null: not updated
  double momentum, unbiased;
  __device__ void operator()(int64_t g, int64_t c, const double (&tot)[2]) const {
    const double inv_rows = 1.0 / static_cast<double>(rows);
    const double centred = tot[0] * inv_rows;
    const double mean = static_cast<double>(x[g * rows * channels + c]) + centred;
    const double var = fmax(0.0, tot[1] * inv_rows - centred * centred);
    const int64_t i = g * channels + c;
    save_mean[i] = static_cast<T>(mean);
    save_invstd[i] = static_cast<T>(1.0 / sqrt(var + eps));
    if (scale) {
      scale[i] = weight ? static_cast<T>(static_cast<double>(save_invstd[i]) * static_cast<double>(weight[c]))
                        : save_invstd[i];
    }
    if (running_mean) running_mean[c] = static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * mean);
    if (running_var) running_var[c] = static_cast<T>((1.0 - momentum) * running_var[c] + momentum * var * unbiased);
  }
};

// Backward coefficients of out = x̂·weight + bias through the statistics:
// grad_x = a·grad - b - d·(x - mean) with a = w·invstd, b = a·Σgrad/R, d = a·invstd·Σ(grad·x̂)/R;
// the totals (double) are kept for grad_bias and grad_weight.
template <class T>
struct GradFinish {
  const T *weight, *invstd;
  int64_t rows, channels;
  bool through_stats;
  T *a, *b, *d;
  double* totals;  // [G][2][C]
  __device__ void operator()(int64_t g, int64_t c, const double (&tot)[2]) const {
    const double inv_rows = 1.0 / static_cast<double>(rows);
    const int64_t i = g * channels + c;
    const T ai = static_cast<T>((weight ? static_cast<double>(weight[c]) : 1.0) * static_cast<double>(invstd[i]));
    a[i] = ai;
    if (through_stats) {
      b[i] = static_cast<T>(static_cast<double>(ai) * tot[0] * inv_rows);
      d[i] = static_cast<T>(static_cast<double>(ai) * static_cast<double>(invstd[i]) * tot[1] * inv_rows);
    }
    totals[(g * 2) * channels + c] = tot[0];
    totals[(g * 2 + 1) * channels + c] = tot[1];
  }
};

// SPADE backward coefficients: b = invstd·Σgh/R, d = invstd²·Σ(gh·x̂)/R.
template <class T>
struct SpadeGradFinish {
  const T* invstd;
  int64_t rows, channels;
  T *b, *d;
  __device__ void operator()(int64_t g, int64_t c, const double (&tot)[2]) const {
    const double inv_rows = 1.0 / static_cast<double>(rows);
    const int64_t i = g * channels + c;
    const double is = static_cast<double>(invstd[i]);
    b[i] = static_cast<T>(is * tot[0] * inv_rows);
    d[i] = static_cast<T>(is * is * tot[1] * inv_rows);
  }
};

// grad_bias[c] = Σ_g Σgrad, grad_weight[c] = Σ_g Σ(grad·x̂), groups added in order.
template <class T>
__global__ void parameter_grads_kernel(const double* __restrict__ totals, int64_t groups, int64_t channels,
                                       T* __restrict__ grad_weight, T* __restrict__ grad_bias) {
  for (int64_t c = grid_start<int64_t>(); c < channels; c += grid_stride<int64_t>()) {
    double gb = 0, gw = 0;
    for (int64_t g = 0; g < groups; ++g) {
      gb += totals[(g * 2) * channels + c];
      gw += totals[(g * 2 + 1) * channels + c];
    }
    if (grad_bias) grad_bias[c] = static_cast<T>(gb);
    if (grad_weight) grad_weight[c] = static_cast<T>(gw);
  }
}

// Batch norm in eval mode: the running statistics as the saved ones, and the scale.
template <class T>
__global__ void eval_stats_kernel(const T* __restrict__ running_mean, const T* __restrict__ running_var,
                                  const T* __restrict__ weight, double eps, int64_t channels, T* __restrict__ save_mean,
                                  T* __restrict__ save_invstd, T* __restrict__ scale) {
  for (int64_t c = grid_start<int64_t>(); c < channels; c += grid_stride<int64_t>()) {
    save_mean[c] = running_mean[c];
    const T si = static_cast<T>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
    save_invstd[c] = si;
    scale[c] = weight ? static_cast<T>(static_cast<double>(si) * static_cast<double>(weight[c])) : si;
  }
}

// No gradient through the statistics and no parameter gradients: a = w·invstd only.
template <class T>
__global__ void scale_only_kernel(const T* __restrict__ weight, const T* __restrict__ invstd, int64_t items,
                                  int64_t channels, T* __restrict__ a) {
  for (int64_t i = grid_start<int64_t>(); i < items; i += grid_stride<int64_t>()) {
    a[i] = static_cast<T>((weight ? static_cast<double>(weight[i % channels]) : 1.0) * static_cast<double>(invstd[i]));
  }
}

// ---- Apply passes ------------------------------------------------------------------------------
// Elementwise over [G, R, C] with coefficients per (g, c) and per-element operands. With C a
// multiple of the vector width, a 16-byte vector never crosses a channel row: it shares one
// group and reads its coefficients as one vector of consecutive channels too (coefficient
// arrays are [G, C] with G·C a multiple of the width, so those vectors are aligned). Index
// math in 32 bits when the tensor allows (Index).

struct ApplyGeometry {
  int64_t numel, group_elems, channels;
};

template <class Index, int W, class Body>
__device__ __forceinline__ void apply_walk(const ApplyGeometry& geo, Body&& body) {
  const Index n = static_cast<Index>(geo.numel / W);
  const Index group = static_cast<Index>(geo.group_elems), C = static_cast<Index>(geo.channels);
  for (Index v = grid_start<Index>(); v < n; v += grid_stride<Index>()) {
    const Index e = v * W;
    const Index c = e % C;
    const Index gc = (e / group) * C + c;
    body(static_cast<int64_t>(e), static_cast<int64_t>(c), static_cast<int64_t>(gc));
  }
}

// out = (x - mean)·scale + bias (bias may be null).
template <class T, class Index, int W>
__global__ void affine_apply_kernel(ApplyGeometry geo, const T* __restrict__ x, const T* __restrict__ mean,
                                    const T* __restrict__ scale, const T* __restrict__ bias, T* __restrict__ out) {
  apply_walk<Index, W>(geo, [&](int64_t e, int64_t c, int64_t gc) {
    T v[W], m[W], s[W], b[W];
    load<W>(x + e, v);
    load<W>(mean + gc, m);
    load<W>(scale + gc, s);
    if (bias) {
      load<W>(bias + c, b);
#pragma unroll
      for (int k = 0; k < W; ++k) v[k] = (v[k] - m[k]) * s[k] + b[k];
    } else {
#pragma unroll
      for (int k = 0; k < W; ++k) v[k] = (v[k] - m[k]) * s[k];
    }
    store<W>(out + e, v);
  });
}

// SPADE: out = (x - mean)·invstd·(1 + gamma) + beta.
template <class T, class Index, int W>
__global__ void spade_apply_kernel(ApplyGeometry geo, const T* __restrict__ x, const T* __restrict__ gamma,
                                   const T* __restrict__ beta, const T* __restrict__ mean,
                                   const T* __restrict__ invstd, T* __restrict__ out) {
  apply_walk<Index, W>(geo, [&](int64_t e, int64_t, int64_t gc) {
    T v[W], gm[W], bt[W], m[W], is[W];
    load<W>(x + e, v);
    load<W>(gamma + e, gm);
    load<W>(beta + e, bt);
    load<W>(mean + gc, m);
    load<W>(invstd + gc, is);
#pragma unroll
    for (int k = 0; k < W; ++k) v[k] = (v[k] - m[k]) * is[k] * (T(1) + gm[k]) + bt[k];
    store<W>(out + e, v);
  });
}

// grad_x = a·grad - b - d·(x - mean); b null: grad_x = a·grad.
template <class T, class Index, int W>
__global__ void grad_x_apply_kernel(ApplyGeometry geo, const T* __restrict__ grad, const T* __restrict__ x,
                                    const T* __restrict__ mean, const T* __restrict__ a, const T* __restrict__ b,
                                    const T* __restrict__ d, T* __restrict__ grad_x) {
  apply_walk<Index, W>(geo, [&](int64_t e, int64_t, int64_t gc) {
    T gv[W], av[W];
    load<W>(grad + e, gv);
    load<W>(a + gc, av);
    if (b) {
      T xv[W], m[W], bv[W], dv[W];
      load<W>(x + e, xv);
      load<W>(mean + gc, m);
      load<W>(b + gc, bv);
      load<W>(d + gc, dv);
#pragma unroll
      for (int k = 0; k < W; ++k) gv[k] = av[k] * gv[k] - bv[k] - dv[k] * (xv[k] - m[k]);
    } else {
#pragma unroll
      for (int k = 0; k < W; ++k) gv[k] = av[k] * gv[k];
    }
    store<W>(grad_x + e, gv);
  });
}

// SPADE: grad_x = invstd·(grad·(1 + gamma)) - b - d·(x - mean).
template <class T, class Index, int W>
__global__ void spade_grad_x_apply_kernel(ApplyGeometry geo, const T* __restrict__ grad, const T* __restrict__ x,
                                          const T* __restrict__ gamma, const T* __restrict__ mean,
                                          const T* __restrict__ invstd, const T* __restrict__ b,
                                          const T* __restrict__ d, T* __restrict__ grad_x) {
  apply_walk<Index, W>(geo, [&](int64_t e, int64_t, int64_t gc) {
    T gv[W], xv[W], gm[W], m[W], is[W], bv[W], dv[W];
    load<W>(grad + e, gv);
    load<W>(x + e, xv);
    load<W>(gamma + e, gm);
    load<W>(mean + gc, m);
    load<W>(invstd + gc, is);
    load<W>(b + gc, bv);
    load<W>(d + gc, dv);
#pragma unroll
    for (int k = 0; k < W; ++k) gv[k] = is[k] * (gv[k] * (T(1) + gm[k])) - bv[k] - dv[k] * (xv[k] - m[k]);
    store<W>(grad_x + e, gv);
  });
}

// SPADE without grad_x: grad_gamma = grad·((x - mean)·invstd).
template <class T, class Index, int W>
__global__ void spade_grad_gamma_kernel(ApplyGeometry geo, const T* __restrict__ grad, const T* __restrict__ x,
                                        const T* __restrict__ mean, const T* __restrict__ invstd,
                                        T* __restrict__ grad_gamma) {
  apply_walk<Index, W>(geo, [&](int64_t e, int64_t, int64_t gc) {
    T gv[W], xv[W], m[W], is[W];
    load<W>(grad + e, gv);
    load<W>(x + e, xv);
    load<W>(mean + gc, m);
    load<W>(invstd + gc, is);
#pragma unroll
    for (int k = 0; k < W; ++k) gv[k] = gv[k] * ((xv[k] - m[k]) * is[k]);
    store<W>(grad_gamma + e, gv);
  });
}

// Launches an apply kernel with the widest vector and narrowest index the operands allow.
// `launch` is called as launch(Index{}, std::integral_constant<int, W>{}, grid).
template <class T, class Launch>
void launch_apply(const ApplyGeometry& geo, bool pointers_aligned, Launch&& launch) {
  with_vectors<T>(geo.numel, pointers_aligned && geo.channels % kVec<T> == 0, geo.numel, launch);
}

ApplyGeometry apply_geometry(const GroupedRows& geo) {
  return {geo.groups * geo.rows * geo.channels, geo.rows * geo.channels, geo.channels};
}

// The forward apply pass of batch and instance norm: out = (x - mean)·scale + bias.
template <class T>
void affine_apply(const char* op, const char* what, const Tensor& x_t, const GroupedRows& geo, const T* mean,
                  const T* scale, const Tensor& bias_t, Tensor& out_t) {
  const T* x = device_ptr<T>(x_t);
  const T* bias = data_or_null<T>(bias_t);
  T* out = device_ptr<T>(out_t);
  const ApplyGeometry ag = apply_geometry(geo);
  const bool aligned = aligned16(x) && aligned16(out) && aligned16(mean) && aligned16(scale) && aligned16(bias);
  launch_apply<T>(ag, aligned, [&](auto index, auto width, unsigned grid) {
    affine_apply_kernel<T, decltype(index), decltype(width)::value>
        <<<grid, kBlockSize, 0, current_stream()>>>(ag, x, mean, scale, bias, out);
  });
  FH_CUDA_CHECK_LAUNCH(op, what, x_t.describe());
}

// ---- The ops, typed --------------------------------------------------------------------------

// Batch norm (training) and instance norm forward: statistics, then the affine apply.
template <class T>
void norm_forward(const char* op, const Tensor& x_t, const GroupedRows& geo, double eps, const Tensor& weight,
                  const Tensor& bias, Tensor& running_mean, Tensor& running_var, double momentum, Tensor& out,
                  Tensor& save_mean, Tensor& save_invstd) {
  const int device = x_t.device().index;
  const T* x = device_ptr<T>(x_t);
  ScratchBuffer scale(static_cast<size_t>(geo.groups * geo.channels) * sizeof(T), device);
  const double unbiased = static_cast<double>(geo.rows) / static_cast<double>(geo.rows - 1);
  const StatsFinish<T> finish{x, geo.rows, geo.channels, eps, data_or_null<T>(weight), device_ptr<T>(save_mean),
                              device_ptr<T>(save_invstd), scale.as<T>(), data_or_null<T>(running_mean),
                              data_or_null<T>(running_var), momentum, unbiased};
  grouped_channel_sums<2>(geo, device, MomentTerm<T>{x, geo.rows, geo.channels}, finish, op);
  affine_apply<T>(op, "apply pass of ", x_t, geo, device_ptr<T>(save_mean), scale.as<T>(), bias, out);
}

// Backward of the affine norms (batch norm in either mode, instance norm).
template <class T>
void norm_backward(const char* op, const Tensor& grad_t, const Tensor& x_t, const GroupedRows& geo,
                   const Tensor& weight, const Tensor& mean_t, const Tensor& invstd_t, bool through_stats,
                   Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  const int device = x_t.device().index;
  const int64_t GC = geo.groups * geo.channels;
  const T *grad = device_ptr<T>(grad_t), *x = device_ptr<T>(x_t);
  const T *mean = device_ptr<T>(mean_t), *invstd = device_ptr<T>(invstd_t);
  const T* w = data_or_null<T>(weight);
  T* gx = data_or_null<T>(grad_x);
  ScratchBuffer coef(static_cast<size_t>(3 * GC) * sizeof(T), device);
  T *a = coef.as<T>(), *b = a + GC, *d = b + GC;
  const bool sums = through_stats || grad_weight.defined() || grad_bias.defined();
  if (!sums) {
    if (!gx) return;
    scale_only_kernel<<<grid_for(GC), kBlockSize, 0, current_stream()>>>(w, invstd, GC, geo.channels, a);
    FH_CUDA_CHECK_LAUNCH(op, "coefficients of ", x_t.describe());
  } else {
    ScratchBuffer totals(static_cast<size_t>(2 * GC) * sizeof(double), device);
    const GradFinish<T> finish{w, invstd, geo.rows, geo.channels, through_stats, a, b, d, totals.as<double>()};
    grouped_channel_sums<2>(geo, device, GradTerm<T>{grad, x, mean, invstd, geo.channels}, finish, op);
    if (grad_weight.defined() || grad_bias.defined()) {
      parameter_grads_kernel<<<grid_for(geo.channels), kBlockSize, 0, current_stream()>>>(
          totals.as<double>(), geo.groups, geo.channels, data_or_null<T>(grad_weight), data_or_null<T>(grad_bias));
      FH_CUDA_CHECK_LAUNCH(op, "parameter gradients of ", x_t.describe());
    }
    if (!gx) return;
  }
  const ApplyGeometry ag = apply_geometry(geo);
  const T* bb = through_stats ? b : nullptr;
  const bool aligned = aligned16(grad) && aligned16(x) && aligned16(gx) && aligned16(mean) && aligned16(a) &&
                       aligned16(b) && aligned16(d);
  launch_apply<T>(ag, aligned, [&](auto index, auto width, unsigned grid) {
    grad_x_apply_kernel<T, decltype(index), decltype(width)::value>
        <<<grid, kBlockSize, 0, current_stream()>>>(ag, grad, x, mean, a, bb, d, gx);
  });
  FH_CUDA_CHECK_LAUNCH(op, "grad_x pass of ", x_t.describe());
}

template <class T>
void batch_norm_eval(const Tensor& x_t, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, double eps, Tensor& out, Tensor& save_mean, Tensor& save_invstd) {
  const GroupedRows geo = batch_geometry(x_t);
  const int64_t C = geo.channels;
  ScratchBuffer scale(static_cast<size_t>(C) * sizeof(T), x_t.device().index);
  eval_stats_kernel<<<grid_for(C), kBlockSize, 0, current_stream()>>>(
      device_ptr<T>(running_mean), device_ptr<T>(running_var), data_or_null<T>(weight), eps, C,
      device_ptr<T>(save_mean), device_ptr<T>(save_invstd), scale.as<T>());
  FH_CUDA_CHECK_LAUNCH("cuda::batch_norm_forward", "eval statistics of ", x_t.describe());
  affine_apply<T>("cuda::batch_norm_forward", "eval apply pass of ", x_t, geo, device_ptr<T>(save_mean), scale.as<T>(),
                  bias, out);
}

template <class T>
void spade_forward(const Tensor& x_t, const Tensor& gamma_t, const Tensor& beta_t, double eps, Tensor& out_t,
                   Tensor& save_mean, Tensor& save_invstd) {
  const char* op = "cuda::spade_modulation_forward";
  const GroupedRows geo = instance_geometry(x_t);
  const int device = x_t.device().index;
  const T* x = device_ptr<T>(x_t);
  // The SPADE statistics are the non-affine instance norm's; its apply pass reads invstd, not a scale.
  const StatsFinish<T> finish{x, geo.rows, geo.channels, eps, nullptr, device_ptr<T>(save_mean),
                              device_ptr<T>(save_invstd), nullptr, nullptr, nullptr, 0.0, 1.0};
  grouped_channel_sums<2>(geo, device, MomentTerm<T>{x, geo.rows, geo.channels}, finish, op);
  const ApplyGeometry ag = apply_geometry(geo);
  const T *gamma = device_ptr<T>(gamma_t), *beta = device_ptr<T>(beta_t);
  const T *mean = device_ptr<T>(save_mean), *invstd = device_ptr<T>(save_invstd);
  T* out = device_ptr<T>(out_t);
  const bool aligned = aligned16(x) && aligned16(gamma) && aligned16(beta) && aligned16(out) && aligned16(mean) &&
                       aligned16(invstd);
  launch_apply<T>(ag, aligned, [&](auto index, auto width, unsigned grid) {
    spade_apply_kernel<T, decltype(index), decltype(width)::value>
        <<<grid, kBlockSize, 0, current_stream()>>>(ag, x, gamma, beta, mean, invstd, out);
  });
  FH_CUDA_CHECK_LAUNCH(op, "apply pass of ", x_t.describe());
}

template <class T>
void spade_backward(const Tensor& grad_t, const Tensor& x_t, const Tensor& gamma_t, const Tensor& mean_t,
                    const Tensor& invstd_t, Tensor& grad_x_t, Tensor& grad_gamma_t) {
  const char* op = "cuda::spade_modulation_backward";
  const GroupedRows geo = instance_geometry(x_t);
  const int device = x_t.device().index;
  const int64_t GC = geo.groups * geo.channels;
  const T *grad = device_ptr<T>(grad_t), *x = device_ptr<T>(x_t), *gamma = device_ptr<T>(gamma_t);
  const T *mean = device_ptr<T>(mean_t), *invstd = device_ptr<T>(invstd_t);
  T* gx = data_or_null<T>(grad_x_t);
  T* gg = data_or_null<T>(grad_gamma_t);
  const ApplyGeometry ag = apply_geometry(geo);
  if (!gx) {
    if (!gg) return;
    const bool aligned = aligned16(grad) && aligned16(x) && aligned16(gg) && aligned16(mean) && aligned16(invstd);
    launch_apply<T>(ag, aligned, [&](auto index, auto width, unsigned grid) {
      spade_grad_gamma_kernel<T, decltype(index), decltype(width)::value>
          <<<grid, kBlockSize, 0, current_stream()>>>(ag, grad, x, mean, invstd, gg);
    });
    FH_CUDA_CHECK_LAUNCH(op, "grad_gamma pass of ", x_t.describe());
    return;
  }
  ScratchBuffer coef(static_cast<size_t>(2 * GC) * sizeof(T), device);
  T *b = coef.as<T>(), *d = b + GC;
  grouped_channel_sums<2>(geo, device, SpadeGradTerm<T>{grad, x, gamma, mean, invstd, gg, geo.channels},
                          SpadeGradFinish<T>{invstd, geo.rows, geo.channels, b, d}, op);
  const bool aligned = aligned16(grad) && aligned16(x) && aligned16(gamma) && aligned16(gx) && aligned16(mean) &&
                       aligned16(invstd) && aligned16(b) && aligned16(d);
  launch_apply<T>(ag, aligned, [&](auto index, auto width, unsigned grid) {
    spade_grad_x_apply_kernel<T, decltype(index), decltype(width)::value>
        <<<grid, kBlockSize, 0, current_stream()>>>(ag, grad, x, gamma, mean, invstd, b, d, gx);
  });
  FH_CUDA_CHECK_LAUNCH(op, "grad_x pass of ", x_t.describe());
}

}  // namespace

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                        Tensor& running_var, const BatchNormParams& params, Tensor& out, Tensor& save_mean,
                        Tensor& save_invstd) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    if (params.training) {
      norm_forward<T>("cuda::batch_norm_forward", x, batch_geometry(x), params.eps, weight, bias, running_mean,
                      running_var, params.momentum, out, save_mean, save_invstd);
    } else {
      batch_norm_eval<T>(x, weight, bias, running_mean, running_var, params.eps, out, save_mean, save_invstd);
    }
  });
}

void batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, Tensor& grad_x, Tensor& grad_weight,
                         Tensor& grad_bias) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  dispatch_float(x, [&](auto tag) {
    norm_backward<decltype(tag)>("cuda::batch_norm_backward", grad_out, x, batch_geometry(x), weight, save_mean,
                                 save_invstd, training, grad_x, grad_weight, grad_bias);
  });
}

void instance_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out,
                           Tensor& save_mean, Tensor& save_invstd) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  Tensor no_running_mean, no_running_var;
  dispatch_float(x, [&](auto tag) {
    norm_forward<decltype(tag)>("cuda::instance_norm_forward", x, instance_geometry(x), eps, weight, bias,
                                no_running_mean, no_running_var, 0.0, out, save_mean, save_invstd);
  });
}

void instance_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                            const Tensor& save_invstd, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  dispatch_float(x, [&](auto tag) {
    norm_backward<decltype(tag)>("cuda::instance_norm_backward", grad_out, x, instance_geometry(x), weight,
                                 save_mean, save_invstd, true, grad_x, grad_weight, grad_bias);
  });
}

void spade_modulation_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor& out,
                              Tensor& save_mean, Tensor& save_invstd) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  dispatch_float(x, [&](auto tag) {
    spade_forward<decltype(tag)>(x, gamma, beta, eps, out, save_mean, save_invstd);
  });
}

void spade_modulation_backward(const Tensor& grad_out, const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                               const Tensor& save_invstd, Tensor& grad_x, Tensor& grad_gamma) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(x.device().index);
  dispatch_float(x, [&](auto tag) {
    spade_backward<decltype(tag)>(grad_out, x, gamma, save_mean, save_invstd, grad_x, grad_gamma);
  });
}

}  // namespace fh::kernels::cuda
