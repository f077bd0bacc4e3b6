#include "runtime/device.h"

#include <cctype>

#include "runtime/error.h"

namespace fh {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    int index = 0;
    for (size_t i = 5; i < text.size(); ++i) {
      FH_CHECK(std::isdigit(static_cast<unsigned char>(text[i])), "Device::parse",
               "expected 'cpu', 'cuda' or 'cuda:N', got '", text, "'");
      index = index * 10 + (text[i] - '0');
    }
    return cuda(index);
  }
  FH_FAIL("Device::parse", "expected 'cpu', 'cuda' or 'cuda:N', got '", text, "'");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace fh
