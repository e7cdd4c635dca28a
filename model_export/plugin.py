"""Find and load libtconv.so, the plugin that registers ``custom::conv_transpose2d``.

Search order: an explicit ``path`` argument, else the ``TCONV_LIBRARY`` environment variable, else
``<repo>/build/op/libtconv.so`` (``<repo>`` is the folder that holds ``model_export/``). A place that
was named (argument or variable) but holds no file is an error, not a reason to fall back: silently
loading a different build than the one asked for would make test results lie.
"""
import ctypes
import os
from typing import List, Optional

import torch

ENV_VAR = "TCONV_LIBRARY"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LIBRARY = os.path.join(REPO_ROOT, "build", "op", "libtconv.so")

# Real path of the library this process loaded through load_plugin (None until then).
_loaded_path: Optional[str] = None


class PluginNotFoundError(FileNotFoundError):
    """libtconv.so is not where we looked; the message lists every place."""


def op_registered() -> bool:
    """True when ``torch.ops.custom.conv_transpose2d`` exists in this process."""
    try:
        torch.ops.custom.conv_transpose2d
    except (AttributeError, RuntimeError):  # torch 2.x raises AttributeError, 1.13 RuntimeError
        return False
    return True


def find_library(path: Optional[str] = None) -> str:
    """The path load_plugin would load, or PluginNotFoundError naming the places looked at."""
    looked_at: List[str] = []
    if path is not None:
        candidates = [("path argument", path)]
    elif os.environ.get(ENV_VAR):
        candidates = [(ENV_VAR + " environment variable", os.environ[ENV_VAR])]
    else:
        looked_at.append("{} environment variable: not set".format(ENV_VAR))
        candidates = [("default build location", DEFAULT_LIBRARY)]
    for origin, candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.realpath(candidate)
        looked_at.append("{} ({}): no such file".format(candidate, origin))
    raise PluginNotFoundError(
        "tconv plugin library not found; looked at:\n  " + "\n  ".join(looked_at) +
        "\nBuild it (cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH=<torch cmake prefix> && "
        "ninja -C build tconv) or point {} at libtconv.so.".format(ENV_VAR))


def load_plugin(path: Optional[str] = None) -> Optional[str]:
    """Load libtconv.so once per process and return the real path loaded.

    Calling it again is a no-op. Returns None when the op was already registered by other means
    (e.g. a host program linked against libtconv), in which case nothing is loaded.
    """
    global _loaded_path
    if _loaded_path is not None:
        if path is not None and os.path.realpath(path) != _loaded_path:
            # A second copy would register the same schema twice and fail inside torch.
            raise RuntimeError("tconv is already loaded from {}; refusing to load a second copy "
                               "from {}".format(_loaded_path, path))
        return _loaded_path
    if path is None and op_registered():
        return None
    library = find_library(path)
    torch.ops.load_library(library)
    _loaded_path = library
    if not op_registered():
        raise RuntimeError("loaded {} but custom::conv_transpose2d is not registered; is it a "
                           "tconv build?".format(library))
    return library


def loaded_library() -> Optional[str]:
    """The path load_plugin loaded, or None."""
    return _loaded_path


def tconv_version() -> Optional[str]:
    """The loaded library's version string (tconv::version()), or None when unknown.

    Read through ctypes: the version is a plain C++ function, not an op. dlopen of an already
    loaded path returns the same handle, so this loads nothing new.
    """
    if _loaded_path is None:
        return None
    try:
        function = ctypes.CDLL(_loaded_path)["_ZN5tconv7versionEv"]  # tconv::version()
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_char_p
    function.argtypes = []
    value = function()
    return value.decode() if value else None
