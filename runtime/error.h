// Errors: every failure in freehead is an fh::Error whose message names the op, the shapes
// or values involved, and the condition that failed.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace fh {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] void throw_check_failure(const char* op, const char* condition, const std::string& message,
                                      const char* file, int line);

}  // namespace detail
}  // namespace fh

#if defined(__FILE_NAME__)
#define FH_FILE_NAME __FILE_NAME__
#else
#define FH_FILE_NAME __FILE__
#endif

// FH_CHECK(cond, "op", parts...): throws fh::Error("op: parts... (failed: cond)") when cond is false.
#define FH_CHECK(cond, op, ...)                                                                  \
  do {                                                                                           \
    if (!(cond)) [[unlikely]]                                                                    \
      ::fh::detail::throw_check_failure(op, #cond, ::fh::detail::cat(__VA_ARGS__), FH_FILE_NAME, \
                                        __LINE__);                                               \
  } while (0)

// FH_FAIL("op", parts...): unconditional error.
#define FH_FAIL(op, ...) \
  ::fh::detail::throw_check_failure(op, nullptr, ::fh::detail::cat(__VA_ARGS__), FH_FILE_NAME, __LINE__)
