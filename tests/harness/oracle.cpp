#include "tests/harness/oracle.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weights/json.h"
#include "weights/safetensors.h"

namespace fh::test {

namespace {

struct CommandResult {
  int status;
  std::string output;
};

CommandResult run_command(const std::string& command) {
  CommandResult r{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string case_prefix(size_t i) { return "c" + std::to_string(i) + "."; }

// The interpreter: FH_ORACLE_PYTHON from the environment, else the one configured at build time.
std::string oracle_python() {
  const char* env = std::getenv("FH_ORACLE_PYTHON");
  return env != nullptr && *env != '\0' ? env : FH_ORACLE_PYTHON;
}

}  // namespace

bool oracle_available(std::string* why) {
  static const CommandResult probe = run_command(oracle_python() + " -c 'import torch'");
  if (probe.status != 0 && why != nullptr) {
    *why = oracle_python() + " cannot import torch (install Debian's python3-torch, or point FH_ORACLE_PYTHON at an interpreter that has it): " + probe.output;
  }
  return probe.status == 0;
}

std::vector<OracleResult> run_oracle(const std::vector<OracleCase>& cases) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "fh-oracle-XXXXXX").string();
  FH_CHECK(::mkdtemp(tmpl.data()) != nullptr, "oracle", "cannot create a temporary directory from ", tmpl);
  const fs::path dir = tmpl;
  const std::string in_path = (dir / "in.safetensors").string(), out_path = (dir / "out.safetensors").string();

  safetensors::NamedTensors tensors;
  json::Value spec = json::Value::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    const OracleCase& c = cases[i];
    FH_CHECK(c.inputs.size() == c.requires_grad.size(), "oracle", "case ", i, " (", c.op, "): ", c.inputs.size(),
             " inputs but ", c.requires_grad.size(), " requires_grad flags");
    json::Value entry = json::Value::object();
    entry.set("op", c.op);
    entry.set("args", json::parse(c.args_json.empty() ? "{}" : c.args_json, "oracle case " + c.op));
    json::Value rg = json::Value::array();
    for (size_t j = 0; j < c.inputs.size(); ++j) {
      tensors.emplace_back(case_prefix(i) + "in" + std::to_string(j), c.inputs[j]);
      rg.push_back(static_cast<bool>(c.requires_grad[j]));
    }
    entry.set("requires_grad", rg);
    FH_CHECK(c.nhwc.empty() || c.nhwc.size() == c.inputs.size(), "oracle", "case ", i, " (", c.op, "): ",
             c.nhwc.size(), " nhwc flags for ", c.inputs.size(), " inputs");
    json::Value nhwc = json::Value::array();
    for (size_t j = 0; j < c.nhwc.size(); ++j) nhwc.push_back(static_cast<bool>(c.nhwc[j]));
    entry.set("nhwc", nhwc);
    entry.set("nhwc_output", c.nhwc_output);
    tensors.emplace_back(case_prefix(i) + "grad_output", c.grad_output);
    spec.push_back(entry);
  }
  safetensors::save(in_path, tensors, {{"cases", spec.dump()}});

  const CommandResult r =
      run_command(oracle_python() + " " + FH_ORACLE_SCRIPT + " " + in_path + " " + out_path);
  if (r.status != 0) {
    fs::remove_all(dir);
    FH_FAIL("oracle", "torch_oracle.py failed (exit ", r.status, "):\n", r.output);
  }
  const safetensors::Contents out = safetensors::load(out_path);
  fs::remove_all(dir);

  std::vector<OracleResult> results(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    results[i].output = out.get(case_prefix(i) + "out");
    results[i].grads.resize(cases[i].inputs.size());
    for (size_t j = 0; j < cases[i].inputs.size(); ++j) {
      if (cases[i].requires_grad[j]) results[i].grads[j] = out.get(case_prefix(i) + "grad" + std::to_string(j));
    }
  }
  return results;
}

namespace {

std::string reference_script() {
  const char* env = std::getenv("FH_REFERENCE_SCRIPT");  // another checkout's reference, when set
  return env != nullptr && *env != '\0' ? env : FH_REFERENCE_SCRIPT;
}

// Single-quotes an argument for the shell.
std::string quoted(const std::string& a) {
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::string reference_dir() { return std::filesystem::path(reference_script()).parent_path().string(); }

void run_python(const std::vector<std::string>& args) {
  std::string command = oracle_python();
  for (const auto& a : args) command += " " + quoted(a);
  const CommandResult r = run_command(command);
  FH_CHECK(r.status == 0, "python", "`", command, "` failed (exit ", r.status, "):\n", r.output);
}

void run_reference(const std::vector<std::string>& args) {
  std::vector<std::string> all{reference_script()};
  all.insert(all.end(), args.begin(), args.end());
  run_python(all);
}

}  // namespace fh::test
