"""Export one model: convert, script (or trace), freeze, save with its sample input and expected
output, then load the saved file back and check it reproduces the expectation.

Files written for model NAME into the output folder (the C++ runtime reads these):
  NAME.pt           torch.jit.save of the converted, scripted, eval-mode (frozen) model
  NAME.input.pt     torch.save(input): a plain CPU tensor
  NAME.expected.pt  torch.save(output of the ORIGINAL model in stock PyTorch): a plain CPU tensor
  NAME.json         description; check with |out - expected| <= atol + rtol * |expected|
"""
import contextlib
import copy
import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Tuple

import torch
from torch import Tensor, nn

from .convert import convert_with_report
from .plugin import load_plugin, tconv_version

CUSTOM_OP = "custom::conv_transpose2d"
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "bfloat16": torch.bfloat16}


@dataclass
class ExportOptions:
    out_dir: str
    device: torch.device
    dtype: torch.dtype = torch.float32
    freeze: bool = True
    fold_batchnorm: bool = True


@dataclass
class ExportResult:
    name: str
    ok: bool
    input_shape: Optional[list] = None
    output_shape: Optional[list] = None
    max_abs_err: Optional[float] = None
    problem: str = ""  # why it failed

    def line(self) -> str:
        shapes = "{} -> {}".format(self.input_shape, self.output_shape)
        err = "n/a" if self.max_abs_err is None else "{:.3g}".format(self.max_abs_err)
        status = "OK" if self.ok else "FAIL (" + self.problem + ")"
        return "{:<48} {:<40} max_abs_err {:<10} {}".format(self.name, shapes, err, status)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def suggested_tolerance(dtype: torch.dtype, device: torch.device) -> Tuple[float, float]:
    """(rtol, atol) for comparing the tconv model with the stock-PyTorch expectation.

    float32 on CUDA allows for TF32: the expectation is computed in full float32, but the model
    under test runs with torch's default (TF32 allowed for convolutions), as a runtime would.
    """
    if dtype == torch.float64:
        return 1e-9, 1e-9
    if dtype == torch.float32:
        return (1e-2, 1e-2) if device.type == "cuda" else (1e-4, 1e-4)
    if dtype == torch.float16:
        return 1e-2, 1e-2
    return 5e-2, 5e-2  # bfloat16: 8 mantissa bits, and two implementations round differently


