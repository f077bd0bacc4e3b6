// Whole-file helpers. Every file freehead writes goes through write_file_atomic: the bytes
// land in a temporary file beside the target, which is renamed over it only when complete,
// so a crash or a full disk never leaves a half-written file under the real name. The
// temporary has an unpredictable name and is created exclusively (never through a link).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace fh {

// `what` names the caller in error messages (e.g. "safetensors", "png"). An AtomicFile
// (below) written through a stream.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const char* what);
void write_file_atomic(const std::string& path, const std::string& bytes, const char* what);

// A file written piece by piece (a video, an animation as its frames come) and put in place
// whole: the bytes go to an exclusively created temporary beside `path`, renamed over it by
// commit(); destroyed before commit() (an error on the way), the temporary is removed and
// any earlier file under `path` is kept.
class AtomicFile {
 public:
  AtomicFile(std::string path, const char* what);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }  // for writers that seek (a video muxer)
  void write(const void* data, size_t size);  // all of it, or an error naming the file
  void commit();

 private:
  std::string path_, tmp_;
  const char* what_;
  int fd_ = -1;
};

// Throws naming the file when it is missing, a directory or not a regular file (a FIFO or
// a device would block or read forever).
void require_regular_file(const std::string& path, const char* what);

// Reads a whole file; errors name the file and the reason.
std::vector<unsigned char> read_file_bytes(const std::string& path, const char* what);

// A folder written whole or not at all: files go into a hidden staging folder beside the
// target (`.<name>.partial-<pid>-<random>`), which commit() renames into place. The target
// must be absent or empty, so nothing an earlier run wrote is ever overwritten; a failure
// (the destructor without commit) removes the staging folder, and a killed process leaves at
// most that hidden folder, never a half-written target.
class StagedDirectory {
 public:
  StagedDirectory(std::string target, const char* what);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::string& target() const { return target_; }
  const std::string& staging() const { return staging_; }  // where to write now
  void commit();

 private:
  std::string target_, staging_;
  const char* what_;
  bool committed_ = false;
};

}  // namespace fh
