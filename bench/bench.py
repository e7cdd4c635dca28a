#!/usr/bin/env python3
"""Times tconv's custom::conv_transpose2d against torch.nn.functional.conv_transpose2d, side by
side in one process, on the cases of bench/cases.json; checks tconv's answer on every case.

    CPU:  /usr/bin/python3 bench/bench.py --batch 1 --max-spatial 64
    GPU:  python3 bench/bench.py --device cuda --json $OUT/bench.json

Runs with torch 1.13 (CPU) and torch 2.x (CPU or CUDA); needs nothing but torch. Exits 1 when
tconv failed or was wrong on any case. See bench/README.md.
"""
import argparse
import contextlib
import os
import platform
import shlex
import sys
import zlib
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from bench_cases import Case, load_cases, resize_case, select_cases
from bench_modes import Mode, parse_modes, tf32_switches
from bench_report import (STATUS_ERROR, STATUS_FAIL, Result, format_summary, format_table,
                          summarize_by_mode, write_json)
from bench_timing import (CpuTimer, CudaTimer, measure_ceilings, summarize_ms,
                          time_interleaved)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
DEFAULT_LIBRARY = os.path.join(REPO_ROOT, "build", "op", "libtconv.so")
DEFAULT_CASES = os.path.join(BENCH_DIR, "cases.json")

