"""Shared setup: make model_export importable and load the plugin under test.

The library comes from $TCONV_LIBRARY (the CTest entry sets it to the library it built), else
<repo>/build/op/libtconv.so. A missing library fails every test with the places looked at.
"""
import os
import sys

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from model_export.plugin import load_plugin  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def plugin_library() -> str:
    return load_plugin()


@pytest.fixture(autouse=True)
def seeded() -> None:
    """Every test starts from the same random state, so a failure reproduces."""
    torch.manual_seed(1234)
