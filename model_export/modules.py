"""Drop-in replacement for torch.nn.ConvTranspose2d that runs ``custom::conv_transpose2d``.

It subclasses torch.nn.ConvTranspose2d, so construction (argument checks, ValueErrors, parameter
names and shapes, kaiming_uniform_(a=sqrt(5)) weight init and the bias bound), state_dict keys,
repr and isinstance checks are torch's own. Only forward differs: it calls the plugin's op, which
TorchScript records as a call to ``custom::conv_transpose2d`` that the C++ runtime can run without
Python.
"""
import copy
from typing import List, Optional

import torch
from torch import Tensor, nn

from .plugin import load_plugin


class ConvTranspose2d(nn.ConvTranspose2d):
    """Same constructor, parameters and forward(input, output_size=None) as nn.ConvTranspose2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        # Before anything else: scripting a model that holds this module needs the op registered.
        load_plugin()
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         output_padding=output_padding, groups=groups, bias=bias,
                         dilation=dilation, padding_mode=padding_mode, device=device, dtype=dtype)

    @classmethod
    def from_torch(cls, module: nn.ConvTranspose2d) -> "ConvTranspose2d":
        """A drop-in sharing ``module``'s parameters (same tensors: same device and dtype).

        Built without running __init__, so it neither re-initialises weights nor draws from the
        global random generator. Module bookkeeping (parameters, buffers, hooks) is copied one
        level deep, so the two modules can be changed independently afterwards.
        """
        if not isinstance(module, nn.ConvTranspose2d):
            raise TypeError("from_torch expects an nn.ConvTranspose2d, got {}".format(
                type(module).__name__))
        if module.padding_mode != "zeros":
            raise ValueError("Only \"zeros\" padding mode is supported for ConvTranspose2d, got "
                             "padding_mode='{}'".format(module.padding_mode))
        load_plugin()
        converted = cls.__new__(cls)
        converted.__dict__ = {key: copy.copy(value) if isinstance(value, dict) else value
                              for key, value in module.__dict__.items()}
        return converted

    def _output_padding_for(self, input: Tensor, output_size: Optional[List[int]]) -> List[int]:
        """torch's _ConvTransposeNd._output_padding for 2-D, with its checks and messages.

        Kept here rather than calling torch's private method, whose signature may change between
        the torch versions we support.
        """
        if output_size is None:
            return [self.output_padding[0], self.output_padding[1]]
        num_non_spatial_dims = 2 if input.dim() == 4 else 1
        spatial_size = output_size
        if len(output_size) == num_non_spatial_dims + 2:
            spatial_size = output_size[num_non_spatial_dims:]
        if len(spatial_size) != 2:
            raise ValueError(
                "ConvTranspose2D: for {}D input, output_size must have {} or {} elements (got {})"
                .format(input.dim(), 2, num_non_spatial_dims + 2, len(output_size)))
        min_sizes: List[int] = []
        max_sizes: List[int] = []
        for d in range(2):
            min_size = ((input.size(d + num_non_spatial_dims) - 1) * self.stride[d] -
                        2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            min_sizes.append(min_size)
            max_sizes.append(min_size + self.stride[d] - 1)
        for d in range(2):
            if spatial_size[d] < min_sizes[d] or spatial_size[d] > max_sizes[d]:
                raise ValueError(
                    "requested an output size of {}, but valid sizes range from {} to {} (for an "
                    "input of {})".format(spatial_size, min_sizes, max_sizes,
                                          input.size()[num_non_spatial_dims:]))
        return [spatial_size[0] - min_sizes[0], spatial_size[1] - min_sizes[1]]

    def forward(self, input: Tensor, output_size: Optional[List[int]] = None) -> Tensor:
        if self.padding_mode != "zeros":
            raise ValueError("Only `zeros` padding mode is supported for ConvTranspose2d")
        output_padding = self._output_padding_for(input, output_size)
        return torch.ops.custom.conv_transpose2d(input, self.weight, self.bias, self.stride,
                                                 self.padding, output_padding, self.groups,
                                                 self.dilation)
