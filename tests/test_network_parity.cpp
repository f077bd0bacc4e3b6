// Every network against the PyTorch reference model written from the same description
// (docs/networks.md; tools/reference/): eval-mode forward at `tiny` and `small`, with one and three sources;
// train-mode backward at `tiny` (gradients of every parameter and input, and the updated
// buffers); and weights going both ways — files written by freehead run in PyTorch, files
// written by PyTorch run in freehead.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nets/registry.h"
#include "runtime/random.h"
#include "tests/harness/oracle.h"
#include "tests/harness/parity.h"
#include "tests/harness/tolerance.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;
using namespace fh;

namespace {

fs::path work_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("fh-net-parity-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string path_of(const std::string& name) { return (work_dir() / name).string(); }

nn::TensorMap load_map(const std::string& path) {
  nn::TensorMap m;
  for (auto& [k, v] : safetensors::load(path).tensors) m[k] = v;
  return m;
}

void save_map(const std::string& path, const nn::TensorMap& m) {
  safetensors::NamedTensors named(m.begin(), m.end());
  safetensors::save(path, named);
}

// Float32 through tens of layers: differences come from summation order in convs and
// norms and grow with depth; relative terms cover the large activations of deep layers.
constexpr test::Tolerance kForwardTol{5e-5, 5e-4};
// Backward parity runs in float64 on both sides: gradients through train-mode BatchNorm
// over a few values and through bilinear warps (whose flow gradient jumps at integer
// coordinates) amplify float32 rounding far beyond any useful tolerance, while in float64
// the two implementations agree to the float32 rounding of the exchanged results.
constexpr test::Tolerance kFloat64Tol{1e-6, 1e-5};

struct Worst {
  double fraction = 0;
  std::string where;
  void update(const test::Comparison& c, const std::string& name) {
    if (c.worst_fraction > fraction) {
      fraction = c.worst_fraction;
      where = name;
    }
  }
};

void compare_maps(const nn::TensorMap& ours, const nn::TensorMap& ref, test::Tolerance tol, const std::string& what,
                  Worst& worst) {
  for (const auto& [name, t] : ref) {
    CAPTURE(what);
    CAPTURE(name);
    const auto it = ours.find(name);
    REQUIRE_MESSAGE(it != ours.end(), "freehead did not produce ", name);
    REQUIRE(it->second.shape() == t.shape());
    const test::Comparison c = test::compare(it->second.to(DType::F32), t, tol);
    INFO(c.report(what + " " + name));
    CHECK(c.ok());
    worst.update(c, what + " " + name);
  }
}

nn::TensorMap run_ours(nets::Network& net, const nn::TensorMap& inputs) {
  NoGradGuard no_grad;
  return net.forward(inputs);
}

struct NetCase {
  std::string net;
  int64_t batch, sources;
};

const NetCase kCases[] = {{"kp", 2, 1},         {"gaze", 2, 1},       {"gen", 2, 1}, {"gen-nshot", 1, 3},
                          {"disc_image", 2, 1}, {"disc_mouth", 2, 1}, {"vgg", 1, 1}};

// Eval forward with freehead's weights, run by both.
void forward_parity(const std::string& config, bool pytorch_weights) {
  Worst worst;
  for (const NetCase& c : kCases) {
    if (c.net == "vgg" && config != "tiny") continue;  // VGG has one size; its image size is the config's S
    CAPTURE(c.net);
    CAPTURE(config);
    auto net = nets::make_network(c.net, nets::config(config));
    const std::string tag = c.net + "-" + config + (pytorch_weights ? "-pt" : "-fh");
    const std::string weights = path_of(tag + ".weights.safetensors");
    if (pytorch_weights) {
      test::run_reference({"init", "--net", c.net, "--config", config, "--seed", "11", "--out", weights});
      nn::load_weights(net->module(), load_map(weights), net->prefix(), weights);
    } else {
      Generator g(21);
      net->module().reset_parameters(g);
      safetensors::save(weights, net->module().state_dict(net->prefix()));
    }
    net->module().eval();
    Generator g(31);
    const nn::TensorMap inputs = nets::random_inputs(*net, c.batch, c.sources, g);
    save_map(path_of(tag + ".in.safetensors"), inputs);
    test::run_reference({"forward", "--net", c.net, "--config", config, "--weights", weights, "--inputs",
                         path_of(tag + ".in.safetensors"), "--output", path_of(tag + ".out.safetensors")});
    compare_maps(run_ours(*net, inputs), load_map(path_of(tag + ".out.safetensors")), kForwardTol, tag, worst);
  }
  MESSAGE("worst fraction of threshold: ", worst.fraction, " (", worst.where, ")");
}

}  // namespace

TEST_CASE("PyTorch reference: every network's eval forward at tiny, freehead weights") {
  if (test::skip_without_oracle()) return;
  forward_parity("tiny", false);
}

TEST_CASE("PyTorch reference: every network's eval forward at tiny, weights written by PyTorch") {
  if (test::skip_without_oracle()) return;
  forward_parity("tiny", true);
}

TEST_CASE("PyTorch reference: every network's eval forward at small") {
  if (test::skip_without_oracle()) return;
  forward_parity("small", false);
}

TEST_CASE("PyTorch reference: train-mode backward at tiny, every parameter and input gradient") {
  if (test::skip_without_oracle()) return;
  Worst worst;
  for (const NetCase& c : kCases) {
    CAPTURE(c.net);
    auto net = nets::make_network(c.net, nets::config("tiny"));
    const std::string tag = c.net + "-tiny-bwd";
    Generator g(41);
    net->module().reset_parameters(g);
    const std::string weights = path_of(tag + ".weights.safetensors");
    safetensors::save(weights, net->module().state_dict(net->prefix()));
    net->module().to(DType::F64);
    net->module().train();

    nn::TensorMap inputs = nets::random_inputs(*net, c.batch, c.sources, g);
    for (auto& [name, t] : inputs) t = t.to(DType::F64);
    nn::TensorMap file = inputs;
    for (auto& [name, t] : inputs) t.requires_grad_(true);
    const nn::TensorMap outputs = net->forward(inputs);
    Tensor loss;
    for (const auto& [name, y] : outputs) {
      // E_gaze's angles are evaluation outputs computed without a gradient (its loss uses
      // the gaze vector), so they send none back.
      if (c.net == "gaze" && (name == "theta" || name == "phi")) continue;
      const Tensor cot = randn(y.shape(), g, 0.0, 1.0, DType::F64);
      file["cotangent." + name] = cot;
      const Tensor term = sum(mul(y, cot));
      loss = loss.defined() ? add(loss, term) : term;
    }
    loss.backward();
    save_map(path_of(tag + ".in.safetensors"), file);
    test::run_reference({"forward", "--net", c.net, "--config", "tiny", "--weights", weights, "--inputs",
                         path_of(tag + ".in.safetensors"), "--output", path_of(tag + ".out.safetensors"), "--train",
                         "--backward", "--dtype", "float64"});
    const nn::TensorMap ref = load_map(path_of(tag + ".out.safetensors"));

    nn::TensorMap ours, ref_outputs, ref_grads, ref_state;
    for (const auto& [name, t] : ref) {
      if (name.rfind("grad.", 0) == 0) ref_grads[name] = t;
      else if (name.rfind("state.", 0) == 0) ref_state[name] = t;
      else ref_outputs[name] = t;
    }
    for (const auto& [name, y] : outputs) ours[name] = y.detach();
    compare_maps(ours, ref_outputs, kFloat64Tol, tag + " output", worst);

    // Gradients: inputs as they are (NCHW), parameters in the file layout.
    nn::TensorMap our_grads, our_state;
    for (const auto& [name, t] : inputs) our_grads["grad.input." + name] = t.grad();
    nn::TensorMap grads_by_param;
    for (const auto& [name, p] : net->module().named_parameters(net->prefix())) {
      REQUIRE_MESSAGE(p.grad().defined(), name, " received no gradient");
      grads_by_param[name] = p.grad();
    }
    for (const auto& [name, t] : ref_grads) {
      if (name.rfind("grad.input.", 0) == 0) continue;
      const std::string param = name.substr(5);
      REQUIRE_MESSAGE(grads_by_param.count(param), "freehead has no parameter ", param);
      Tensor g_ours = grads_by_param[param];
      if (g_ours.dim() == 4) g_ours = permute(g_ours, {0, 3, 1, 2});  // conv weights: [O,kh,kw,I] → [O,I,kh,kw]
      our_grads[name] = g_ours;
    }
    compare_maps(our_grads, ref_grads, kFloat64Tol, tag + " gradient", worst);
    CHECK(ref_grads.size() == grads_by_param.size() + inputs.size());

    // Buffers after one training step: BatchNorm running statistics, spectral-norm u.
    for (const auto& [name, t] : net->module().named_buffers(net->prefix())) our_state["state." + name] = t;
    nn::TensorMap comparable;
    for (const auto& [name, t] : ref_state)
      if (our_state.count(name)) comparable[name] = t;
    CHECK(comparable.size() == ref_state.size());
    nn::TensorMap ours_state_file;
    for (const auto& [name, t] : comparable) {
      Tensor o = our_state[name];
      if (o.dim() == 4) o = permute(o, {0, 3, 1, 2});
      ours_state_file[name] = o;
    }
    compare_maps(ours_state_file, comparable, kFloat64Tol, tag + " buffer", worst);
  }
  MESSAGE("worst fraction of threshold: ", worst.fraction, " (", worst.where, ")");
}

TEST_CASE("PyTorch reference: a torchvision ResNet-34 converted to safetensors loads into E_gaze's backbone") {
  if (test::skip_without_oracle()) return;
  // A state dict under torchvision's names (with fc and num_batches_tracked, as torchvision
  // saves it), converted by tools/reference/convert_torchvision.py.
  const std::string pth = path_of("resnet34.pth"), converted = path_of("resnet34.safetensors");
  test::run_python({"-c",
                    "import sys, torch; sys.path.insert(0, sys.argv[2]); import model as M\n"
                    "torch.manual_seed(5); b = M.ResNet34Backbone(1.0); sd = dict(b.state_dict())\n"
                    "sd['fc.weight'] = torch.zeros(1000, 512); sd['fc.bias'] = torch.zeros(1000)\n"
                    "torch.save(sd, sys.argv[1])",
                    pth, test::reference_dir()});
  test::run_python({test::reference_dir() + "/convert_torchvision.py", "resnet34", pth, converted});
  const nn::TensorMap file = load_map(converted);
  CHECK(file.count("gaze.backbone.layer4.2.bn2.running_var"));
  CHECK(!file.count("gaze.backbone.fc.weight"));
  auto net = nets::make_network("gaze", nets::config("paper"));
  const nn::LoadReport report = net->module().load_state_dict(file, "gaze.", /*allow_partial=*/true);
  CHECK(report.unexpected.empty());
  CHECK(report.mismatched.empty());
  // Only the neck and the head are left to initialise.
  for (const auto& name : report.missing) CHECK((name.rfind("gaze.neck.", 0) == 0 || name.rfind("gaze.head.", 0) == 0));
  CHECK(report.missing.size() == 7);
  const nn::TensorMap loaded = [&] {
    nn::TensorMap m;
    for (auto& [k, v] : net->module().state_dict("gaze.")) m[k] = v;
    return m;
  }();
  CHECK(loaded.at("gaze.backbone.layer3.4.conv2.weight").to_vector<float>() ==
        file.at("gaze.backbone.layer3.4.conv2.weight").to_vector<float>());
}
