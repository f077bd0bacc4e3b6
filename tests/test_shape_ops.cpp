// concat, stack, slice and per-image crops: float64 gradient checks (including inputs that
// need no gradient), PyTorch parity on fresh random float32 inputs, exact copies of other
// dtypes, and the errors bad operands get.
#include <doctest/doctest.h>

#include <string>

#include "autograd/ops.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "runtime/thread_pool.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"
#include "tests/pool_parity.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
using fh::test::pool::Layout;
using fh::test::pool::make_case;
using fh::test::pool::ParityCase;

namespace {

void expect_gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  check_gradients(fn, inputs, what);
}

// Tensors that agree with `base` outside `axis`, whose sizes along it are random (0 included).
std::vector<Shape> concat_shapes(fh::Generator& gen, const Shape& base, int axis, int count) {
  std::vector<Shape> shapes;
  for (int i = 0; i < count; ++i) {
    Shape s = base;
    s[axis] = rand_int(gen, 0, 4);
    shapes.push_back(s);
  }
  return shapes;
}

std::string json_list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

struct CropProblem {
  Shape input;
  std::vector<int64_t> tops, lefts;
  int64_t height, width;
};

// Crops of random size at random per-image offsets (or one offset shared by all images).
CropProblem random_crop(fh::Generator& gen) {
  CropProblem p;
  p.input = Shape{rand_int(gen, 1, 3), rand_int(gen, 1, 8), rand_int(gen, 1, 8), rand_int(gen, 1, 5)};
  p.height = rand_int(gen, 1, p.input[1]);
  p.width = rand_int(gen, 1, p.input[2]);
  const int64_t offsets = rand_int(gen, 0, 2) == 0 ? 1 : p.input[0];
  for (int64_t n = 0; n < offsets; ++n) {
    p.tops.push_back(rand_int(gen, 0, p.input[1] - p.height));
    p.lefts.push_back(rand_int(gen, 0, p.input[2] - p.width));
  }
  return p;
}

}  // namespace

TEST_CASE("gradcheck: concat and stack, some inputs without gradients") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < 8; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape base = random_shape(gen, nd);
    const int axis = static_cast<int>(rand_int(gen, 0, nd - 1));
    const int count = static_cast<int>(rand_int(gen, 1, 4));
    std::vector<Tensor> parts;
    std::string shapes;
    for (const Shape& s : concat_shapes(gen, base, axis, count)) {
      Tensor t = fh::rand(s, gen, -1, 1, DType::F64);
      // The first input always needs a gradient; the others half the time.
      if (parts.empty() || rand_int(gen, 0, 1)) t.requires_grad_();
      parts.push_back(t);
      shapes += s.str() + (t.requires_grad() ? "* " : " ");
    }
    const int64_t signed_axis = rand_int(gen, 0, 1) ? axis : axis - nd;
    expect_gradcheck([&](auto& x) { return fh::concat(x, signed_axis); }, parts,
                     "concat axis " + std::to_string(signed_axis) + " of " + shapes);

    std::vector<Tensor> same;
    for (int i = 0; i < count; ++i) {
      Tensor t = fh::rand(base, gen, -1, 1, DType::F64);
      if (i == 0 || rand_int(gen, 0, 1)) t.requires_grad_();
      same.push_back(t);
    }
    const int64_t stack_axis = rand_int(gen, -(nd + 1), nd);
    expect_gradcheck([&](auto& x) { return fh::stack(x, stack_axis); }, same,
                     "stack axis " + std::to_string(stack_axis) + " of " + std::to_string(count) + " x " + base.str());
  }
}

TEST_CASE("gradcheck: slice and crop2d") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < 8; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd, 6);
    const int axis = static_cast<int>(rand_int(gen, 0, nd - 1));
    const int64_t start = rand_int(gen, 0, s[axis]);
    const int64_t length = rand_int(gen, 0, s[axis] - start);
    expect_gradcheck([&](auto& x) { return fh::slice(x[0], axis - (trial % 2) * nd, start, length); },
                     {fh::rand(s, gen, -1, 1, DType::F64).requires_grad_()},
                     "slice " + s.str() + " axis " + std::to_string(axis) + " [" + std::to_string(start) + ", +" +
                         std::to_string(length) + ")");
    const CropProblem p = random_crop(gen);
    expect_gradcheck([&](auto& x) { return fh::crop2d(x[0], p.tops, p.lefts, p.height, p.width); },
                     {fh::rand(p.input, gen, -1, 1, DType::F64).requires_grad_()},
                     "crop2d " + p.input.str() + " tops " + json_list(p.tops) + " lefts " + json_list(p.lefts));
  }
}

