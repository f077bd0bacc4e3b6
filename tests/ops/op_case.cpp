#include "tests/ops/op_case.h"

#include <algorithm>
#include <cmath>

#include "kernels/core.h"

namespace fh::test::ops {

namespace {

// The families and their builders, in table order.
struct Family {
  const char* name;
  void (*add)(std::vector<OpCase>&, Generator&);
};
const Family kFamilies[] = {
    {"core", add_core_cases},
    {"pool", add_pool_cases},
    {"shape", add_shape_cases},
    {"warp", add_warp_cases},
    {"norm", add_norm_cases},
    {"pointwise", add_pointwise_cases},
    {"conv", add_conv_cases},
};

std::string join_shapes(const std::vector<Input>& inputs, const char* sep) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) s += (i ? sep : "") + inputs[i].shape.str();
  return s;
}

}  // namespace

std::string OpCase::shapes() const { return join_shapes(inputs, "+"); }

std::string OpCase::name() const { return op + " " + shapes() + (variant.empty() ? "" : " " + variant); }

void OpCase::compare_devices_within(Tolerance out_f32, Tolerance out_f64, Tolerance grad_f32, Tolerance grad_f64) {
  device_exact = device_grads_exact = false;
  device_tol_f32 = out_f32, device_tol_f64 = out_f64;
  device_grad_tol_f32.assign(inputs.size(), grad_f32);
  device_grad_tol_f64.assign(inputs.size(), grad_f64);
}

uint64_t family_seed(uint64_t seed, const std::string& family) {
  // FNV-1a of the name: a family's random cases do not move when another family changes.
  uint64_t h = 14695981039346656037ull;
  for (char ch : family) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return seed ^ h;
}

std::vector<OpCase> op_table(uint64_t seed) {
  std::vector<OpCase> table;
  for (const Family& f : kFamilies) {
    Generator gen(family_seed(seed, f.name));
    const size_t first = table.size();
    f.add(table, gen);
    for (size_t i = first; i < table.size(); ++i) {
      table[i].family = f.name;
      table[i].index_in_family = i - first;
    }
  }
  return table;
}

std::vector<std::string> op_families() {
  std::vector<std::string> names;
  for (const Family& f : kFamilies) names.push_back(f.name);
  return names;
}

Tensor draw_input(const Input& in, DType dtype, Generator& gen) {
  Tensor x;
  switch (in.values) {
    case Values::Normal:
      x = randn(in.shape, gen, in.a, in.b, DType::F64);
      break;
    case Values::Uniform:
      x = rand(in.shape, gen, in.a, in.b, DType::F64);
      break;
    case Values::Distinct: {
      const int64_t n = in.shape.numel();
      const std::vector<double> u = rand({n}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return u[p] < u[q]; });
      std::vector<double> v(static_cast<size_t>(n));
      for (int64_t rank = 0; rank < n; ++rank)
        v[order[rank]] = -1.0 + 2.0 * static_cast<double>(rank) / static_cast<double>(n);
      x = Tensor::from_vector(v, in.shape);
      break;
    }
    case Values::Tied: {
      std::vector<double> v = rand(in.shape, gen, in.a, in.b, DType::F64).to_vector<double>();
      for (double& e : v) e = std::round(e * 2.0) / 2.0;
      x = Tensor::from_vector(v, in.shape);
      break;
    }
    case Values::Given:
      x = in.given.to(DType::F64).clone();
      break;
    case Values::Custom:
      return in.custom(in.shape, gen, dtype);
  }
  return dtype == DType::F64 ? x : kernels::cast(x, dtype);
}

std::vector<Tensor> draw_inputs(const OpCase& c, DType dtype, Generator& gen) {
  std::vector<Tensor> xs;
  for (const Input& in : c.inputs) {
    Tensor x = draw_input(in, dtype, gen);
    if (in.requires_grad && is_floating(dtype)) x.requires_grad_();
    xs.push_back(x);
  }
  return xs;
}

double elements(const Shape& s) { return static_cast<double>(s.numel()); }

Work read_inputs_write_output(const std::vector<Shape>& inputs, const Shape& output) {
  double n = elements(output);
  for (const Shape& s : inputs) n += elements(s);
  return {0, 4.0 * n};
}

std::string json_list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace fh::test::ops
