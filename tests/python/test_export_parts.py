"""Pieces of the export command that need no subprocess: examples, sizes, settings."""
import pytest
import torch

from model_export import bench_cases, examples, export, user_models


def test_examples_have_the_documented_shapes_and_are_deterministic():
    dcgan = examples.build_example("dcgan_generator", batch=2)
    assert list(dcgan.example_input.shape) == [2, 100, 1, 1]
    with torch.no_grad():
        assert list(dcgan.model(dcgan.example_input).shape) == [2, 3, 64, 64]
    unet = examples.build_example("unet_decoder")
    assert list(unet.example_input.shape) == [examples.DEFAULT_BATCH, 64, 8, 8]
    with torch.no_grad():
        assert list(unet.model(unet.example_input).shape) == [examples.DEFAULT_BATCH, 3, 64, 64]
    again = examples.build_example("dcgan_generator", batch=2)
    assert torch.equal(again.example_input, dcgan.example_input)
    assert torch.equal(again.model[0].weight, dcgan.model[0].weight)
    # BatchNorm statistics are not the fresh-init ones (folding them would test nothing).
    assert dcgan.model[1].running_var.sub(1).abs().max() > 0.1


def test_building_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    examples.build_example("unet_decoder")
    assert torch.equal(torch.get_rng_state(), state)


def test_every_case_becomes_a_cropped_single_layer_model():
    cases = bench_cases.load_cases()
    if not cases:
        pytest.skip("no bench/cases.json (nor ../shared/bench/cases.json) in this checkout")
    for case in cases:
        example = examples.build_example("case_" + case["name"], batch=1, crop=8)
        layer = example.model
        assert type(layer) is torch.nn.ConvTranspose2d
        assert layer.weight.shape == (case["Cin"], case["Cout"] // case["groups"], case["kh"],
                                      case["kw"])
        assert list(layer.stride) == case["stride"] and list(layer.dilation) == case["dilation"]
        assert (layer.bias is not None) == case["bias"]
        assert list(example.example_input.shape) == [1, case["Cin"], min(case["H"], 8),
                                                     min(case["W"], 8)]
        assert "cudnn_h100_ms" not in example.info["case"]  # timings are for the full size
    with pytest.raises(KeyError, match="unknown model 'case_nope'; known: dcgan_generator"):
        examples.build_example("case_nope")


def test_tolerances_and_tf32_switch():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert export.suggested_tolerance(torch.float32, cpu) == (1e-4, 1e-4)
    assert export.suggested_tolerance(torch.float32, cuda)[1] >= 1e-3  # allows TF32
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = True
    try:
        with export.full_float32_precision():
            assert not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_device_and_model_spec_errors():
    assert export.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="cpu, cuda or cuda:N"):
        export.resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            export.resolve_device("cuda")
    assert user_models.parse_spec("dir/my.py:build") == ("dir/my.py", "build")
    for bad in ("my.py", "my.py:", ":build", "my.py:not-a-name"):
        with pytest.raises(ValueError, match="path/to/file.py:factory"):
            user_models.parse_spec(bad)