TEST_CASE("PyTorch parity: concat, stack, slice, crop2d") {
  fh::Generator gen(run_seed());
  auto randn = [&](const Shape& s) { return fh::randn(s, gen); };
  std::vector<ParityCase> cases;
  for (int trial = 0; trial < 10; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape base = random_shape(gen, nd, 7);
    const int axis = static_cast<int>(rand_int(gen, 0, nd - 1));
    const int count = static_cast<int>(rand_int(gen, 1, 4));
    std::vector<Tensor> parts;
    for (const Shape& s : concat_shapes(gen, base, axis, count)) parts.push_back(randn(s));
    const std::string axis_json = "{\"axis\":" + std::to_string(axis) + "}";
    cases.push_back(make_case(gen, "concat", axis_json, parts, [=](auto& x) { return fh::concat(x, axis); },
                              Layout::kPlain));
    std::vector<Tensor> same;
    for (int i = 0; i < count; ++i) same.push_back(randn(base));
    const int64_t stack_axis = rand_int(gen, -(nd + 1), nd);
    cases.push_back(make_case(gen, "stack", "{\"axis\":" + std::to_string(stack_axis) + "}", same,
                              [=](auto& x) { return fh::stack(x, stack_axis); }, Layout::kPlain));
    const int64_t start = rand_int(gen, 0, base[axis]), length = rand_int(gen, 0, base[axis] - start);
    cases.push_back(make_case(gen, "slice",
                              "{\"axis\":" + std::to_string(axis) + ",\"start\":" + std::to_string(start) +
                                  ",\"length\":" + std::to_string(length) + "}",
                              {randn(base)}, [=](auto& x) { return fh::slice(x[0], axis, start, length); },
                              Layout::kPlain));
    const CropProblem p = random_crop(gen);
    cases.push_back(make_case(gen, "crop2d",
                              "{\"tops\":" + json_list(p.tops) + ",\"lefts\":" + json_list(p.lefts) +
                                  ",\"height\":" + std::to_string(p.height) + ",\"width\":" + std::to_string(p.width) +
                                  "}",
                              {randn(p.input)}, [=](auto& x) { return fh::crop2d(x[0], p.tops, p.lefts, p.height, p.width); },
                              Layout::kImages));
  }
  // The model's uses: image and sketch joined on channels (NHWC's last dim, strided rows),
  // along the batch, a new last axis, and a mouth crop per image.
  cases.push_back(make_case(gen, "concat", "{\"axis\":-1}", {randn({2, 9, 7, 3}), randn({2, 9, 7, 3})},
                            [](auto& x) { return fh::concat(x, -1); }, Layout::kPlain));
  cases.push_back(make_case(gen, "concat", "{\"axis\":0}", {randn({1, 4, 5, 2}), randn({3, 4, 5, 2}), randn({2, 4, 5, 2})},
                            [](auto& x) { return fh::concat(x, 0); }, Layout::kPlain));
  cases.push_back(make_case(gen, "stack", "{\"axis\":-1}", {randn({3, 5}), randn({3, 5}), randn({3, 5})},
                            [](auto& x) { return fh::stack(x, -1); }, Layout::kPlain));
  cases.push_back(make_case(gen, "crop2d", "{\"tops\":[3,0,9],\"lefts\":[1,12,6],\"height\":8,\"width\":8}",
                            {randn({3, 17, 20, 3})},
                            [](auto& x) { return fh::crop2d(x[0], {3, 0, 9}, {1, 12, 6}, 8, 8); }, Layout::kImages));

  double worst = 0;
  if (fh::test::pool::run_parity(cases, &worst)) {
    MESSAGE(cases.size() << " shape-op cases against PyTorch; worst error " << worst << " of threshold");
  }
}

TEST_CASE("shape ops copy any dtype exactly") {
  const Tensor a = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector<int64_t>({7, 8}, {2, 1});
  const Tensor joined = fh::concat({a, b}, 1);
  CHECK(joined.dtype() == DType::I64);
  CHECK(joined.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 7, 4, 5, 6, 8});
  CHECK(fh::slice(joined, 1, 1, 2).to_vector<int64_t>() == std::vector<int64_t>{2, 3, 5, 6});
  CHECK(fh::stack({b, b}, 2).shape() == Shape{2, 1, 2});
  // Stacking along a new last axis interleaves: out[i, k] = xs[k][i] (a strided innermost copy).
  const Tensor p = Tensor::from_vector<double>({1, 2, 3}, {3}), q = Tensor::from_vector<double>({10, 20, 30}, {3});
  CHECK(fh::stack({p, q}, -1).to_vector<double>() == std::vector<double>{1, 10, 2, 20, 3, 30});
  // Large enough to be split among threads, along the last axis of an NHWC batch.
  fh::Generator gen(3);
  const Tensor img = fh::randn({2, 64, 64, 3}, gen), sketch = fh::randn({2, 64, 64, 3}, gen);
  const Tensor both = fh::concat({img, sketch}, 3);
  CHECK(fh::slice(both, 3, 0, 3).to_vector<float>() == img.to_vector<float>());
  CHECK(fh::slice(both, 3, 3, 3).to_vector<float>() == sketch.to_vector<float>());
}

