"""frugal: what Python code costs (time, CPU, memory, energy, carbon, embodied carbon), per call.

``import frugal`` loads none of pandas, numpy, matplotlib or CodeCarbon: the public names
whose modules need them, or that are costly to define (``configure``'s dataclass,
``Measurement``), are resolved on first use (PEP 562). This module is the top of the
layers (ARCHITECTURE.md): it re-exports the public API and reads the ``FRUGAL_*`` settings.
"""
import importlib as _importlib

from frugal.core import own as _own
from frugal.core import startup as _startup
from frugal.core.measure import Region, measure
from frugal.core.rows import LOG as _LOG
from frugal._version import __version__
from frugal.errors import FrugalError

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any

    from frugal.analysis.compare import Comparison, compare
    from frugal.analysis.indicators import indicators
    from frugal.analysis.profiler import profile
    from frugal.analysis.scaling import Scaling, scaling
    from frugal.core.settings import configure
    from frugal.measurement import Measurement
    from frugal.energy.environment import environment
    from frugal.pages.dashboard import report
    from frugal.frames.frame import results
    from frugal.history.regressions import regressions
    from frugal.interop.codecarbon import load_codecarbon
    from frugal.interop.export import export
    from frugal.store.default import flush
    from frugal.store.read import load

# Snapshot 0 now, unless nothing can make it differ from the defaults: the settings module
# (a dataclass: ``dataclasses`` imports ``inspect``, ``ast``...) then loads when first needed.
if not _startup.settings_can_wait():
    from frugal.core import settings as _settings

    _settings.init_from_env()


def clear() -> None:
    """Forget every measurement of this process (stored ones stay in the store)."""
    _LOG.clear()


def load_ipython_extension(ipython: "Any") -> None:
    """``%load_ext frugal``: registers the ``%frugal`` / ``%%frugal`` magics."""
    from frugal.ipython import load_ipython_extension as load

    load(ipython)


# Public names whose modules import heavy libraries: resolved on first use.
_LAZY = {
    "configure": "frugal.core.settings",
    "Measurement": "frugal.measurement",
    "results": "frugal.frames.frame",
    "environment": "frugal.energy.environment",
    "compare": "frugal.analysis.compare",
    "Comparison": "frugal.analysis.compare",
    "scaling": "frugal.analysis.scaling",
    "Scaling": "frugal.analysis.scaling",
    "indicators": "frugal.analysis.indicators",
    "report": "frugal.pages.dashboard",
    "load": "frugal.store.read",
    "flush": "frugal.store.default",
    "profile": "frugal.analysis.profiler",
    "regressions": "frugal.history.regressions",
    "export": "frugal.interop.export",
    "load_codecarbon": "frugal.interop.codecarbon",
}
# Submodules reachable as attributes after a bare ``import frugal``.
_SUBMODULES = ("plot", "stats", "dask", "prometheus", "otel", "mlflow", "web")
# Lazy names whose modules need no numpy (the others import it, quietly: ``own.import_quietly``).
_NO_NUMPY = ("environment", "configure", "Measurement")

__all__ = ["Comparison", "FrugalError", "Measurement", "Region", "Scaling", "clear", "compare",
           "configure", "environment", "export", "flush", "indicators", "load", "load_codecarbon", "measure",
           "profile", "regressions", "report", "results", "scaling"]


def __getattr__(name: str) -> "Any":
    if name in _SUBMODULES:
        return _importlib.import_module(f"frugal.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frugal' has no attribute {name!r}")
    if name not in _NO_NUMPY:
        _own.import_quietly("numpy")    # its threads' start-up spin is not charged to the next region
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES, "__version__", "load_ipython_extension"])


del TYPE_CHECKING
