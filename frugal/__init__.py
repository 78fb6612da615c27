"""frugal: what Python code costs (time, CPU, memory, energy, carbon, embodied carbon), per call.

``import frugal`` loads none of pandas, matplotlib, scipy or CodeCarbon; the functions that
need them import them on first use.
"""
from __future__ import annotations

import sys
import types
from typing import Any

from frugal._hot import Region, measure
from frugal._records import LOG as _LOG
from frugal.errors import FrugalError
from frugal.measurement import Measurement

__version__ = "0.1.0"

_clear_hooks: list = []

# After the names above: FRUGAL_STORE makes init_from_env import frugal.store, which uses them.
from frugal import config as _config  # noqa: E402

_config.init_from_env()


def clear() -> None:
    """Forget every measurement of this process (stored ones stay in the store)."""
    for hook in list(_clear_hooks):
        hook()
    _LOG.clear()


def results():
    """A pandas DataFrame, one row per measurement (see ``frugal.Measurement``)."""
    from frugal.frame import results as _results

    return _results()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext frugal``: registers the ``%frugal`` / ``%%frugal`` magics."""
    from frugal.ipython import load_ipython_extension as _load

    _load(ipython)


# Public names whose modules import heavy libraries: resolved on first use.
_LAZY = {
    "configure": "frugal.config",
    "environment": "frugal.config",
    "compare": "frugal.compare",
    "Comparison": "frugal.compare",
    "scaling": "frugal.scaling",
    "Scaling": "frugal.scaling",
    "indicators": "frugal.indicators",
    "report": "frugal.dashboard",
    "load": "frugal.store",
    "flush": "frugal.store",
}


class _Package(types.ModuleType):
    """Keeps ``frugal.compare``, ``frugal.scaling`` and ``frugal.indicators`` the public functions.

    Importing a submodule sets it as an attribute of its package; where a public function
    bears its module's name, the function wins (``from frugal.compare import X`` still works).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == value.__name__ and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


# Submodules reachable as attributes after a bare ``import frugal``.
_SUBMODULES = {"plot", "stats", "dask"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"frugal.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frugal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = ["FrugalError", "Measurement", "Region", "clear", "measure", "results", *_LAZY]
