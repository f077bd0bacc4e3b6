// What every fuzz target shares: the input as a file (freehead's readers take paths, as
// users hand them files), and the rule that a reader may refuse an input only with an
// exception — a crash, a sanitizer report, a hang or an uncaught throw is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fh::fuzz {

// The input written to one file per process (in a folder of $TMPDIR removed at exit),
// overwritten by each run.
inline std::string as_file(const uint8_t* data, size_t size, const char* name) {
  struct Folder {
    std::filesystem::path path;
    Folder() : path(std::filesystem::temp_directory_path() / ("fh-fuzz-" + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder dir;
  const std::string path = (dir.path / name).string();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// An invariant that a successful read must keep; breaking it is a finding.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace fh::fuzz
