// Batch norm, instance norm and the fused SPADE modulation on the CPU (NHWC).
//
// Every kernel is a reduction pass (channel_sums.h: per-(group, channel) sums in double, in
// an order fixed by the shapes) followed by an elementwise pass over rows whose inner loop
// runs over the contiguous channels with per-channel coefficients computed once per call.
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/channel_sums.h"
#include "kernels/cpu/cpu_kernels.h"

namespace fh::kernels::cpu {

namespace {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Statistics of each (group, channel) over its rows: mean and 1/sqrt(var + eps) with the
// biased variance, in double. The terms are shifted by the group's first row so that a mean
// large next to the spread does not cancel the variance's digits.
struct Moments {
  std::vector<double> mean, var;
};

template <class T>
Moments moments(const T* x, const GroupedRows& geo) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  std::vector<double> shift(static_cast<size_t>(G * C));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c) shift[g * C + c] = static_cast<double>(x[g * R * C + c]);
  const std::vector<double> sums = sum_channels<2>(geo, [&](int64_t g, int64_t r, double* sums) {
    const double* __restrict k = shift.data() + g * C;
    const T* __restrict px = x + (g * R + r) * C;
    double* __restrict s0 = sums;
    double* __restrict s1 = sums + C;
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(px[c]) - k[c];
      s0[c] += d;
      s1[c] += d * d;
    }
  });
  Moments m{std::vector<double>(static_cast<size_t>(G * C)), std::vector<double>(static_cast<size_t>(G * C))};
  const double inv_rows = 1.0 / static_cast<double>(R);
  for (int64_t i = 0; i < G * C; ++i) {
    const double centred = sums[i] * inv_rows;
    m.mean[i] = shift[i] + centred;
    m.var[i] = std::max(0.0, sums[G * C + i] * inv_rows - centred * centred);
  }
  return m;
}

// Writes the statistics a backward pass reads: mean and 1/sqrt(var + eps), rounded to T.
template <class T>
void store_stats(const std::vector<double>& mean, const std::vector<double>& var, double eps, T* save_mean,
                 T* save_invstd) {
  for (size_t i = 0; i < mean.size(); ++i) {
    save_mean[i] = static_cast<T>(mean[i]);
    save_invstd[i] = static_cast<T>(1.0 / std::sqrt(var[i] + eps));
  }
}

// out = (x - mean)·scale + shift, with mean and scale per (group, channel) and shift per
// channel (none when null).
template <class T>
void apply_affine(const T* x, const GroupedRows& geo, const T* mean, const T* scale, const T* shift, T* out) {
  const int64_t R = geo.rows, C = geo.channels;
  for_each_row(geo, [&](int64_t g, int64_t r) {
    const T* px = x + (g * R + r) * C;
    T* po = out + (g * R + r) * C;
    const T* m = mean + g * C;
    const T* s = scale + g * C;
    if (shift != nullptr) {
      for (int64_t c = 0; c < C; ++c) po[c] = (px[c] - m[c]) * s[c] + shift[c];
    } else {
      for (int64_t c = 0; c < C; ++c) po[c] = (px[c] - m[c]) * s[c];
    }
  });
}

// The affine normalisation both batch norm and instance norm end with, from saved
// statistics [G, C]: scale = invstd·weight.
template <class T>
void normalise(const T* x, const GroupedRows& geo, const T* mean, const T* invstd, const T* weight, const T* bias,
               T* out) {
  const int64_t G = geo.groups, C = geo.channels;
  std::vector<T> scale(static_cast<size_t>(G * C));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c)
      scale[g * C + c] = weight ? static_cast<T>(static_cast<double>(invstd[g * C + c]) * weight[c]) : invstd[g * C + c];
  apply_affine(x, geo, mean, scale.data(), bias, out);
}

