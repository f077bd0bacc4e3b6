// The pool family's CUDA kernels against their CPU twins: average, max and global average
// pooling, nearest resizing, and the copies behind concat, stack, split, slice and crops,
// forward and backward. The GPU kernels sum in the CPU's order (gathers in row-major window
// order), so most results are compared bit for bit.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/core.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using fh::kernels::PoolWindow;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// Global average: both sides sum in double, in different orders; one final rounding.
constexpr fh::test::Tolerance kMeanF32{1e-7, 1e-6};
constexpr fh::test::Tolerance kMeanF64{1e-15, 1e-13};

struct PoolCase {
  Shape input;
  PoolWindow window;
};

// The model's windows (flow halving 2x2 s2, the discriminator pyramid 3x3 s2 p1, the
// ResNet stem 3x3 s2 p1) at tiny/small/paper sizes, and odd ones (odd sizes, windows as
// large as the padded input, unequal kernels and strides, one pixel).
std::vector<PoolCase> pool_cases() {
  return {
      {Shape{1, 64, 64, 2}, PoolWindow::square(2, 2)},       {Shape{2, 32, 32, 2}, PoolWindow::square(2, 2)},
      {Shape{2, 256, 256, 2}, PoolWindow::square(2, 2)},     {Shape{2, 64, 64, 6}, PoolWindow::square(3, 2, 1)},
      {Shape{1, 128, 128, 6}, PoolWindow::square(3, 2, 1)}, {Shape{2, 256, 256, 6}, PoolWindow::square(3, 2, 1)},
      {Shape{2, 32, 32, 16}, PoolWindow::square(3, 2, 1)},  {Shape{1, 64, 64, 64}, PoolWindow::square(3, 2, 1)},
      {Shape{1, 7, 9, 5}, PoolWindow::square(3, 2, 1)},     {Shape{2, 5, 5, 3}, PoolWindow::square(5, 1, 2)},
      {Shape{1, 1, 1, 4}, PoolWindow::square(1, 1)},        {Shape{1, 2, 2, 1}, PoolWindow::square(2, 2, 1)},
      {Shape{3, 11, 6, 33}, PoolWindow{3, 2, 2, 1, 1, 0}},  {Shape{1, 9, 13, 2}, PoolWindow{4, 3, 3, 2, 2, 1}},
  };
}

}  // namespace

TEST_CASE("average pooling and its gradient match the CPU bit for bit") {
  for (DType t : kFloatDTypes) {
    for (const PoolCase& c : pool_cases()) {
      for (bool include_pad : {false, true}) {
        const std::string name = label(include_pad ? "avg_pool2d include_pad" : "avg_pool2d", c.input, t);
        const Tensor x = random(c.input, t);
        const Tensor y = kernels::avg_pool2d(x, c.window, include_pad);
        check_same_bits(kernels::avg_pool2d(x.to(kGpu), c.window, include_pad), y, name);
        const Tensor g = random(y.shape(), t);
        check_same_bits(kernels::avg_pool2d_backward(g.to(kGpu), c.input, c.window, include_pad),
                        kernels::avg_pool2d_backward(g, c.input, c.window, include_pad), name + " backward");
      }
    }
  }
}

TEST_CASE("max pooling, its indices and its gradient match the CPU bit for bit") {
  for (DType t : kFloatDTypes) {
    for (const PoolCase& c : pool_cases()) {
      const std::string name = label("max_pool2d", c.input, t);
      // Rounded values: ties inside windows, where the first maximum must win.
      const Tensor x = kernels::cast(kernels::cast(random(c.input, DType::F64, 0.0, 2.0), DType::I64), t);
      const kernels::MaxPoolResult cpu = kernels::max_pool2d(x, c.window);
      const kernels::MaxPoolResult gpu = kernels::max_pool2d(x.to(kGpu), c.window);
      check_same_bits(gpu.output, cpu.output, name);
      check_same_bits(gpu.indices, cpu.indices, name + " indices");
      const Tensor g = random(cpu.output.shape(), t);
      check_same_bits(kernels::max_pool2d_backward(g.to(kGpu), gpu.indices, c.input, c.window),
                      kernels::max_pool2d_backward(g, cpu.indices, c.input, c.window), name + " backward");
    }
  }
}

