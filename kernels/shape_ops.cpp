// Entry points of the shape ops (concat, stack, split, slice, per-image crops, index_select
// and their gradients), all copies between contiguous tensors: concat, stack and split view their
// operands as rows joined side by side (concat_rows / split_rows); slices and crops are
// box copies (RegionCopy).
#include <string>

#include "kernels/core.h"
#include "kernels/dispatch.h"
#include "kernels/pool_types.h"
#include "kernels/shape_ops.h"

namespace fh::kernels {

using detail::check_same;

RegionCopy make_region_copy(const Shape& sizes, const Shape& src_shape, const int64_t* src_start,
                            const Shape& dst_shape, const int64_t* dst_start) {
  FH_CHECK(sizes.size() == src_shape.size() && sizes.size() == dst_shape.size(), "region_copy", "box ", sizes,
           " does not have the dims of source ", src_shape, " and destination ", dst_shape);
  const std::vector<int64_t> ss = src_shape.strides(), ds = dst_shape.strides();
  RegionCopy R;
  R.numel = sizes.numel();
  for (int d = 0; d < sizes.size(); ++d) {
    R.src_offset += src_start[d] * ss[d];
    R.dst_offset += dst_start[d] * ds[d];
  }
  // Drop size-1 dims; merge a dim into the previous kept one when both sides walk the
  // pair as one run (outer stride = inner stride × inner size).
  for (int d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    const int last = R.ndim - 1;
    if (last >= 0 && R.src_strides[last] == ss[d] * sizes[d] && R.dst_strides[last] == ds[d] * sizes[d]) {
      R.sizes[last] *= sizes[d];
      R.src_strides[last] = ss[d];
      R.dst_strides[last] = ds[d];
    } else {
      R.sizes[R.ndim] = sizes[d];
      R.src_strides[R.ndim] = ss[d];
      R.dst_strides[R.ndim] = ds[d];
      ++R.ndim;
    }
  }
  return R;
}

namespace {

// Elements over the dims before `axis` (the rows of a joined view) and over the dims after
// it (the elements each index of `axis` holds within a row).
int64_t outer_size(const Shape& s, int axis) {
  int64_t n = 1;
  for (int d = 0; d < axis; ++d) n *= s[d];
  return n;
}
int64_t inner_size(const Shape& s, int axis) {
  int64_t n = 1;
  for (int d = axis + 1; d < s.size(); ++d) n *= s[d];
  return n;
}

std::string list_text(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string shapes_text(const std::vector<Tensor>& xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + xs[i].shape().str();
  return s;
}

// dst's box at dst_start (of src's sizes) = all of src.
void place(const Tensor& src, Tensor& dst, const int64_t* dst_start) {
  if (src.numel() == 0) return;
  const int64_t zero[kMaxLayoutDims] = {};
  const RegionCopy region = make_region_copy(src.shape(), src.shape(), zero, dst.shape(), dst_start);
  FH_BACKEND(dst.device(), region_copy, src, region, dst);
}

// All of dst = src's box at src_start (of dst's sizes).
void take(const Tensor& src, const int64_t* src_start, Tensor& dst) {
  if (dst.numel() == 0) return;
  const int64_t zero[kMaxLayoutDims] = {};
  const RegionCopy region = make_region_copy(dst.shape(), src.shape(), src_start, dst.shape(), zero);
  FH_BACKEND(src.device(), region_copy, src, region, dst);
}

void check_range(const char* op, const Shape& shape, int axis, int64_t start, int64_t length) {
  FH_CHECK(start >= 0 && length >= 0 && start + length <= shape[axis], op, "range [", start, ", ", start + length,
           ") of length ", length, " does not fit dim ", axis, " of ", shape, " (size ", shape[axis], ")");
}

// One offset per image, or one shared by all: the offsets of image n.
int64_t per_image(const std::vector<int64_t>& offsets, int64_t n) { return offsets.size() == 1 ? offsets[0] : offsets[n]; }

void check_crops(const char* op, const Shape& in, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts,
                 int64_t height, int64_t width) {
  check_nhwc(op, "input", in);
  const size_t n = static_cast<size_t>(in[0]);
  FH_CHECK((tops.size() == n || tops.size() == 1) && (lefts.size() == n || lefts.size() == 1), op, "input ", in,
           " has ", n, " images but ", tops.size(), " tops and ", lefts.size(), " lefts were given (need ", n,
           " or 1 each)");
  FH_CHECK(height >= 0 && width >= 0, op, "crop size ", height, "x", width, " is negative (input ", in, ")");
  for (int64_t i = 0; i < in[0]; ++i) {
    const int64_t top = per_image(tops, i), left = per_image(lefts, i);
    FH_CHECK(top >= 0 && left >= 0 && top + height <= in[1] && left + width <= in[2], op, "the ", height, "x", width,
             " crop at (top ", top, ", left ", left, ") of image ", i, " does not fit the ", in[1], "x", in[2],
             " image of input ", in);
  }
}

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  FH_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const Shape& first = xs[0].shape();
  const int a = first.wrap_dim(axis, "concat");
  Shape out_shape = first;
  out_shape[a] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_same("concat", xs[0], xs[i]);
    const Shape& s = xs[i].shape();
    bool fits = s.size() == first.size();
    for (int d = 0; d < first.size() && fits; ++d) fits = d == a || s[d] == first[d];
    FH_CHECK(fits, "concat", "tensor ", i, " ", s, " differs from tensor 0 ", first, " outside dim ", a,
             " (shapes: ", shapes_text(xs), ")");
    out_shape[a] += s[a];
  }
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  if (out.numel() == 0) return out;
  std::vector<int64_t> widths;
  for (const Tensor& x : xs) widths.push_back(x.size(a) * inner_size(out_shape, a));
  FH_BACKEND(out.device(), concat_rows, xs, widths, outer_size(out_shape, a), out);
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t axis, const std::vector<int64_t>& lengths,
                          const std::vector<bool>& wanted) {
  const int a = x.shape().wrap_dim(axis, "split");
  FH_CHECK(wanted.empty() || wanted.size() == lengths.size(), "split", lengths.size(), " lengths but ", wanted.size(),
           " wanted flags (splitting ", x.shape(), ")");
  int64_t sum = 0;
  for (int64_t len : lengths) {
    FH_CHECK(len >= 0, "split", "lengths ", list_text(lengths), " include a negative one (splitting ", x.shape(), ")");
    sum += len;
  }
  FH_CHECK(sum == x.size(a), "split", "lengths ", list_text(lengths), " add up to ", sum, ", not to size ",
           x.size(a), " of dim ", a, " of ", x.shape());
  std::vector<Tensor> parts(lengths.size());
  std::vector<int64_t> widths;
  bool any = false;
  for (size_t i = 0; i < lengths.size(); ++i) {
    widths.push_back(lengths[i] * inner_size(x.shape(), a));
    if (!wanted.empty() && !wanted[i]) continue;
    Shape s = x.shape();
    s[a] = lengths[i];
    parts[i] = Tensor::empty(s, x.dtype(), x.device());
    any = any || parts[i].numel() > 0;
  }
  if (any) FH_BACKEND(x.device(), split_rows, x, widths, outer_size(x.shape(), a), parts);
  return parts;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  FH_CHECK(!xs.empty(), "stack", "needs at least one tensor");
  const Shape& first = xs[0].shape();
  const int64_t nd = first.size();
  FH_CHECK(nd < Shape::kMaxDims, "stack", "tensors of shape ", first, " already have the most dims a tensor can");
  FH_CHECK(axis >= -(nd + 1) && axis <= nd, "stack", "axis ", axis, " is out of range for stacking tensors of shape ",
           first, " (valid: ", -(nd + 1), " to ", nd, ")");
  const int a = static_cast<int>(axis < 0 ? axis + nd + 1 : axis);
  Shape view = first;
  view.insert(a, 1);
  for (size_t i = 0; i < xs.size(); ++i) {
    check_same("stack", xs[0], xs[i]);
    FH_CHECK(xs[i].shape() == xs[0].shape(), "stack", "tensor ", i, " ", xs[i].shape(), " differs from tensor 0 ",
             xs[0].shape(), " (shapes: ", shapes_text(xs), ")");
  }
  Shape out_shape = view;
  out_shape[a] = static_cast<int64_t>(xs.size());
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  if (out.numel() == 0) return out;
  // Stacking is concatenating the inputs viewed with a size-1 dim at the new axis.
  const std::vector<int64_t> widths(xs.size(), inner_size(view, a));
  FH_BACKEND(out.device(), concat_rows, xs, widths, outer_size(view, a), out);
  return out;
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  const int a = x.shape().wrap_dim(axis, "slice");
  check_range("slice", x.shape(), a, start, length);
  Shape out_shape = x.shape();
  out_shape[a] = length;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  int64_t at[kMaxLayoutDims] = {};
  at[a] = start;
  take(x, at, out);
  return out;
}

Tensor slice_backward(const Tensor& grad, const Shape& input_shape, int64_t axis, int64_t start) {
  const int a = input_shape.wrap_dim(axis, "slice_backward");
  bool fits = grad.dim() == input_shape.size();
  for (int d = 0; d < input_shape.size() && fits; ++d) fits = d == a || grad.size(d) == input_shape[d];
  FH_CHECK(fits, "slice_backward", "gradient ", grad.shape(), " differs from input ", input_shape, " outside dim ", a);
  check_range("slice_backward", input_shape, a, start, grad.size(a));
  Tensor grad_in = Tensor::zeros(input_shape, grad.dtype(), grad.device());
  int64_t at[kMaxLayoutDims] = {};
  at[a] = start;
  place(grad, grad_in, at);
  return grad_in;
}

Tensor crop2d(const Tensor& x, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
              int64_t width) {
  check_crops("crop2d", x.shape(), tops, lefts, height, width);
  const int64_t N = x.size(0), C = x.size(3);
  Tensor out = Tensor::empty({N, height, width, C}, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  const Shape box{1, height, width, C};
  for (int64_t n = 0; n < N; ++n) {
    const int64_t at[4] = {n, per_image(tops, n), per_image(lefts, n), 0};
    const int64_t to[4] = {n, 0, 0, 0};
    const RegionCopy region = make_region_copy(box, x.shape(), at, out.shape(), to);
    FH_BACKEND(x.device(), region_copy, x, region, out);
  }
  return out;
}

Tensor crop2d_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& tops,
                       const std::vector<int64_t>& lefts) {
  FH_CHECK(grad.dim() == 4 && input_shape.size() == 4 && grad.size(0) == input_shape[0] &&
               grad.size(3) == input_shape[3],
           "crop2d_backward", "gradient ", grad.shape(), " is not a crop of input ", input_shape);
  check_crops("crop2d_backward", input_shape, tops, lefts, grad.size(1), grad.size(2));
  Tensor grad_in = Tensor::zeros(input_shape, grad.dtype(), grad.device());
  if (grad.numel() == 0) return grad_in;
  const Shape box{1, grad.size(1), grad.size(2), grad.size(3)};
  for (int64_t n = 0; n < input_shape[0]; ++n) {
    const int64_t from[4] = {n, 0, 0, 0};
    const int64_t at[4] = {n, per_image(tops, n), per_image(lefts, n), 0};
    const RegionCopy region = make_region_copy(box, grad.shape(), from, input_shape, at);
    FH_BACKEND(grad.device(), region_copy, grad, region, grad_in);
  }
  return grad_in;
}

namespace {

void check_index(const char* op, const Shape& shape, int axis, const std::vector<int64_t>& index) {
  for (size_t j = 0; j < index.size(); ++j)
    FH_CHECK(index[j] >= 0 && index[j] < shape[axis], op, "index ", j, " is ", index[j], ", outside dim ", axis,
             " of ", shape, " (size ", shape[axis], ")");
}

Tensor index_tensor(const std::vector<int64_t>& values, Device device) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size())}).to(device);
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index) {
  const int a = x.shape().wrap_dim(axis, "index_select");
  check_index("index_select", x.shape(), a, index);
  Shape out_shape = x.shape();
  out_shape[a] = static_cast<int64_t>(index.size());
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), index_select, x, index_tensor(index, x.device()), outer_size(x.shape(), a),
             inner_size(x.shape(), a), out);
  return out;
}