// Backward of out = x̂·weight + bias with x̂ = (x - mean)·invstd over groups [G, R, C].
// Per (g, c): Σ grad and Σ grad·x̂. grad_bias and grad_weight sum those over the groups (in
// group order). through_stats: mean and invstd were computed from x, so
//   grad_x = w·invstd·(grad - Σgrad/R - x̂·Σ(grad·x̂)/R);
// otherwise grad_x = w·invstd·grad.
template <class T>
void norm_backward(const T* grad, const T* x, const GroupedRows& geo, const T* weight, const T* mean,
                   const T* invstd, bool through_stats, T* grad_x, T* grad_weight, T* grad_bias) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  std::vector<double> sums;
  if (grad_weight || grad_bias || (grad_x && through_stats)) {
    sums = sum_channels<2>(geo, [&](int64_t g, int64_t r, double* sums) {
      const T* __restrict m = mean + g * C;
      const T* __restrict is = invstd + g * C;
      const T* __restrict pg = grad + (g * R + r) * C;
      const T* __restrict px = x + (g * R + r) * C;
      double* __restrict s0 = sums;
      double* __restrict s1 = sums + C;
      for (int64_t c = 0; c < C; ++c) {
        const T xhat = (px[c] - m[c]) * is[c];
        s0[c] += static_cast<double>(pg[c]);
        s1[c] += static_cast<double>(pg[c] * xhat);
      }
    });
  }
  const double* sum_grad = sums.data();
  const double* sum_grad_xhat = sums.data() + G * C;
  for (int64_t c = 0; c < C; ++c) {
    double gb = 0, gw = 0;
    for (int64_t g = 0; g < G; ++g) {
      if (grad_bias) gb += sum_grad[g * C + c];
      if (grad_weight) gw += sum_grad_xhat[g * C + c];
    }
    if (grad_bias) grad_bias[c] = static_cast<T>(gb);
    if (grad_weight) grad_weight[c] = static_cast<T>(gw);
  }
  if (!grad_x) return;

  // grad_x = a·grad - b - d·(x - mean), per (g, c): a = w·invstd, and through the statistics
  // b = a·Σgrad/R, d = a·invstd·Σ(grad·x̂)/R.
  std::vector<T> a(static_cast<size_t>(G * C)), b(a.size(), T(0)), d(a.size(), T(0));
  const double inv_rows = 1.0 / static_cast<double>(R);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = g * C + c;
      const double is = invstd[i], ai = (weight ? static_cast<double>(weight[c]) : 1.0) * is;
      a[i] = static_cast<T>(ai);
      if (through_stats) {
        b[i] = static_cast<T>(ai * sum_grad[i] * inv_rows);
        d[i] = static_cast<T>(ai * is * sum_grad_xhat[i] * inv_rows);
      }
    }
  for_each_row(geo, [&](int64_t g, int64_t r) {
    const int64_t off = (g * R + r) * C;
    const T *pg = grad + off, *px = x + off, *m = mean + g * C;
    const T *pa = a.data() + g * C, *pb = b.data() + g * C, *pd = d.data() + g * C;
    T* po = grad_x + off;
    if (through_stats) {
      for (int64_t c = 0; c < C; ++c) po[c] = pa[c] * pg[c] - pb[c] - pd[c] * (px[c] - m[c]);
    } else {
      for (int64_t c = 0; c < C; ++c) po[c] = pa[c] * pg[c];
    }
  });
}

GroupedRows batch_geometry(const Tensor& x) { return {1, x.size(0) * x.size(1) * x.size(2), x.size(3)}; }
GroupedRows instance_geometry(const Tensor& x) { return {x.size(0), x.size(1) * x.size(2), x.size(3)}; }

template <class T>
void batch_norm_forward_typed(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                              Tensor& running_var, const BatchNormParams& p, Tensor& out, Tensor& save_mean,
                              Tensor& save_invstd) {
  const GroupedRows geo = batch_geometry(x);
  const int64_t C = geo.channels;
  T* sm = save_mean.data<T>();
  T* si = save_invstd.data<T>();
  if (p.training) {
    const Moments m = moments(x.data<T>(), geo);
    store_stats(m.mean, m.var, p.eps, sm, si);
    // PyTorch's update: the running variance tracks the unbiased estimate.
    const double unbiased = static_cast<double>(geo.rows) / static_cast<double>(geo.rows - 1);
    if (T* rm = data_or_null<T>(running_mean))
      for (int64_t c = 0; c < C; ++c) rm[c] = static_cast<T>((1.0 - p.momentum) * rm[c] + p.momentum * m.mean[c]);
    if (T* rv = data_or_null<T>(running_var))
      for (int64_t c = 0; c < C; ++c)
        rv[c] = static_cast<T>((1.0 - p.momentum) * rv[c] + p.momentum * m.var[c] * unbiased);
  } else {
    const T* rm = running_mean.data<T>();
    const T* rv = running_var.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      sm[c] = rm[c];
      si[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(rv[c]) + p.eps));
    }
  }
  normalise(x.data<T>(), geo, sm, si, data_or_null<T>(weight), data_or_null<T>(bias), out.data<T>());
}

