// The pool family's cases: average, max and global average pooling and nearest resizing,
// all on NHWC images. Small problems (the model's windows on odd and tiny inputs, and
// random windows) take every check; the networks' own sizes (tiny, small, paper) compare
// the devices; the benchmarks run the paper config's shapes at batch 1 and 8.
#include <algorithm>
#include <limits>

#include "autograd/pool.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

// Channel counts: the kernels' compile-time paths (1, 2, 3, 4, 6) and runtime ones.
int64_t random_channels(Generator& gen) {
  static const int64_t choices[] = {1, 2, 3, 4, 5, 6, 7, 17, 40};
  return choices[rand_int(gen, 0, 8)];
}

struct PoolProblem {
  PoolWindow window;
  Shape input;
};

// A random window and an NHWC input it fits (sizes down to 1, odd sizes, stride > kernel).
PoolProblem random_pool_problem(Generator& gen) {
  PoolWindow w;
  w.kernel_h = rand_int(gen, 1, 4);
  w.kernel_w = rand_int(gen, 1, 4);
  w.stride_h = rand_int(gen, 1, 3);
  w.stride_w = rand_int(gen, 1, 3);
  w.pad_h = rand_int(gen, 0, w.kernel_h / 2);
  w.pad_w = rand_int(gen, 0, w.kernel_w / 2);
  const int64_t h = rand_int(gen, std::max<int64_t>(1, w.kernel_h - 2 * w.pad_h), 9);
  const int64_t wd = rand_int(gen, std::max<int64_t>(1, w.kernel_w - 2 * w.pad_w), 9);
  return {w, Shape{rand_int(gen, 1, 3), h, wd, random_channels(gen)}};
}

// The windows the model uses (flow halving 2x2 s2, the discriminator pyramid 3x3 s2 p1),
// on odd and tiny inputs; size-1 batch and channels; a window along a single row.
std::vector<PoolProblem> model_pool_problems() {
  return {
      {PoolWindow::square(2, 2), Shape{2, 7, 5, 2}},     {PoolWindow::square(2, 2), Shape{1, 2, 2, 1}},
      {PoolWindow::square(2, 2), Shape{1, 9, 2, 3}},     {PoolWindow::square(3, 2, 1), Shape{2, 7, 5, 6}},
      {PoolWindow::square(3, 2, 1), Shape{1, 1, 1, 1}},  {PoolWindow::square(3, 2, 1), Shape{1, 1, 6, 3}},
      {PoolWindow::square(3, 2, 1), Shape{1, 5, 1, 4}},  {PoolWindow::square(3, 2, 1), Shape{3, 8, 8, 40}},
      {{1, 3, 1, 2, 0, 1}, Shape{1, 1, 7, 2}},           {PoolWindow::square(3, 2, 1), Shape{2, 33, 31, 6}},
  };
}

// The networks' windows at tiny, small and paper sizes (flow halving, the discriminator
// pyramid, the ResNet stem), and odd ones: windows as large as the padded input, unequal
// kernels and strides, one pixel. Compared between the devices only.
std::vector<PoolProblem> device_pool_problems() {
  return {
      {PoolWindow::square(2, 2), Shape{1, 64, 64, 2}},      {PoolWindow::square(2, 2), Shape{2, 32, 32, 2}},
      {PoolWindow::square(2, 2), Shape{2, 256, 256, 2}},    {PoolWindow::square(3, 2, 1), Shape{2, 64, 64, 6}},
      {PoolWindow::square(3, 2, 1), Shape{1, 128, 128, 6}}, {PoolWindow::square(3, 2, 1), Shape{2, 256, 256, 6}},
      {PoolWindow::square(3, 2, 1), Shape{2, 32, 32, 16}},  {PoolWindow::square(3, 2, 1), Shape{1, 64, 64, 64}},
      {PoolWindow::square(3, 2, 1), Shape{1, 7, 9, 5}},     {PoolWindow::square(5, 1, 2), Shape{2, 5, 5, 3}},
      {PoolWindow::square(1, 1), Shape{1, 1, 1, 4}},        {PoolWindow::square(2, 2, 1), Shape{1, 2, 2, 1}},
      {PoolWindow{3, 2, 2, 1, 1, 0}, Shape{3, 11, 6, 33}},  {PoolWindow{4, 3, 3, 2, 2, 1}, Shape{1, 9, 13, 2}},
  };
}

std::string window_variant(const PoolWindow& w) {
  auto pair = [](int64_t a, int64_t b) { return a == b ? std::to_string(a) : std::to_string(a) + "x" + std::to_string(b); };
  return "k" + pair(w.kernel_h, w.kernel_w) + "s" + pair(w.stride_h, w.stride_w) + "p" + pair(w.pad_h, w.pad_w);
}

