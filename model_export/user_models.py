"""``--model path/to/file.py:factory``: export a model defined outside this package.

Convention: ``factory()`` takes no arguments and returns ``(model, example_input)``, a stock
PyTorch nn.Module (with nn.ConvTranspose2d layers; the exporter converts them) and one Tensor it
accepts. The export is named after the factory function.
"""
import importlib.util
import os
from typing import Tuple

from torch import Tensor, nn


def parse_spec(spec: str) -> Tuple[str, str]:
    """'path/file.py:factory' -> (path, factory); ValueError naming the spec when malformed."""
    path, sep, factory = spec.rpartition(":")
    if not sep or not path or not factory.isidentifier():
        raise ValueError("--model expects path/to/file.py:factory, got {!r}".format(spec))
    return path, factory


def model_name(spec: str) -> str:
    return parse_spec(spec)[1]


def load_user_model(spec: str) -> Tuple[nn.Module, Tensor]:
    """Import the file and call the factory; errors name the spec and what was wrong."""
    path, factory_name = parse_spec(spec)
    if not os.path.isfile(path):
        raise FileNotFoundError("--model {}: no such file {}".format(spec, path))
    module_name = "tconv_user_model_" + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise AttributeError("--model {}: {} defines no function {}".format(
            spec, path, factory_name))
    made = factory()
    if (not isinstance(made, tuple) or len(made) != 2 or not isinstance(made[0], nn.Module) or
            not isinstance(made[1], Tensor)):
        raise TypeError("--model {}: {}() must return (model: nn.Module, example_input: Tensor), "
                        "got {}".format(spec, factory_name, type(made).__name__))
    return made
