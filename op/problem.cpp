#include "problem.h"

#include <array>
#include <sstream>

namespace tconv {
namespace {

std::string sizes_string(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

// torch accepts a single value (applied to both axes) or one value per axis.
std::array<int64_t, 2> expand_pair(at::IntArrayRef values, const char* name) {
  TORCH_CHECK(values.size() == 1 || values.size() == 2, "conv_transpose2d: expected ", name,
              " to be a single integer or a list of 2 integers, got ", name, "=",
              sizes_string(values));
  return values.size() == 1 ? std::array<int64_t, 2>{values[0], values[0]}
                            : std::array<int64_t, 2>{values[0], values[1]};
}

// Output size with every step checked for int64 overflow (stride 2^62 must be an error, not a
// wrapped size); false when it overflows.
bool checked_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                         int64_t dilation, int64_t output_padding, int64_t& out) {
  int64_t span, dilated, twice_padding;
  return !(__builtin_mul_overflow(in - 1, stride, &span) ||
           __builtin_mul_overflow(dilation, kernel - 1, &dilated) ||
           __builtin_mul_overflow(padding, int64_t(2), &twice_padding) ||
           __builtin_sub_overflow(span, twice_padding, &out) ||
           __builtin_add_overflow(out, dilated, &out) ||
           __builtin_add_overflow(out, output_padding + 1, &out));
}

bool dtype_supported(at::ScalarType type, Backend backend) {
  switch (backend) {
    case Backend::CPU:
      return type == at::kFloat || type == at::kDouble;
    case Backend::CUDA:
    case Backend::Meta:
      return type == at::kFloat || type == at::kDouble || type == at::kHalf ||
             type == at::kBFloat16;
  }
  return false;
}

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::CPU: return "CPU";
    case Backend::CUDA: return "CUDA";
    case Backend::Meta: return "Meta";
  }
  return "?";
}

}  // namespace

std::vector<int64_t> Problem::output_sizes() const {
  return {geometry.batch, geometry.out_channels, geometry.h.out, geometry.w.out};
}

at::MemoryFormat Problem::output_memory_format() const {
  return input.suggest_memory_format();
}

at::Tensor Problem::new_output() const {
  return at::empty(output_sizes(), input.options().memory_format(output_memory_format()));
}

at::Tensor Problem::finish(at::Tensor output) const {
  return unbatched ? output.squeeze(0) : output;
}

