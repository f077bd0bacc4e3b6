// Batch norm, instance norm and the fused SPADE modulation on the CPU (NHWC).
//
// Every kernel is a per-(group, channel) reduction in double followed by an elementwise
// pass with per-channel coefficients computed once per call, scheduled by reduce_then_apply
// (norm_schedule.h). Inner loops run over the contiguous channels and vectorise.
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/norm_schedule.h"

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

GroupedRows batch_geometry(const Tensor& x) { return {1, x.size(0) * x.size(1) * x.size(2), x.size(3)}; }
GroupedRows instance_geometry(const Tensor& x) { return {x.size(0), x.size(1) * x.size(2), x.size(3)}; }

// ---- Row kernels -------------------------------------------------------------------------------
// The loops over one row's (or kRows consecutive rows') contiguous channels. They take
// __restrict parameters, which is what lets the compiler vectorise them without alias
// checks. Sums run row after row into s0, s1 (double), one accumulator load and store per
// kRows rows.

// s0 += d, s1 += d², d = x - shift.
template <class T, int kRows>
void moment_rows(int64_t C, const T* __restrict x, const double* __restrict shift, double* __restrict s0,
                 double* __restrict s1) {
  for (int64_t c = 0; c < C; ++c) {
    double a0 = s0[c], a1 = s1[c];
    for (int i = 0; i < kRows; ++i) {
      const double d = static_cast<double>(x[i * C + c]) - shift[c];
      a0 += d;
      a1 += d * d;
    }
    s0[c] = a0;
    s1[c] = a1;
  }
}

// s0 += grad, s1 += grad·x̂, x̂ = (x - mean)·invstd.
template <class T, int kRows>
void grad_sum_rows(int64_t C, const T* __restrict grad, const T* __restrict x, const T* __restrict mean,
                   const T* __restrict invstd, double* __restrict s0, double* __restrict s1) {
  for (int64_t c = 0; c < C; ++c) {
    double a0 = s0[c], a1 = s1[c];
    for (int i = 0; i < kRows; ++i) {
      const T xhat = (x[i * C + c] - mean[c]) * invstd[c];
      a0 += static_cast<double>(grad[i * C + c]);
      a1 += static_cast<double>(grad[i * C + c] * xhat);
    }
    s0[c] = a0;
    s1[c] = a1;
  }
}

// SPADE: s0 += gh, s1 += gh·x̂ with gh = grad·(1 + gamma); grad_gamma = grad·x̂ if kGradGamma.
template <class T, int kRows, bool kGradGamma>
void spade_grad_sum_rows(int64_t C, const T* __restrict grad, const T* __restrict x, const T* __restrict gamma,
                         const T* __restrict mean, const T* __restrict invstd, T* __restrict grad_gamma,
                         double* __restrict s0, double* __restrict s1) {
  for (int64_t c = 0; c < C; ++c) {
    double a0 = s0[c], a1 = s1[c];
    for (int i = 0; i < kRows; ++i) {
      const int64_t e = i * C + c;
      const T xhat = (x[e] - mean[c]) * invstd[c];
      const T gh = grad[e] * (T(1) + gamma[e]);
      if constexpr (kGradGamma) grad_gamma[e] = grad[e] * xhat;
      a0 += static_cast<double>(gh);
      a1 += static_cast<double>(gh * xhat);
    }
    s0[c] = a0;
    s1[c] = a1;
  }
}

// out = (x - mean)·scale + shift (shift may be null).
template <class T>
void affine_row(int64_t C, const T* __restrict x, const T* __restrict mean, const T* __restrict scale,
                const T* __restrict shift, T* __restrict out) {
  if (shift != nullptr) {
    for (int64_t c = 0; c < C; ++c) out[c] = (x[c] - mean[c]) * scale[c] + shift[c];
  } else {
    for (int64_t c = 0; c < C; ++c) out[c] = (x[c] - mean[c]) * scale[c];
  }
}

// SPADE: out = (x - mean)·invstd·(1 + gamma) + beta.
template <class T>
void spade_row(int64_t C, const T* __restrict x, const T* __restrict gamma, const T* __restrict beta,
               const T* __restrict mean, const T* __restrict invstd, T* __restrict out) {
  for (int64_t c = 0; c < C; ++c) out[c] = (x[c] - mean[c]) * invstd[c] * (T(1) + gamma[c]) + beta[c];
}

