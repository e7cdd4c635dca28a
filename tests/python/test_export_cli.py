"""python3 -m model_export end to end, in a subprocess with the same Python."""
import json
import os
import subprocess
import sys
import textwrap

import torch

from model_export import examples

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_export(*args, check=True):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.run([sys.executable, "-m", "model_export", *args], cwd=REPO_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=300)
    if check:
        assert process.returncode == 0, process.stdout + process.stderr
    return process


def test_list_prints_only_the_names():
    names = run_export("--list").stdout.splitlines()
    assert names == examples.example_names()
    assert names[:2] == ["dcgan_generator", "unet_decoder"]
    assert all(name.startswith("case_") for name in names[2:])


def test_dcgan_generator_end_to_end(tmp_path):
    out = tmp_path / "exported"
    process = run_export("--out", str(out), "--models", "dcgan_generator", "--batch", "3")
    lines = process.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcgan_generator") and lines[0].endswith("OK")
    assert sorted(os.listdir(str(out))) == sorted(
        "dcgan_generator" + suffix for suffix in (".pt", ".input.pt", ".expected.pt", ".json"))

    description = json.loads((out / "dcgan_generator.json").read_text())
    assert description["input_shape"] == [3, 100, 1, 1]
    assert description["output_shape"] == [3, 3, 64, 64]
    assert description["dtype"] == "float32" and description["device"] == "cpu"
    assert description["conv_layers"] == 5 and description["folded_batchnorms"] == 4
    assert description["frozen"] is True and description["export_method"] == "script"
    assert description["torch_version"] == torch.__version__ and description["tconv_version"]

    # The files on their own reproduce the check, and the expectation is the stock model's.
    model = torch.jit.load(str(out / "dcgan_generator.pt"))
    example_input = torch.load(str(out / "dcgan_generator.input.pt"))
    expected = torch.load(str(out / "dcgan_generator.expected.pt"))
    assert isinstance(example_input, torch.Tensor) and isinstance(expected, torch.Tensor)
    assert "custom::conv_transpose2d" in str(model.inlined_graph)
    assert "aten::conv_transpose2d" not in str(model.inlined_graph)
    assert "batch_norm" not in str(model.inlined_graph)  # folded
    with torch.no_grad():
        output = model(example_input)
        stock = examples.build_example("dcgan_generator", batch=3).model(example_input)
    # The same stock model in this process: torch's CPU convolutions need not repeat bit for bit
    # across processes (the GPU machine, session 8: 6% of the elements up to 8e-6 apart), so a
    # float32 reordering's tolerance, far below any difference a wrong model would make.
    torch.testing.assert_close(expected, stock, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(output, expected, rtol=description["rtol"],
                               atol=description["atol"])
    assert expected.abs().max() > 0.1  # a real image, not a constant


USER_MODELS = textwrap.dedent("""
    import torch
    from torch import nn

    class Noisy(nn.Module):
        # Different output on every call: the export check must catch it.
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)

        def forward(self, x):
            return self.up(x) + torch.rand_like(x).sum()

    class NotScriptable(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(2, 3, 3, stride=2)

        def forward(self, x, *extra):  # varargs: torch.jit.script refuses, trace works
            return self.up(x)

    def noisy():
        return Noisy(), torch.randn(1, 2, 4, 4)

    def not_scriptable():
        return NotScriptable(), torch.randn(1, 2, 4, 4)

    def not_a_pair():
        return NotScriptable()
    """)


def test_user_models_trace_fallback_and_failed_checks_exit_non_zero(tmp_path):
    source = tmp_path / "my_models.py"
    source.write_text(USER_MODELS)
    out = tmp_path / "exported"
    process = run_export("--out", str(out), "--model", "{}:not_scriptable".format(source),
                         "--model", "{}:noisy".format(source),
                         "--model", "{}:not_a_pair".format(source), check=False)
    assert process.returncode != 0
    lines = dict(line.split(None, 1) for line in process.stdout.splitlines())
    assert set(lines) == {"not_scriptable", "noisy", "not_a_pair"}
    assert lines["not_scriptable"].endswith("OK")
    assert "torch.jit.trace instead" in process.stderr
    assert json.loads((out / "not_scriptable.json").read_text())["export_method"] == "trace"
    assert "FAIL (outside rtol" in lines["noisy"]
    assert "FAIL" in lines["not_a_pair"] and "must return (model" in lines["not_a_pair"]
