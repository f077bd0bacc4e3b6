// The shape family's cases: concat, stack, slice, per-image crops and index_select. They
// copy values (index_select's backward adds the copies of a repeated entry, in the order
// PyTorch's index_add_ does), so the devices agree bit for bit at every dtype they take,
// and PyTorch agrees exactly.
#include <string>
#include <tuple>

#include "autograd/shape_ops.h"
#include "geometry/conventions.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

// The dtypes copies take: the float ones, half precision and integers (forward only).
const std::vector<DType> kCopyDTypes = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64};

// The output's elements read and written (a crop reads only what it keeps).
Work copy_output(const std::vector<Shape>&, const Shape& out) { return {0, 8.0 * elements(out)}; }

Input values(const Shape& s, bool requires_grad = true) {
  Input in{s, Values::Normal, 0, 3};
  in.requires_grad = requires_grad;
  return in;
}

OpCase concat_case(std::vector<Input> parts, int64_t axis, unsigned purposes) {
  OpCase c;
  c.op = "concat";
  c.args = "{\"axis\":" + std::to_string(axis) + "}";
  c.variant = "axis" + std::to_string(axis);
  c.inputs = std::move(parts);
  c.run = [axis](const std::vector<Tensor>& x) { return concat(x, axis); };
  c.purposes = purposes;
  c.device_dtypes = kCopyDTypes;
  c.forward_work = c.backward_work = read_inputs_write_output;
  return c;
}

OpCase stack_case(std::vector<Input> parts, int64_t axis, unsigned purposes) {
  OpCase c = concat_case(std::move(parts), axis, purposes);
  c.op = "stack";
  c.run = [axis](const std::vector<Tensor>& x) { return stack(x, axis); };
  return c;
}

OpCase slice_case(const Shape& s, int64_t axis, int64_t start, int64_t length, unsigned purposes) {
  OpCase c;
  c.op = "slice";
  c.args = "{\"axis\":" + std::to_string(axis) + ",\"start\":" + std::to_string(start) + ",\"length\":" +
           std::to_string(length) + "}";
  c.variant = "axis" + std::to_string(axis) + "[" + std::to_string(start) + ",+" + std::to_string(length) + ")";
  c.inputs = {values(s)};
  c.run = [=](const std::vector<Tensor>& x) { return slice(x[0], axis, start, length); };
  c.purposes = purposes;
  c.device_dtypes = kCopyDTypes;
  c.forward_work = copy_output;
  c.backward_work = read_inputs_write_output;
  return c;
}

OpCase crop_case(const Shape& s, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
                 int64_t width, unsigned purposes) {
  OpCase c;
  c.op = "crop2d";
  c.args = "{\"tops\":" + json_list(tops) + ",\"lefts\":" + json_list(lefts) + ",\"height\":" + std::to_string(height) +
           ",\"width\":" + std::to_string(width) + "}";
  c.variant = std::to_string(height) + "x" + std::to_string(width) + (tops.size() == 1 ? "" : "-per-image");
  Input in = values(s);
  in.nhwc = true;
  c.inputs = {in};
  c.nhwc_output = true;
  c.run = [=](const std::vector<Tensor>& x) { return crop2d(x[0], tops, lefts, height, width); };
  c.purposes = purposes;
  c.device_dtypes = kCopyDTypes;
  c.forward_work = copy_output;
  c.backward_work = read_inputs_write_output;  // the gradient read, the whole input's gradient written
  return c;
}

OpCase index_select_case(const Shape& s, int64_t axis, const std::vector<int64_t>& index, const std::string& variant,
                         unsigned purposes) {
  OpCase c;
  c.op = "index_select";
  c.args = "{\"axis\":" + std::to_string(axis) + ",\"index\":" + json_list(index) + "}";
  c.variant = "axis" + std::to_string(axis) + "-" + variant;
  c.inputs = {values(s)};
  c.run = [=](const std::vector<Tensor>& x) { return index_select(x[0], axis, index); };
  c.purposes = purposes;
  c.torch_exact = true;
  c.device_dtypes = {DType::F32, DType::F64};  // the backward sums: floating types only
  c.forward_work = copy_output;
  c.backward_work = read_inputs_write_output;
  return c;
}