// grad_x = a·grad - b - d·(x - mean); b, d null: grad_x = a·grad.
template <class T>
void grad_x_row(int64_t C, const T* __restrict grad, const T* __restrict x, const T* __restrict mean,
                const T* __restrict a, const T* __restrict b, const T* __restrict d, T* __restrict grad_x) {
  if (b != nullptr) {
    for (int64_t c = 0; c < C; ++c) grad_x[c] = a[c] * grad[c] - b[c] - d[c] * (x[c] - mean[c]);
  } else {
    for (int64_t c = 0; c < C; ++c) grad_x[c] = a[c] * grad[c];
  }
}

// SPADE: grad_x = invstd·grad·(1 + gamma) - b - d·(x - mean).
template <class T>
void spade_grad_x_row(int64_t C, const T* __restrict grad, const T* __restrict x, const T* __restrict gamma,
                      const T* __restrict mean, const T* __restrict invstd, const T* __restrict b,
                      const T* __restrict d, T* __restrict grad_x) {
  for (int64_t c = 0; c < C; ++c)
    grad_x[c] = invstd[c] * (grad[c] * (T(1) + gamma[c])) - b[c] - d[c] * (x[c] - mean[c]);
}

// SPADE: grad_gamma = grad·(x - mean)·invstd.
template <class T>
void spade_grad_gamma_row(int64_t C, const T* __restrict grad, const T* __restrict x, const T* __restrict mean,
                          const T* __restrict invstd, T* __restrict grad_gamma) {
  for (int64_t c = 0; c < C; ++c) grad_gamma[c] = grad[c] * ((x[c] - mean[c]) * invstd[c]);
}

// ---- Forward statistics ----------------------------------------------------------------------

// The mean and biased variance of x per (group, channel), summed in double as d = x - K and
// d², with K the group's first row, so that a mean large next to the spread does not cancel
// the variance's digits (and a constant channel gets exactly its value as mean).
template <class T>
class Moments {
 public:
  Moments(const T* x, const GroupedRows& geo) : x_(x), geo_(geo) {
    const int64_t C = geo.channels;
    shift_.resize(static_cast<size_t>(geo.groups * C));
    for (int64_t g = 0; g < geo.groups; ++g)
      for (int64_t c = 0; c < C; ++c) shift_[g * C + c] = x[g * geo.rows * C + c];
  }

  // The reduce_then_apply callback: sums[c] += d, sums[C + c] += d².
  auto accumulate() const {
    return [this](int64_t g, int64_t r, auto rows, double* sums) {
      const int64_t C = geo_.channels;
      const T* row = x_ + (g * geo_.rows + r) * C;
      moment_rows<T, decltype(rows)::value>(C, row, shift_.data() + g * C, sums, sums + C);
    };
  }

  // The mean and biased variance of channel c of group g, from the group's complete sums.
  void finish(int64_t g, int64_t c, const double* sums, double& mean, double& var) const {
    const double inv_rows = 1.0 / static_cast<double>(geo_.rows);
    const double centred = sums[c] * inv_rows;
    mean = shift_[g * geo_.channels + c] + centred;
    var = std::max(0.0, sums[geo_.channels + c] * inv_rows - centred * centred);
  }

 private:
  const T* x_;
  GroupedRows geo_;
  std::vector<double> shift_;
};

// Batch norm (training) and instance norm: x's statistics per (group, channel), saved in T,
// then out = (x - mean)·invstd·weight + bias. on_stats(c, mean, var) sees each group's
// statistics in double (batch norm's running averages use them).
template <class T, class OnStats>
void norm_forward(const T* x, const GroupedRows& geo, double eps, const T* weight, const T* bias, T* out,
                  T* save_mean, T* save_invstd, OnStats on_stats) {
  const int64_t C = geo.channels;
  const Moments<T> moments(x, geo);
  std::vector<T> scale(static_cast<size_t>(geo.groups * C));
  reduce_then_apply<2>(
      geo, moments.accumulate(),
      [&](int64_t g, const double* sums) {
        for (int64_t c = 0; c < C; ++c) {
          double mean, var;
          moments.finish(g, c, sums, mean, var);
          on_stats(c, mean, var);
          const int64_t i = g * C + c;
          save_mean[i] = static_cast<T>(mean);
          save_invstd[i] = static_cast<T>(1.0 / std::sqrt(var + eps));
          scale[i] = weight ? static_cast<T>(static_cast<double>(save_invstd[i]) * weight[c]) : save_invstd[i];
        }
      },
      [&](int64_t g, int64_t r) {
        const int64_t off = (g * geo.rows + r) * C;
        affine_row(C, x + off, save_mean + g * C, scale.data() + g * C, bias, out + off);
      });
}