# The protocol behind the numbers in kernel-design.md; fewer runs are allowed but flagged.
CUDA_MIN_WARMUP = 3
CUDA_MIN_ITERS = 20


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--library", help="libtconv.so (default: $TCONV_LIBRARY, else "
                   "build/op/libtconv.so in the repository)")
    p.add_argument("--cases", default=DEFAULT_CASES, help="cases JSON (default: %(default)s)")
    p.add_argument("--only", help="comma list of case names to run")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--modes", help="comma list; cpu: fp32,fp64; cuda: tf32,fp32,bf16,fp16 "
                   "(default: all for the device)")
    p.add_argument("--batch", type=int, help="override every case's batch size N")
    p.add_argument("--max-spatial", type=int, help="crop H and W to at most this (for the CPU)")
    p.add_argument("--iters", type=int, help="timed runs each (default: cpu 5, cuda 30)")
    p.add_argument("--warmup", type=int, help="untimed calls each first (default: cpu 1, cuda 5)")
    p.add_argument("--threads", type=int, help="CPU threads for both ops "
                   "(default: torch.get_num_threads())")
    p.add_argument("--channels-last", action="store_true",
                   help="pass input and weight in channels_last memory format to both ops")
    p.add_argument("--json", help="also write everything measured to this JSON file")
    args = p.parse_args(argv)
    for name in ("batch", "max_spatial", "iters", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error("--{} must be >= 1, got {}".format(name.replace("_", "-"), value))
    if args.warmup is not None and args.warmup < 0:
        p.error("--warmup must be >= 0, got {}".format(args.warmup))
    return args


def resolve_library(args: argparse.Namespace) -> str:
    if args.library:
        path, origin = args.library, "--library"
    elif os.environ.get("TCONV_LIBRARY"):
        path, origin = os.environ["TCONV_LIBRARY"], "TCONV_LIBRARY"
    else:
        path, origin = DEFAULT_LIBRARY, "the default"
    if not os.path.isfile(path):
        sys.exit("error: tconv plugin not found at {} ({}). Build it (cmake -S . -B build && "
                 "cmake --build build --target tconv) or pass --library PATH.".format(path, origin))
    return os.path.abspath(path)


def load_plugin(path: str) -> None:
    torch.ops.load_library(path)
    try:
        torch.ops.custom.conv_transpose2d
    except (AttributeError, RuntimeError):
        sys.exit("error: {} loaded but registers no custom::conv_transpose2d".format(path))


def pick_device(text: str) -> torch.device:
    try:
        device = torch.device(text)
    except RuntimeError as e:
        sys.exit("error: --device {}: {}".format(text, e))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit("error: --device {}: this torch ({}) sees no CUDA device".format(
                text, torch.__version__))
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        # Events, flushes and both ops then use this device's current stream.
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        sys.exit("error: --device must be cpu, cuda or cuda:N, got {}".format(text))
    return device


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- the two ops on one case --------------------------------------------------------------------

def make_inputs(case: Case, device: torch.device) -> Dict[str, Optional[torch.Tensor]]:
    """Random float32 operands, the same on every run of a case (seeded by its name). The weight
    is scaled so outputs stay near unit size, which keeps float16 far from overflow."""
    torch.manual_seed(zlib.crc32(case.name.encode()))
    fan_in = (case.Cin // case.groups) * case.kh * case.kw
    return {
        "input": torch.randn(case.N, case.Cin, case.H, case.W, device=device),
        "weight": torch.randn(case.Cin, case.Cout // case.groups, case.kh, case.kw,
                              device=device) / fan_in ** 0.5,
        "bias": torch.randn(case.Cout, device=device) if case.bias else None,
    }


def cast_inputs(inputs: dict, dtype: torch.dtype, channels_last: bool) -> dict:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return {
        "input": inputs["input"].to(dtype).contiguous(memory_format=fmt),
        "weight": inputs["weight"].to(dtype).contiguous(memory_format=fmt),
        "bias": None if inputs["bias"] is None else inputs["bias"].to(dtype),
    }


def run_torch(case: Case, t: dict) -> torch.Tensor:
    return F.conv_transpose2d(t["input"], t["weight"], t["bias"], list(case.stride),
                              list(case.padding), list(case.output_padding), case.groups,
                              list(case.dilation))


def run_tconv(case: Case, t: dict) -> torch.Tensor:
    return torch.ops.custom.conv_transpose2d(t["input"], t["weight"], t["bias"], list(case.stride),
                                             list(case.padding), list(case.output_padding),
                                             case.groups, list(case.dilation))


@contextlib.contextmanager
def cudnn_benchmark(enabled: bool):
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = saved


def float64_reference(case: Case, operands: dict) -> torch.Tensor:
    """torch's answer in float64 on the mode's (already rounded) operands, so the error measures
    the kernel's arithmetic, not the rounding of its inputs. No cuDNN search for a one-off call."""
    as64 = {k: None if v is None else v.to(torch.float64) for k, v in operands.items()}
    with cudnn_benchmark(False):
        return run_torch(case, as64)


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| in float64; NaN or infinity when out has them."""
    diff = (out.to(torch.float64) - ref).norm().item()
    scale = ref.norm().item()
    return diff / scale if scale > 0 else diff


# --- one (case, mode) ---------------------------------------------------------------------------

def check_accuracy(result: Result, case: Case, mode: Mode, operands: dict,
                   reference: torch.Tensor) -> None:
    torch_out = run_torch(case, operands)
    tconv_out = run_tconv(case, operands)
    if tconv_out.shape != torch_out.shape or tconv_out.dtype != torch_out.dtype:
        result.status = STATUS_ERROR
        result.message = "tconv returned {} {}, torch {} {}".format(
            list(tconv_out.shape), tconv_out.dtype, list(torch_out.shape), torch_out.dtype)
        return
    result.error_bar = mode.error_bar
    result.torch_error = relative_error(torch_out, reference)
    result.tconv_error = relative_error(tconv_out, reference)
    # Written so that NaN fails: NaN <= bar is False.
    if not result.tconv_error <= mode.error_bar:
        result.status = STATUS_FAIL
        result.message = "tconv error {:.2e} above the {} bar {:.0e}".format(
            result.tconv_error, mode.name, mode.error_bar)


def fill_rates(result: Result, case: Case, mode: Mode, ceilings: Optional[dict]) -> None:
    element_size = torch.tensor([], dtype=mode.dtype).element_size()
    result.useful_flops = case.useful_flops()
    result.bytes_moved = case.tensor_elements() * element_size
    seconds = result.tconv_ms["median"] * 1e-3
    result.tconv_tflops = result.useful_flops / seconds / 1e12
    result.tconv_gbps = result.bytes_moved / seconds / 1e9
    if ceilings and mode.ceiling:
        floor_s = max(result.useful_flops / ceilings[mode.ceiling],
                      result.bytes_moved / ceilings["copy_bytes_per_s"])
        result.floor_ms = floor_s * 1e3
        result.tconv_pct_of_floor = floor_s / seconds * 100


def reference_for_mode(case: Case, mode: Mode) -> Optional[dict]:
    """cases.json's H100 numbers for this mode; None for a resized case (they don't apply)."""
    if case.resized_from is not None:
        return None
    ref = {}
    if mode.cudnn_reference_key:
        ref["cudnn_ms"] = case.reference.get("cudnn_h100_ms", {}).get(mode.cudnn_reference_key)
    if mode.floor_reference_key:
        ref["floor_ms"] = case.reference.get("floor_h100_ms", {}).get(mode.floor_reference_key)
    ref = {k: v for k, v in ref.items() if v is not None}
    return ref or None


def run_mode(case: Case, mode: Mode, operands: dict, reference: torch.Tensor, timer,
             args: argparse.Namespace, ceilings: Optional[dict]) -> Result:
    result = Result(case=case.name, mode=mode.name, shape=case.shape_text(),
                    resized_from=case.resized_from, reference_h100=reference_for_mode(case, mode))
    check_accuracy(result, case, mode, operands, reference)
    if result.status == STATUS_ERROR:
        return result
    times = time_interleaved(timer, {"torch": lambda: run_torch(case, operands),
                                     "tconv": lambda: run_tconv(case, operands)},
                             args.warmup, args.iters)
    result.torch_ms = summarize_ms(times["torch"])
    result.tconv_ms = summarize_ms(times["tconv"])
    result.speedup = result.torch_ms["median"] / result.tconv_ms["median"]
    fill_rates(result, case, mode, ceilings)
    return result


def error_result(case: Case, mode: Mode, error: Exception) -> Result:
    first_line = str(error).strip().split("\n")[0]
    return Result(case=case.name, mode=mode.name, shape=case.shape_text(),
                  resized_from=case.resized_from, status=STATUS_ERROR,
                  message="{}: {}".format(type(error).__name__, first_line))


def run_case(case: Case, modes: List[Mode], device: torch.device, timer,
             args: argparse.Namespace, ceilings: Optional[dict]) -> List[Result]:
    """Every mode of one case. A (case, mode) that raises becomes an ERROR row: one broken
    kernel or an out-of-memory must not hide the other rows' numbers."""
    results = []
    try:
        master = make_inputs(case, device)
    except Exception as e:
        results = [error_result(case, mode, e) for mode in modes]
        for result in results:
            print(progress_line(result), flush=True)
        return results
    # The float64 reference of the last operand dtype: tf32 and fp32 share one; keeping only the
    # latest bounds the memory it holds.
    reference_dtype, reference = None, None
    for mode in modes:
        try:
            with tf32_switches(mode.allow_tf32):
                operands = cast_inputs(master, mode.dtype, args.channels_last)
                if mode.dtype != reference_dtype:
                    reference_dtype, reference = None, None  # free the old one first
                    reference = float64_reference(case, operands)
                    reference_dtype = mode.dtype
                result = run_mode(case, mode, operands, reference, timer, args, ceilings)
        except Exception as e:
            result = error_result(case, mode, e)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(progress_line(result), flush=True)
        results.append(result)
    return results


# --- output -------------------------------------------------------------------------------------

def progress_line(r: Result) -> str:
    if r.torch_ms is None:
        return "  {:<4}  {}: {}".format(r.mode, r.status, r.message)
    text = ("  {:<4}  torch {:.4g} ms (min {:.4g}), tconv {:.4g} ms (min {:.4g}), "
            "speed-up {:.2f}x").format(
        r.mode, r.torch_ms["median"], r.torch_ms["min"], r.tconv_ms["median"], r.tconv_ms["min"],
        r.speedup)
    if r.floor_ms is not None:
        text += ", {:.1f}% of floor {:.4g} ms".format(r.tconv_pct_of_floor, r.floor_ms)
    text += ", {:.3g} TFLOP/s, {:.3g} GB/s; rel. error tconv {:.1e}, torch {:.1e}".format(
        r.tconv_tflops, r.tconv_gbps, r.tconv_error, r.torch_error)
    return text + ("  " + r.status + ": " + r.message if r.message else "")


def reference_line(case: Case) -> str:
    if case.resized_from is not None:
        return "  (resized from N={N} H={H} W={W}: the H100 reference numbers do not apply)".format(
            **case.resized_from)
    parts = []
    for key, label in (("cudnn_h100_ms", "cuDNN"), ("floor_h100_ms", "floor")):
        values = case.reference.get(key)
        if values:
            times = ", ".join("{} {} ms".format(k, v) for k, v in values.items())
            parts.append(label + " " + times)
    if not parts:
        return "  (no reference numbers in the cases file)"
    return "  reference (H100, from the cases file, not measured here): " + "; ".join(parts)


def environment_info(args, device, modes, ceilings, library) -> dict:
    return {
        "command_line": " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "device": str(device),
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "library": library,
        "cases_file": os.path.abspath(args.cases),
        "modes": [m.name for m in modes],
        "iters": args.iters,
        "warmup": args.warmup,
        "batch_override": args.batch,
        "max_spatial": args.max_spatial,
        "channels_last": args.channels_last,
        "cudnn_benchmark": torch.backends.cudnn.benchmark if device.type == "cuda" else None,
        "ceilings": ceilings,
        "timing": ("CUDA events around each call, L2 flushed before each, runs of torch and "
                   "tconv interleaved; median and min" if device.type == "cuda" else
                   "time.perf_counter around each call, runs interleaved; median and min"),
    }


def print_header(env: dict, cases: List[Case]) -> None:
    print("tconv benchmark: torch {} on {} ({}), {} thread(s)".format(
        env["torch_version"], env["device"], env["device_name"], env["threads"]))
    if env["cudnn_version"]:
        print("CUDA {}, cuDNN {}, cudnn.benchmark on".format(env["cuda_version"],
                                                             env["cudnn_version"]))
    print("plugin {}".format(env["library"]))
    print("modes {}; {} warm-up call(s) then {} timed run(s) each".format(
        ",".join(env["modes"]), env["warmup"], env["iters"]))
    if env["batch_override"] or env["max_spatial"]:
        print("note: cases shrunk (batch {}, H and W cropped to at most {}): times are not "
              "comparable with full-size runs or the H100 references".format(
                  env["batch_override"] or "as listed", env["max_spatial"] or "-"))
    c = env["ceilings"]
    if c:
        print("ceilings measured now on this GPU: copy {:.2f} TB/s (read + write), GEMM fp32 "
              "{:.1f}, tf32 {:.1f}, bf16 {:.1f} TFLOP/s".format(
                  c["copy_bytes_per_s"] / 1e12, c["fp32"] / 1e12, c["tf32"] / 1e12,
                  c["bf16"] / 1e12))
    print("{} case(s)".format(len(cases)), flush=True)


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    on_cuda = device.type == "cuda"
    try:
        modes = parse_modes(args.modes, device.type)
        cases = [resize_case(c, args.batch, args.max_spatial)
                 for c in select_cases(load_cases(args.cases), args.only)]
    except (OSError, ValueError) as e:
        sys.exit("error: {}".format(e))
    if args.iters is None:
        args.iters = 30 if on_cuda else 5
    if args.warmup is None:
        args.warmup = 5 if on_cuda else 1
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    library = resolve_library(args)
    load_plugin(library)

    ceilings = None
    if on_cuda:
        torch.backends.cudnn.benchmark = True  # torch at its strongest: cuDNN picks per shape
        timer = CudaTimer(device)
        print("measuring this GPU's ceilings ...", flush=True)
        ceilings = measure_ceilings(timer, device)
    else:
        timer = CpuTimer()
    env = environment_info(args, device, modes, ceilings, library)
    print_header(env, cases)
    if on_cuda and (args.warmup < CUDA_MIN_WARMUP or args.iters < CUDA_MIN_ITERS):
        print("note: fewer than {} warm-up calls or {} timed runs: quick numbers, not the "
              "project's protocol".format(CUDA_MIN_WARMUP, CUDA_MIN_ITERS))

    results = []
    for i, case in enumerate(cases, 1):
        print("[{}/{}] {}: {}".format(i, len(cases), case.name, case.shape_text()))
        print(reference_line(case), flush=True)
        results.extend(run_case(case, modes, device, timer, args, ceilings))

    summary = summarize_by_mode(results)
    print()
    print(format_table(results))
    print()
    print(format_summary(summary))
    failed = [r for r in results if r.status in (STATUS_FAIL, STATUS_ERROR)]
    if args.json:
        write_json(args.json, env, results, summary)
        print("wrote {}".format(args.json))
    if failed:
        print("{} of {} runs FAILED or raised: {}".format(
            len(failed), len(results), ", ".join("{}/{}".format(r.case, r.mode) for r in failed)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