// Random picks along a random axis: repeats, any order; none at all in the first trial.
OpCase random_index_select(Generator& gen, int trial) {
  const int nd = static_cast<int>(rand_int(gen, 1, 4));
  Shape s = random_shape(gen, nd, 6);
  const int axis = static_cast<int>(rand_int(gen, 0, nd - 1));
  if (s[axis] == 0) s[axis] = 1;
  const int64_t count = trial == 0 ? 0 : rand_int(gen, 1, 3 * s[axis]);
  std::vector<int64_t> index;
  for (int64_t j = 0; j < count; ++j) index.push_back(rand_int(gen, 0, s[axis] - 1));
  return index_select_case(s, trial % 2 ? axis - nd : axis, index, std::to_string(count) + "-picks", kChecks);
}

// One end of every edge of the eye mesh, as E_gaze's edge loss reads them (every vertex is
// picked several times).
std::vector<int64_t> eye_edge_ends(int end) {
  std::vector<int64_t> index;
  for (const auto& e : geometry::eye_mesh_template().edges) index.push_back(e[end]);
  return index;
}

// Crops of random size at random per-image offsets (or one offset shared by all images).
OpCase random_crop(Generator& gen) {
  const Shape s{rand_int(gen, 1, 3), rand_int(gen, 1, 8), rand_int(gen, 1, 8), rand_int(gen, 1, 5)};
  const int64_t height = rand_int(gen, 1, s[1]), width = rand_int(gen, 1, s[2]);
  std::vector<int64_t> tops, lefts;
  const int64_t offsets = rand_int(gen, 0, 2) == 0 ? 1 : s[0];
  for (int64_t n = 0; n < offsets; ++n) {
    tops.push_back(rand_int(gen, 0, s[1] - height));
    lefts.push_back(rand_int(gen, 0, s[2] - width));
  }
  return crop_case(s, tops, lefts, height, width, kChecks);
}

// The crops' offsets along an axis of `size` pixels: image n's crop sits near the centre,
// shifted by sign·(n % 3 - 1) pixels.
std::vector<int64_t> crop_offsets(int64_t n, int64_t size, int64_t crop, int sign) {
  std::vector<int64_t> at;
  for (int64_t i = 0; i < n; ++i) at.push_back((size - crop) / 2 + sign * (i % 3 - 1));
  return at;
}

}  // namespace