std::string window_json(const PoolWindow& w, const std::string& extra = "") {
  return "{\"kernel\":" + json_list({w.kernel_h, w.kernel_w}) + ",\"stride\":" + json_list({w.stride_h, w.stride_w}) +
         ",\"padding\":" + json_list({w.pad_h, w.pad_w}) + extra + "}";
}

Input image(const Shape& s) {
  Input in{s};
  in.nhwc = true;
  return in;
}

OpCase avg_pool(const PoolProblem& p, bool include_pad, unsigned purposes) {
  OpCase c;
  c.op = "avg_pool2d";
  c.args = window_json(p.window, std::string(",\"count_include_pad\":") + (include_pad ? "true" : "false"));
  c.variant = window_variant(p.window) + (include_pad ? "+pad" : "");
  c.inputs = {image(p.input)};
  c.nhwc_output = true;
  c.run = [w = p.window, include_pad](const std::vector<Tensor>& x) { return avg_pool2d(x[0], w, include_pad); };
  c.purposes = purposes;
  c.forward_work = c.backward_work = read_inputs_write_output;
  return c;
}

OpCase max_pool(const PoolProblem& p, Input values, unsigned purposes) {
  OpCase c;
  c.op = "max_pool2d";
  c.args = window_json(p.window);
  c.variant = window_variant(p.window);
  values.shape = p.input;
  values.nhwc = true;
  c.inputs = {values};
  c.nhwc_output = true;
  c.run = [w = p.window](const std::vector<Tensor>& x) { return max_pool2d(x[0], w); };
  c.purposes = purposes;
  // The forward reads the image and writes the maxima and their int64 indices; the
  // backward reads the gradient and the indices and writes the image's gradient.
  c.forward_work = c.backward_work = [](const std::vector<Shape>& in, const Shape& out) {
    return Work{0, 4.0 * elements(in[0]) + 12.0 * elements(out)};
  };
  return c;
}

OpCase global_pool(const Shape& s, unsigned purposes) {
  OpCase c;
  c.op = "global_avg_pool";
  c.inputs = {image(s)};
  c.run = [](const std::vector<Tensor>& x) { return global_avg_pool(x[0]); };
  c.purposes = purposes;
  // Both devices sum in double, in different orders: one final rounding apart. The
  // gradient is a division, the same on both.
  c.device_exact = false;
  c.device_tol_f32 = {1e-7, 1e-6};
  c.device_tol_f64 = {1e-15, 1e-13};
  c.forward_work = c.backward_work = read_inputs_write_output;
  return c;
}

OpCase resize(const Shape& s, int64_t oh, int64_t ow, unsigned purposes) {
  OpCase c;
  c.op = "resize_nearest";
  c.args = "{\"height\":" + std::to_string(oh) + ",\"width\":" + std::to_string(ow) + "}";
  c.variant = "to" + std::to_string(oh) + "x" + std::to_string(ow);
  c.inputs = {image(s)};
  c.nhwc_output = true;
  c.run = [oh, ow](const std::vector<Tensor>& x) { return resize_nearest(x[0], oh, ow); };
  c.purposes = purposes;
  // A downsample reads only the pixels it keeps.
  c.forward_work = [](const std::vector<Shape>& in, const Shape& out) {
    const Shape& i = in[0];
    return Work{0, 4.0 * (static_cast<double>(i[0] * std::min(i[1], out[1]) * std::min(i[2], out[2]) * i[3]) +
                          elements(out))};
  };
  c.backward_work = read_inputs_write_output;
  return c;
}

}  // namespace

