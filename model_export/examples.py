"""Example models for export, each with a seeded random input.

Names are fixed (the C++ runtime's end-to-end tests rely on them):
  dcgan_generator  DCGAN generator, nz=100 noise [N, 100, 1, 1] -> image [N, 3, 64, 64]
  unet_decoder     U-Net-style decoder: 2x2/s2 ConvTranspose2d upsampling + Conv2d/ReLU blocks,
                   [N, 64, 8, 8] -> [N, 3, 64, 64]
  case_<name>      one single-layer model per entry of bench/cases.json
Models are built in stock PyTorch (nn.ConvTranspose2d), on the CPU in float32; the exporter
converts and moves them. Building is deterministic and leaves the global random state alone.
"""
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from . import bench_cases

DEFAULT_BATCH = 4  # for dcgan_generator and unet_decoder


@dataclass
class Example:
    name: str
    model: nn.Module
    example_input: Tensor
    info: Dict[str, Any] = field(default_factory=dict)  # extra fields for NAME.json


def dcgan_generator(nz: int = 100, ngf: int = 16, channels: int = 3) -> nn.Sequential:
    """The DCGAN generator (Radford et al.) with small widths: 1x1 -> 4 -> 8 -> 16 -> 32 -> 64."""
    def up(cin: int, cout: int) -> List[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(True)]
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
        nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh())


class UNetDecoder(nn.Module):
    """The decoder half of a U-Net without the skip connections: each stage doubles the size with
    a 2x2/s2 ConvTranspose2d and refines with two 3x3 Conv2d + ReLU; a 1x1 conv makes the image."""

    def __init__(self, channels: int = 64, stages: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        blocks = []
        for _ in range(stages):
            half = channels // 2
            blocks.append(nn.ModuleDict({
                "upsample": nn.ConvTranspose2d(channels, half, 2, stride=2),
                "refine": nn.Sequential(nn.Conv2d(half, half, 3, padding=1), nn.ReLU(inplace=True),
                                        nn.Conv2d(half, half, 3, padding=1), nn.ReLU(inplace=True)),
            }))
            channels = half
        self.stages = nn.ModuleList(blocks)
        self.head = nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage["refine"](stage["upsample"](x))
        return self.head(x)


@torch.no_grad()
def give_batchnorms_trained_statistics(model: nn.Module) -> None:
    """Replace BatchNorm's fresh-init statistics (mean 0, var 1, gamma 1, beta 0), which would
    make folding them a no-op that a wrong fold formula still passes, with trained-looking ones."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0.0, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.uniform_(0.5, 1.5)
            module.bias.normal_(0.0, 0.2)


def example_names(cases_path: Optional[str] = None) -> List[str]:
    return ["dcgan_generator", "unet_decoder"] + [
        bench_cases.PREFIX + case["name"] for case in bench_cases.load_cases(cases_path)]


def name_seed(name: str, seed: int = 0) -> int:
    """A per-model seed, so a model's weights and input don't depend on which others are built."""
    return (seed + zlib.crc32(name.encode())) % (2 ** 31)


def build_example(name: str, batch: Optional[int] = None, crop: Optional[int] = None,
                  seed: int = 0, cases_path: Optional[str] = None) -> Example:
    """Build the named example (see the module docstring) in eval mode.

    batch overrides the batch size (default: DEFAULT_BATCH, or the case's N); crop caps a case's
    H and W (default or 0: the case's own). Raises KeyError naming the known models.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(name_seed(name, seed))
        if name == "dcgan_generator":
            model: nn.Module = dcgan_generator()
            give_batchnorms_trained_statistics(model)
            shape = [batch or DEFAULT_BATCH, 100, 1, 1]
            info: Dict[str, Any] = {}
        elif name == "unet_decoder":
            model = UNetDecoder()
            shape = [batch or DEFAULT_BATCH, 64, 8, 8]
            info = {}
        elif name.startswith(bench_cases.PREFIX):
            case_name = name[len(bench_cases.PREFIX):]
            cases = {case["name"]: case for case in bench_cases.load_cases(cases_path)}
            if case_name not in cases:
                raise KeyError("unknown model {!r}; known: {}".format(
                    name, ", ".join(example_names(cases_path))))
            case = bench_cases.sized_case(cases[case_name], batch, crop)
            model = bench_cases.case_layer(case)
            shape = bench_cases.case_input_shape(case)
            # The cuDNN timings in the entry are for the full size, not this one.
            info = {"case": {key: value for key, value in case.items()
                             if not key.endswith("_ms")}}
        else:
            raise KeyError("unknown model {!r}; known: {}".format(
                name, ", ".join(example_names(cases_path))))
        example_input = torch.randn(shape)
    return Example(name, model.eval(), example_input, info)
