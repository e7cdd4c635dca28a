// tconv-run's command line: parsing and the --help text. Kept apart from main so the rules
// ("--iters takes a non-negative integer") live in one place.
#pragma once

#include <string>
#include <vector>

namespace tconv {
namespace runtime {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;  // --input, repeatable (each file: a tensor or a tuple of them)
  std::string expected;             // --expected
  double rtol = 1e-4;
  double atol = 1e-5;
  std::string output;               // --output
  std::string device = "cpu";
  int warmup = 2;
  int iterations = 10;              // 0: check only, no timing
  int threads = 1;
  bool freeze = true;
  bool optimize = true;
  bool verbose = false;             // errors: also print libtorch's full message
  bool help = false;
};

// Throws Error for an unknown flag, a missing or malformed value, a missing model or input.
// Accepts "--flag value" and "--flag=value".
RunOptions parse_command_line(const std::vector<std::string>& arguments);

std::string usage_text();

}  // namespace runtime
}  // namespace tconv
