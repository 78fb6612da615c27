"""Energy and carbon: meters where present, a sourced model where not, grid intensity, embodied carbon.

Modules: ``data`` (CodeCarbon's, pycountry's and the tz database's files, read as data),
``cpu`` (brand string -> TDP), ``intensity`` (country, region, time zone -> gCO2e/kWh),
``embodied`` (SCI's M with Boavizta-derived presets), ``meter`` (RAPL + NVML counters),
``codecarbon_backend`` (the ``energy="codecarbon"`` cross-check), ``model`` (``derive``,
numpy), ``environment`` (the report). Importing this package imports no numpy: ``derive``
loads the model on first use, when results are read.
"""
from __future__ import annotations

from typing import Any


def derive(cols: dict[str, Any], meters: dict[int, tuple]) -> dict[str, Any]:
    """Energy (J), carbon (gCO2e) and their provenance for raw columns; see ``frugal.energy.model``."""
    from frugal.energy.model import derive as _derive

    return _derive(cols, meters)


__all__ = ["derive"]
