// Writes the files the tconv-run and dlopen CTest cases run on (see CMakeLists.txt):
//   make_runtime_fixtures DIR
// upsampler.{pt,input.pt,expected.pt} (valid), and broken or mismatched variants of them.
#include <torch/torch.h>

#include <exception>
#include <fstream>
#include <iostream>
#include <limits>

#include "model.h"
#include "tensor_io.h"
#include "test_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_runtime_fixtures DIR\n";
    return 2;
  }
  const std::string directory = argv[1];
  try {
    tconv_test::make_directories(directory);
    const auto files = tconv_test::write_upsampler(directory);
    tconv_test::write_unknown_operator_model(directory);
    tconv_test::write_truncated_copy(files.model, directory + "/truncated.pt");
    tconv_test::write_truncated_copy(files.input, directory + "/truncated.input.pt");
    tconv_test::write_text_file(directory + "/text.pt", "this is not a model\n");

    using tconv::runtime::save_tensor;
    // Values off by far more than the tolerance: tconv-run must report a failed check.
    save_tensor(directory + "/upsampler.wrong_expected.pt", files.expected_tensor + 0.5);
    // One NaN in the input poisons a patch of the output: a failed check, never a pass.
    at::Tensor nan_input = files.input_tensor.clone();
    nan_input[0][0][2][2] = std::numeric_limits<float>::quiet_NaN();
    save_tensor(directory + "/upsampler.nan_input.pt", nan_input);
    // Inputs the model cannot take.
    save_tensor(directory + "/upsampler.wrong_channels.pt", torch::randn({2, 3, 5, 5}));
    save_tensor(directory + "/upsampler.double_input.pt", files.input_tensor.to(torch::kDouble));
    const std::vector<char> pair = torch::pickle_save(
        c10::ivalue::Tuple::create(c10::IValue(files.input_tensor), c10::IValue(files.input_tensor)));
    std::ofstream(directory + "/upsampler.two_inputs.pt", std::ios::binary)
        .write(pair.data(), static_cast<std::streamsize>(pair.size()));
  } catch (const std::exception& e) {
    std::cerr << "make_runtime_fixtures: " << e.what() << "\n";
    return 1;
  }
  // Calling into libtconv (through the runtime) also keeps it a needed library of this program
  // under --as-needed linking, so the op is registered before the models above are built.
  std::cout << "wrote runtime test fixtures (tconv " << tconv::runtime::Model::plugin_version()
            << ") to " << directory << "\n";
  return 0;
}
