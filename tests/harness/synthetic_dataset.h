// A synthetic dataset (freehead synth) in a temporary folder of its own, removed when the
// object goes: what the loader, training and pipeline tests train and judge on.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "data/synth.h"

namespace fh::test {

struct SyntheticDataset {
  std::filesystem::path root;  // the temporary folder; the dataset is root/data
  std::string data;

  // `name` keeps concurrent test processes apart (with the process id).
  SyntheticDataset(const std::string& name, int identities, int clips_per_identity, int frames, int size,
                   uint64_t seed, int pairs = 0) {
    root = std::filesystem::temp_directory_path() / ("fh-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
    data::SynthOptions s;
    s.out = (root / "data").string();
    s.identities = identities;
    s.clips_per_identity = clips_per_identity;
    s.frames = frames;
    s.size = size;
    s.seed = seed;
    s.pairs = pairs;
    s.progress = false;
    data::synthesize(s);
    data = s.out;
  }
  ~SyntheticDataset() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  SyntheticDataset(const SyntheticDataset&) = delete;
  SyntheticDataset& operator=(const SyntheticDataset&) = delete;
};

}  // namespace fh::test
