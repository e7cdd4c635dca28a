"""The drop-in ConvTranspose2d against torch.nn.ConvTranspose2d."""
import itertools

import pytest
import torch
from torch import nn

from model_export import ConvTranspose2d

# float32 sums of a few dozen products: differences come from summation order only.
TOL = dict(rtol=1e-5, atol=1e-5)


def pair(modules_kwargs):
    """(torch module, drop-in) with the same arguments and the torch module's random weights."""
    reference = nn.ConvTranspose2d(**modules_kwargs)
    with torch.no_grad():  # non-trivial bias even where torch's init bound is small
        if reference.bias is not None:
            reference.bias.uniform_(-1, 1)
    drop_in = ConvTranspose2d(**modules_kwargs)
    drop_in.load_state_dict(reference.state_dict())
    return reference, drop_in


def sweep():
    """stride x padding x dilation x groups, alternating bias, the largest valid output_padding,
    an asymmetric kernel: 36 small problems."""
    cases = []
    for index, (stride, padding, dilation, groups) in enumerate(itertools.product(
            [1, 2, (2, 3)], [0, 1, (2, 1)], [1, (2, 1)], [1, 2])):
        s = (stride, stride) if isinstance(stride, int) else stride
        d = (dilation, dilation) if isinstance(dilation, int) else dilation
        output_padding = tuple(max(s[axis], d[axis]) - 1 for axis in range(2))
        cases.append(dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=stride,
                          padding=padding, output_padding=output_padding, groups=groups,
                          bias=index % 2 == 0, dilation=dilation))
    return cases


@pytest.mark.parametrize("kwargs", sweep(), ids=lambda k: "s{stride}-p{padding}-d{dilation}-"
                         "g{groups}-op{output_padding}-b{bias}".format(**k).replace(" ", ""))
def test_matches_torch_over_parameter_sweep(kwargs):
    reference, drop_in = pair(kwargs)
    x = torch.randn(2, 4, 5, 6)
    expected = reference(x)
    assert drop_in(x).shape == expected.shape
    torch.testing.assert_close(drop_in(x), expected, **TOL)


@pytest.mark.parametrize("shape", [(4, 5, 6), (0, 4, 5, 6), (1, 4, 1, 1)],
                         ids=["unbatched", "empty-batch", "1x1-input"])
def test_matches_torch_on_unusual_input_shapes(shape):
    reference, drop_in = pair(dict(in_channels=4, out_channels=3, kernel_size=3, stride=2,
                                   padding=1, output_padding=1))
    x = torch.randn(shape)
    torch.testing.assert_close(drop_in(x), reference(x), **TOL)


def test_matches_torch_for_float64_and_channels_last():
    reference, drop_in = pair(dict(in_channels=4, out_channels=4, kernel_size=4, stride=2,
                                   padding=1, groups=2))
    reference.double()
    drop_in.double()
    x = torch.randn(2, 4, 6, 5, dtype=torch.float64)
    torch.testing.assert_close(drop_in(x), reference(x), rtol=1e-12, atol=1e-12)
    x = x.float().to(memory_format=torch.channels_last)
    reference.float()
    drop_in.float()
    torch.testing.assert_close(drop_in(x), reference(x), **TOL)


def test_same_init_as_torch_from_the_same_seed():
    kwargs = dict(in_channels=6, out_channels=4, kernel_size=(3, 5), groups=2)
    torch.manual_seed(7)
    reference = nn.ConvTranspose2d(**kwargs)
    torch.manual_seed(7)
    drop_in = ConvTranspose2d(**kwargs)
    assert drop_in.weight.shape == reference.weight.shape == (6, 2, 3, 5)
    assert torch.equal(drop_in.weight, reference.weight)
    assert torch.equal(drop_in.bias, reference.bias)
    assert drop_in.bias.abs().max() > 0


def test_dtype_and_device_arguments():
    drop_in = ConvTranspose2d(2, 3, 3, device="cpu", dtype=torch.float64)
    assert drop_in.weight.dtype == torch.float64 and drop_in.bias.dtype == torch.float64


def test_state_dict_loads_both_ways():
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, groups=2)
    reference, drop_in = nn.ConvTranspose2d(**kwargs), ConvTranspose2d(**kwargs)
    assert list(reference.state_dict()) == list(drop_in.state_dict()) == ["weight", "bias"]
    x = torch.randn(1, 4, 4, 4)

    drop_in.load_state_dict(reference.state_dict(), strict=True)
    torch.testing.assert_close(drop_in(x), reference(x), **TOL)

    fresh_drop_in = ConvTranspose2d(**kwargs)
    reference.load_state_dict(fresh_drop_in.state_dict(), strict=True)
    torch.testing.assert_close(fresh_drop_in(x), reference(x), **TOL)
    assert not torch.equal(drop_in.weight, fresh_drop_in.weight)  # the second load did something

    no_bias = nn.ConvTranspose2d(4, 6, 3, bias=False)
    with pytest.raises(RuntimeError, match="bias"):
        no_bias.load_state_dict(drop_in.state_dict(), strict=True)


