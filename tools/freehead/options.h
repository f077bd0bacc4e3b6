// Flag parsing shared by every CLI command, on CLI11: `--name value` options (or
// `--name=value`), bare `--name` switches, optional one-letter aliases (`-s`), and options
// that may be repeated. Each is declared up front, and freehead's checks sit on top of
// CLI11's, so that an unknown flag, a stray argument, a missing value, a flag given twice
// or a value of the wrong type is an error naming the flag (exit code 2), never a silent
// default.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/freehead/commands.h"

namespace fh::cli {

struct OptionSpec {
  std::string name;      // without the leading "--"
  std::string meaning;   // one line for --help
  bool takes_value = true;
  bool required = false;
  std::string fallback;  // default value shown in --help; empty = none
  std::string alias;     // a one-letter alias ("s" for -s), or empty
  bool repeatable = false;  // may be given several times; read with list()
};

// Thrown for bad command lines; main() prints it with the usage and exits with 2.
struct UsageError {
  std::string message;
};

// Thrown by Options when the command line asks for --help; main() prints it and exits with 0.
struct HelpRequested {
  std::string text;
};

class Options {
 public:
  // Parses args against specs; throws UsageError on any problem, and HelpRequested (with the
  // help text) for `--help`/`-h`.
  Options(std::string command, std::string summary, std::vector<OptionSpec> specs, const Args& args);

  bool has(const std::string& name) const;
  bool flag(const std::string& name) const { return has(name); }
  std::string str(const std::string& name) const;  // value, or the spec's fallback
  // Every value of a repeatable option, in the order given (empty when absent).
  std::vector<std::string> list(const std::string& name) const;
  int64_t integer(const std::string& name) const;  // strict parse; names the flag on error
  // The same, and within [lo, hi]: every integer flag that sizes memory or is narrowed to
  // int goes through this, so a huge value is an error naming the flag, not an overflow.
  int64_t integer(const std::string& name, int64_t lo, int64_t hi) const;
  double number(const std::string& name) const;

 private:
  const OptionSpec& spec(const std::string& name) const;
  std::string command_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;  // given options only
};

}  // namespace fh::cli