void add_shape_cases(std::vector<OpCase>& t, Generator& gen) {
  // Random ranks, axes (negative ones too), part counts and sizes along the axis (0
  // included); parts after the first need a gradient half the time.
  for (int trial = 0; trial < 10; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape base = random_shape(gen, nd, 7);
    const int axis = static_cast<int>(rand_int(gen, 0, nd - 1));
    const int count = static_cast<int>(rand_int(gen, 1, 4));
    std::vector<Input> parts, same;
    for (int i = 0; i < count; ++i) {
      Shape s = base;
      s[axis] = rand_int(gen, 0, 4);
      parts.push_back(values(s, i == 0 || rand_int(gen, 0, 1) == 1));
      same.push_back(values(base, i == 0 || rand_int(gen, 0, 1) == 1));
    }
    t.push_back(concat_case(parts, rand_int(gen, 0, 1) ? axis : axis - nd, kChecks));
    t.push_back(stack_case(same, rand_int(gen, -(nd + 1), nd), kChecks));
    const int64_t start = rand_int(gen, 0, base[axis]), length = rand_int(gen, 0, base[axis] - start);
    t.push_back(slice_case(base, trial % 2 ? axis - nd : axis, start, length, kChecks));
    t.push_back(random_crop(gen));
    t.push_back(random_index_select(gen, trial));
  }
  // The model's uses: image and sketch joined on channels (NHWC's last dim, strided rows),
  // along the batch, on a new last axis; a mouth crop per image.
  t.push_back(concat_case({values({2, 9, 7, 3}), values({2, 9, 7, 3})}, -1, kChecks));
  t.push_back(concat_case({values({1, 4, 5, 2}), values({3, 4, 5, 2}), values({2, 4, 5, 2})}, 0, kChecks));
  t.push_back(stack_case({values({3, 5}), values({3, 5}), values({3, 5})}, -1, kChecks));
  t.push_back(crop_case({3, 17, 20, 3}, {3, 0, 9}, {1, 12, 6}, 8, 8, kChecks));

  // The devices: the discriminator's input (sketch + image) at tiny to paper sizes, joins of
  // uneven parts, an empty part, more parts than one launch takes; stacks on every axis.
  const std::vector<std::pair<std::vector<Shape>, int64_t>> joins = {
      {{{2, 64, 64, 3}, {2, 64, 64, 3}}, 3},
      {{{1, 256, 256, 3}, {1, 256, 256, 3}}, 3},
      {{{8, 256, 256, 3}, {8, 256, 256, 3}}, -1},
      {{{1, 32, 32, 3}, {1, 32, 32, 1}, {1, 32, 32, 2}}, 3},
      {{{2, 3}, {5, 3}}, 0},
      {{{4, 0, 2}, {4, 3, 2}}, 1},
      {{{3}, {1}, {2}, {4}, {1}, {1}, {2}, {3}, {5}, {2}}, 0},
      {{{2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1}, {2, 3, 1},
        {2, 3, 1}},
       2},
  };
  for (const auto& [shapes, axis] : joins) {
    std::vector<Input> parts;
    for (const Shape& s : shapes) parts.push_back(values(s));
    t.push_back(concat_case(parts, axis, kDevice));
  }
  for (int64_t axis : {0, 1, 4, -1})
    t.push_back(stack_case({values({2, 16, 16, 8}), values({2, 16, 16, 8}), values({2, 16, 16, 8})}, axis, kDevice));
  // Slices along every axis, an empty one; crops at per-image offsets and one for all.
  const Shape block{3, 40, 36, 5};
  for (const auto& [axis, start, length] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {0, 1, 2}, {1, 3, 30}, {2, 35, 1}, {3, 1, 3}, {-1, 0, 5}, {1, 5, 0}})
    t.push_back(slice_case(block, axis, start, length, kDevice));
  t.push_back(crop_case(block, {3, 0, 10}, {7, 2, 0}, 20, 16, kDevice));
  t.push_back(crop_case(block, {4}, {9}, 20, 16, kDevice));
  // The networks' slices: a ring of the eye mesh ([B,482,3], 32 vertices), an angle out of
  // [B,2], channel ranges of NHWC maps (the halves of a discriminator input, a flow's axis);
  // the mouth crop (S/4 at per-image offsets) at tiny, small and paper sizes.
  for (const auto& [s, axis, start, length] : std::vector<std::tuple<Shape, int64_t, int64_t, int64_t>>{
           {{2, 482, 3}, 1, 416, 32}, {{2, 2}, 1, 1, 1}, {{2, 64, 64, 6}, 3, 3, 3}, {{1, 256, 256, 6}, 3, 0, 3},
           {{2, 128, 128, 2}, -1, 1, 1}}) {
    OpCase c = slice_case(s, axis, start, length, kDevice);
    c.device_dtypes = {DType::F32, DType::F64};
    t.push_back(c);
  }
  t.push_back(index_select_case({2, 482, 3}, 1, eye_edge_ends(0), "eye-edges-first", kDevice));
  t.push_back(index_select_case({3, 482, 3}, 1, eye_edge_ends(1), "eye-edges-second", kChecks));
  for (int64_t S : {64, 128, 256}) {
    OpCase c = crop_case({2, S, S, 3}, {S / 2, S / 2 + 3}, {S / 3, S / 3 - 5}, S / 4, S / 4, kDevice);
    c.device_dtypes = {DType::F32, DType::F64};
    t.push_back(c);
  }

  // The benchmarks (paper config, batch 1 and 8): two 3×256² images joined on channels (the
  // discriminator's and the flow network's 6-channel inputs); the discriminator's mouth crop
  // (S/4 = 64) near the centre of each image.
  for (int64_t n : {1, 8}) {
    t.push_back(concat_case({values({n, 256, 256, 3}), values({n, 256, 256, 3})}, 3, kBench));
    t.push_back(crop_case({n, 256, 256, 3}, crop_offsets(n, 256, 64, 1), crop_offsets(n, 256, 64, -1), 64, 64, kBench));
  }
  // E_gaze's edge loss at its training batch (32 pairs of eyes): one end of every edge.
  t.push_back(index_select_case({64, 482, 3}, 1, eye_edge_ends(0), "eye-edges-first", kBench));
}

}  // namespace fh::test::ops
