#include "runtime/file_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "runtime/error.h"

namespace fh {

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const char* what) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    FH_CHECK(out.good(), what, "cannot create '", tmp, "': ", std::strerror(errno));
    try {
      write(out);
    } catch (...) {
      out.close();
      std::remove(tmp.c_str());
      throw;
    }
    out.flush();
    if (!out.good()) {
      out.close();
      std::remove(tmp.c_str());
      FH_FAIL(what, "writing '", tmp, "' failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    FH_FAIL(what, "cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes, const char* what) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); },
                    what);
}

std::vector<unsigned char> read_file_bytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  FH_CHECK(in.good(), what, "cannot open '", path, "': ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  FH_CHECK(size >= 0, what, "cannot read the size of '", path, "'");
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  FH_CHECK(in.good() || size == 0, what, "reading '", path, "' failed");
  return bytes;
}

}  // namespace fh
