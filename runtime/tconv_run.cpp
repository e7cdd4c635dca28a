// tconv-run: load a TorchScript model, run it on an input, check it against an expected output,
// time it. Exit status: 0 ok, 1 check failed, 2 bad usage or input (see usage_text()).
#include <torch/version.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark.h"
#include "command_line.h"
#include "compare.h"
#include "error.h"
#include "model.h"
#include "tensor_io.h"

namespace {

using namespace tconv::runtime;

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;

std::string describe(const at::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes() << " " << c10::toString(tensor.scalar_type()) << " on " << tensor.device();
  return text.str();
}

std::string banner() {
  return std::string("tconv-run (tconv ") + Model::plugin_version() + ", libtorch " TORCH_VERSION ")";
}

int run(const RunOptions& options) {
  std::cout << banner() << "\n";
  LoadOptions load_options;
  load_options.device = options.device;
  load_options.freeze = options.freeze;
  load_options.optimize = options.optimize && options.freeze;
  const Model model(options.model, load_options);
  std::cout << "model: " << model.path() << " on " << model.device() << " ("
            << (model.frozen() ? "frozen" : "not frozen")
            << (model.optimized() ? ", optimized for inference" : "") << "): " << model.signature()
            << "\n";
  if (!model.optimization_note().empty()) std::cout << "note: " << model.optimization_note() << "\n";

  std::vector<at::Tensor> inputs;
  for (const auto& path : options.inputs) {
    for (auto& tensor : load_tensors(path)) inputs.push_back(std::move(tensor));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::cout << "input " << i << ": " << describe(inputs[i]) << "\n";
  }

  const std::vector<at::Tensor> outputs = output_tensors(model.forward(inputs));
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::cout << "output " << i << ": " << describe(outputs[i]) << "\n";
  }
  if (!options.output.empty()) {
    if (outputs.size() != 1) {
      throw Error("--output saves one tensor, but the model returned " + std::to_string(outputs.size()));
    }
    save_tensor(options.output, outputs[0]);
    std::cout << "wrote: " << options.output << "\n";
  }

  bool check_passed = true;
  if (!options.expected.empty()) {
    const at::Tensor expected = load_tensor(options.expected);
    if (outputs.size() != 1) {
      throw Error("--expected holds one tensor, but the model returned " + std::to_string(outputs.size()));
    }
    const Comparison comparison = compare(outputs[0], expected, options.rtol, options.atol);
    std::cout << "check: " << comparison.summary << "\n";
    check_passed = comparison.passed;
  }

  if (options.iterations > 0) {
    BenchmarkOptions benchmark_options;
    benchmark_options.warmup = options.warmup;
    benchmark_options.iterations = options.iterations;
    benchmark_options.threads = options.threads;
    const BenchmarkResult timing = benchmark(model, inputs, benchmark_options);
    char line[256];
    std::snprintf(line, sizeof line,
                  "latency: min %.3f ms, median %.3f ms, p99 %.3f ms (%d iters x %d thread(s), %d warmup)",
                  timing.min_ms, timing.median_ms, timing.p99_ms, options.iterations,
                  options.threads, options.warmup);
    std::cout << line << "\n";
    std::snprintf(line, sizeof line, "throughput: %.1f inferences/s", timing.inferences_per_second);
    std::cout << line << "\n";
  }
  return check_passed ? kExitOk : kExitCheckFailed;
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false;
  try {
    const RunOptions options = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    verbose = options.verbose;
    if (options.help) {
      std::cout << banner() << "\n\n" << usage_text();
      return kExitOk;
    }
    return run(options);
  } catch (const Error& e) {
    std::cout.flush();
    std::cerr << "tconv-run: error: " << e.what() << "\n";
    if (verbose && !e.detail().empty()) std::cerr << e.detail() << "\n";
  } catch (const std::exception& e) {
    // Anything the runtime did not classify (it should not happen): still one line, still exit 2.
    std::cout.flush();
    std::cerr << "tconv-run: error: " << summarize_torch_message(e.what()) << "\n";
    if (verbose) std::cerr << e.what() << "\n";
  } catch (...) {
    std::cerr << "tconv-run: error: unknown exception\n";
  }
  return kExitBadInput;
}
