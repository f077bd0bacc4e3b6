// The freehead CLI: `freehead <command> [options]`, git-style. Each command is a function
// registered in main.cpp's table; it returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace fh::cli {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

int cmd_info(const Args& args);
int cmd_sketch(const Args& args);
int cmd_init(const Args& args);
int cmd_run(const Args& args);
int cmd_bench(const Args& args);
int cmd_cost(const Args& args);
int cmd_synth(const Args& args);
int cmd_train(const Args& args);
int cmd_reenact(const Args& args);
int cmd_edit(const Args& args);
int cmd_demo(const Args& args);
int cmd_pack_models(const Args& args);
int cmd_eval(const Args& args);
int cmd_prep(const Args& args);

}  // namespace fh::cli