TEST_CASE("max pooling propagates NaN and -inf as the CPU does") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const Tensor x = Tensor::from_vector<double>({1, nan, 3, -inf, -inf, -inf, -inf, 2, nan, 0, 5, nan, -inf, -inf, 4, 4},
                                               {1, 4, 4, 1});
  for (DType t : kFloatDTypes) {
    const Tensor xt = x.to(t);
    for (const PoolWindow& w : {PoolWindow::square(2, 2), PoolWindow::square(3, 1, 1)}) {
      const kernels::MaxPoolResult cpu = kernels::max_pool2d(xt, w);
      const kernels::MaxPoolResult gpu = kernels::max_pool2d(xt.to(kGpu), w);
      check_same_bits(gpu.output, cpu.output, label("max_pool2d with NaN", x.shape(), t));
      check_same_bits(gpu.indices, cpu.indices, label("max_pool2d indices with NaN", x.shape(), t));
    }
  }
}

// The GPU's gather looks for each window's maximum inside that window only, so it refuses
// an index outside its window (the CPU, a scatter, refuses only those outside the image).
TEST_CASE("max pooling backward refuses indices outside their window") {
  const PoolWindow w = PoolWindow::square(2, 2);
  const Tensor g = random({1, 2, 2, 1}).to(kGpu);
  for (int64_t bad : {-1, 16, 6 /* inside the image, but not in window (0, 0) */}) {
    const Tensor idx = Tensor::from_vector<int64_t>({bad, 2, 8, 10}, {1, 2, 2, 1}).to(kGpu);
    INFO("index " << bad);
    CHECK_THROWS_WITH_AS(kernels::max_pool2d_backward(g, idx, {1, 4, 4, 1}, w), doctest::Contains("max_pool2d_backward"),
                         fh::Error);
  }
}

TEST_CASE("global average pooling and its gradient match the CPU") {
  const Shape shapes[] = {Shape{1, 8, 8, 512}, Shape{8, 4, 4, 512}, Shape{2, 2, 2, 64},  Shape{2, 1, 1, 7},
                          Shape{1, 1, 5, 3},   Shape{3, 17, 9, 300}, Shape{1, 256, 256, 3}, Shape{2, 64, 64, 33}};
  for (DType t : kFloatDTypes) {
    for (const Shape& s : shapes) {
      const std::string name = label("global_avg_pool", s, t);
      const Tensor x = random(s, t, 1.0, 2.0);
      FH_CHECK_CLOSE(kernels::global_avg_pool(x.to(kGpu)), kernels::global_avg_pool(x),
                     t == DType::F64 ? kMeanF64 : kMeanF32, name);
      const Tensor g = random({s[0], s[3]}, t);
      check_same_bits(kernels::global_avg_pool_backward(g.to(kGpu), s), kernels::global_avg_pool_backward(g, s),
                      name + " backward");
    }
  }
}

TEST_CASE("nearest resizing and its gradient match the CPU bit for bit") {
  struct Case {
    Shape input;
    int64_t oh, ow;
  };
  const std::vector<Case> cases = {
      {Shape{1, 256, 256, 3}, 64, 64},   {Shape{2, 256, 256, 3}, 128, 128}, {Shape{2, 64, 64, 3}, 16, 16},
      {Shape{1, 128, 128, 3}, 32, 32},   {Shape{2, 32, 32, 3}, 64, 64},     {Shape{1, 5, 8, 2}, 8, 5},
      {Shape{2, 8, 5, 3}, 5, 8},         {Shape{1, 7, 7, 4}, 7, 7},         {Shape{1, 1, 1, 3}, 4, 3},
      {Shape{1, 9, 3, 1}, 1, 1},         {Shape{3, 13, 17, 5}, 29, 6},      {Shape{1, 100, 60, 2}, 33, 99},
  };
  for (DType t : kFloatDTypes) {
    for (const Case& c : cases) {
      const std::string name = label("resize_nearest to " + std::to_string(c.oh) + "x" + std::to_string(c.ow),
                                     c.input, t);
      const Tensor x = random(c.input, t);
      check_same_bits(kernels::resize_nearest(x.to(kGpu), c.oh, c.ow), kernels::resize_nearest(x, c.oh, c.ow), name);
      const Tensor g = random({c.input[0], c.oh, c.ow, c.input[3]}, t);
      check_same_bits(kernels::resize_nearest_backward(g.to(kGpu), c.input),
                      kernels::resize_nearest_backward(g, c.input), name + " backward");
    }
  }
}

