#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "runtime/build_info.h"
#include "runtime/error.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"

namespace {

const fh::cli::Command kCommands[] = {
    {"info", "version, commit, build options, CUDA devices (or why none), CPU threads", fh::cli::cmd_info},
    {"sketch", "draw the key-point sketch of a points file as a PNG", fh::cli::cmd_sketch},
    {"init", "freshly initialised weights for a network", fh::cli::cmd_init},
    {"run", "run a network in eval mode on the named tensors of a file", fh::cli::cmd_run},
    {"bench", "time a network's forward and forward+backward", fh::cli::cmd_bench},
    {"cost", "parameters and forward GFLOPs of every network and config", fh::cli::cmd_cost},
    {"synth", "render a synthetic talking-head dataset with exact ground truth", fh::cli::cmd_synth},
    {"train", "train E_can, E_gaze or the generator (or resume a run)", fh::cli::cmd_train},
    {"reenact", "render a source face with a driving actor's pose, expression and gaze", fh::cli::cmd_reenact},
    {"edit", "turn a source face's head and move its eyes (single edits and sweeps)", fh::cli::cmd_edit},
    {"demo", "reenactment, N-shot, pose and gaze sweeps with the shipped models, in one folder", fh::cli::cmd_demo},
    {"pack-models", "a models folder for reenact/edit/demo from training runs", fh::cli::cmd_pack_models},
    {"prep", "make a dataset from real videos or frames and their 68-point 3D landmarks", fh::cli::cmd_prep},
    {"eval", "score a models folder on exact ground truth: self, cross-identity, N-shot, components", fh::cli::cmd_eval},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: freehead <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`freehead <command> --help` describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("freehead %s (%s)\n", fh::version(), fh::git_commit());
    return 0;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(fh::cli::Args(argv + 2, argv + argc));
    } catch (const fh::cli::HelpRequested& h) {
      std::printf("%s", h.text.c_str());
      return 0;
    } catch (const fh::cli::UsageError& e) {
      std::fprintf(stderr, "freehead %s: %s\n(`freehead %s --help` lists the options)\n", c.name, e.message.c_str(), c.name);
      return 2;
    } catch (const fh::Error& e) {
      std::fprintf(stderr, "freehead %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "freehead %s: error: out of memory (the inputs or options ask for more than this machine has)\n",
                   c.name);
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "freehead %s: unexpected error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "freehead: unknown command '%s'\n\n", name.c_str());
  usage(stderr);
  return 2;
}
