// Gradient recording switch, per thread. Ops record graph nodes only while it is on.
#pragma once

namespace fh {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// Turns recording off for a scope (inference, optimizer updates, backward passes).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace fh
