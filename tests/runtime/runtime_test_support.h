// Small helpers shared by the runtime's Catch2 tests.
#pragma once

#include <string>

#include "error.h"

namespace tconv_test {

// The message of the tconv::runtime::Error that `action` throws, or a marker that makes any
// content check fail when it throws nothing (or something else).
template <class Action>
std::string runtime_error_message(Action&& action) {
  try {
    action();
  } catch (const tconv::runtime::Error& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("(not a tconv::runtime::Error: ") + error.what() + ")";
  }
  return "(nothing was thrown)";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline bool is_one_line(const std::string& text) {
  return !text.empty() && text.find('\n') == std::string::npos;
}

}  // namespace tconv_test
