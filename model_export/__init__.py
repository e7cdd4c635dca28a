"""tconv model export: load the plugin, the drop-in ConvTranspose2d, convert(), example models.

Importing this package does not load libtconv.so; constructing a drop-in (or converting a model)
does, through load_plugin(). See README.md.
"""
from .convert import ConversionReport, convert, convert_with_report, fold_batchnorm_into
from .modules import ConvTranspose2d
from .plugin import PluginNotFoundError, load_plugin, tconv_version

__all__ = ["ConvTranspose2d", "ConversionReport", "PluginNotFoundError", "convert",
           "convert_with_report", "fold_batchnorm_into", "load_plugin", "tconv_version"]
