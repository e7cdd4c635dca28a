"""load_plugin(): where it looks, what it says when the library is missing, idempotence."""
import os

import pytest

from model_export import plugin


def test_load_is_idempotent_and_the_op_is_registered(plugin_library):
    assert plugin.load_plugin() == plugin_library
    assert plugin.load_plugin(plugin_library) == plugin_library
    assert plugin.op_registered()
    assert plugin.tconv_version()  # e.g. "0.1.0", read from tconv::version()


def test_refuses_a_second_copy_from_another_path(tmp_path):
    other = tmp_path / "libtconv.so"
    other.write_bytes(b"")
    with pytest.raises(RuntimeError, match="already loaded"):
        plugin.load_plugin(str(other))


def test_explicit_path_wins_and_a_missing_one_is_an_error(monkeypatch, plugin_library, tmp_path):
    monkeypatch.setenv(plugin.ENV_VAR, plugin_library)
    missing = str(tmp_path / "nowhere" / "libtconv.so")
    with pytest.raises(plugin.PluginNotFoundError) as error:
        plugin.find_library(missing)
    assert missing in str(error.value) and "path argument" in str(error.value)


def test_environment_variable_then_default(monkeypatch, plugin_library, tmp_path):
    monkeypatch.setenv(plugin.ENV_VAR, plugin_library)
    assert plugin.find_library() == os.path.realpath(plugin_library)

    missing = str(tmp_path / "libtconv.so")
    monkeypatch.setenv(plugin.ENV_VAR, missing)
    with pytest.raises(plugin.PluginNotFoundError, match=plugin.ENV_VAR):
        plugin.find_library()  # a named place that is empty does not fall back silently

    monkeypatch.delenv(plugin.ENV_VAR)
    monkeypatch.setattr(plugin, "DEFAULT_LIBRARY", missing)
    with pytest.raises(plugin.PluginNotFoundError) as error:
        plugin.find_library()
    message = str(error.value)
    assert missing in message and "not set" in message and "default build location" in message