TEST_CASE("concat, stack and split match the CPU bit for bit, every dtype") {
  struct Case {
    std::vector<Shape> parts;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{Shape{2, 64, 64, 3}, Shape{2, 64, 64, 3}}, 3},          // discriminator input: sketch + image
      {{Shape{1, 256, 256, 3}, Shape{1, 256, 256, 3}}, 3},      //
      {{Shape{8, 256, 256, 3}, Shape{8, 256, 256, 3}}, -1},     //
      {{Shape{1, 32, 32, 3}, Shape{1, 32, 32, 1}, Shape{1, 32, 32, 2}}, 3},
      {{Shape{2, 3}, Shape{5, 3}}, 0},                          // rows: whole blocks
      {{Shape{4, 0, 2}, Shape{4, 3, 2}}, 1},                    // an empty part
      {{Shape{3}, Shape{1}, Shape{2}, Shape{4}, Shape{1}, Shape{1}, Shape{2}, Shape{3}, Shape{5}, Shape{2}}, 0},
      {{Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1},
        Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}, Shape{2, 3, 1}},
       2},                                                      // more parts than one launch takes
  };
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64}) {
    for (const Case& c : cases) {
      std::vector<Tensor> xs, gxs;
      std::vector<int64_t> lengths;
      for (const Shape& s : c.parts) {
        xs.push_back(kernels::cast(random(s, DType::F64, 0.0, 10.0), t));
        gxs.push_back(xs.back().to(kGpu));
        lengths.push_back(s[c.axis < 0 ? s.size() + c.axis : c.axis]);
      }
      const std::string name = label("concat", c.parts[0], t) + " and " + std::to_string(c.parts.size() - 1) + " more";
      const Tensor joined = kernels::concat(xs, c.axis);
      check_same_bits(kernels::concat(gxs, c.axis), joined, name);
      const std::vector<Tensor> cpu = kernels::split(joined, c.axis, lengths);
      std::vector<bool> wanted(lengths.size(), true);
      wanted[0] = false;  // an undefined output is skipped
      const std::vector<Tensor> gpu = kernels::split(joined.to(kGpu), c.axis, lengths, wanted);
      CHECK_FALSE(gpu[0].defined());
      for (size_t i = 1; i < cpu.size(); ++i) check_same_bits(gpu[i], cpu[i], name + " split part " + std::to_string(i));
    }
    // Stack: same shapes joined on a new axis (N-shot sources, for one).
    const std::vector<Tensor> srcs = {kernels::cast(random({2, 16, 16, 8}, DType::F64), t),
                                      kernels::cast(random({2, 16, 16, 8}, DType::F64), t),
                                      kernels::cast(random({2, 16, 16, 8}, DType::F64), t)};
    for (int64_t axis : {0, 1, 4, -1}) {
      std::vector<Tensor> gsrcs;
      for (const Tensor& s : srcs) gsrcs.push_back(s.to(kGpu));
      check_same_bits(kernels::stack(gsrcs, axis), kernels::stack(srcs, axis),
                      label("stack axis " + std::to_string(axis), srcs[0].shape(), t));
    }
  }
}

