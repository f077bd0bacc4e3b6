// Whole-file helpers. Every file freehead writes goes through write_file_atomic: the bytes
// land in a temporary file beside the target, which is renamed over it only when complete,
// so a crash or a full disk never leaves a half-written file under the real name. The
// temporary has an unpredictable name and is created exclusively (never through a link).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace fh {

// `what` names the caller in error messages (e.g. "safetensors", "png").
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const char* what);
void write_file_atomic(const std::string& path, const std::string& bytes, const char* what);

// Throws naming the file when it is missing, a directory or not a regular file (a FIFO or
// a device would block or read forever).
void require_regular_file(const std::string& path, const char* what);

// Reads a whole file; errors name the file and the reason.
std::vector<unsigned char> read_file_bytes(const std::string& path, const char* what);

}  // namespace fh
