// Counting a network's forward FLOPs: while a FlopCounter is alive on a thread, every conv
// and linear layer adds 2·(multiply-adds) of its forward pass. Other ops (norms, pointwise,
// warps) are memory-bound and left out, as is usual in cost tables.
#pragma once

#include <cstdint>

namespace fh::nn {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  double flops() const { return flops_; }

  // Called by the layers; a no-op without an active counter.
  static void add(double flops);

 private:
  double flops_ = 0;
  FlopCounter* previous_;
};

}  // namespace fh::nn
