#include "tools/freehead/options.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <string>

namespace fh::cli {

Options::Options(std::string command, std::string summary, std::vector<OptionSpec> specs, const Args& args)
    : command_(std::move(command)), summary_(std::move(summary)), specs_(std::move(specs)) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") throw HelpRequested{help_text()};
    if (a.rfind("--", 0) != 0) throw UsageError{"unexpected argument '" + a + "' (options start with --)"};
    std::string name = a.substr(2), value;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec& s = spec(name);
    if (s.takes_value && !inline_value) {
      if (i + 1 >= args.size()) throw UsageError{"--" + name + " needs a value"};
      value = args[++i];
    } else if (!s.takes_value && inline_value) {
      throw UsageError{"--" + name + " takes no value"};
    }
    if (values_.count(name)) throw UsageError{"--" + name + " given twice"};
    values_[name] = value;
  }
  for (const auto& s : specs_)
    if (s.required && !values_.count(s.name)) throw UsageError{"missing required option --" + s.name};
}

const OptionSpec& Options::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw UsageError{"unknown option --" + name};
}

std::string Options::help_text() const {
  std::ostringstream out;
  out << "usage: freehead " << command_;
  for (const auto& s : specs_) {
    out << (s.required ? " " : " [") << "--" << s.name;
    if (s.takes_value) out << " " << (s.fallback.empty() ? "VALUE" : s.fallback);
    if (!s.required) out << "]";
  }
  out << "\n\n" << summary_ << "\n\noptions:\n";
  for (const auto& s : specs_) {
    out << "  --" << s.name;
    for (size_t pad = s.name.size(); pad < 22; ++pad) out << ' ';
    out << s.meaning;
    if (!s.fallback.empty()) out << " (default " << s.fallback << ")";
    out << "\n";
  }
  return out.str();
}

bool Options::has(const std::string& name) const {
  spec(name);  // a typo in the calling code is a bug, not an absent flag
  return values_.count(name) != 0;
}

std::string Options::str(const std::string& name) const {
  const OptionSpec& s = spec(name);
  const auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  if (s.fallback.empty()) throw UsageError{"missing option --" + name};
  return s.fallback;
}

int64_t Options::integer(const std::string& name) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE) throw UsageError{"--" + name + " expects an integer, got '" + v + "'"};
  return x;
}

int64_t Options::integer(const std::string& name, int64_t lo, int64_t hi) const {
  const int64_t x = integer(name);
  if (x < lo || x > hi)
    throw UsageError{"--" + name + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + str(name)};
  return x;
}

double Options::number(const std::string& name) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE) throw UsageError{"--" + name + " expects a number, got '" + v + "'"};
  return x;
}

}  // namespace fh::cli
