// The CLI's option parser on arbitrary argument lists (the input split at NUL bytes),
// against a spec list like the commands': it accepts, asks for help, or refuses with a
// usage error — and an accepted integer flag reads back within its range or refuses.
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "tools/freehead/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty()) args.push_back(cur);
  using fh::cli::OptionSpec;
  try {
    const fh::cli::Options o("fuzz", "a command with every kind of flag",
                             {{"out", "a path", true, true, ""},
                              {"steps", "an integer", true, false, "10"},
                              {"lr", "a number", true, false, "0.001"},
                              {"quiet", "a switch", false, false, ""},
                              {"sources", "a list", true, false, "1,2"}},
                             args);
    (void)o.str("out");
    try {
      const int64_t s = o.integer("steps", 1, 1000);
      fh::fuzz::require(s >= 1 && s <= 1000, "a range-checked integer outside its range");
    } catch (const fh::cli::UsageError&) {
    }
    try {
      (void)o.number("lr");
    } catch (const fh::cli::UsageError&) {
    }
    (void)o.flag("quiet");
  } catch (const fh::cli::UsageError&) {
  } catch (const fh::cli::HelpRequested&) {
  }
  return 0;
}