void add_pool_cases(std::vector<OpCase>& t, Generator& gen) {
  std::vector<PoolProblem> problems = model_pool_problems();
  for (int trial = 0; trial < 12; ++trial) problems.push_back(random_pool_problem(gen));
  for (const PoolProblem& p : problems) {
    for (bool include_pad : {true, false}) t.push_back(avg_pool(p, include_pad, kChecks));
    // Distinct values: maxima that finite differences cannot swap. Ties (a 0.5 grid): the
    // gradient goes to the first maximum in row-major order, as in PyTorch.
    t.push_back(max_pool(p, Input{{}, Values::Distinct}, kChecks));
    t.push_back(max_pool(p, Input{{}, Values::Tied, -1.5, 1.5}, kTorch | kDevice));
  }
  {
    // NaN wins over numbers (the last NaN of a window takes the gradient); a constant image
    // is all ties.
    std::vector<double> v = randn({2, 7, 6, 3}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
    for (size_t i = 0; i < v.size(); i += 7) v[i] = std::numeric_limits<double>::quiet_NaN();
    Input nan{{}, Values::Given};
    nan.given = Tensor::from_vector(v, {2, 7, 6, 3});
    t.push_back(max_pool({PoolWindow::square(3, 2, 1), Shape{2, 7, 6, 3}}, nan, kTorch | kDevice));
    Input flat{{}, Values::Given};
    flat.given = Tensor::full({1, 5, 5, 2}, 0.25, DType::F64);
    t.push_back(max_pool({PoolWindow::square(3, 2, 1), Shape{1, 5, 5, 2}}, flat, kTorch | kDevice));
  }
  for (int trial = 0; trial < 10; ++trial) {
    const Shape s{rand_int(gen, 1, 3), rand_int(gen, 1, 9), rand_int(gen, 1, 9), random_channels(gen)};
    t.push_back(global_pool(s, kChecks));
    t.push_back(resize(s, rand_int(gen, 1, 13), rand_int(gen, 1, 13), kChecks));
  }
  // Non-integer factors up and down, exact 2x (PyTorch's shift special case), identity, the
  // label-map shapes (256 -> 64, 128 on smaller stand-ins) and a wide label map.
  const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> resizes = {
      {{1, 5, 5, 3}, {8, 8}},    {{1, 8, 8, 3}, {5, 5}},     {{2, 5, 8, 1}, {8, 5}},  {{1, 7, 3, 2}, {14, 6}},
      {{1, 6, 6, 4}, {6, 6}},    {{1, 1, 1, 3}, {3, 4}},     {{1, 9, 7, 2}, {1, 1}},  {{2, 64, 64, 3}, {16, 32}},
      {{1, 13, 17, 6}, {29, 7}}, {{1, 16, 16, 40}, {5, 11}},
  };
  for (const auto& [s, size] : resizes) t.push_back(resize(s, size.first, size.second, kChecks));
  {
    // A wider mean, where float32 summation order starts to show against PyTorch.
    OpCase c = global_pool({2, 16, 16, 64}, kTorch | kDevice);
    c.torch_tol = {1e-6, 1e-4};
    t.push_back(c);
  }

  // The devices at the networks' sizes.
  for (const PoolProblem& p : device_pool_problems()) {
    for (bool include_pad : {false, true}) t.push_back(avg_pool(p, include_pad, kDevice));
    t.push_back(max_pool(p, Input{{}, Values::Tied, -3, 3}, kDevice));
  }
  for (const Shape& s : {Shape{1, 8, 8, 512}, Shape{8, 4, 4, 512}, Shape{2, 2, 2, 64}, Shape{2, 1, 1, 7},
                         Shape{1, 1, 5, 3}, Shape{3, 17, 9, 300}, Shape{1, 256, 256, 3}, Shape{2, 64, 64, 33}}) {
    OpCase c = global_pool(s, kDevice);
    c.inputs[0].a = 1.0, c.inputs[0].b = 2.0;  // a mean away from zero: relative errors are meaningful
    t.push_back(c);
  }
  const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> device_resizes = {
      {{1, 256, 256, 3}, {64, 64}}, {{2, 256, 256, 3}, {128, 128}}, {{2, 64, 64, 3}, {16, 16}},
      {{1, 128, 128, 3}, {32, 32}}, {{2, 32, 32, 3}, {64, 64}},     {{1, 5, 8, 2}, {8, 5}},
      {{2, 8, 5, 3}, {5, 8}},       {{1, 7, 7, 4}, {7, 7}},         {{1, 1, 1, 3}, {4, 3}},
      {{1, 9, 3, 1}, {1, 1}},       {{3, 13, 17, 5}, {29, 6}},      {{1, 100, 60, 2}, {33, 99}},
  };
  for (const auto& [s, size] : device_resizes) t.push_back(resize(s, size.first, size.second, kDevice));

  // The benchmarks (paper config, batch 1 and 8): flows halved for h2 and h3 (2x2 s2 at 256²
  // and 128², count_include_pad on); the discriminator's pyramid on its 6-channel input
  // (3x3 s2 p1, off); E_gaze's ResNet stem on a 128² eye crop (3x3 s2 p1 of 64×64²); E_can's
  // 512×8² and E_gaze's 512×4² final maps; a 3×256² sketch brought to the SPADE blocks' 64²
  // and 128².
  for (int64_t n : {1, 8}) {
    t.push_back(avg_pool({PoolWindow::square(2, 2), Shape{n, 256, 256, 2}}, true, kBench));
    t.push_back(avg_pool({PoolWindow::square(2, 2), Shape{n, 128, 128, 2}}, true, kBench));
    t.push_back(avg_pool({PoolWindow::square(3, 2, 1), Shape{n, 256, 256, 6}}, false, kBench));
    t.push_back(max_pool({PoolWindow::square(3, 2, 1), Shape{n, 64, 64, 64}}, Input{}, kBench));
    t.push_back(global_pool({n, 8, 8, 512}, kBench));
    t.push_back(global_pool({n, 4, 4, 512}, kBench));
    t.push_back(resize({n, 256, 256, 3}, 64, 64, kBench));
    t.push_back(resize({n, 256, 256, 3}, 128, 128, kBench));
  }
}

}  // namespace fh::test::ops