TEST_CASE("concat and split copy exactly on every path and thread count") {
  // Reference: element (r, j) of the joined [outer, Σ widths] rows, built on the host.
  // Widths cover the fixed-size moves (<= 4, 8, 16 elements), wider parts, empty parts and
  // more parts than the single pass takes; outer sizes below and above the row split.
  const std::vector<std::vector<int64_t>> width_sets = {
      {3, 3}, {1, 1}, {2, 5, 1}, {4, 8, 16}, {9, 0, 7}, {17, 3}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {6, 64}};
  const int before = fh::num_threads();
  for (int threads : {1, 2, 3}) {
    fh::set_num_threads(threads);
    for (const std::vector<int64_t>& widths : width_sets) {
      for (int64_t outer : {1, 5, 63, 64, 257, 3001}) {
        int64_t total = 0;
        for (int64_t w : widths) total += w;
        std::vector<Tensor> parts;
        std::vector<int64_t> expected(static_cast<size_t>(outer * total));
        int64_t offset = 0;
        for (size_t i = 0; i < widths.size(); ++i) {
          std::vector<int64_t> v(static_cast<size_t>(outer * widths[i]));
          for (int64_t r = 0; r < outer; ++r)
            for (int64_t j = 0; j < widths[i]; ++j) {
              v[r * widths[i] + j] = 1000000 * static_cast<int64_t>(i) + r * 100 + j;
              expected[r * total + offset + j] = v[r * widths[i] + j];
            }
          parts.push_back(Tensor::from_vector(v, {outer, widths[i]}));
          offset += widths[i];
        }
        INFO(threads << " threads, outer " << outer << ", " << widths.size() << " parts, first width " << widths[0]);
        const Tensor joined = fh::concat(parts, 1);
        CHECK(joined.to_vector<int64_t>() == expected);
        const std::vector<Tensor> back = fh::kernels::split(joined, 1, widths);
        for (size_t i = 0; i < widths.size(); ++i) CHECK(back[i].to_vector<int64_t>() == parts[i].to_vector<int64_t>());
        // float32 parts take the 4-byte element path.
        std::vector<Tensor> floats;
        for (const Tensor& p : parts) floats.push_back(p.to(DType::F32));
        CHECK(fh::concat(floats, 1).to_vector<float>() == joined.to(DType::F32).to_vector<float>());
      }
    }
  }
  fh::set_num_threads(before);
}

TEST_CASE("shape-op errors name the op and the shapes") {
  const Tensor a = Tensor::zeros({2, 3, 4}), b = Tensor::zeros({2, 5, 5});
  CHECK_THROWS_WITH_AS(fh::concat({}, 0), doctest::Contains("concat: needs at least one tensor"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, b}, 1),
                       doctest::Contains("concat: tensor 1 [2, 5, 5] differs from tensor 0 [2, 3, 4] outside dim 1 "
                                         "(shapes: [2, 3, 4], [2, 5, 5])"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, a}, 3), doctest::Contains("concat: dim 3 is out of range for shape [2, 3, 4]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, Tensor::zeros({2, 3, 4}, DType::F64)}, 0),
                       doctest::Contains("concat: operands have different dtypes"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::stack({a, b}, 0),
                       doctest::Contains("stack: tensor 1 [2, 5, 5] differs from tensor 0 [2, 3, 4]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::stack({a}, 4), doctest::Contains("stack: axis 4 is out of range for stacking tensors of shape [2, 3, 4] (valid: -4 to 3)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::slice(a, 1, 2, 2),
                       doctest::Contains("slice: range [2, 4) of length 2 does not fit dim 1 of [2, 3, 4] (size 3)"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::slice(a, -1, -1, 1), doctest::Contains("slice: range [-1, 0)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::split(a, 2, {1, 2}),
                       doctest::Contains("split: lengths [1, 2] add up to 3, not to size 4 of dim 2 of [2, 3, 4]"),
                       fh::Error);
  const Tensor img = Tensor::zeros({2, 6, 5, 3});
  CHECK_THROWS_WITH_AS(fh::crop2d(img, {0, 3}, {0, 0}, 4, 4),
                       doctest::Contains("crop2d: the 4x4 crop at (top 3, left 0) of image 1 does not fit the 6x5 "
                                         "image of input [2, 6, 5, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::crop2d(img, {0, 0, 0}, {0}, 2, 2),
                       doctest::Contains("crop2d: input [2, 6, 5, 3] has 2 images but 3 tops and 1 lefts were given"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::crop2d(a, {0}, {0}, 1, 1),
                       doctest::Contains("crop2d: input [2, 3, 4] must be a 4-d NHWC image batch"), fh::Error);
}
