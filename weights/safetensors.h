// safetensors files: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Tensors are stored
// exactly as given (PyTorch layout at this boundary: NCHW activations, [out, in, kh, kw]
// conv weights); layout conversion is the caller's business.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace fh::safetensors {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct Contents {
  std::string path;
  NamedTensors tensors;  // in file order, CPU, the file's dtypes
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const;
  // Throws naming the file and the tensor when absent.
  const Tensor& get(const std::string& name) const;
};

// Reads and validates a whole file: the header is checked against the file size before any
// tensor memory is allocated; errors name the file and the offending tensor.
Contents load(const std::string& path);

// Writes atomically (a temporary file in the same folder, then rename). F32, F64, F16,
// BF16 and I64 tensors on any device; names must be unique and non-empty.
void save(const std::string& path, const NamedTensors& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace fh::safetensors