template <class T>
void instance_norm_forward_typed(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out,
                                 Tensor& save_mean, Tensor& save_invstd) {
  const GroupedRows geo = instance_geometry(x);
  const Moments m = moments(x.data<T>(), geo);
  store_stats(m.mean, m.var, eps, save_mean.data<T>(), save_invstd.data<T>());
  normalise(x.data<T>(), geo, save_mean.data<T>(), save_invstd.data<T>(), data_or_null<T>(weight),
            data_or_null<T>(bias), out.data<T>());
}

template <class T>
void spade_forward_typed(const Tensor& x_t, const Tensor& gamma_t, const Tensor& beta_t, double eps, Tensor& out_t,
                         Tensor& save_mean, Tensor& save_invstd) {
  const GroupedRows geo = instance_geometry(x_t);
  const int64_t R = geo.rows, C = geo.channels;
  const T *x = x_t.data<T>(), *gamma = gamma_t.data<T>(), *beta = beta_t.data<T>();
  T* out = out_t.data<T>();
  const Moments m = moments(x, geo);
  T* mean = save_mean.data<T>();
  T* invstd = save_invstd.data<T>();
  store_stats(m.mean, m.var, eps, mean, invstd);
  for_each_row(geo, [&](int64_t g, int64_t r) {
    const int64_t off = (g * R + r) * C;
    const T *px = x + off, *pg = gamma + off, *pb = beta + off, *pm = mean + g * C, *ps = invstd + g * C;
    T* po = out + off;
    for (int64_t c = 0; c < C; ++c) po[c] = (px[c] - pm[c]) * ps[c] * (T(1) + pg[c]) + pb[c];
  });
}

// SPADE backward. With gh = grad·(1 + gamma) the gradient of the instance norm's output,
//   grad_gamma = grad·x̂,   grad_x = invstd·(gh - Σgh/R - x̂·Σ(gh·x̂)/R).
template <class T>
void spade_backward_typed(const Tensor& grad_t, const Tensor& x_t, const Tensor& gamma_t, const Tensor& save_mean,
                          const Tensor& save_invstd, Tensor& grad_x_t, Tensor& grad_gamma_t) {
  const GroupedRows geo = instance_geometry(x_t);
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  const T *grad = grad_t.data<T>(), *x = x_t.data<T>(), *gamma = gamma_t.data<T>();
  const T *mean = save_mean.data<T>(), *invstd = save_invstd.data<T>();
  T* grad_x = data_or_null<T>(grad_x_t);
  T* grad_gamma = data_or_null<T>(grad_gamma_t);

  if (!grad_x) {
    for_each_row(geo, [&](int64_t g, int64_t r) {
      const int64_t off = (g * R + r) * C;
      const T *pg = grad + off, *px = x + off, *pm = mean + g * C, *ps = invstd + g * C;
      T* pgg = grad_gamma + off;
      for (int64_t c = 0; c < C; ++c) pgg[c] = pg[c] * ((px[c] - pm[c]) * ps[c]);
    });
    return;
  }
  // One pass: the two sums per (n, c), and grad_gamma on the way when it is wanted.
  auto sum_pass = [&](auto write_grad_gamma) {
    return sum_channels<2>(geo, [&](int64_t g, int64_t r, double* sums) {
      const int64_t off = (g * R + r) * C;
      const T *__restrict m = mean + g * C, *__restrict is = invstd + g * C;
      const T *__restrict pg = grad + off, *__restrict px = x + off, *__restrict pgm = gamma + off;
      T* __restrict pgg = grad_gamma ? grad_gamma + off : nullptr;
      double* __restrict s0 = sums;
      double* __restrict s1 = sums + C;
      for (int64_t c = 0; c < C; ++c) {
        const T xhat = (px[c] - m[c]) * is[c];
        const T gh = pg[c] * (T(1) + pgm[c]);
        if constexpr (decltype(write_grad_gamma)::value) pgg[c] = pg[c] * xhat;
        s0[c] += static_cast<double>(gh);
        s1[c] += static_cast<double>(gh * xhat);
      }
    });
  };
  const std::vector<double> sums = grad_gamma ? sum_pass(std::true_type{}) : sum_pass(std::false_type{});
  // grad_x = invstd·gh - b - d·(x - mean), with b = invstd·Σgh/R and d = invstd²·Σ(gh·x̂)/R.
  std::vector<T> b(static_cast<size_t>(G * C)), d(b.size());
  const double inv_rows = 1.0 / static_cast<double>(R);
  for (int64_t i = 0; i < G * C; ++i) {
    const double is = invstd[i];
    b[i] = static_cast<T>(is * sums[i] * inv_rows);
    d[i] = static_cast<T>(is * is * sums[G * C + i] * inv_rows);
  }
  for_each_row(geo, [&](int64_t g, int64_t r) {
    const int64_t off = (g * R + r) * C;
    const T *pg = grad + off, *px = x + off, *pgm = gamma + off;
    const T *pm = mean + g * C, *ps = invstd + g * C, *pb = b.data() + g * C, *pd = d.data() + g * C;
    T* po = grad_x + off;
    for (int64_t c = 0; c < C; ++c) po[c] = ps[c] * (pg[c] * (T(1) + pgm[c])) - pb[c] - pd[c] * (px[c] - pm[c]);
  });
}

}  // namespace

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                        Tensor& running_var, const BatchNormParams& params, Tensor& out, Tensor& save_mean,
                        Tensor& save_invstd) {
  if (x.dtype() == DType::F64) {
    batch_norm_forward_typed<double>(x, weight, bias, running_mean, running_var, params, out, save_mean, save_invstd);
  } else {
    batch_norm_forward_typed<float>(x, weight, bias, running_mean, running_var, params, out, save_mean, save_invstd);
  }
}

void batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, Tensor& grad_x, Tensor& grad_weight,
                         Tensor& grad_bias) {
  const GroupedRows geo = batch_geometry(x);
  if (x.dtype() == DType::F64) {
    norm_backward(grad_out.data<double>(), x.data<double>(), geo, data_or_null<double>(weight),
                  save_mean.data<double>(), save_invstd.data<double>(), training, data_or_null<double>(grad_x),
                  data_or_null<double>(grad_weight), data_or_null<double>(grad_bias));
  } else {
    norm_backward(grad_out.data<float>(), x.data<float>(), geo, data_or_null<float>(weight), save_mean.data<float>(),
                  save_invstd.data<float>(), training, data_or_null<float>(grad_x), data_or_null<float>(grad_weight),
                  data_or_null<float>(grad_bias));
  }
}

void instance_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out,
                           Tensor& save_mean, Tensor& save_invstd) {
  if (x.dtype() == DType::F64) {
    instance_norm_forward_typed<double>(x, weight, bias, eps, out, save_mean, save_invstd);
  } else {
    instance_norm_forward_typed<float>(x, weight, bias, eps, out, save_mean, save_invstd);
  }
}

void instance_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                            const Tensor& save_invstd, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  const GroupedRows geo = instance_geometry(x);
  if (x.dtype() == DType::F64) {
    norm_backward(grad_out.data<double>(), x.data<double>(), geo, data_or_null<double>(weight),
                  save_mean.data<double>(), save_invstd.data<double>(), true, data_or_null<double>(grad_x),
                  data_or_null<double>(grad_weight), data_or_null<double>(grad_bias));
  } else {
    norm_backward(grad_out.data<float>(), x.data<float>(), geo, data_or_null<float>(weight), save_mean.data<float>(),
                  save_invstd.data<float>(), true, data_or_null<float>(grad_x), data_or_null<float>(grad_weight),
                  data_or_null<float>(grad_bias));
  }
}

void spade_modulation_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor& out,
                              Tensor& save_mean, Tensor& save_invstd) {
  if (x.dtype() == DType::F64) {
    spade_forward_typed<double>(x, gamma, beta, eps, out, save_mean, save_invstd);
  } else {
    spade_forward_typed<float>(x, gamma, beta, eps, out, save_mean, save_invstd);
  }
}

void spade_modulation_backward(const Tensor& grad_out, const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                               const Tensor& save_invstd, Tensor& grad_x, Tensor& grad_gamma) {
  if (x.dtype() == DType::F64) {
    spade_backward_typed<double>(grad_out, x, gamma, save_mean, save_invstd, grad_x, grad_gamma);
  } else {
    spade_backward_typed<float>(grad_out, x, gamma, save_mean, save_invstd, grad_x, grad_gamma);
  }
}

}  // namespace fh::kernels::cpu
