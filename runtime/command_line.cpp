#include "command_line.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "error.h"

namespace tconv {
namespace runtime {
namespace {

int parse_count(const std::string& flag, const std::string& text, int minimum) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < minimum || value > INT_MAX) {
    throw Error(flag + " expects an integer >= " + std::to_string(minimum) + ", got '" + text + "'");
  }
  return static_cast<int>(value);
}

double parse_tolerance(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(value) || value < 0) {
    throw Error(flag + " expects a finite number >= 0, got '" + text + "'");
  }
  return value;
}

}  // namespace

RunOptions parse_command_line(const std::vector<std::string>& arguments) {
  RunOptions options;
  for (size_t i = 0; i < arguments.size(); ++i) {
    std::string flag = arguments[i];
    std::string value;
    bool has_inline_value = false;
    if (flag.rfind("--", 0) == 0) {
      const auto equals = flag.find('=');
      if (equals != std::string::npos) {
        value = flag.substr(equals + 1);
        flag = flag.substr(0, equals);
        has_inline_value = true;
      }
    }
    // The value of a flag that takes one: inline, or the next argument.
    auto take_value = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= arguments.size()) throw Error(flag + " expects a value");
      return arguments[++i];
    };
    auto no_value = [&]() {
      if (has_inline_value) throw Error(flag + " takes no value, got '" + value + "'");
    };

    if (flag == "--help" || flag == "-h") {
      no_value();
      options.help = true;
    } else if (flag == "--input") {
      options.inputs.push_back(take_value());
    } else if (flag == "--expected") {
      options.expected = take_value();
    } else if (flag == "--rtol") {
      options.rtol = parse_tolerance(flag, take_value());
    } else if (flag == "--atol") {
      options.atol = parse_tolerance(flag, take_value());
    } else if (flag == "--output") {
      options.output = take_value();
    } else if (flag == "--device") {
      options.device = take_value();
    } else if (flag == "--warmup") {
      options.warmup = parse_count(flag, take_value(), 0);
    } else if (flag == "--iters") {
      options.iterations = parse_count(flag, take_value(), 0);
    } else if (flag == "--threads") {
      options.threads = parse_count(flag, take_value(), 1);
    } else if (flag == "--no-freeze") {
      no_value();
      options.freeze = false;
    } else if (flag == "--no-optimize") {
      no_value();
      options.optimize = false;
    } else if (flag == "--verbose") {
      no_value();
      options.verbose = true;
    } else if (flag.size() > 1 && flag[0] == '-') {
      throw Error("unknown option '" + flag + "' (see --help)");
    } else if (options.model.empty()) {
      options.model = flag;
    } else {
      throw Error("unexpected argument '" + flag + "': only one model file is accepted");
    }
  }
  if (options.help) return options;
  if (options.model.empty()) throw Error("no model file given (see --help)");
  if (options.inputs.empty()) throw Error("no --input file given (see --help)");
  return options;
}

std::string usage_text() {
  return R"(usage: tconv-run MODEL.pt --input IN.pt [options]

Loads a TorchScript model (torch.jit.save) that may call custom::conv_transpose2d, runs it on the
input, optionally checks the output against an expected one, and times it.

  --input FILE        tensor file (torch.save) holding the input, or a tuple/list of inputs;
                      repeat for several inputs
  --expected FILE     expected output (torch.save); check |out-exp| <= atol + rtol*|exp|
  --rtol R, --atol A  tolerances for --expected (default 1e-4 and 1e-5)
  --output FILE       write the output tensor here (torch.save format, written atomically)
  --device DEV        cpu (default), cuda or cuda:N
  --warmup N          untimed calls per thread before timing (default 2)
  --iters N           timed calls per thread (default 10; 0: no timing)
  --threads N         threads calling the model concurrently (default 1)
  --no-freeze         run the module as loaded (no torch::jit::freeze, no optimize_for_inference)
  --no-optimize       freeze but skip torch::jit::optimize_for_inference
  --verbose           on error, also print libtorch's full message
  -h, --help          this text

Exit status: 0 ran (and the check passed), 1 the output is outside tolerance or NaN,
2 bad usage or input: missing, corrupt or truncated file, wrong input shape or dtype,
unavailable device, bad flag.
)";
}

}  // namespace runtime
}  // namespace tconv
