"""convert(): replacing nn.ConvTranspose2d at any depth, and BatchNorm folding."""
import copy

import pytest
import torch
from torch import nn

from model_export import ConvTranspose2d, convert, convert_with_report

TOL = dict(rtol=1e-5, atol=1e-5)


class Stage(nn.Module):
    """A custom module holding a Sequential, a ModuleList and a ModuleDict of transposed convs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ConvTranspose2d(channels, channels, 3, padding=1), nn.ReLU())
        self.branches = nn.ModuleList([nn.ConvTranspose2d(channels, channels, 1),
                                       nn.Sequential(nn.ConvTranspose2d(channels, channels, 3,
                                                                        padding=1, groups=2))])
        self.heads = nn.ModuleDict({"up": nn.ConvTranspose2d(channels, channels, 2, stride=2)})

    def forward(self, x):
        x = self.body(x)
        for branch in self.branches:
            x = x + branch(x)
        return self.heads["up"](x)


class Network(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)  # not transposed: must stay
        self.stages = nn.Sequential(Stage(4), nn.Sequential(Stage(4)))
        self.out = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, bias=False)

    def forward(self, x):
        return self.out(self.stages(self.stem(x)))


def count(model, cls):
    return sum(type(m) is cls for m in model.modules())


def test_converts_every_layer_at_any_depth_keeping_outputs_and_parameters():
    model = Network().eval()
    x = torch.randn(2, 3, 5, 5)
    expected = model(x)
    original_convs = [m for m in model.modules() if type(m) is nn.ConvTranspose2d]
    original_weights = [m.weight for m in original_convs]
    assert len(original_convs) == 9

    converted, report = convert_with_report(model)
    assert converted is model  # in place
    assert report.converted == 9 and report.folded_batchnorms == 0
    assert count(model, nn.ConvTranspose2d) == 0 and count(model, ConvTranspose2d) == 9
    assert count(model, nn.Conv2d) == 1
    # Same Parameter objects, in the same order: state_dict keys and values unchanged.
    assert [m.weight for m in model.modules() if type(m) is ConvTranspose2d] == original_weights
    torch.testing.assert_close(model(x), expected, **TOL)
    scripted = torch.jit.script(model)
    assert str(scripted.inlined_graph).count("custom::conv_transpose2d(") == 9
    assert "aten::conv_transpose2d" not in str(scripted.inlined_graph)
    torch.testing.assert_close(scripted(x), expected, **TOL)


def test_convert_is_idempotent_and_keeps_dtype():
    model = Network().double().eval()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    expected = model(x)
    convert(model)
    _, report = convert_with_report(model)
    assert report.converted == 0
    assert all(p.dtype == torch.float64 for p in model.parameters())
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)


def test_a_bare_conv_comes_back_as_a_new_module():
    conv = nn.ConvTranspose2d(3, 2, 3, stride=2)
    x = torch.randn(1, 3, 4, 4)
    converted = convert(conv)
    assert type(converted) is ConvTranspose2d and type(conv) is nn.ConvTranspose2d
    assert converted.weight is conv.weight
    torch.testing.assert_close(converted(x), conv(x), **TOL)


def test_a_shared_layer_stays_shared():
    conv = nn.ConvTranspose2d(2, 2, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), conv)
    _, report = convert_with_report(model)
    assert report.converted == 1
    assert model[0] is model[2] and type(model[0]) is ConvTranspose2d


def test_subclasses_are_left_alone():
    class Custom(nn.ConvTranspose2d):
        def forward(self, x, output_size=None):
            return super().forward(x, output_size) * 2

    model = nn.Sequential(Custom(2, 2, 3))
    assert convert_with_report(model)[1].converted == 0
    assert type(model[0]) is Custom


def randomize_batchnorm(bn: nn.BatchNorm2d) -> None:
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        if bn.affine:
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)


@pytest.mark.parametrize("groups,bias,affine", [(1, False, True), (1, True, True),
                                                 (2, True, True), (4, False, False)])
def test_batchnorm_folding_matches_the_unconverted_model(groups, bias, affine):
    model = nn.Sequential(
        nn.ConvTranspose2d(4, 8, 4, stride=2, padding=1, groups=groups, bias=bias),
        nn.BatchNorm2d(8, affine=affine, eps=1e-3), nn.ReLU(),
        Stage(8))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            randomize_batchnorm(m)
    model.eval()
    x = torch.randn(2, 4, 5, 5)
    expected = model(x)
    reference = copy.deepcopy(model)

    _, report = convert_with_report(model, fold_batchnorm=True)
    assert report.folded_batchnorms == 1
    assert type(model[1]) is nn.Identity
    assert model[0].bias is not None  # a conv without bias gets one
    torch.testing.assert_close(model(x), expected, **TOL)
    torch.testing.assert_close(torch.jit.script(model)(x), expected, **TOL)
    # The unconverted copy's parameters were not touched.
    torch.testing.assert_close(reference(x), expected, rtol=0, atol=0)


def test_batchnorm_in_training_mode_or_not_adjacent_is_left_alone():
    model = nn.Sequential(
        nn.ConvTranspose2d(2, 4, 3), nn.BatchNorm2d(4),              # training mode: keep
        nn.ConvTranspose2d(4, 4, 3), nn.ReLU(), nn.BatchNorm2d(4),   # not directly after: keep
        nn.ConvTranspose2d(4, 4, 3), nn.BatchNorm2d(4))              # eval mode: fold
    model[6].eval()
    randomize_batchnorm(model[6])
    _, report = convert_with_report(model, fold_batchnorm=True)
    assert report.folded_batchnorms == 1
    assert [type(m).__name__ for m in model] == [
        "ConvTranspose2d", "BatchNorm2d", "ConvTranspose2d", "ReLU", "BatchNorm2d",
        "ConvTranspose2d", "Identity"]


def test_batchnorm_without_running_stats_is_left_alone():
    model = nn.Sequential(nn.ConvTranspose2d(2, 4, 3),
                          nn.BatchNorm2d(4, track_running_stats=False)).eval()
    x = torch.randn(2, 2, 4, 4)
    expected = model(x)
    _, report = convert_with_report(model, fold_batchnorm=True)
    assert report.folded_batchnorms == 0 and type(model[1]) is nn.BatchNorm2d
    torch.testing.assert_close(model(x), expected, **TOL)


def test_without_fold_batchnorm_nothing_is_folded():
    model = nn.Sequential(nn.ConvTranspose2d(2, 4, 3), nn.BatchNorm2d(4)).eval()
    _, report = convert_with_report(model)
    assert report.folded_batchnorms == 0 and type(model[1]) is nn.BatchNorm2d
