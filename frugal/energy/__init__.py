"""Energy and carbon, derived from the raw measurements (placeholder until issue 3 lands)."""
from __future__ import annotations

import numpy as np


def derive(cols: dict[str, np.ndarray], meters: dict[int, tuple]) -> dict[str, np.ndarray]:
    n = len(cols["name"])
    nan = np.full(n, np.nan)
    none = np.full(n, None, dtype=object)
    return {"energy_cpu_j": nan, "energy_ram_j": nan, "energy_gpu_j": nan, "energy_j": nan,
            "carbon_g": nan, "embodied_g": nan, "energy_method": none,
            "intensity_g_per_kwh": nan, "intensity_source": none}