// ---- Backward ----------------------------------------------------------------------------------

// Backward of out = x̂·weight + bias with x̂ = (x - mean)·invstd over [G, R, C]. Per (g, c):
// Σ grad and Σ grad·x̂, which grad_bias and grad_weight add up over the groups in order.
// through_stats: mean and invstd were x's own statistics, so
//   grad_x = w·invstd·(grad - Σgrad/R - x̂·Σ(grad·x̂)/R) = a·grad - b - d·(x - mean)
// with a = w·invstd, b = a·Σgrad/R, d = a·invstd·Σ(grad·x̂)/R; otherwise grad_x = a·grad.
template <class T>
void norm_backward(const T* grad, const T* x, const GroupedRows& geo, const T* weight, const T* mean,
                   const T* invstd, bool through_stats, T* grad_x, T* grad_weight, T* grad_bias) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  std::vector<T> a(static_cast<size_t>(G * C)), b(a.size(), T(0)), d(a.size(), T(0));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c)
      a[g * C + c] = static_cast<T>((weight ? static_cast<double>(weight[c]) : 1.0) * invstd[g * C + c]);
  auto apply = [&](int64_t g, int64_t r) {
    const int64_t off = (g * R + r) * C, i = g * C;
    grad_x_row(C, grad + off, x + off, mean + i, a.data() + i, through_stats ? b.data() + i : nullptr,
               d.data() + i, grad_x + off);
  };
  if (!(grad_weight || grad_bias || through_stats)) {
    if (grad_x) apply_rows(geo, apply);
    return;
  }

  std::vector<double> sum_grad(static_cast<size_t>(G * C)), sum_grad_xhat(sum_grad.size());
  auto accumulate = [&](int64_t g, int64_t r, auto rows, double* sums) {
    const int64_t off = (g * R + r) * C;
    grad_sum_rows<T, decltype(rows)::value>(C, grad + off, x + off, mean + g * C, invstd + g * C, sums, sums + C);
  };
  auto finalize = [&](int64_t g, const double* sums) {
    const double inv_rows = 1.0 / static_cast<double>(R);
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = g * C + c;
      sum_grad[i] = sums[c];
      sum_grad_xhat[i] = sums[C + c];
      if (through_stats) {
        const double ai = static_cast<double>(a[i]);
        b[i] = static_cast<T>(ai * sums[c] * inv_rows);
        d[i] = static_cast<T>(ai * static_cast<double>(invstd[i]) * sums[C + c] * inv_rows);
      }
    }
  };
  if (grad_x) {
    reduce_then_apply<2>(geo, accumulate, finalize, apply);
  } else {
    reduce_then_apply<2>(geo, accumulate, finalize, [](int64_t, int64_t) {});
  }
  for (int64_t c = 0; c < C; ++c) {
    double gb = 0, gw = 0;
    for (int64_t g = 0; g < G; ++g) {
      gb += sum_grad[g * C + c];
      gw += sum_grad_xhat[g * C + c];
    }
    if (grad_bias) grad_bias[c] = static_cast<T>(gb);
    if (grad_weight) grad_weight[c] = static_cast<T>(gw);
  }
}

// ---- The backend functions, typed ------------------------------------------------------------

template <class T>
void batch_norm_forward_typed(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                              Tensor& running_var, const BatchNormParams& p, Tensor& out, Tensor& save_mean,
                              Tensor& save_invstd) {
  const GroupedRows geo = batch_geometry(x);
  const int64_t C = geo.channels;
  const T *w = data_or_null<T>(weight), *b = data_or_null<T>(bias);
  T *sm = save_mean.data<T>(), *si = save_invstd.data<T>();
  if (p.training) {
    T* rm = data_or_null<T>(running_mean);
    T* rv = data_or_null<T>(running_var);
    // PyTorch's update: the running variance tracks the unbiased estimate.
    const double unbiased = static_cast<double>(geo.rows) / static_cast<double>(geo.rows - 1);
    norm_forward(x.data<T>(), geo, p.eps, w, b, out.data<T>(), sm, si, [&](int64_t c, double mean, double var) {
      if (rm) rm[c] = static_cast<T>((1.0 - p.momentum) * rm[c] + p.momentum * mean);
      if (rv) rv[c] = static_cast<T>((1.0 - p.momentum) * rv[c] + p.momentum * var * unbiased);
    });
    return;
  }
  // Eval: the running statistics define an affine map per channel.
  const T *rm = running_mean.data<T>(), *rv = running_var.data<T>();
  std::vector<T> scale(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    sm[c] = rm[c];
    si[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(rv[c]) + p.eps));
    scale[c] = w ? static_cast<T>(static_cast<double>(si[c]) * w[c]) : si[c];
  }
  const T* xd = x.data<T>();
  T* od = out.data<T>();
  apply_rows(geo, [&](int64_t, int64_t r) { affine_row(C, xd + r * C, sm, scale.data(), b, od + r * C); });
}

