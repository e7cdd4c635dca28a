"""Timers (CPU wall clock, CUDA events with an L2 flush) and the GPU's measured ceilings."""
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch

from bench_modes import tf32_switches

# Larger than any current GPU's L2 (H100: 50 MB, H200: 60 MB), so writing it evicts the previous
# run's operands and each timed run starts cold.
L2_FLUSH_BYTES = 512 * 2**20


class CpuTimer:
    """Wall clock around one call; the output stays alive until the clock stops, so freeing it
    is never timed."""

    def run(self, fn: Callable[[], torch.Tensor]) -> float:
        start = time.perf_counter()
        out = fn()
        elapsed_ms = (time.perf_counter() - start) * 1e3
        del out
        return elapsed_ms

    def results_ms(self, pending: Sequence[float]) -> List[float]:
        return list(pending)

    def synchronize(self) -> None:
        pass


class CudaTimer:
    """CUDA events on the current stream around one call, after flushing L2.

    Events are read only after the whole series has run (one synchronisation per series), so the
    host never stalls the GPU between runs.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.float32, device=device)

    def run(self, fn: Callable[[], torch.Tensor]) -> Tuple[torch.cuda.Event, torch.cuda.Event]:
        self.flush.zero_()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        return start, end

    def results_ms(self, pending) -> List[float]:
        self.synchronize()
        return [start.elapsed_time(end) for start, end in pending]  # milliseconds

    def synchronize(self) -> None:
        torch.cuda.synchronize(self.device)


def time_interleaved(timer, fns: Dict[str, Callable[[], torch.Tensor]], warmup: int,
                     iters: int) -> Dict[str, List[float]]:
    """Time every function `iters` times, alternating which goes first, so clock or thermal drift
    hits all of them equally. Returns milliseconds per run for each name."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    timer.synchronize()
    names = list(fns)
    pending = {name: [] for name in names}
    for i in range(iters):
        for name in (names if i % 2 == 0 else names[::-1]):
            pending[name].append(timer.run(fns[name]))
    return {name: timer.results_ms(pending[name]) for name in names}


def summarize_ms(samples: Sequence[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "runs": list(samples)}


# --- ceilings of the GPU, measured once per run --------------------------------------------

_COPY_BYTES = 2**30
_GEMM_SIZE = 8192
_CEILING_WARMUP = 3
_CEILING_ITERS = 10


def _median_ms(timer: CudaTimer, fn: Callable[[], torch.Tensor]) -> float:
    samples = time_interleaved(timer, {"fn": fn}, _CEILING_WARMUP, _CEILING_ITERS)["fn"]
    return statistics.median(samples)


def _copy_bandwidth(timer: CudaTimer, device: torch.device) -> float:
    """Device copy rate in bytes/s, counting bytes read plus bytes written."""
    src = torch.randn(_COPY_BYTES // 4, device=device)
    dst = torch.empty_like(src)
    ms = _median_ms(timer, lambda: dst.copy_(src))
    return 2 * _COPY_BYTES / (ms * 1e-3)


def _gemm_rate(timer: CudaTimer, device: torch.device, dtype: torch.dtype,
               allow_tf32: bool) -> float:
    """Square GEMM rate in flop/s. Random operands: the clock a GPU holds depends on the data."""
    n = _GEMM_SIZE
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    with tf32_switches(allow_tf32):
        ms = _median_ms(timer, lambda: torch.matmul(a, b, out=c))
    return 2 * n**3 / (ms * 1e-3)


def measure_ceilings(timer: CudaTimer, device: torch.device) -> Dict[str, float]:
    """Bandwidth (bytes/s) and GEMM rates (flop/s) of this GPU, the denominators of each floor.
    Keys 'fp32', 'tf32', 'bf16' match Mode.ceiling."""
    ceilings = {
        "copy_bytes_per_s": _copy_bandwidth(timer, device),
        "fp32": _gemm_rate(timer, device, torch.float32, allow_tf32=False),
        "tf32": _gemm_rate(timer, device, torch.float32, allow_tf32=True),
        "bf16": _gemm_rate(timer, device, torch.bfloat16, allow_tf32=True),
    }
    torch.cuda.empty_cache()  # give the 1 GiB copy buffers back before the cases allocate
    return ceilings
