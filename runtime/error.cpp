#include "error.h"

#include <string>

namespace tconv {
namespace runtime {
namespace {

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

std::string summarize_torch_message(const std::string& message) {
  // The TorchScript interpreter reports the failing op's own error after its traceback, as
  // "RuntimeError: <original message>" (the last such marker is the innermost error).
  const std::string marker = "RuntimeError: ";
  const auto at = message.rfind(marker);
  if (at != std::string::npos) {
    const std::string original = trim(first_line(message.substr(at + marker.size())));
    if (!original.empty()) return original;
  }
  // Otherwise the first non-empty line; the rest of a c10::Error is a C++ backtrace.
  size_t begin = 0;
  while (begin < message.size()) {
    auto end = message.find('\n', begin);
    if (end == std::string::npos) end = message.size();
    const std::string line = trim(message.substr(begin, end - begin));
    if (!line.empty()) return line;
    begin = end + 1;
  }
  return "(no message)";
}

}  // namespace runtime
}  // namespace tconv
