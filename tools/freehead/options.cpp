#include "tools/freehead/options.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace fh::cli {

namespace {

std::string flag_names(const OptionSpec& s) { return (s.alias.empty() ? "" : "-" + s.alias + ",") + "--" + s.name; }

}  // namespace

Options::Options(std::string command, std::string summary, std::vector<OptionSpec> specs, const Args& args)
    : command_(std::move(command)), specs_(std::move(specs)) {
  CLI::App app{summary, "freehead " + command_};
  app.set_help_flag("-h,--help", "print this help and exit");
  // What CLI11 does not recognise is left over and reported below, naming the first.
  app.allow_extras();
  app.get_formatter()->column_width(34);
  app.get_formatter()->label("REQUIRED", "(required)");
  std::map<std::string, std::vector<std::string>> given;
  std::map<std::string, CLI::Option*> options;
  for (const OptionSpec& s : specs_) {
    const std::string meaning = s.fallback.empty() ? s.meaning : s.meaning + " (default " + s.fallback + ")";
    CLI::Option* o = nullptr;
    if (s.takes_value) {
      // Every occurrence is kept (a single-valued flag given twice is refused below, by
      // name), each taking exactly one argument: the next one is never swallowed as a second.
      o = app.add_option(flag_names(s), given[s.name], meaning)->type_name("VALUE");
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->type_size(1)->expected(1)->allow_extra_args(false);
    } else {
      // --switch=false would read as "off" in CLI11; a switch here is present or absent.
      o = app.add_flag(flag_names(s), meaning)->disable_flag_override();
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
    if (s.required) o->required();
    options[s.name] = o;
  }
  try {
    app.parse(Args(args.rbegin(), args.rend()));  // CLI11 takes the arguments last first
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested{app.help()};
  } catch (const CLI::ParseError& e) {
    throw UsageError{e.what()};
  }
  for (const std::string& extra : app.remaining()) {
    if (extra.rfind("--", 0) == 0) throw UsageError{"unknown option " + extra.substr(0, extra.find('='))};
    if (extra.size() > 1 && extra[0] == '-') throw UsageError{"unknown option " + extra};
    throw UsageError{"unexpected argument '" + extra + "' (options start with --)"};
  }
  for (const OptionSpec& s : specs_) {
    const size_t count = options[s.name]->count();
    if (count == 0) continue;
    if (count > 1 && !s.repeatable) throw UsageError{"--" + s.name + " given twice"};
    values_[s.name] = s.takes_value ? given[s.name] : std::vector<std::string>(count);
  }
}

const OptionSpec& Options::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw UsageError{"unknown option --" + name};
}

bool Options::has(const std::string& name) const {
  spec(name);  // a typo in the calling code is a bug, not an absent flag
  return values_.count(name) != 0;
}

std::string Options::str(const std::string& name) const {
  const OptionSpec& s = spec(name);
  const auto it = values_.find(name);
  if (it != values_.end()) return it->second.front();
  if (s.fallback.empty()) throw UsageError{"missing option --" + name};
  return s.fallback;
}

std::vector<std::string> Options::list(const std::string& name) const {
  spec(name);
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
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
