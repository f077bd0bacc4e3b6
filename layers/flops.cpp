#include "layers/flops.h"

namespace fh::nn {

namespace {
thread_local FlopCounter* active = nullptr;
}

FlopCounter::FlopCounter() : previous_(active) { active = this; }
FlopCounter::~FlopCounter() { active = previous_; }

void FlopCounter::add(double flops) {
  for (FlopCounter* c = active; c; c = c->previous_) c->flops_ += flops;
}

}  // namespace fh::nn
