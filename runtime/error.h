// The one exception type the runtime throws. what() is a single readable line meant for a user
// ("model file 'x.pt' is truncated or corrupt"); detail() keeps whatever libtorch said, traceback
// included, for a log or a --verbose flag.
#pragma once

#include <stdexcept>
#include <string>

namespace tconv {
namespace runtime {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string detail = "")
      : std::runtime_error(message), detail_(std::move(detail)) {}

  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string detail_;
};

// The most useful single line of a libtorch error message. TorchScript wraps the original error
// in an interpreter traceback ("The following operation failed ... RuntimeError: <original>"), and
// c10::Error appends a C++ backtrace; both are noise to a user, so keep the original message's
// first line.
std::string summarize_torch_message(const std::string& message);

}  // namespace runtime
}  // namespace tconv
