"""Benchmark cases: read cases.json, pick the requested ones, shrink them for CPU runs."""
import dataclasses
import json
from typing import List, Optional, Sequence, Tuple

Pair = Tuple[int, int]

_INT_KEYS = ("N", "Cin", "Cout", "H", "W", "kh", "kw", "groups")
_PAIR_KEYS = ("stride", "padding", "output_padding", "dilation")


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    N: int
    Cin: int
    Cout: int
    H: int
    W: int
    kh: int
    kw: int
    stride: Pair
    padding: Pair
    output_padding: Pair
    dilation: Pair
    groups: int
    bias: bool
    # cuDNN's times and the floors on an H100, copied from cases.json. Printed as "reference",
    # never as a measurement of this run.
    reference: dict
    # The original N, H, W when --batch or --max-spatial changed them (then the reference no
    # longer applies); None for a full-size case.
    resized_from: Optional[dict] = None

    def output_hw(self) -> Pair:
        return (_output_size(self.H, self.kh, self.stride[0], self.padding[0], self.dilation[0],
                             self.output_padding[0]),
                _output_size(self.W, self.kw, self.stride[1], self.padding[1], self.dilation[1],
                             self.output_padding[1]))

    def useful_flops(self) -> int:
        """Multiply-adds that touch a real input pixel, counted as 2 flops (no zero-insertion)."""
        return (2 * self.N * self.Cin * (self.Cout // self.groups) * self.H * self.W
                * self.kh * self.kw)

    def tensor_elements(self) -> int:
        """Elements of input + weight + output (+ bias): each read or written at least once."""
        ho, wo = self.output_hw()
        count = (self.N * self.Cin * self.H * self.W
                 + self.Cin * (self.Cout // self.groups) * self.kh * self.kw
                 + self.N * self.Cout * ho * wo)
        return count + (self.Cout if self.bias else 0)

    def shape_text(self) -> str:
        return ("N={} Cin={} Cout={} {}x{} k={}x{} s={} p={} op={} d={} g={}{}".format(
            self.N, self.Cin, self.Cout, self.H, self.W, self.kh, self.kw, list(self.stride),
            list(self.padding), list(self.output_padding), list(self.dilation), self.groups,
            " bias" if self.bias else ""))


def _output_size(size: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _pair(value, key: str, name: str) -> Pair:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[0], value[1])
    raise ValueError("case {}: {} must be an int or a list of 2 ints, got {!r}".format(
        name, key, value))


def _case_from_json(index: int, entry: dict) -> Case:
    name = entry.get("name", "#{}".format(index))
    missing = [k for k in ("name", "bias") + _INT_KEYS + _PAIR_KEYS if k not in entry]
    if missing:
        raise ValueError("case {} (entry {}) lacks {}".format(name, index, ", ".join(missing)))
    for key in _INT_KEYS:
        if not isinstance(entry[key], int) or entry[key] < 1:
            raise ValueError("case {}: {} must be a positive int, got {!r}".format(
                name, key, entry[key]))
    reference = {k: entry[k] for k in ("cudnn_h100_ms", "floor_h100_ms") if k in entry}
    return Case(name=name, bias=bool(entry["bias"]), reference=reference,
                **{k: entry[k] for k in _INT_KEYS},
                **{k: _pair(entry[k], k, name) for k in _PAIR_KEYS})


def load_cases(path: str) -> List[Case]:
    with open(path) as f:
        entries = json.load(f)
    if not isinstance(entries, list):
        raise ValueError("{}: expected a JSON list of cases, got {}".format(
            path, type(entries).__name__))
    return [_case_from_json(i, e) for i, e in enumerate(entries)]


def select_cases(cases: Sequence[Case], only: Optional[str]) -> List[Case]:
    """Keep the cases named in the comma list `only` (all when None), in the file's order."""
    if not only:
        return list(cases)
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    known = {c.name for c in cases}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError("--only: unknown case(s) {}; known: {}".format(
            ", ".join(unknown), ", ".join(c.name for c in cases)))
    return [c for c in cases if c.name in wanted]


def resize_case(case: Case, batch: Optional[int], max_spatial: Optional[int]) -> Case:
    """Override the batch and crop H, W to at most max_spatial (for CPU runs of GPU-sized cases)."""
    n = batch if batch is not None else case.N
    h = min(case.H, max_spatial) if max_spatial is not None else case.H
    w = min(case.W, max_spatial) if max_spatial is not None else case.W
    if (n, h, w) == (case.N, case.H, case.W):
        return case
    resized = dataclasses.replace(case, N=n, H=h, W=w,
                                  resized_from={"N": case.N, "H": case.H, "W": case.W})
    ho, wo = resized.output_hw()
    if ho < 1 or wo < 1:
        raise ValueError("case {}: cropping to {}x{} leaves an empty {}x{} output; raise "
                         "--max-spatial".format(case.name, h, w, ho, wo))
    return resized
