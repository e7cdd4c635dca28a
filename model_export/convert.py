"""Swap torch.nn.ConvTranspose2d layers for the tconv drop-in, optionally folding BatchNorm.

``convert(model)`` changes ``model`` IN PLACE and also returns it. Use the return value: when
``model`` is itself an nn.ConvTranspose2d it cannot be replaced in place and a new module comes
back. To keep the original, pass ``copy.deepcopy(model)``.

Only modules whose type is exactly nn.ConvTranspose2d are converted. A user subclass may override
forward, so converting it could change what it computes; it is left alone.
"""
from dataclasses import dataclass
from typing import Dict, Iterator, Tuple

import torch
from torch import nn

from .modules import ConvTranspose2d


@dataclass
class ConversionReport:
    converted: int = 0  # nn.ConvTranspose2d modules replaced by the drop-in (each distinct one once)
    folded_batchnorms: int = 0  # BatchNorm2d modules folded into the preceding conv


def _walk(module: nn.Module) -> Iterator[Tuple[nn.Module, str, nn.Module]]:
    """(parent, child name, child) for every edge of the module tree, shared modules included."""
    for name, child in module._modules.items():
        if child is not None:
            yield module, name, child
            yield from _walk(child)


def _use_counts(model: nn.Module) -> Dict[int, int]:
    counts: Dict[int, int] = {}
    for _, _, child in _walk(model):
        counts[id(child)] = counts.get(id(child), 0) + 1
    return counts


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """Whether bn can be folded into conv: an eval-mode BatchNorm2d with running statistics.

    Exact types only: a subclass may compute something else than its weights suggest.
    """
    return (type(bn) is nn.BatchNorm2d and not bn.training and bn.track_running_stats and
            bn.running_mean is not None and bn.running_var is not None and
            type(conv) in (nn.ConvTranspose2d, ConvTranspose2d) and bn.num_features == conv.out_channels)


@torch.no_grad()
def fold_batchnorm_into(conv: nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
    """Make conv compute bn(conv(x)); bn must be eval mode with running statistics.

    BatchNorm scales output channel c by s[c] = gamma[c] / sqrt(var[c] + eps) and shifts it by
    beta[c] - mean[c] * s[c]. A transposed conv's weight is [Cin, Cout/groups, kh, kw]: output
    channel c = group * (Cout/groups) + j is produced by weight[:, j] of the input channels of
    that group, so the scale is applied along dim 1, group by group. Computed in float64, stored
    in the conv's dtype, as new Parameters (the old tensors are not modified).
    """
    groups = conv.groups
    in_channels, out_per_group = conv.weight.shape[0], conv.weight.shape[1]
    var = bn.running_var.double()
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -bn.running_mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()

    weight = conv.weight.double().reshape(groups, in_channels // groups, out_per_group,
                                          *conv.weight.shape[2:])
    weight = weight * scale.reshape(groups, 1, out_per_group, 1, 1)
    bias = shift if conv.bias is None else conv.bias.double() * scale + shift

    requires_grad = conv.weight.requires_grad
    conv.weight = nn.Parameter(weight.reshape(conv.weight.shape).to(conv.weight.dtype),
                               requires_grad=requires_grad)
    conv.bias = nn.Parameter(bias.to(dtype=conv.weight.dtype, device=conv.weight.device),
                             requires_grad=requires_grad)


def _fold_sequential_batchnorms(model: nn.Module, counts: Dict[int, int]) -> int:
    """Fold every foldable (ConvTranspose2d, BatchNorm2d) pair of adjacent Sequential entries."""
    folded = 0
    containers = [model] + [child for _, _, child in _walk(model)]
    seen = set()
    for container in containers:
        if not isinstance(container, nn.Sequential) or id(container) in seen:
            continue
        seen.add(id(container))
        names = list(container._modules.keys())
        for first, second in zip(names, names[1:]):
            conv, bn = container._modules[first], container._modules[second]
            # A module used in more than one place would change everywhere it is used.
            if (conv is None or bn is None or counts.get(id(conv), 1) > 1 or
                    counts.get(id(bn), 1) > 1 or not _foldable(conv, bn)):
                continue
            fold_batchnorm_into(conv, bn)
            container._modules[second] = nn.Identity()
            folded += 1
    return folded


def convert_with_report(model: nn.Module,
                        fold_batchnorm: bool = False) -> Tuple[nn.Module, ConversionReport]:
    """convert(), also saying how many layers were converted and BatchNorms folded."""
    report = ConversionReport()
    if fold_batchnorm:
        report.folded_batchnorms = _fold_sequential_batchnorms(model, _use_counts(model))
    if type(model) is nn.ConvTranspose2d:
        report.converted = 1
        return ConvTranspose2d.from_torch(model), report
    replacements: Dict[int, ConvTranspose2d] = {}  # one drop-in per distinct module: sharing stays
    for parent, name, child in list(_walk(model)):
        if type(child) is nn.ConvTranspose2d:
            if id(child) not in replacements:
                replacements[id(child)] = ConvTranspose2d.from_torch(child)
            parent._modules[name] = replacements[id(child)]
    report.converted = len(replacements)
    return model, report


def convert(model: nn.Module, fold_batchnorm: bool = False) -> nn.Module:
    """Replace every nn.ConvTranspose2d (at any depth) with the tconv drop-in, in place.

    The drop-ins share the original layers' parameters, so device and dtype are unchanged. With
    fold_batchnorm, an eval-mode BatchNorm2d with running statistics that directly follows a
    ConvTranspose2d inside an nn.Sequential is folded into the conv's weight and bias and replaced
    by nn.Identity; training-mode BatchNorms (and any other layout) are left alone. Returns the
    model (a new module when ``model`` itself is an nn.ConvTranspose2d).
    """
    return convert_with_report(model, fold_batchnorm)[0]
