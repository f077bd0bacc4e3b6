// Replays fuzz inputs without libFuzzer: every file named, or found in a folder named, goes
// through the target once. The regular build runs each target over its seed corpus (and the
// inputs that once crashed it) as a CTest, so no finding can come back unnoticed.
//
// `--mutations N` also runs N mutants of every input, made by a fixed-seed generator
// (`--seed S`, default 1): bytes flipped, set, zeroed, cut off, inserted or repeated, one to
// four edits each — a small, deterministic fuzzer for builds without libFuzzer, such as the
// sanitized replays CI runs (tests/CMakeLists.txt).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

// splitmix64: small, fast and the same on every platform.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

// One to four edits of `input`; the kinds are those that break length fields, offsets and
// checksums, the places readers go wrong.
Bytes mutate(const Bytes& input, Random& rng) {
  Bytes b = input;
  const int edits = 1 + static_cast<int>(rng.below(4));
  for (int e = 0; e < edits; ++e) {
    const size_t at = rng.below(b.size() + 1);
    switch (rng.below(6)) {
      case 0:  // flip one bit
        if (!b.empty()) b[std::min(at, b.size() - 1)] ^= static_cast<uint8_t>(1u << rng.below(8));
        break;
      case 1:  // set a byte to an edge value
        if (!b.empty()) {
          static constexpr uint8_t kEdges[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '0', '9', '"', '{', '['};
          b[std::min(at, b.size() - 1)] = kEdges[rng.below(sizeof(kEdges))];
        }
        break;
      case 2:  // zero a run
        for (size_t i = at, n = rng.below(16) + 1; i < b.size() && n > 0; ++i, --n) b[i] = 0;
        break;
      case 3:  // cut the end off
        b.resize(at);
        break;
      case 4: {  // insert random bytes
        Bytes run(rng.below(16) + 1);
        for (uint8_t& x : run) x = static_cast<uint8_t>(rng.next());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
        break;
      }
      default: {  // repeat a run of the input
        if (b.empty()) break;
        const size_t from = rng.below(b.size()), n = std::min(b.size() - from, rng.below(64) + 1);
        const Bytes run(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(from + n));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(std::min(at, b.size())), run.begin(), run.end());
        break;
      }
    }
  }
  return b;
}

long parse_count(const char* flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 0) {
    std::fprintf(stderr, "replay: %s expects a count, got '%s'\n", flag, text);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  long mutations = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--mutations" || arg == "--seed") && i + 1 < argc) {
      const long v = parse_count(argv[i], argv[i + 1]);
      if (arg == "--mutations") mutations = v;
      else seed = static_cast<uint64_t>(v);
      ++i;
      continue;
    }
    const std::filesystem::path p = arg;
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  Random rng{seed};
  long runs = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++runs;
    for (long m = 0; m < mutations; ++m, ++runs) {
      const Bytes mutant = mutate(bytes, rng);
      LLVMFuzzerTestOneInput(mutant.data(), mutant.size());
    }
  }
  std::printf("replayed %zu inputs", files.size());
  if (mutations > 0) std::printf(" and %ld mutants of each (seed %llu)", mutations, static_cast<unsigned long long>(seed));
  std::printf(": %ld runs\n", runs);
  return files.empty() ? 1 : 0;
}
