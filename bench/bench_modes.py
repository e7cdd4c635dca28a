"""Precision modes: dtype, TF32 switches, the ceiling that bounds them and their accuracy bar."""
import contextlib
import dataclasses
from typing import Iterator, List, Optional

import torch


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    dtype: torch.dtype
    # torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32 for this mode;
    # None where they do not matter (float64, CPU-only modes).
    allow_tf32: Optional[bool]
    # Key of the measured GEMM rate that bounds this mode's compute (bench_timing.measure_ceilings).
    ceiling: Optional[str]
    # Largest norm-wise relative error against a float64 reference that still passes.
    error_bar: float
    # Keys into a case's reference numbers (cases.json) for this mode, where it has them.
    cudnn_reference_key: Optional[str] = None
    floor_reference_key: Optional[str] = None


MODES = {
    "fp64": Mode("fp64", torch.float64, None, None, 1e-10),
    "fp32": Mode("fp32", torch.float32, False, "fp32", 1e-5, "fp32_strict", None),
    "tf32": Mode("tf32", torch.float32, True, "tf32", 1e-3, "tf32_default", "tf32"),
    "bf16": Mode("bf16", torch.bfloat16, True, "bf16", 1e-2, "bf16", "bf16"),
    # The H100's fp16 and bf16 tensor-core rates are equal; the bf16 GEMM rate bounds both.
    "fp16": Mode("fp16", torch.float16, True, "bf16", 1e-2),
}

MODES_BY_DEVICE = {
    "cpu": ("fp32", "fp64"),
    # tconv's CUDA backend has no float64 kernel (architecture.md: float32, float16, bfloat16).
    "cuda": ("tf32", "fp32", "bf16", "fp16"),
}


def parse_modes(text: Optional[str], device_type: str) -> List[Mode]:
    allowed = MODES_BY_DEVICE[device_type]
    if not text:
        return [MODES[name] for name in allowed]
    names = [n.strip() for n in text.split(",") if n.strip()]
    wrong = [n for n in names if n not in allowed]
    if wrong:
        raise ValueError("--modes: {} not available on {} (choose from {})".format(
            ", ".join(wrong), device_type, ",".join(allowed)))
    return [MODES[name] for name in names]


@contextlib.contextmanager
def tf32_switches(allow_tf32: Optional[bool]) -> Iterator[None]:
    """Set torch's TF32 switches for convolutions (cuDNN) and matmuls, restore them afterwards.

    tconv reads the same convolution switch (at::globalContext().allowTF32CuDNN()), so one
    setting governs both sides of the comparison. Only the legacy allow_tf32 API is used (it
    exists in 1.13 and 2.x); torch >= 2.9 can raise "mix of legacy and new APIs" when a process
    also uses the newer fp32_precision settings.
    """
    if allow_tf32 is None:
        yield
        return
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