TEST_CASE("slices, crops and their gradients match the CPU bit for bit") {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::I64}) {
    const Tensor x = kernels::cast(random({3, 40, 36, 5}, DType::F64, 0.0, 10.0), t);
    const Tensor gx = x.to(kGpu);
    struct Slice {
      int64_t axis, start, length;
    };
    for (const Slice& s : {Slice{0, 1, 2}, Slice{1, 3, 30}, Slice{2, 35, 1}, Slice{3, 1, 3}, Slice{-1, 0, 5},
                           Slice{1, 5, 0}}) {
      const std::string name = label("slice axis " + std::to_string(s.axis) + " [" + std::to_string(s.start) + ", +" +
                                         std::to_string(s.length) + ")",
                                     x.shape(), t);
      const Tensor cpu = kernels::slice(x, s.axis, s.start, s.length);
      check_same_bits(kernels::slice(gx, s.axis, s.start, s.length), cpu, name);
      check_same_bits(kernels::slice_backward(cpu.to(kGpu), x.shape(), s.axis, s.start),
                      kernels::slice_backward(cpu, x.shape(), s.axis, s.start), name + " backward");
    }
    // The mouth crop: S/4 at per-image offsets, and one offset for all.
    const std::vector<int64_t> tops = {3, 0, 10}, lefts = {7, 2, 0};
    for (const auto& [ts, ls] : {std::pair{tops, lefts}, std::pair{std::vector<int64_t>{4}, std::vector<int64_t>{9}}}) {
      const std::string name = label("crop2d 20x16", x.shape(), t);
      const Tensor cpu = kernels::crop2d(x, ts, ls, 20, 16);
      check_same_bits(kernels::crop2d(gx, ts, ls, 20, 16), cpu, name);
      check_same_bits(kernels::crop2d_backward(cpu.to(kGpu), x.shape(), ts, ls),
                      kernels::crop2d_backward(cpu, x.shape(), ts, ls), name + " backward");
    }
  }
}

TEST_CASE("slices and crops at the networks' shapes match the CPU bit for bit") {
  struct Slice {
    Shape shape;
    int64_t axis, start, length;
  };
  // A ring of the eye mesh ([B,482,3], 32 vertices), an angle out of [B,2], and channel
  // ranges of NHWC maps (sketch and image halves of a discriminator input, a flow's axis).
  const Slice slices[] = {{Shape{2, 482, 3}, 1, 416, 32}, {Shape{2, 2}, 1, 1, 1},
                          {Shape{2, 64, 64, 6}, 3, 3, 3}, {Shape{1, 256, 256, 6}, 3, 0, 3},
                          {Shape{2, 128, 128, 2}, -1, 1, 1}};
  for (DType t : kFloatDTypes) {
    for (const Slice& s : slices) {
      const std::string name = label("slice axis " + std::to_string(s.axis) + " [" + std::to_string(s.start) + ", +" +
                                         std::to_string(s.length) + ")",
                                     s.shape, t);
      const Tensor x = random(s.shape, t);
      const Tensor cpu = kernels::slice(x, s.axis, s.start, s.length);
      check_same_bits(kernels::slice(x.to(kGpu), s.axis, s.start, s.length), cpu, name);
      check_same_bits(kernels::slice_backward(cpu.to(kGpu), s.shape, s.axis, s.start),
                      kernels::slice_backward(cpu, s.shape, s.axis, s.start), name + " backward");
    }
    // The mouth crop (S/4 x S/4 at per-image offsets) at tiny, small and paper sizes.
    for (int64_t S : {64, 128, 256}) {
      const Shape shape{2, S, S, 3};
      const Tensor x = random(shape, t);
      const std::vector<int64_t> tops = {S / 2, S / 2 + 3}, lefts = {S / 3, S / 3 - 5};
      const std::string name = label("crop2d " + std::to_string(S / 4) + "x" + std::to_string(S / 4), shape, t);
      const Tensor cpu = kernels::crop2d(x, tops, lefts, S / 4, S / 4);
      check_same_bits(kernels::crop2d(x.to(kGpu), tops, lefts, S / 4, S / 4), cpu, name);
      check_same_bits(kernels::crop2d_backward(cpu.to(kGpu), shape, tops, lefts),
                      kernels::crop2d_backward(cpu, shape, tops, lefts), name + " backward");
    }
  }
}