Problem make_problem(const at::Tensor& input_arg, const at::Tensor& weight,
                     const c10::optional<at::Tensor>& bias_arg, at::IntArrayRef stride_arg,
                     at::IntArrayRef padding_arg, at::IntArrayRef output_padding_arg,
                     int64_t groups, at::IntArrayRef dilation_arg, Backend backend) {
  const auto stride = expand_pair(stride_arg, "stride");
  const auto padding = expand_pair(padding_arg, "padding");
  const auto output_padding = expand_pair(output_padding_arg, "output_padding");
  const auto dilation = expand_pair(dilation_arg, "dilation");

  TORCH_CHECK(input_arg.dim() == 3 || input_arg.dim() == 4,
              "conv_transpose2d: expected 3-D (unbatched) or 4-D (batched) input, got input of "
              "shape ", sizes_string(input_arg.sizes()));
  TORCH_CHECK(weight.dim() == 4,
              "conv_transpose2d: expected 4-D weight [in_channels, out_channels/groups, kH, kW], "
              "got weight of shape ", sizes_string(weight.sizes()));

  // dtype and device before anything reads data.
  TORCH_CHECK(dtype_supported(input_arg.scalar_type(), backend), "conv_transpose2d: input dtype ",
              input_arg.scalar_type(), " is not supported on ", backend_name(backend),
              backend == Backend::CPU ? " (supported: float32, float64)"
                                      : " (supported: float32, float64, float16, bfloat16)");
  TORCH_CHECK(weight.scalar_type() == input_arg.scalar_type(), "conv_transpose2d: input dtype (",
              input_arg.scalar_type(), ") and weight dtype (", weight.scalar_type(),
              ") must be the same");
  TORCH_CHECK(weight.device() == input_arg.device(), "conv_transpose2d: input is on ",
              input_arg.device(), " but weight is on ", weight.device(),
              "; both must be on the same device");
  const bool has_bias = bias_arg.has_value() && bias_arg->defined();
  if (has_bias) {
    TORCH_CHECK(bias_arg->scalar_type() == input_arg.scalar_type(), "conv_transpose2d: input dtype (",
                input_arg.scalar_type(), ") and bias dtype (", bias_arg->scalar_type(),
                ") must be the same");
    TORCH_CHECK(bias_arg->device() == input_arg.device(), "conv_transpose2d: input is on ",
                input_arg.device(), " but bias is on ", bias_arg->device(),
                "; both must be on the same device");
  }

  for (int axis = 0; axis < 2; ++axis) {
    TORCH_CHECK(stride[axis] >= 1, "conv_transpose2d: stride must be >= 1, got stride=[",
                stride[0], ", ", stride[1], "]");
    TORCH_CHECK(dilation[axis] >= 1, "conv_transpose2d: dilation must be >= 1, got dilation=[",
                dilation[0], ", ", dilation[1], "]");
    TORCH_CHECK(padding[axis] >= 0, "conv_transpose2d: padding must be >= 0, got padding=[",
                padding[0], ", ", padding[1], "]");
    TORCH_CHECK(output_padding[axis] >= 0,
                "conv_transpose2d: output_padding must be >= 0, got output_padding=[",
                output_padding[0], ", ", output_padding[1], "]");
    TORCH_CHECK(output_padding[axis] < stride[axis] || output_padding[axis] < dilation[axis],
                "conv_transpose2d: output_padding must be smaller than either stride or dilation, "
                "got output_padding=[", output_padding[0], ", ", output_padding[1], "], stride=[",
                stride[0], ", ", stride[1], "], dilation=[", dilation[0], ", ", dilation[1], "]");
  }
  TORCH_CHECK(groups >= 1, "conv_transpose2d: groups must be >= 1, got groups=", groups);

  Problem problem;
  problem.unbatched = input_arg.dim() == 3;
  problem.input = problem.unbatched ? input_arg.unsqueeze(0) : input_arg;
  problem.weight = weight;
  if (has_bias) problem.bias = *bias_arg;

  const at::Tensor& input = problem.input;
  const int64_t in_channels = weight.size(0);
  TORCH_CHECK(in_channels % groups == 0, "conv_transpose2d: groups=", groups,
              " must divide the weight's in_channels (dim 0), got weight of shape ",
              sizes_string(weight.sizes()));
  TORCH_CHECK(input.size(1) == in_channels, "conv_transpose2d: weight of shape ",
              sizes_string(weight.sizes()), " expects input with ", in_channels,
              " channels, got ", input.size(1), " (input of shape ",
              sizes_string(input_arg.sizes()), ")");
  TORCH_CHECK(weight.size(0) >= 1 && weight.size(1) >= 1 && weight.size(2) >= 1 && weight.size(3) >= 1,
              "conv_transpose2d: every dimension of the weight must be >= 1, got "
              "weight of shape ", sizes_string(weight.sizes()));
  const int64_t out_channels = weight.size(1) * groups;
  if (has_bias) {
    TORCH_CHECK(problem.bias->dim() == 1 && problem.bias->size(0) == out_channels,
                "conv_transpose2d: expected bias of shape [", out_channels,
                "] (out_channels = weight.size(1) * groups = ", weight.size(1), " * ", groups,
                "), got bias of shape ", sizes_string(problem.bias->sizes()));
  }
  TORCH_CHECK(input.size(2) >= 1 && input.size(3) >= 1,
              "conv_transpose2d: input spatial size must be >= 1, got input of shape ",
              sizes_string(input_arg.sizes()));

  for (int axis = 0; axis < 2; ++axis) {
    int64_t out = 0;
    TORCH_CHECK(checked_output_size(input.size(2 + axis), weight.size(2 + axis), stride[axis],
                                    padding[axis], dilation[axis], output_padding[axis], out),
                "conv_transpose2d: the output size along ", axis == 0 ? "height" : "width",
                " overflows int64 (input ", input.size(2 + axis), ", kernel ",
                weight.size(2 + axis), ", stride ", stride[axis], ", padding ", padding[axis],
                ", dilation ", dilation[axis], ", output_padding ", output_padding[axis], ")");
  }

  ConvTransposeGeometry& g = problem.geometry;
  g.batch = input.size(0);
  g.in_channels = in_channels;
  g.out_channels = out_channels;
  g.groups = groups;
  g.h = AxisGeometry(input.size(2), weight.size(2), stride[0], padding[0], dilation[0],
                     output_padding[0]);
  g.w = AxisGeometry(input.size(3), weight.size(3), stride[1], padding[1], dilation[1],
                     output_padding[1]);
  TORCH_CHECK(g.h.out >= 1 && g.w.out >= 1, "conv_transpose2d: computed output size [", g.h.out,
              ", ", g.w.out, "] is too small (input spatial size [", g.h.in, ", ", g.w.in,
              "], kernel [", g.h.kernel, ", ", g.w.kernel, "], stride [", g.h.stride, ", ",
              g.w.stride, "], padding [", g.h.padding, ", ", g.w.padding, "], dilation [",
              g.h.dilation, ", ", g.w.dilation, "], output_padding [", output_padding[0], ", ",
              output_padding[1], "])");
  int64_t elements = 0;
  TORCH_CHECK(!__builtin_mul_overflow(g.batch * g.out_channels, g.h.out, &elements) &&
                  !__builtin_mul_overflow(elements, g.w.out, &elements),
              "conv_transpose2d: the output [", g.batch, ", ", g.out_channels, ", ", g.h.out, ", ",
              g.w.out, "] has more elements than int64 can count");
  return problem;
}

}  // namespace tconv
