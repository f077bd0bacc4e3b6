// The networks on their own: weights files (round trips, refusals that list every
// problem), spectral normalisation, N-shot fusion and shapes. Parity with the PyTorch
// reference model lives in test_network_parity.cpp.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "layers/basic.h"
#include "layers/flops.h"
#include "layers/spade.h"
#include "geometry/conventions.h"
#include "geometry/keypoints.h"
#include "nets/keypoint_net.h"
#include "nets/registry.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;
using namespace fh;

namespace {

fs::path net_temp(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("fh-net-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::unique_ptr<nets::Network> fresh(const std::string& name, uint64_t seed, const std::string& cfg = "tiny") {
  auto net = nets::make_network(name, nets::config(cfg));
  Generator g(seed);
  net->module().reset_parameters(g);
  net->module().eval();
  return net;
}

nn::TensorMap as_map(const nn::NamedTensors& named) {
  nn::TensorMap m;
  for (const auto& [k, v] : named) m[k] = v;
  return m;
}

}  // namespace

TEST_CASE("networks: a saved state dict loads into a fresh network and reproduces its outputs exactly") {
  for (const std::string name : {"kp", "gaze", "gen", "gen-nshot", "disc_image", "disc_mouth"}) {
    CAPTURE(name);
    auto a = fresh(name, 1), b = fresh(name, 2);
    const fs::path file = net_temp(name + ".safetensors");
    safetensors::save(file.string(), a->module().state_dict(a->prefix()));
    Generator g(3);
    const nn::TensorMap in = nets::random_inputs(*a, 2, name == "gen-nshot" ? 3 : 1, g);
    NoGradGuard no_grad;
    const nn::TensorMap before = b->forward(in);
    nn::load_weights(b->module(), as_map(safetensors::load(file.string()).tensors), b->prefix(), file.string());
    const nn::TensorMap ya = a->forward(in), yb = b->forward(in);
    REQUIRE(ya.size() == yb.size());
    bool any_changed = false;
    for (const auto& [k, t] : ya) {
      CAPTURE(k);
      CHECK(t.to_vector<float>() == yb.at(k).to_vector<float>());
      any_changed |= before.at(k).to_vector<float>() != yb.at(k).to_vector<float>();
    }
    CHECK(any_changed);  // the load did replace the weights
  }
}

TEST_CASE("networks: E_can's mirror-averaged reading of a mirrored face is the mirror of its reading, and obeys Eq. 1") {
  NoGradGuard no_grad;
  nets::KeypointNet net(nets::config("tiny"));
  Generator g(23);
  net.reset_parameters(g);
  net.eval();
  const Tensor image = rand({2, 64, 64, 3}, g, -1.0, 1.0);
  std::vector<int64_t> reversed(64);
  for (int64_t x = 0; x < 64; ++x) reversed[static_cast<size_t>(x)] = 63 - x;
  const Tensor mirror_image = index_select(image, 2, reversed);  // each row read right to left
  const nets::KeypointOutput a = net.forward_mirror_averaged(image), b = net.forward_mirror_averaged(mirror_image);
  const test::Tolerance tol{1e-6, 1e-5};
  FH_CHECK_CLOSE(b.yaw, neg(a.yaw), tol, "yaw");
  FH_CHECK_CLOSE(b.pitch, a.pitch, tol, "pitch");
  FH_CHECK_CLOSE(b.roll, neg(a.roll), tol, "roll");
  FH_CHECK_CLOSE(b.scale, a.scale, tol, "scale");
  const Tensor flip_x = Tensor::from_vector(std::vector<float>{-1, 1, 1}, {3});
  FH_CHECK_CLOSE(b.translation, mul(a.translation, flip_x), tol, "translation");
  const auto& m = geometry::mirrored_keypoints();
  const std::vector<int64_t> partner(m.begin(), m.end());
  FH_CHECK_CLOSE(b.points, mul(index_select(a.points, 1, partner), flip_x), tol, "points");
  FH_CHECK_CLOSE(b.expression, mul(index_select(a.expression, 1, partner), flip_x), tol, "deformation");
  // Eq. 2 puts the canonical points back on the averaged points: Eq. 1 then Eq. 2 in float32
  // round a few times over values below 2 (each rounding ≤ 2^-24 relative), a few 1e-7 at
  // most; 1e-5 leaves room for s·R's products without admitting a wrong R or t (errors of
  // 1e-2 and more).
  FH_CHECK_CLOSE(geometry::posed_from_canonical(a.canonical, a.rotation, a.translation, a.scale, a.expression),
                 a.points, (test::Tolerance{1e-5, 1e-5}), "Eq. 2");
  // And the average is not one of the two readings: a random network reads a face and its
  // mirror image differently.
  const nets::KeypointOutput once = net.forward(image);
  const std::vector<float> single = once.points.to_vector<float>(), averaged = a.points.to_vector<float>();
  double largest = 0;
  for (size_t i = 0; i < single.size(); ++i) largest = std::max(largest, double(std::fabs(single[i] - averaged[i])));
  CHECK(largest > 1e-4);
}

TEST_CASE("networks: a linear layer over a flattened image holds its file weight with permuted columns") {
  // E_gaze's head at the paper config reads a 2x2 neck output; the tiny and small configs'
  // 1x1 grid makes the permutation the identity, so it is checked here at 2x3, C = 4.
  constexpr int64_t kB = 2, kH = 2, kW = 3, kC = 4, kOut = 5, kIn = kH * kW * kC;
  nn::Linear head(kIn, kOut, true, nn::FileLayout::image_columns(kH, kW));
  Generator g(11);
  const Tensor w_file = rand({kOut, kIn}, g, -1.0, 1.0), bias = rand({kOut}, g, -1.0, 1.0);
  REQUIRE(head.load_state_dict({{"weight", w_file}, {"bias", bias}}).ok());
  // The file's weight goes back out unchanged: the two conversions are inverse permutations.
  const nn::TensorMap out = as_map(head.state_dict());
  CHECK(out.at("weight").to_vector<float>() == w_file.to_vector<float>());
  // The forward pass on the NHWC image equals PyTorch's: the file weight on the image
  // flattened channel-major. The same products are summed in another order, so the float32
  // sums differ by at most kIn·u·Σ|w·x| (bounded below with |w|, |x| ≤ 1: kIn terms).
  const Tensor x = rand({kB, kH, kW, kC}, g, -1.0, 1.0);
  NoGradGuard no_grad;
  const Tensor pytorch_order = linear(reshape(permute(x, {0, 3, 1, 2}), {kB, -1}), w_file, bias);
  const double u = 0x1p-24;
  FH_CHECK_CLOSE(head.forward(reshape(x, {kB, -1})), pytorch_order, (test::Tolerance{2.0 * kIn * kIn * u, 0}),
                 "image-column head");
  // And a permutation really happened: without it the result is far off.
  CHECK(head.weight().to_vector<float>() != w_file.to_vector<float>());
}

TEST_CASE("networks: names and file shapes follow docs/networks.md") {
  auto gen = fresh("gen-nshot", 0);
  const nn::TensorMap sd = as_map(gen->module().state_dict("gen."));
  // PyTorch layouts: conv weights [out, in, kh, kw].
  CHECK(sd.at("gen.flow.enc.0.conv.weight").shape() == Shape{8, 6, 7, 7});
  CHECK(sd.at("gen.flow.enc.2.norm.weight").shape() == Shape{128});
  CHECK(sd.at("gen.flow.dec.0.norm_0.mlp_shared.0.weight").shape() == Shape{32, 3, 3, 3});
  CHECK(sd.at("gen.flow.dec.3.conv_1.weight").shape() == Shape{32, 32, 3, 3});
  CHECK(sd.at("gen.flow.dec.3.conv_1.weight_orig").shape() == Shape{32, 32, 3, 3});
  CHECK(sd.at("gen.flow.dec.3.conv_1.weight_u").shape() == Shape{32});
  CHECK(sd.at("gen.flow.weight_head.weight").shape() == Shape{1, 8, 7, 7});
  CHECK(sd.at("gen.render.dec.0.norm_0.mlp_shared.0.weight").shape() == Shape{32, 128, 3, 3});
  CHECK(sd.at("gen.render.dec.3.norm_1.mlp_gamma.weight").shape() == Shape{8, 32, 3, 3});
  CHECK(sd.at("gen.render.out_conv.bias").shape() == Shape{3});
  CHECK(!sd.count("gen.flow.enc.0.conv.bias"));  // a norm follows
  CHECK(!fresh("gen", 0)->module().state_dict("gen.").empty());
  CHECK(!as_map(fresh("gen", 0)->module().state_dict("gen.")).count("gen.flow.weight_head.weight"));

  const nn::TensorMap kp = as_map(fresh("kp", 0)->module().state_dict("kp."));
  CHECK(kp.at("kp.stem.conv.weight").shape() == Shape{8, 3, 7, 7});
  CHECK(kp.at("kp.blocks.0.skip.conv.weight").shape() == Shape{16, 8, 1, 1});
  CHECK(kp.at("kp.blocks.7.bn3.running_var").shape() == Shape{128});
  CHECK(!kp.count("kp.blocks.1.skip.conv.weight"));  // identity shortcut
  CHECK(kp.at("kp.expression.weight").shape() == Shape{204, 128});
  CHECK(kp.at("kp.yaw.bias").shape() == Shape{66});

  const nn::TensorMap gaze = as_map(fresh("gaze", 0)->module().state_dict("gaze."));
  CHECK(gaze.at("gaze.backbone.layer2.0.downsample.0.weight").shape() == Shape{32, 16, 1, 1});
  CHECK(gaze.at("gaze.backbone.layer3.5.bn2.weight").shape() == Shape{64});
  CHECK(!gaze.count("gaze.backbone.layer3.6.bn2.weight"));
  CHECK(gaze.at("gaze.head.weight").shape() == Shape{3 * 482, 128});

  const nn::TensorMap disc = as_map(fresh("disc_image", 0)->module().state_dict("disc_image."));
  CHECK(disc.at("disc_image.scales.1.layers.0.conv.weight").shape() == Shape{16, 6, 4, 4});
  CHECK(disc.at("disc_image.scales.0.layers.3.conv.weight").shape() == Shape{128, 64, 4, 4});
  CHECK(!disc.count("disc_image.scales.0.layers.2.conv.bias"));
  CHECK(disc.at("disc_image.scales.0.layers.4.conv.bias").shape() == Shape{1});

  const nn::TensorMap vgg = as_map(fresh("vgg", 0)->module().state_dict("vgg."));
  CHECK(vgg.size() == 26);
  CHECK(vgg.at("vgg.features.28.weight").shape() == Shape{512, 512, 3, 3});
}

TEST_CASE("networks: a weights file with a missing, an extra and a mis-shaped tensor is refused, listing all three") {
  auto net = fresh("disc_mouth", 0);
  nn::TensorMap sd = as_map(net->module().state_dict("disc_mouth."));
  sd.erase("disc_mouth.scales.0.layers.0.conv.bias");
  sd["disc_mouth.scales.0.layers.9.conv.weight"] = Tensor::zeros({1});
  sd["disc_mouth.scales.1.layers.4.conv.weight"] = Tensor::zeros({1, 128, 3, 4});
  sd["gen.something.else"] = Tensor::zeros({2});  // another network's tensor: ignored
  auto other = fresh("disc_mouth", 5);
  const auto before = other->module().state_dict();
  try {
    nn::load_weights(other->module(), sd, "disc_mouth.", "bad.safetensors");
    FAIL("the load should have failed");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bad.safetensors") != std::string::npos);
    CHECK(msg.find("missing") != std::string::npos);
    CHECK(msg.find("disc_mouth.scales.0.layers.0.conv.bias") != std::string::npos);
    CHECK(msg.find("unexpected") != std::string::npos);
    CHECK(msg.find("disc_mouth.scales.0.layers.9.conv.weight") != std::string::npos);
    CHECK(msg.find("mis-shaped") != std::string::npos);
    CHECK(msg.find("disc_mouth.scales.1.layers.4.conv.weight: file [1, 128, 3, 4]") != std::string::npos);
    CHECK(msg.find("gen.something.else") == std::string::npos);
  }
  // Nothing was loaded.
  const auto after = other->module().state_dict();
  for (size_t i = 0; i < before.size(); ++i) CHECK(before[i].second.to_vector<float>() == after[i].second.to_vector<float>());
}

TEST_CASE("networks: truncated and corrupted weights files are refused with the file named") {
  auto net = fresh("disc_mouth", 0);
  const fs::path good = net_temp("good.safetensors");
  safetensors::save(good.string(), net->module().state_dict("disc_mouth."));
  const auto bytes = read_file_bytes(good.string(), "test");
  const fs::path cut = net_temp("cut.safetensors");
  write_file_atomic(cut.string(), std::string(bytes.begin(), bytes.end() - 100), "test");
  CHECK_THROWS_WITH_AS(safetensors::load(cut.string()), doctest::Contains("cut.safetensors"), Error);
  std::string corrupt(bytes.begin(), bytes.end());
  corrupt[12] = '\x01';  // inside the JSON header
  const fs::path bad = net_temp("corrupt.safetensors");
  write_file_atomic(bad.string(), corrupt, "test");
  CHECK_THROWS_WITH_AS(safetensors::load(bad.string()), doctest::Contains("corrupt.safetensors"), Error);
}

TEST_CASE("networks: spectral normalisation — effective weights have spectral norm 1 and inference files load") {
  nn::Conv2d conv({.in = 5, .out = 7, .kernel = 3, .padding = 1, .spectral = true});
  Generator g(4);
  conv.reset_parameters(g);
  conv.train();
  const Tensor x = randn({1, 6, 6, 5}, g);
  for (int i = 0; i < 60; ++i) conv.forward(x);  // power iterations converge
  conv.eval();
  // The largest singular value of the effective [out, in·k·k] matrix, by power iteration in double.
  const Tensor w = reshape(conv.weight().to(DType::F64), {7, -1});
  Tensor v = Tensor::ones({45, 1}, DType::F64);
  for (int i = 0; i < 300; ++i) {
    Tensor u = matmul(w, v);
    v = matmul(transpose(w, 0, 1), u);
    v = scale(v, 1.0 / std::sqrt(sum(mul(v, v)).item()));
  }
  const double sigma = std::sqrt(sum(mul(matmul(w, v), matmul(w, v))).item());
  CHECK(sigma == doctest::Approx(1.0).epsilon(1e-4));

  // A file with the effective weight only: inference uses it as it is.
  nn::TensorMap file;
  for (auto& [k, t] : conv.state_dict()) file[k] = t;
  file.erase("weight_orig");
  file.erase("weight_u");
  nn::Conv2d other({.in = 5, .out = 7, .kernel = 3, .padding = 1, .spectral = true});
  other.eval();
  const nn::LoadReport report = other.load_state_dict(file);
  CHECK(report.ok());
  NoGradGuard no_grad;
  CHECK(other.forward(x).to_vector<float>() == conv.forward(x).to_vector<float>());
}

TEST_CASE("networks: a partial load leaves a spectral conv the file does not hold as it was") {
  nn::Conv2d conv({.in = 5, .out = 7, .kernel = 3, .padding = 1, .spectral = true});
  Generator g(4);
  conv.reset_parameters(g);
  const nn::TensorMap before = as_map(conv.state_dict());
  const nn::LoadReport report = conv.load_state_dict({}, "", /*allow_partial=*/true);
  CHECK(report.missing == std::vector<std::string>{"weight", "bias"});
  const nn::TensorMap after = as_map(conv.state_dict());
  REQUIRE(after.size() == before.size());
  for (const auto& [name, t] : before) {
    CAPTURE(name);
    REQUIRE(after.count(name));
    CHECK(after.at(name).to_vector<float>() == t.to_vector<float>());
  }
}

TEST_CASE("networks: with one source the N-shot generator does not run its weight head") {
  Generator g(2);
  auto nshot = fresh("gen-nshot", 1);
  const nn::TensorMap in = nets::random_inputs(*nshot, 1, 1, g);
  NoGradGuard no_grad;
  auto flops = [&](nets::Network& net) {
    nn::FlopCounter counter;
    net.forward(in);
    return counter.flops();
  };
  CHECK(flops(*nshot) == flops(*fresh("gen", 1)));
}

TEST_CASE("networks: N-shot with M identical sources equals the one-shot result") {
  auto net = fresh("gen-nshot", 7);
  Generator g(8);
  const nn::TensorMap one = nets::random_inputs(*net, 2, 1, g);
  auto repeated = [&](int64_t m) {
    nn::TensorMap in = one;
    in["sources"] = concat(std::vector<Tensor>(static_cast<size_t>(m), one.at("sources")), 1);
    in["source_sketches"] = concat(std::vector<Tensor>(static_cast<size_t>(m), one.at("source_sketches")), 1);
    return in;
  };
  NoGradGuard no_grad;
  const nn::TensorMap y1 = net->forward(one), y2 = net->forward(repeated(2)), y3 = net->forward(repeated(3));
  CHECK(!y1.count("weights"));
  REQUIRE(y3.count("weights"));
  CHECK(y3.at("weights").shape() == Shape{2, 3, 1, 64, 64});
  CHECK(y3.at("flows").shape() == Shape{2, 3, 2, 64, 64});
  // Equal logits give equal exponentials e; the sum 3e, the division (or reciprocal and
  // product) round at most three times by u/2 each: within 2u = 2.4e-7 of 1/3.
  FH_CHECK_CLOSE(y3.at("weights"), Tensor::full({2, 3, 1, 64, 64}, 1.0 / 3.0), (test::Tolerance{0, 2.4e-7}), "weights");
  // With two sources the identity is exact: each weight is 1/2 exactly and ½·x + ½·x = x in
  // floating point, so every fused feature is the one-shot one bit for bit, and so is all
  // that follows. (With three, 1/3 rounds and the difference then passes through the whole
  // rendering network, whose amplification no fixed tolerance bounds.)
  CHECK(y2.at("output").to_vector<float>() == y1.at("output").to_vector<float>());
  CHECK(y2.at("warped").to_vector<float>() == y1.at("warped").to_vector<float>());
}

TEST_CASE("networks: a SPADE block driven by one label per M rows equals the label repeated M times") {
  // The N-shot flow decoder: one target sketch [B] modulates B·M source rows. γ and β are
  // computed once per label and repeated; the result, and every gradient, is that of the
  // label repeated row by row.
  const int64_t b = 2, m = 3, h = 8, c = 32;
  // A learned shortcut (three SPADEs); no spectral norm, whose power iteration would move the
  // weights between the two runs.
  nn::SpadeResBlock block(c, 16, 3, 32, /*spectral=*/false);
  Generator g(11);
  block.reset_parameters(g);
  const Tensor x0 = randn({b * m, h, h, c}, g), label = randn({b, 2 * h, 2 * h, 3}, g);
  const Tensor repeated = reshape(stack(std::vector<Tensor>(m, label), 1), {b * m, 2 * h, 2 * h, 3});
  const Tensor probe = randn({b * m, h, h, 16}, g);
  auto run = [&](const Tensor& lab) {
    block.zero_grad();
    Tensor x = x0.clone();
    x.requires_grad_(true);
    const Tensor y = block.forward(x, lab);
    sum(y * probe).backward();
    std::vector<Tensor> out{y.detach(), x.grad()};
    for (const Tensor& p : block.parameters()) out.push_back(p.grad());
    return out;
  };
  const std::vector<Tensor> shared = run(label), reference = run(repeated);
  REQUIRE(shared.size() == reference.size());
  // Every output row is computed from the same values by the same kernels: bit for bit.
  CHECK(shared[0].to_vector<float>() == reference[0].to_vector<float>());
  CHECK(shared[1].to_vector<float>() == reference[1].to_vector<float>());
  // The weight gradients of the label's convolutions sum the M rows before the product
  // instead of after it: the same n = B·M·H·W = 384 terms per element in another order, so
  // they differ by at most about 2·n·u·Σ|terms| = 4.6e-5·Σ|terms| (u = 2^-24). The terms
  // here are products of unit-scale values and the sums of order 1-40: 1e-4 + 1e-4·|ref|.
  const test::Tolerance tol{1e-4, 1e-4};
  double worst = 0;
  for (size_t i = 2; i < shared.size(); ++i) {
    FH_CHECK_CLOSE(shared[i], reference[i], tol, "parameter gradient " + std::to_string(i - 2));
    worst = std::max(worst, test::compare(shared[i], reference[i], tol).worst_fraction);
  }
  MESSAGE("parameter gradients: worst fraction of threshold ", worst);
  CHECK_THROWS_WITH_AS(block.forward(x0, randn({4, h, h, 3}, g)), doctest::Contains("must divide"), Error);
}

TEST_CASE("networks: inputs are checked by name and shape") {
  auto net = fresh("gen", 0);
  Generator g(1);
  nn::TensorMap in = nets::random_inputs(*net, 1, 1, g);
  nn::TensorMap missing = in;
  missing.erase("target_sketch");
  CHECK_THROWS_WITH_AS(net->forward(missing), doctest::Contains("target_sketch"), Error);
  nn::TensorMap wrong = in;
  wrong["sources"] = Tensor::zeros({1, 1, 3, 32, 32});
  CHECK_THROWS_WITH_AS(net->forward(wrong), doctest::Contains("sources"), Error);
  nn::TensorMap many = in;
  many["sources"] = Tensor::zeros({1, 2, 3, 64, 64});
  many["source_sketches"] = Tensor::zeros({1, 2, 3, 64, 64});
  CHECK_THROWS_WITH_AS(net->forward(many), doctest::Contains("weight_head"), Error);
  CHECK_THROWS_WITH_AS(nets::make_network("nope", nets::config("tiny")), doctest::Contains("nope"), Error);
  CHECK_THROWS_WITH_AS(nets::config("huge"), doctest::Contains("huge"), Error);
}
