#include "pipeline/frames.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>


#include "runtime/error.h"

namespace fs = std::filesystem;

namespace fh::pipeline {

namespace {

bool is_png(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png";
}

class FileFrames : public FrameSource {
 public:
  explicit FileFrames(std::vector<std::string> files) : files_(std::move(files)) {}
  int64_t count() const override { return static_cast<int64_t>(files_.size()); }
  Image frame(int64_t i) const override { return read_png(files_.at(static_cast<size_t>(i)), 3); }
  std::string name(int64_t i) const override { return files_.at(static_cast<size_t>(i)); }

 private:
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<FrameSource> open_frames(const std::string& path) {
  std::error_code ec;
  FH_CHECK(fs::exists(path, ec), "frames", "'", path, "' does not exist");
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_regular_file() && is_png(e.path())) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    FH_CHECK(!files.empty(), "frames", "the folder '", path, "' holds no .png frames");
  } else {
    FH_CHECK(is_png(path), "frames", "'", path, "' is not a .png image or a folder of them");
    files.push_back(path);
  }
  return std::make_unique<FileFrames>(std::move(files));
}

FrameSink::FrameSink(std::string dir) : staged_(std::move(dir), "output") {
  std::error_code ec;
  fs::create_directories(fs::path(staged_.staging()) / "frames", ec);
  FH_CHECK(!ec, "output", "cannot create a folder beside '", staged_.target(), "': ", ec.message());
}

void FrameSink::write_frame(int64_t index, const Image& image) {
  char name[32];
  std::snprintf(name, sizeof name, "frames/%06lld.png", static_cast<long long>(index));
  write_png(staging_path(name), image);
}

std::string FrameSink::staging_path(const std::string& name) const {
  return (fs::path(staged_.staging()) / name).string();
}

void FrameSink::commit() { staged_.commit(); }

}  // namespace fh::pipeline
