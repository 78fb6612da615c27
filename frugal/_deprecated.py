"""Old import paths, kept for one release with a DeprecationWarning that names the new one.

``frugal.compare``, ``frugal.scaling`` and ``frugal.indicators`` are the public functions;
their modules are now ``frugal.comparison``, ``frugal.complexity`` and ``frugal.frugality``.
``from frugal.compare import Comparison`` still works: ``install()`` puts a small alias
module in ``sys.modules`` under each old path (the package attribute stays the function).
"""
from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Callable

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any

REMOVED_IN = "frugal 0.3"

# old module -> {name: new module}
MOVED: dict[str, dict[str, str]] = {
    "frugal.compare": {
        "Comparison": "frugal.comparison", "compare": "frugal.comparison",
        "Scaling": "frugal.complexity", "scaling": "frugal.complexity", "Fit": "frugal.stats",
        "METRICS": "frugal.verdicts", "CLOCK_STEPS": "frugal.runner", "WALL_FLOOR_S": "frugal.runner",
        "cpu_clock_resolution": "frugal.runner", "wall_clock_resolution": "frugal.runner",
    },
    "frugal.scaling": {"Scaling": "frugal.complexity", "scaling": "frugal.complexity", "Fit": "frugal.stats"},
    "frugal.indicators": {name: "frugal.frugality" for name in (
        "indicators", "per_unit", "energy_basis", "check_values", "GRADES", "GRADED", "UNITS",
        "EQUIVALENTS", "PROVENANCE", "PRINCIPLES", "SAMPLED")},
}


def _alias(old: str, names: dict[str, str]) -> types.ModuleType:
    module = types.ModuleType(old, f"Deprecated path: {', '.join(sorted(set(names.values())))} instead.")

    def __getattr__(name: str) -> Any:
        new = names.get(name)
        if new is None:
            raise AttributeError(f"module {old!r} has no attribute {name!r} (it moved: see frugal's CHANGELOG)")
        warnings.warn(f"{old}.{name} is deprecated: import it from {new} (the old path goes in {REMOVED_IN})",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new), name)

    getter: Callable[[str], Any] = __getattr__
    module.__getattr__ = getter  # type: ignore[method-assign]
    module.__all__ = sorted(names)  # type: ignore[attr-defined]
    return module


def install() -> None:
    """Register the alias modules (once per process)."""
    for old, names in MOVED.items():
        sys.modules.setdefault(old, _alias(old, names))
