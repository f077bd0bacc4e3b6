// What data-parallel training adds to the training loop (docs/distributed.md): the gradient
// all-reduce, the loss terms averaged over the ranks, and the check that every rank holds
// the same model. With one rank each of these is a no-op.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/adam.h"
#include "train/trainer.h"

namespace fh::train {

// Time and volume of the gradient all-reduces, for the log and the benchmark.
struct ReduceStats {
  double seconds = 0;   // wall time inside the all-reduces (staging included)
  double wait_seconds = 0;  // of which waiting for the last rank to arrive (the first collective)
  int64_t values = 0;   // gradient values reduced
  int64_t calls = 0;    // all-reduces (one per optimiser step)
};

// Replaces the gradient of every parameter in `params` that has one by the mean of the
// ranks' gradients: the gradients are packed into one flat host buffer (float32, or float64
// for float64 parameters) in parameter order, summed across the ranks in rank order
// (dist::Communicator::sum, in buckets), scaled by 1/K and unpacked. Every rank must hold
// gradients for the same parameters (checked: the ranks would otherwise pair up different
// values).
void average_gradients(const std::vector<NamedParameter>& params, dist::Communicator& comm, ReduceStats* stats);

// Each term replaced by its mean over the ranks (the terms are means over each rank's
// equal share of the batch, so this is the global batch's value). `stop` in: this rank was
// asked to stop; out: some rank was (the ranks stop at the same step).
void average_terms(Terms& terms, dist::Communicator& comm, bool& stop);

// fnv1a (trainer.h) over the bytes of every module's full state (parameters, BatchNorm
// statistics, spectral-norm vectors) and every optimiser's moments, in a fixed order.
uint64_t state_fingerprint(Task& task);

// Fails on every rank, naming the ranks, unless every rank's state_fingerprint equals rank
// 0's. `when` says where in the run ("after loading the checkpoint", "at step 40").
void check_replicas_agree(Task& task, dist::Communicator& comm, const std::string& when);

}  // namespace fh::train
