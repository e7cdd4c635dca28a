"""The benchmark cases (bench/cases.json) as single-layer models, with size overrides.

Each case is one nn.ConvTranspose2d problem: {"name", "N", "Cin", "Cout", "H", "W", "kh", "kw",
"stride", "padding", "output_padding", "dilation", "groups", "bias", ...timings}. The full sizes
are GPU-sized (up to 8 x 64 x 1024 x 1024); ``batch`` overrides N and ``crop`` caps H and W so a
CPU export stays small.
"""
import json
import os
from typing import Any, Dict, List, Optional

from torch import nn

from .plugin import REPO_ROOT

ENV_VAR = "TCONV_CASES"
# bench/cases.json in this checkout, else the shared copy it is made from.
SEARCH_PATH = [os.path.join(REPO_ROOT, "bench", "cases.json"),
               os.path.join(os.path.dirname(REPO_ROOT), "shared", "bench", "cases.json")]
PREFIX = "case_"


def cases_file() -> Optional[str]:
    """The cases.json in use: $TCONV_CASES if set, else the first of SEARCH_PATH that exists."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    for path in SEARCH_PATH:
        if os.path.isfile(path):
            return path
    return None


def load_cases(path: Optional[str] = None) -> List[Dict[str, Any]]:
    """The list of cases, or [] when no cases.json exists (the caller says so)."""
    path = path or cases_file()
    if path is None:
        return []
    with open(path) as f:
        cases = json.load(f)
    for case in cases:
        if not str(case.get("name", "")).replace("_", "").isalnum():
            raise ValueError("{}: case name {!r} is not usable as a file name".format(
                path, case.get("name")))
    return cases


def sized_case(case: Dict[str, Any], batch: Optional[int], crop: Optional[int]) -> Dict[str, Any]:
    """The case with N replaced by batch and H, W capped at crop (None or 0: keep)."""
    sized = dict(case)
    if batch is not None:
        sized["N"] = batch
    if crop:
        sized["H"] = min(case["H"], crop)
        sized["W"] = min(case["W"], crop)
    return sized


def case_layer(case: Dict[str, Any]) -> nn.ConvTranspose2d:
    """The case's layer, initialised by torch's default init (from the global generator)."""
    return nn.ConvTranspose2d(case["Cin"], case["Cout"], (case["kh"], case["kw"]),
                              stride=tuple(case["stride"]), padding=tuple(case["padding"]),
                              output_padding=tuple(case["output_padding"]),
                              groups=case["groups"], bias=bool(case["bias"]),
                              dilation=tuple(case["dilation"]))


def case_input_shape(case: Dict[str, Any]) -> List[int]:
    return [case["N"], case["Cin"], case["H"], case["W"]]
