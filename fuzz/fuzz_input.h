// What every fuzz target shares: the input as a file (freehead's readers take paths, as
// users hand them files), and the rule that a reader may refuse an input only with an
// exception — a crash, a sanitizer report, a hang or an uncaught throw is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
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

// What a text reader accepts must write back to text that reads back the same: `read` parses
// (throwing to refuse), `write` writes a value back as text.
template <class Read, class Write>
void check_round_trip(const std::string& text, Read read, Write write) {
  std::optional<decltype(read(text))> value;
  try {
    value.emplace(read(text));
  } catch (const std::exception&) {
    return;  // refused: fine
  }
  const std::string once = write(*value);
  std::string twice;
  try {
    twice = write(read(once));
  } catch (const std::exception&) {
    require(false, "an accepted input, written back, is refused");
  }
  require(twice == once, "an accepted input, written back, reads back different");
}

}  // namespace fh::fuzz
