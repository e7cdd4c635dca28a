// TorchScript round trip without Python: a scripted module whose forward calls
// torch.ops.custom.conv_transpose2d with non-default arguments, saved, loaded back and run.
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/script.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "op_test_support.h"

using namespace tconv_test;

namespace {

// A unique temporary .pt path, removed when the test leaves scope (pass or fail).
struct TempFile {
  std::filesystem::path path;
  TempFile() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("tconv_torchscript_test_" + std::to_string(rd()) + "_" + std::to_string(rd()) + ".pt");
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// Module::define compiles with a resolver that knows only `torch.<aten op>`. This one also resolves
// `torch.ops.<namespace>.<op>` the way scripting from Python does, so the source below reads exactly
// like a scripted Python model.
struct OpsNamespace : torch::jit::SugaredValue {
  std::string kind() const override { return "torch.ops"; }
  std::shared_ptr<torch::jit::SugaredValue> attr(const torch::jit::SourceRange&, torch::jit::GraphFunction&,
                                                 const std::string& ns) override {
    return std::make_shared<torch::jit::BuiltinModule>(ns);
  }
};
struct TorchModule : torch::jit::SugaredValue {
  std::string kind() const override { return "torch"; }
  std::shared_ptr<torch::jit::SugaredValue> attr(const torch::jit::SourceRange& loc,
                                                 torch::jit::GraphFunction& m,
                                                 const std::string& field) override {
    if (field == "ops") return std::make_shared<OpsNamespace>();
    return torch::jit::BuiltinModule("aten").attr(loc, m, field);
  }
};
struct TorchOpsResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    return name == "torch" ? std::make_shared<TorchModule>() : nullptr;
  }
  torch::jit::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
    return nullptr;
  }
};

}  // namespace

CATCH_TEST_CASE("TorchScript: a module calling custom::conv_transpose2d survives save and load",
                "[op][torchscript]") {
  at::Generator gen = at::detail::createCPUGenerator(7);
  const at::Tensor weight = at::randn({6, 2, 3, 4}, gen, at::kFloat);  // groups=3: Cin 6, Cout 6
  const at::Tensor bias = at::randn({6}, gen, at::kFloat);
  const at::Tensor x = at::randn({2, 6, 5, 7}, gen, at::kFloat);

  torch::jit::Module module("TconvRoundTrip");
  module.register_parameter("weight", weight, /*is_buffer=*/false);
  module.register_parameter("bias", bias, /*is_buffer=*/false);
  module.define(R"JIT(
def forward(self, x):
    return torch.ops.custom.conv_transpose2d(x, self.weight, self.bias, [2, 3], [1, 2], [1, 0], 3, [2, 1])
)JIT",
                std::make_shared<TorchOpsResolver>());

  const at::Tensor ref =
      at::conv_transpose2d(x.to(at::kDouble), weight.to(at::kDouble), bias.to(at::kDouble), {2, 3},
                           {1, 2}, {1, 0}, 3, {2, 1});

  // The scripted module before saving.
  const at::Tensor before = module.forward({x}).toTensor();
  CATCH_CHECK(relative_error(before, ref) <= Tolerance::kFloat32);

  torch::jit::Module loaded;
  std::filesystem::path saved_at;
  {
    TempFile file;
    saved_at = file.path;
    module.save(file.path.string());
    CATCH_REQUIRE(std::filesystem::exists(file.path));
    const std::string load_error =
        error_message([&] { loaded = torch::jit::load(file.path.string()); });
    CATCH_INFO(load_error);
    CATCH_REQUIRE(load_error.empty());
  }
  CATCH_CHECK_FALSE(std::filesystem::exists(saved_at));  // cleaned up

  // The loaded graph really calls our op (not something torch rewrote it into).
  std::ostringstream graph;
  graph << *loaded.get_method("forward").graph();
  CATCH_INFO(graph.str());
  CATCH_CHECK(contains(graph.str(), "custom::conv_transpose2d"));

  for (const at::Tensor& input : {x, x.contiguous(at::MemoryFormat::ChannelsLast)}) {
    const at::Tensor out = loaded.forward({input}).toTensor();
    CATCH_CHECK(out.sizes() == ref.sizes());
    CATCH_CHECK(relative_error(out, ref) <= Tolerance::kFloat32);
  }

  // Unbatched input through the loaded module too.
  const at::Tensor out3 = loaded.forward({x[1]}).toTensor();
  CATCH_CHECK(out3.sizes() == ref[1].sizes());
  CATCH_CHECK(relative_error(out3, ref[1]) <= Tolerance::kFloat32);
}
