#include "runtime/error.h"

namespace fh::detail {

void throw_check_failure(const char* op, const char* condition, const std::string& message, const char* file,
                         int line) {
  std::ostringstream os;
  os << op << ": " << message;
  if (condition != nullptr) os << " (failed: " << condition << ")";
  os << " [" << file << ":" << line << "]";
  throw Error(os.str());
}

}  // namespace fh::detail
