"""frugal: what Python code costs (time, CPU, memory, energy, carbon, embodied carbon), per call.

``import frugal`` loads none of pandas, numpy, matplotlib or CodeCarbon: the public names
whose modules need them are resolved on first use (PEP 562). This module is the top of the
layers (ARCHITECTURE.md): it wires the services a lower layer asks of a higher one (how a
region's result is derived, where charts come from, what a new store setting does), then
reads the ``FRUGAL_*`` settings.
"""
import importlib as _importlib

from frugal import _deprecated, _hot, config as _config, hooks as _hooks
from frugal._hot import Region, measure
from frugal._records import LOG as _LOG
from frugal._version import __version__
from frugal.config import configure
from frugal.errors import FrugalError
from frugal.measurement import Measurement

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, Callable

    from frugal.comparison import Comparison, compare
    from frugal.complexity import Scaling, scaling
    from frugal.dashboard import report
    from frugal.energy.environment import environment
    from frugal.frame import results
    from frugal.frugality import indicators
    from frugal.profiler import profile
    from frugal.store import flush, load


def _read_result(row: bytes, units: "float | None", meters: "Any") -> Measurement:
    from frugal.columns import measurement_from_row

    return measurement_from_row(row, units, meters)


def _chart(kind: str) -> "Callable[..., Any]":
    from frugal import plot

    chart: Callable[..., Any] = getattr(plot, kind)
    return chart


def _flamegraph(profile: "Any", **options: "Any") -> str:
    from frugal.flamegraph import render

    return render(profile, **options)


def _store_changed(path: "str | None") -> None:
    from frugal.store import set_default_store

    set_default_store(path)


_hot.set_result_reader(_read_result)
_hooks.set_chart_provider(_chart)
_hooks.set_flamegraph_renderer(_flamegraph)
_config.on_store_change(_store_changed)
_deprecated.install()
_config.init_from_env()


def clear() -> None:
    """Forget every measurement of this process (stored ones stay in the store)."""
    _LOG.clear()


def load_ipython_extension(ipython: "Any") -> None:
    """``%load_ext frugal``: registers the ``%frugal`` / ``%%frugal`` magics."""
    from frugal.ipython import load_ipython_extension as load

    load(ipython)


# Public names whose modules import heavy libraries: resolved on first use.
_LAZY = {
    "results": "frugal.frame",
    "environment": "frugal.energy.environment",
    "compare": "frugal.comparison",
    "Comparison": "frugal.comparison",
    "scaling": "frugal.complexity",
    "Scaling": "frugal.complexity",
    "indicators": "frugal.frugality",
    "report": "frugal.dashboard",
    "load": "frugal.store",
    "flush": "frugal.store",
    "profile": "frugal.profiler",
}
# Submodules reachable as attributes after a bare ``import frugal``.
_SUBMODULES = ("plot", "stats", "dask")

__all__ = ["Comparison", "FrugalError", "Measurement", "Region", "Scaling", "clear", "compare",
           "configure", "environment", "flush", "indicators", "load", "measure", "profile",
           "report", "results", "scaling"]


def __getattr__(name: str) -> "Any":
    if name in _SUBMODULES:
        return _importlib.import_module(f"frugal.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frugal' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES, "__version__", "load_ipython_extension"])


del TYPE_CHECKING
