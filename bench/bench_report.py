"""One result per (case, mode), the final table, the per-mode summary and the JSON report."""
import dataclasses
import json
import math
import os
import statistics
from typing import Dict, List, Optional

STATUS_OK = "ok"
STATUS_FAIL = "FAIL"    # ran, but tconv's error is above the mode's bar (or not finite)
STATUS_ERROR = "ERROR"  # tconv or torch raised, or shapes/dtypes differ


@dataclasses.dataclass
class Result:
    case: str
    mode: str
    shape: str
    resized_from: Optional[dict]
    status: str = STATUS_OK
    message: str = ""
    torch_ms: Optional[dict] = None   # {"median", "min", "runs"}
    tconv_ms: Optional[dict] = None
    speedup: Optional[float] = None   # torch median / tconv median
    # Norm-wise relative errors against torch's float64 result on the same (rounded) inputs.
    tconv_error: Optional[float] = None
    torch_error: Optional[float] = None
    error_bar: Optional[float] = None
    useful_flops: int = 0
    bytes_moved: int = 0
    floor_ms: Optional[float] = None        # from this GPU's measured ceilings; None on CPU
    tconv_pct_of_floor: Optional[float] = None
    tconv_tflops: Optional[float] = None
    tconv_gbps: Optional[float] = None
    reference_h100: Optional[dict] = None   # copied from cases.json, not measured here


def _fmt(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "-"
    return format(ms, ".1f" if ms >= 100 else ".3f" if ms >= 1 else ".4f")


def _fmt_error(error: Optional[float]) -> str:
    return "-" if error is None else format(error, ".1e")


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[:width - 1] + "~"


_NAME_WIDTH = 40
_COLUMNS = [  # (header, width)
    ("case", _NAME_WIDTH), ("mode", 4), ("torch ms", 9), ("tconv ms", 9), ("speedup", 7),
    ("%floor", 6), ("TFLOP/s", 7), ("GB/s", 7), ("rel.err", 7), ("", 5)]


def format_table(results: List[Result]) -> str:
    """At most ~110 columns: case, mode, medians, speed-up, % of floor, achieved rates, error."""
    def row(cells):
        return " ".join(cell.ljust(w) if i < 2 or i == len(cells) - 1 else cell.rjust(w)
                        for i, (cell, (_, w)) in enumerate(zip(cells, _COLUMNS))).rstrip()

    lines = [row([h for h, _ in _COLUMNS]), "-" * (sum(w for _, w in _COLUMNS) + len(_COLUMNS) - 1)]
    for r in results:
        lines.append(row([
            _short(r.case, _NAME_WIDTH), r.mode,
            _fmt_ms(r.torch_ms and r.torch_ms["median"]),
            _fmt_ms(r.tconv_ms and r.tconv_ms["median"]),
            _fmt(r.speedup, ".2f"), _fmt(r.tconv_pct_of_floor, ".1f"),
            _fmt(r.tconv_tflops, ".3g"), _fmt(r.tconv_gbps, ".3g"),
            _fmt_error(r.tconv_error), "" if r.status == STATUS_OK else r.status]))
    return "\n".join(lines)


def summarize_by_mode(results: List[Result]) -> Dict[str, dict]:
    """Speed-ups per mode over the cases that passed (a wrong answer's speed means nothing)."""
    summary = {}
    for mode in dict.fromkeys(r.mode for r in results):
        of_mode = [r for r in results if r.mode == mode]
        speedups = [r.speedup for r in of_mode if r.status == STATUS_OK and r.speedup]
        entry = {"cases": len(of_mode), "passed": len(speedups)}
        if speedups:
            entry.update(
                geomean_speedup=math.exp(statistics.fmean(math.log(s) for s in speedups)),
                median_speedup=statistics.median(speedups),
                min_speedup=min(speedups))
        summary[mode] = entry
    return summary


def format_summary(summary: Dict[str, dict]) -> str:
    lines = ["speed-up = torch ms / tconv ms (medians); over the cases that passed:"]
    for mode, s in summary.items():
        if s["passed"]:
            lines.append("  {:<5} geomean {:.2f}x  median {:.2f}x  min {:.2f}x  "
                         "({} of {} cases)".format(
                mode, s["geomean_speedup"], s["median_speedup"], s["min_speedup"], s["passed"],
                s["cases"]))
        else:
            lines.append("  {:<5} no case passed ({} run)".format(mode, s["cases"]))
    return "\n".join(lines)


def _strict_json(value):
    """NaN and infinity (a broken kernel's error) as strings: strict JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


def write_json(path: str, environment: dict, results: List[Result], summary: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    report = dict(environment, results=[dataclasses.asdict(r) for r in results], summary=summary)
    with open(path, "w") as f:
        json.dump(_strict_json(report), f, indent=1, default=str, allow_nan=False)
        f.write("\n")
