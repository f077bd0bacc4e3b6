// `freehead info`: what this build is and what it can run on.
#include <cstdio>

#include "kernels/conv_backend.h"
#include "pipeline/reenactor.h"
#include "pipeline/face_detect.h"
#include "runtime/build_info.h"
#include "runtime/cuda_runtime.h"
#include "runtime/host_allocator.h"
#include "io/jpeg_decode.h"
#include "runtime/thread_pool.h"
#include "io/video.h"
#include "tools/freehead/commands.h"

namespace fh::cli {

int cmd_info(const Args& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: freehead info\n\nPrints version, commit, build options, CUDA devices (or why none)\n"
                  "and the CPU thread count (FH_NUM_THREADS overrides it).\n");
      return 0;
    }
    std::fprintf(stderr, "freehead info: unknown option '%s'\n", a.c_str());
    return 2;
  }
  std::printf("freehead %s\n", version());
  std::printf("commit:        %s\n", git_commit());
  std::printf("build:         %s\n", build_options());
  std::printf("models:        %s (the default of reenact, edit, demo and eval)\n",
              Reenactor::default_models_dir().c_str());
  std::printf("cpu threads:   %d (%s)\n", num_threads(), num_threads_source().c_str());
  std::printf("host cache:    up to %zu MiB of freed large blocks (FH_HOST_CACHE_MB)\n", host::cache_limit() >> 20);
  std::printf("video files:   %s\n", video_support_note().c_str());
  std::printf("photos:        PNG%s\n", jpeg_supported() ? " and JPEG (libjpeg)" : " (JPEG: not built, libjpeg was not found or FH_JPEG=OFF)");
  std::printf("face finding:  %s\n", pipeline::face_detection_note().c_str());
  std::printf("cuda compiled: %s\n", cuda::compiled() ? "yes" : "no");
  if (cuda::compiled()) {
    std::printf("cuda runtime:  %s, driver %s\n", cuda::runtime_version().c_str(), cuda::driver_version().c_str());
  }
  std::printf("cuda conv:     %s, %s (%s)\n", kernels::conv_backend_name(kernels::conv_backend()),
              kernels::conv_backend_description(kernels::conv_backend()), kernels::conv_backend_source().c_str());
  const auto devices = cuda::devices();
  if (devices.empty()) {
    std::printf("cuda devices:  none, running on the CPU (%s)\n", cuda::unavailable_reason().c_str());
  } else {
    std::printf("cuda devices:  %zu\n", devices.size());
    for (const auto& d : devices) {
      std::printf("  cuda:%d  %s, compute %d.%d, %d SMs, %.1f GiB (%.1f GiB free)\n", d.index, d.name.c_str(),
                  d.cc_major, d.cc_minor, d.sm_count, d.total_memory / 1073741824.0, d.free_memory / 1073741824.0);
    }
  }
  return 0;
}

}  // namespace fh::cli
