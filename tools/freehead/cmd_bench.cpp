// `freehead bench`: a network's speed, forward and backward, in ms and GFLOP/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "runtime/cuda_runtime.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/network_files.h"
#include "tools/freehead/options.h"

namespace fh::cli {

namespace {

constexpr int64_t kMaxBatch = 4096, kMaxSources = 64, kMaxIters = 1000000;

Tensor scalar_loss(const nn::TensorMap& outputs) {
  Tensor loss;
  for (const auto& [name, t] : outputs) {
    const Tensor m = mean(t);
    loss = loss.defined() ? add(loss, m) : m;
  }
  return loss;
}

template <class F>
double median_ms(F&& run, int iters, Device device) {
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    if (device.is_cuda()) cuda::synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int cmd_bench(const Args& args) {
  Options opt("bench",
              "Times one network on random inputs: the median ms of a forward pass in eval mode without gradients,\n"
              "and of a forward+backward pass in train mode (the loss is the sum of the outputs' means), with\n"
              "the forward's conv/linear GFLOPs and the rate they run at (forward+backward counts 3x forward).",
              {net_option(),
               config_option(),
               device_option(),
               {"batch", "batch size", true, false, "1"},
               {"sources", "source images per sample (gen, gen-nshot)", true, false, "1"},
               {"iters", "timed iterations of each pass", true, false, "5"},
               {"seed", "seed for weights and inputs", true, false, "0"},
               {"weights", "weights file (default: fresh initialisation from --seed)", true, false},
               {"inputs", "inputs file (default: random inputs from --seed)", true, false},
               {"forward-only", "skip the forward+backward timing", false}},
              args);
  auto net = build_network(opt.str("net"), opt.str("config"));
  const Device device = parse_device(opt.str("device"));
  // Bounds far above any machine's use that keep every size computed from them in range.
  const int64_t batch = opt.integer("batch", 1, kMaxBatch), sources = opt.integer("sources", 1, kMaxSources);
  const int iters = static_cast<int>(opt.integer("iters", 1, kMaxIters));
  Generator gen(static_cast<uint64_t>(opt.integer("seed")));
  net->module().reset_parameters(gen);
  if (opt.has("weights")) load_weights_file(*net, opt.str("weights"));
  net->module().to(device);
  const nn::TensorMap inputs =
      opt.has("inputs") ? read_inputs(opt.str("inputs"), *net, device) : nets::random_inputs(*net, batch, sources, gen, device);

  net->module().eval();
  const double flops = forward_flops(*net, inputs, opt.has("inputs") ? opt.str("inputs") : "");  // also the warm-up
  const double fwd_ms = median_ms(
      [&] {
        NoGradGuard no_grad;
        net->forward(inputs);
      },
      iters, device);
  std::printf("%s %s batch %lld sources %lld on %s, %d CPU threads\n", net->name().c_str(), opt.str("config").c_str(),
              static_cast<long long>(batch), static_cast<long long>(sources), opt.str("device").c_str(), num_threads());
  std::printf("  parameters        %lld\n", static_cast<long long>(net->module().num_parameters()));
  std::printf("  forward           %9.2f ms  %7.2f GFLOP  %8.1f GFLOP/s\n", fwd_ms, flops / 1e9, flops / fwd_ms / 1e6);
  if (!opt.flag("forward-only")) {
    net->module().train();
    auto step = [&] {
      net->module().zero_grad();
      scalar_loss(net->forward(inputs)).backward();
    };
    step();  // warm-up
    const double step_ms = median_ms(step, iters, device);
    std::printf("  forward+backward  %9.2f ms  %7.2f GFLOP  %8.1f GFLOP/s\n", step_ms, 3 * flops / 1e9,
                3 * flops / step_ms / 1e6);
  }
  return 0;
}

}  // namespace fh::cli