Tensor index_select_backward(const Tensor& grad, const Shape& input_shape, int64_t axis,
                             const std::vector<int64_t>& index) {
  const int a = input_shape.wrap_dim(axis, "index_select_backward");
  Shape expected = input_shape;
  expected[a] = static_cast<int64_t>(index.size());
  FH_CHECK(grad.shape() == expected, "index_select_backward", "gradient ", grad.shape(), " is not ", expected,
           ", the shape ", index.size(), " indices pick from input ", input_shape, " along dim ", a);
  FH_CHECK(grad.dtype() == DType::F32 || grad.dtype() == DType::F64, "index_select_backward", "gradient ",
           grad.describe(), " must be float32 or float64");
  check_index("index_select_backward", input_shape, a, index);
  Tensor grad_in = Tensor::empty(input_shape, grad.dtype(), grad.device());
  if (grad_in.numel() == 0) return grad_in;
  // The inverse index: for every input entry i, the j that picked it in increasing order (a
  // counting sort), so each entry of the gradient is one ordered sum.
  const size_t size = static_cast<size_t>(input_shape[a]);
  std::vector<int64_t> offsets(size + 1, 0), positions(index.size());
  for (int64_t i : index) ++offsets[static_cast<size_t>(i) + 1];
  for (size_t i = 0; i < size; ++i) offsets[i + 1] += offsets[i];
  std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
  for (size_t j = 0; j < index.size(); ++j)
    positions[static_cast<size_t>(next[static_cast<size_t>(index[j])]++)] = static_cast<int64_t>(j);
  FH_BACKEND(grad.device(), index_select_backward, grad, index_tensor(offsets, grad.device()),
             index_tensor(positions, grad.device()), outer_size(input_shape, a), inner_size(input_shape, a), grad_in);
  return grad_in;
}

}  // namespace fh::kernels