@pytest.mark.parametrize("input_shape", [(2, 4, 5, 7), (4, 5, 7)], ids=["batched", "unbatched"])
def test_output_size_selects_the_same_output_padding_as_torch(input_shape):
    reference, drop_in = pair(dict(in_channels=4, out_channels=2, kernel_size=3, stride=(3, 2),
                                   padding=1))
    x = torch.randn(input_shape)
    base_h, base_w = reference(x).shape[-2:]
    leading = list(input_shape[:-3]) + [2] if len(input_shape) == 4 else [2]
    for extra_h, extra_w in itertools.product(range(3), range(2)):
        size = [base_h + extra_h, base_w + extra_w]
        for output_size in (size, leading + size, torch.Size(size)):
            expected = reference(x, output_size)
            assert list(expected.shape[-2:]) == size
            torch.testing.assert_close(drop_in(x, output_size), expected, **TOL)


@pytest.mark.parametrize("output_size,message", [
    ([100, 100], "requested an output size of"),
    ([1, 1], "requested an output size of"),
    ([13], "output_size must have 2 or 4 elements"),
    ([1, 2, 13, 14, 15], "output_size must have 2 or 4 elements"),
])
def test_output_size_errors_match_torch(output_size, message):
    reference, drop_in = pair(dict(in_channels=4, out_channels=2, kernel_size=3, stride=2))
    x = torch.randn(1, 4, 6, 6)
    with pytest.raises(ValueError):
        reference(x, output_size)
    with pytest.raises(ValueError, match=message):
        drop_in(x, output_size)
    with pytest.raises(torch.jit.Error, match=message):
        torch.jit.script(drop_in)(x, output_size)


def test_script_and_trace_match_eager_and_call_the_custom_op():
    reference, drop_in = pair(dict(in_channels=4, out_channels=6, kernel_size=(4, 3),
                                   stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2))
    x = torch.randn(2, 4, 5, 6)
    expected = reference(x)
    scripted = torch.jit.script(drop_in)
    traced = torch.jit.trace(drop_in, x)
    for compiled in (scripted, traced):
        assert "custom::conv_transpose2d" in str(compiled.inlined_graph)
        assert "aten::conv_transpose2d" not in str(compiled.inlined_graph)
        torch.testing.assert_close(compiled(x), expected, **TOL)
    # Scripted code keeps the output_size logic; the trace froze the one it saw.
    size = list(expected.shape[-2:])
    size[0] += 1
    torch.testing.assert_close(scripted(x, size), reference(x, size), **TOL)
    frozen = torch.jit.freeze(torch.jit.script(drop_in.eval()))
    torch.testing.assert_close(frozen(x), expected, **TOL)


def test_rejects_what_torch_rejects_at_construction():
    for kwargs, error, message in [
        (dict(padding_mode="reflect"), ValueError, "zeros"),
        (dict(padding_mode="circular"), ValueError, "zeros"),
        (dict(groups=0), ValueError, "groups"),
        (dict(groups=3), ValueError, "divisible by groups"),
    ]:
        with pytest.raises(error):
            nn.ConvTranspose2d(4, 6, 3, **kwargs)
        with pytest.raises(error, match=message):
            ConvTranspose2d(4, 6, 3, **kwargs)


def test_rejects_what_torch_rejects_at_run_time():
    reference, drop_in = pair(dict(in_channels=4, out_channels=6, kernel_size=3))
    cases = [
        (torch.randn(1, 5, 4, 4), "expects input with 4 channels, got 5"),  # wrong channels
        (torch.randn(4, 4), "3-D \\(unbatched\\) or 4-D"),  # wrong rank
    ]
    for x, message in cases:
        with pytest.raises(RuntimeError):
            reference(x)
        with pytest.raises(RuntimeError, match=message):
            drop_in(x)
    # output_padding must stay below stride or dilation; torch checks it at run time.
    reference, drop_in = pair(dict(in_channels=4, out_channels=6, kernel_size=3, stride=2,
                                   output_padding=2))
    x = torch.randn(1, 4, 4, 4)
    with pytest.raises(RuntimeError):
        reference(x)
    with pytest.raises(RuntimeError, match="output_padding"):
        drop_in(x)


def test_padding_mode_changed_after_construction_is_rejected_like_torch():
    reference, drop_in = pair(dict(in_channels=2, out_channels=2, kernel_size=3))
    reference.padding_mode = drop_in.padding_mode = "reflect"
    x = torch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError):
        reference(x)
    with pytest.raises(ValueError, match="zeros"):
        drop_in(x)
