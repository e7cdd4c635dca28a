"""python3 -m model_export: export example (or user) models for the C++ runtime; see README.md."""
import argparse
import sys
from typing import List, Optional

import torch

from . import bench_cases, examples, user_models
from .export import DTYPES, ExportOptions, ExportResult, export_model, resolve_device
from .plugin import PluginNotFoundError, load_plugin

# On the CPU the benchmark cases are cut down unless told otherwise: at full size the largest
# would need gigabytes and minutes in the reference kernel.
CPU_CASE_BATCH = 2
CPU_CASE_CROP = 32


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 -m model_export",
        description="Convert models to use custom::conv_transpose2d, export them to TorchScript "
                    "with a sample input and the stock-PyTorch expected output, and verify.")
    parser.add_argument("--out", default="exported", help="output folder (default: exported)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES),
                        help="model and input dtype (default: float32; CPU: float32/float64)")
    parser.add_argument("--batch", type=int, help="batch size (default: 4 for dcgan_generator "
                        "and unet_decoder; for case_* models the case's N, {} on cpu)".format(
                            CPU_CASE_BATCH))
    parser.add_argument("--crop", type=int, help="cap case_* models' H and W at this size, 0 for "
                        "none (default: 0, {} on cpu)".format(CPU_CASE_CROP))
    parser.add_argument("--models", help="comma-separated names, or 'all' (default: all, unless "
                        "--model is given)")
    parser.add_argument("--model", action="append", default=[], metavar="FILE.py:FACTORY",
                        help="also export FACTORY() -> (model, example_input) from FILE.py; "
                             "repeatable")
    parser.add_argument("--list", action="store_true",
                        help="print the model names, one per line, and exit")
    parser.add_argument("--freeze", dest="freeze", action="store_true", default=True,
                        help="torch.jit.freeze on the target device (default)")
    parser.add_argument("--no-freeze", dest="freeze", action="store_false")
    parser.add_argument("--fold-batchnorm", dest="fold_batchnorm", action="store_true",
                        default=True, help="fold eval-mode BatchNorm2d into the preceding "
                        "ConvTranspose2d (default)")
    parser.add_argument("--no-fold-batchnorm", dest="fold_batchnorm", action="store_false")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and inputs")
    parser.add_argument("--library", help="libtconv.so to load (default: $TCONV_LIBRARY, else "
                        "build/op/libtconv.so)")
    args = parser.parse_args(argv)
    if args.batch is not None and args.batch < 1:
        parser.error("--batch must be >= 1, got {}".format(args.batch))
    if args.crop is not None and args.crop < 0:
        parser.error("--crop must be >= 0, got {}".format(args.crop))
    for spec in args.model:
        try:
            user_models.parse_spec(spec)
        except ValueError as error:
            parser.error(str(error))
    return args


def selected_names(args: argparse.Namespace, known: List[str]) -> List[str]:
    if args.models is None:
        return [] if args.model else list(known)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    if names == ["all"]:
        return list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit("error: unknown model(s): {}; known: {}".format(", ".join(unknown),
                                                                  ", ".join(known)))
    return names


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    known = examples.example_names()
    if not any(name.startswith(bench_cases.PREFIX) for name in known):
        print("note: no bench cases file found (looked at {}); case_* models unavailable".format(
            ", ".join(bench_cases.SEARCH_PATH)), file=sys.stderr)
    user_names = [user_models.model_name(spec) for spec in args.model]
    if args.list:
        for name in known + user_names:
            print(name)
        return 0
    names = selected_names(args, known)
    clashes = sorted(set(user_names) & set(names)) + sorted(
        {n for n in user_names if user_names.count(n) > 1})
    if clashes:
        raise SystemExit("error: --model names clash with other models: {}".format(", ".join(clashes)))

    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as error:
        raise SystemExit("error: {}".format(error))
    dtype = DTYPES[args.dtype]
    if device.type == "cpu" and dtype not in (torch.float32, torch.float64):
        raise SystemExit("error: --dtype {} needs --device cuda: tconv's CPU kernel supports "
                         "float32 and float64".format(args.dtype))
    try:
        load_plugin(args.library)
    except (PluginNotFoundError, RuntimeError) as error:
        raise SystemExit("error: {}".format(error))
    options = ExportOptions(args.out, device, dtype, args.freeze, args.fold_batchnorm)
    on_cpu = device.type == "cpu"

    failures = 0
    for name in names + user_names:
        if name in names:
            is_case = name.startswith(bench_cases.PREFIX)
            batch = args.batch if args.batch is not None else (
                CPU_CASE_BATCH if on_cpu and is_case else None)
            crop = args.crop if args.crop is not None else (CPU_CASE_CROP if on_cpu else 0)
            example = examples.build_example(name, batch=batch, crop=crop, seed=args.seed)
            model, example_input, info = example.model, example.example_input, example.info
        else:
            spec = args.model[user_names.index(name)]
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(examples.name_seed(name, args.seed))
                    model, example_input = user_models.load_user_model(spec)
            except Exception as error:  # noqa: BLE001 - report it like any failed export
                result = ExportResult(name, ok=False, problem="{}: {}".format(
                    type(error).__name__, error))
                print(result.line(), flush=True)
                failures += 1
                continue
            info = {"source": spec}
        result = export_model(name, model, example_input, options, info)
        print(result.line(), flush=True)
        failures += not result.ok
    if failures:
        print("{} of {} model(s) FAILED".format(failures, len(names) + len(user_names)),
              file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
