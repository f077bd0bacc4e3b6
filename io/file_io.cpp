#include "io/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <streambuf>

#include "runtime/error.h"

namespace fh {

namespace {

// A write-only stream buffer over a file descriptor, so that the temporary file can be
// opened with open(2)'s flags (O_EXCL, O_NOFOLLOW), which std::ofstream cannot ask for.
// A failed write(2) keeps its errno for the error message (ENOSPC: disk full).
class FdWriteBuf : public std::streambuf {
 public:
  explicit FdWriteBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof(buf_)); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
    }
    setp(buf_, buf_ + sizeof(buf_));
    return true;
  }

  int fd_;
  int error_ = 0;
  char buf_[1 << 16];
};

// 16 random hex digits: names another user cannot guess ahead of time (to plant a link
// there) and that two writers of the same file never share.
std::string random_hex() {
  static thread_local std::mt19937_64 rng{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                          std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(rng()));
  return hex;
}

std::string temporary_name(const std::string& path) { return path + ".tmp." + random_hex(); }

// Creates the temporary exclusively: O_EXCL fails on anything already there, a symbolic
// link included, so the bytes never land in a file someone else chose.
int create_temporary(const std::string& path, std::string& tmp, const char* what) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    tmp = temporary_name(path);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) FH_FAIL(what, "cannot create '", tmp, "': ", std::strerror(errno));
  }
  FH_FAIL(what, "cannot create a temporary file beside '", path, "': every name tried exists");
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const char* what) {
  AtomicFile file(path, what);  // an exception below leaves it uncommitted: the temporary goes
  FdWriteBuf buf(file.fd());
  std::ostream out(&buf);
  write(out);
  out.flush();
  if (!out.good())
    FH_FAIL(what, "writing '", path, "' failed: ", std::strerror(buf.error() != 0 ? buf.error() : EIO),
            " (the previous file, if any, is kept)");
  file.commit();
}

void write_file_atomic(const std::string& path, const std::string& bytes, const char* what) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); },
                    what);
}

AtomicFile::AtomicFile(std::string path, const char* what) : path_(std::move(path)), what_(what) {
  fd_ = create_temporary(path_, tmp_, what_);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  FH_CHECK(fd_ >= 0, what_, "'", path_, "' was already committed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    FH_CHECK(n > 0, what_, "writing '", path_, "' failed: ", std::strerror(n < 0 ? errno : EIO),
             " (the previous file, if any, is kept)");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  FH_CHECK(fd_ >= 0, what_, "'", path_, "' was already committed");
  const int fd = fd_;
  fd_ = -1;
  // fsync before the rename: the new name then never points at bytes still in flight, even
  // across a power cut, and filesystems that allocate late report a full disk here.
  int error = ::fsync(fd) != 0 && errno != EINVAL ? errno : 0;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    std::remove(tmp_.c_str());
    FH_FAIL(what_, "writing '", path_, "' failed: ", std::strerror(error), " (the previous file, if any, is kept)");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    FH_FAIL(what_, "cannot rename '", tmp_, "' to '", path_, "': ", std::strerror(err));
  }
}

void require_regular_file(const std::string& path, const char* what) {
  struct stat st {};
  FH_CHECK(::stat(path.c_str(), &st) == 0, what, "cannot open '", path, "': ", std::strerror(errno));
  FH_CHECK(!S_ISDIR(st.st_mode), what, "'", path, "' is a directory, not a file");
  FH_CHECK(S_ISREG(st.st_mode), what, "'", path, "' is not a regular file");
}

StagedDirectory::StagedDirectory(std::string target, const char* what) : target_(std::move(target)), what_(what) {
  namespace fs = std::filesystem;
  FH_CHECK(!target_.empty(), what_, "the output folder name is empty");
  std::error_code ec;
  if (fs::exists(target_, ec)) {
    FH_CHECK(fs::is_directory(target_, ec), what_, "'", target_, "' exists and is not a folder");
    FH_CHECK(fs::is_empty(target_, ec), what_, "the output folder '", target_,
             "' is not empty; choose a new one (nothing an earlier run wrote is overwritten)");
  }
  const fs::path full = fs::absolute(fs::path(target_)).lexically_normal();
  const fs::path name = full.has_filename() ? full.filename() : full.parent_path().filename();
  const fs::path parent = full.has_filename() ? full.parent_path() : full.parent_path().parent_path();
  fs::create_directories(parent, ec);
  FH_CHECK(!ec, what_, "cannot create the folder '", parent.string(), "' for '", target_, "': ", ec.message());
  // The pid says which process left a folder behind; the random part keeps processes of
  // other pid namespaces (or a reused pid) apart.
  std::string hidden = ".";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on "." + string
  hidden += name.string();
  hidden += ".partial-" + std::to_string(::getpid()) + "-" + random_hex();
  staging_ = (parent / hidden).string();
  FH_CHECK(fs::create_directory(staging_, ec) && !ec, what_, "cannot create a folder beside '", target_,
           "': ", ec ? ec.message() : std::string("it already exists"));
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
}

void StagedDirectory::commit() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(target_, ec)) fs::remove(target_, ec);  // an empty folder (checked at the start)
  fs::rename(staging_, target_, ec);
  FH_CHECK(!ec, what_, "cannot move the finished folder into '", target_, "': ", ec.message());
  committed_ = true;
}

std::vector<unsigned char> read_file_bytes(const std::string& path, const char* what) {
  require_regular_file(path, what);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  FH_CHECK(in.good(), what, "cannot open '", path, "': ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  FH_CHECK(size >= 0, what, "cannot read the size of '", path, "'");
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  FH_CHECK(in.gcount() == size, what, "reading '", path, "' failed (", in.gcount(), " of ", size, " bytes)");
  return bytes;
}

}  // namespace fh