@contextlib.contextmanager
def full_float32_precision() -> Iterator[None]:
    """Disable TF32 for cuDNN convolutions and matmuls, restoring the previous settings after.

    Uses the allow_tf32 flags, present in every torch we support. torch >= 2.9 also has per-op
    fp32_precision settings and warns that these flags will be deprecated; their setters keep
    both views consistent, whereas setting only the new conv flag would leave cuDNN's conv and
    RNN flags different, which torch's (and tconv's) allowTF32CuDNN() refuses. So: old flags
    only, with the deprecation warning silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def resolve_device(spec: str) -> torch.device:
    """torch.device for 'cpu', 'cuda' or 'cuda:N', with the index filled in and checked."""
    device = torch.device(spec)
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ValueError("--device must be cpu, cuda or cuda:N, got {!r}".format(spec))
    if not torch.cuda.is_available():
        raise ValueError("--device {}: this torch ({}) sees no CUDA device".format(
            spec, torch.__version__))
    index = torch.cuda.current_device() if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise ValueError("--device {}: only {} CUDA device(s) visible".format(
            spec, torch.cuda.device_count()))
    return torch.device("cuda", index)


def _script_or_trace(model: nn.Module, example_input: Tensor, name: str):
    """torch.jit.script, or torch.jit.trace when scripting fails (said on stderr)."""
    try:
        return torch.jit.script(model), "script"
    except Exception as error:  # noqa: BLE001 - any scripting failure falls back to tracing
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        print("{}: torch.jit.script failed ({}); exporting with torch.jit.trace instead, which "
              "records only the path taken for the example input".format(name, first_line),
              file=sys.stderr)
        with torch.no_grad():
            return torch.jit.trace(model, example_input), "trace"


def compact_cpu_copy(tensor: Tensor) -> Tensor:
    return tensor.detach().cpu().clone(memory_format=torch.contiguous_format)


def _single_tensor(output: Any, what: str) -> Tensor:
    if not isinstance(output, Tensor):
        raise TypeError("{} returned {}, but export needs a model with one Tensor output".format(
            what, type(output).__name__))
    return output


def export_model(name: str, model: nn.Module, example_input: Tensor, options: ExportOptions,
                 extra_info: Optional[Dict[str, Any]] = None) -> ExportResult:
    """Export ``model`` (stock PyTorch; left unchanged) as NAME.* into options.out_dir and verify.

    Never raises for a problem with this model: the result says FAIL and why.
    """
    result = ExportResult(name, ok=False)
    try:
        _export(name, model, example_input, options, extra_info or {}, result)
    except Exception as error:  # noqa: BLE001 - one model's failure must not stop the others
        result.ok = False
        result.problem = "{}: {}".format(type(error).__name__, str(error).strip().splitlines()[0]
                                         if str(error).strip() else "")
    return result


def _export(name: str, model: nn.Module, example_input: Tensor, options: ExportOptions,
            extra_info: Dict[str, Any], result: ExportResult) -> None:
    load_plugin()
    device, dtype = options.device, options.dtype
    original = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
    example = example_input.to(device=device, dtype=dtype)
    result.input_shape = list(example.shape)

    # The reference: the unconverted model in stock PyTorch, float32 on CUDA without TF32.
    expected_tf32 = None
    with torch.no_grad():
        if device.type == "cuda" and dtype == torch.float32:
            expected_tf32 = False
            with full_float32_precision():
                expected = _single_tensor(original(example), name + " (original)")
        else:
            expected = _single_tensor(original(example), name + " (original)")
    result.output_shape = list(expected.shape)

    converted, report = convert_with_report(original, fold_batchnorm=options.fold_batchnorm)
    converted.eval()
    exported, method = _script_or_trace(converted, example, name)
    exported.eval()
    if options.freeze:
        exported = torch.jit.freeze(exported)

    os.makedirs(options.out_dir, exist_ok=True)
    paths = {kind: os.path.join(options.out_dir, name + suffix) for kind, suffix in
             (("model", ".pt"), ("input", ".input.pt"), ("expected", ".expected.pt"),
              ("json", ".json"))}
    torch.jit.save(exported, paths["model"])
    # Compact CPU copies: a view would drag its whole storage into the file, and a CUDA tensor
    # could not be read by a CPU-only runtime.
    torch.save(compact_cpu_copy(example), paths["input"])
    torch.save(compact_cpu_copy(expected), paths["expected"])

    # Check the file as saved, not the object in memory.
    loaded = torch.jit.load(paths["model"], map_location=device)
    with torch.no_grad():
        output = _single_tensor(loaded(example), name + " (exported)")
    custom_calls = str(loaded.inlined_graph).count(CUSTOM_OP + "(")
    rtol, atol = suggested_tolerance(dtype, device)
    result.ok, result.problem, result.max_abs_err = _compare(
        output, expected, rtol, atol, report.converted, custom_calls)

    description = {
        "name": name,
        "input_shape": result.input_shape,
        "output_shape": result.output_shape,
        "dtype": dtype_name(dtype),
        "device": str(device),
        "torch_version": torch.__version__,
        "tconv_version": tconv_version(),
        "conv_layers": report.converted,
        "frozen": options.freeze,
        "rtol": rtol,
        "atol": atol,
        "expected_tf32": expected_tf32,  # null: not applicable (not float32 on CUDA)
        "tolerance_allows_tf32": device.type == "cuda" and dtype == torch.float32,
        "folded_batchnorms": report.folded_batchnorms,
        "export_method": method,
        "custom_op_calls": custom_calls,
        "files": {kind: os.path.basename(path) for kind, path in paths.items() if kind != "json"},
        "verified": {"ok": result.ok, "max_abs_err": result.max_abs_err},
    }
    description.update(extra_info)
    with open(paths["json"], "w") as f:
        json.dump(description, f, indent=1)
        f.write("\n")


def _compare(output: Tensor, expected: Tensor, rtol: float, atol: float, converted: int,
             custom_calls: int) -> Tuple[bool, str, Optional[float]]:
    if list(output.shape) != list(expected.shape):
        return False, "output shape {} != expected {}".format(
            list(output.shape), list(expected.shape)), None
    if output.dtype != expected.dtype:
        return False, "output dtype {} != expected {}".format(output.dtype, expected.dtype), None
    difference = (output.double() - expected.double()).abs()
    max_abs_err = difference.max().item() if difference.numel() else 0.0
    # NaN never passes, not even against a NaN expectation (random inputs should not make any).
    if not torch.isfinite(expected).all():
        return False, "the expected output has NaN/Inf", max_abs_err
    if not torch.isfinite(output).all():
        return False, "output has NaN/Inf", max_abs_err
    if not torch.allclose(output.double(), expected.double(), rtol=rtol, atol=atol):
        return False, "outside rtol={} atol={}".format(rtol, atol), max_abs_err
    if converted and custom_calls == 0:
        return False, "{} layer(s) converted but the saved graph has no {} call".format(
            converted, CUSTOM_OP), max_abs_err
    return True, "", max_abs_err
