// Reenactment from a C++ program through the one public header, pipeline/reenactor.h: a
// source photo animated by a folder of driving frames (relative motion, the driver's gaze),
// each result written as a PNG, then the source's head turned 20° with its eyes to the left.
//
//   fh_example_reenact_photo SOURCE.png DRIVING_DIR OUT_DIR [MODELS_DIR]
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/reenactor.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s SOURCE.png DRIVING_DIR OUT_DIR [MODELS_DIR]\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  try {
    const fh::Reenactor r(argc > 4 ? argv[4] : fh::Reenactor::default_models_dir());
    const auto source = r.prepare({fh::read_png(argv[1], 3)});  // done once, reused per frame

    std::vector<std::string> frames;
    for (const auto& e : fs::directory_iterator(argv[2]))
      if (e.path().extension() == ".png") frames.push_back(e.path().string());
    std::sort(frames.begin(), frames.end());
    if (frames.empty()) throw std::runtime_error(std::string("no .png frames in ") + argv[2]);
    fs::create_directories(argv[3]);

    fh::ReenactOptions options;
    options.reference = r.read_face(fh::read_png(frames[0], 3));  // relative motion
    for (size_t i = 0; i < frames.size(); ++i) {
      const fh::ReenactResult out = r.reenact(*source, fh::read_png(frames[i], 3), options);
      fh::write_png((fs::path(argv[3]) / ("frame_" + std::to_string(i) + ".png")).string(), out.image);
      std::printf("%s: driver yaw %+.1f°, %.1f ms\n", frames[i].c_str(), out.driver.yaw_deg, r.last_timing().total_ms);
    }
    const fh::ReenactResult turned = r.edit(*source, {.yaw_deg = 20}, fh::GazeChoice::angles(0, 25));
    fh::write_png((fs::path(argv[3]) / "turned.png").string(), turned.image);
    std::printf("wrote %zu frames and turned.png to %s\n", frames.size(), argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