template <class T>
void spade_forward_typed(const Tensor& x_t, const Tensor& gamma_t, const Tensor& beta_t, double eps, Tensor& out_t,
                         Tensor& save_mean, Tensor& save_invstd) {
  const GroupedRows geo = instance_geometry(x_t);
  const int64_t R = geo.rows, C = geo.channels;
  const T *x = x_t.data<T>(), *gamma = gamma_t.data<T>(), *beta = beta_t.data<T>();
  T *out = out_t.data<T>(), *mean = save_mean.data<T>(), *invstd = save_invstd.data<T>();
  const Moments<T> moments(x, geo);
  reduce_then_apply<2>(
      geo, moments.accumulate(),
      [&](int64_t g, const double* sums) {
        for (int64_t c = 0; c < C; ++c) {
          double m, var;
          moments.finish(g, c, sums, m, var);
          mean[g * C + c] = static_cast<T>(m);
          invstd[g * C + c] = static_cast<T>(1.0 / std::sqrt(var + eps));
        }
      },
      [&](int64_t g, int64_t r) {
        const int64_t off = (g * R + r) * C;
        spade_row(C, x + off, gamma + off, beta + off, mean + g * C, invstd + g * C, out + off);
      });
}

// SPADE backward. With gh = grad·(1 + gamma) the gradient of the instance norm's output,
//   grad_gamma = grad·x̂,   grad_x = invstd·(gh - Σgh/R - x̂·Σ(gh·x̂)/R)
//                                  = invstd·gh - b - d·(x - mean),
// b = invstd·Σgh/R, d = invstd²·Σ(gh·x̂)/R. grad_gamma is written by the reduction pass.
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
    apply_rows(geo, [&](int64_t g, int64_t r) {
      const int64_t off = (g * R + r) * C;
      spade_grad_gamma_row(C, grad + off, x + off, mean + g * C, invstd + g * C, grad_gamma + off);
    });
    return;
  }
  std::vector<T> b(static_cast<size_t>(G * C)), d(b.size());
  // The reduction callback, writing grad_gamma on the way or not.
  auto accumulate = [&](auto with_grad_gamma) {
    constexpr bool kGradGamma = decltype(with_grad_gamma)::value;
    return [&](int64_t g, int64_t r, auto rows, double* sums) {
      const int64_t off = (g * R + r) * C;
      spade_grad_sum_rows<T, decltype(rows)::value, kGradGamma>(C, grad + off, x + off, gamma + off, mean + g * C,
                                                                invstd + g * C, kGradGamma ? grad_gamma + off : nullptr,
                                                                sums, sums + C);
    };
  };
  auto finalize = [&](int64_t g, const double* sums) {
    const double inv_rows = 1.0 / static_cast<double>(R);
    for (int64_t c = 0; c < C; ++c) {
      const double is = invstd[g * C + c];
      b[g * C + c] = static_cast<T>(is * sums[c] * inv_rows);
      d[g * C + c] = static_cast<T>(is * is * sums[C + c] * inv_rows);
    }
  };
  auto apply = [&](int64_t g, int64_t r) {
    const int64_t off = (g * R + r) * C, i = g * C;
    spade_grad_x_row(C, grad + off, x + off, gamma + off, mean + i, invstd + i, b.data() + i, d.data() + i,
                     grad_x + off);
  };
  if (grad_gamma) {
    reduce_then_apply<2>(geo, accumulate(std::true_type{}), finalize, apply);
  } else {
    reduce_then_apply<2>(geo, accumulate(std::false_type{}), finalize, apply);
  }
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
  const GroupedRows geo = instance_geometry(x);
  auto no_running_stats = [](int64_t, double, double) {};
  if (x.dtype() == DType::F64) {
    norm_forward(x.data<double>(), geo, eps, data_or_null<double>(weight), data_or_null<double>(bias),
                 out.data<double>(), save_mean.data<double>(), save_invstd.data<double>(), no_running_stats);
  } else {
    norm_forward(x.data<float>(), geo, eps, data_or_null<float>(weight), data_or_null<float>(bias), out.data<float>(),
                 save_mean.data<float>(), save_invstd.data<float>(), no_running_stats);
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
