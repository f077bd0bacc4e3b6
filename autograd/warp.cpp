#include "autograd/warp.h"

#include "autograd/node.h"
#include "kernels/warp.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

Tensor warp(const Tensor& src, const Tensor& flow) {
  Tensor out = kernels::warp(src, flow);
  if (!needs_grad({&src, &flow})) return out;
  const bool g_src = src.requires_grad(), g_flow = flow.requires_grad();
  // grad_src needs only the flow; grad_flow needs src too.
  const Tensor src_saved = g_flow ? src.detach() : Tensor();
  record("WarpBackward", {&src, &flow}, {&out}, [=, flow_saved = flow.detach()](Grads& g) -> Grads {
    Tensor d_src, d_flow;
    if (g_src) d_src = kernels::warp_backward_src(flow_saved, g[0]);
    if (g_flow) d_flow = kernels::warp_backward_flow(src_saved, flow_saved, g[0]);
    return {d_src, d_flow};
  });
  return out;
}

Tensor nshot_fusion(const Tensor& m, const Tensor& x) {
  Tensor out = kernels::nshot_fusion(m, x);
  if (!needs_grad({&m, &x})) return out;
  const bool g_m = m.requires_grad(), g_x = x.requires_grad();
  // grad_x needs only m; grad_m needs x too.
  const Tensor x_saved = g_m ? x.detach() : Tensor();
  record("NshotFusionBackward", {&m, &x}, {&out}, [=, m_saved = m.detach()](Grads& g) -> Grads {
    Tensor d_m, d_x;
    if (g_m) d_m = kernels::nshot_fusion_backward_m(m_saved, x_saved, g[0]);
    if (g_x) d_x = kernels::nshot_fusion_backward_x(m_saved, g[0]);
    return {d_m, d_x};
  });
  return out;
}

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  Tensor out = kernels::pixel_shuffle(x, r);
  if (needs_grad({&x})) {
    record("PixelShuffleBackward", {&x}, {&out}, [r](Grads& g) -> Grads { return {kernels::pixel_unshuffle(g[0], r)}; });
  }
  return out;
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  Tensor out = kernels::pixel_unshuffle(x, r);
  if (needs_grad({&x})) {
    record("PixelUnshuffleBackward", {&x}, {&out}, [r](Grads& g) -> Grads { return {kernels::pixel_shuffle(g[0], r)}; });
  }
  return out;
}

}  // namespace fh
