"""The constants of a settings snapshot, and one row's energy and carbon derived without numpy.

``frugal.energy.model`` derives whole columns with numpy; ``derive_row`` runs the same
formulas (that module's docstring gives them) on one row of Python floats, operation for
operation in the same order, so that each figure is the same to the last bit (IEEE 754
rounds each of +, -, x, / the same whichever does it; tests/test_energy_row.py holds it over
random rows and every family of settings). It serves ``frugal run``, whose one row would
otherwise import numpy (about 0.1 s of its start-up). Rows with a meter's readings go
through the model.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from frugal.core import settings as config
from frugal.energy.constants import embodied, power, power_source
from frugal.machine import grid
from frugal.machine import hardware

GIB = float(1 << 30)
J_PER_KWH = 3.6e6
NAN = float("nan")

OUTPUTS = ("energy_cpu_j", "energy_ram_j", "energy_gpu_j", "energy_j", "carbon_g", "embodied_g",
           "energy_method", "intensity_g_per_kwh", "intensity_source", "cpu_power_source")
TEXT_OUTPUTS = ("energy_method", "intensity_source", "cpu_power_source")


@dataclass(frozen=True)
class Params:
    """The constants one settings snapshot gives the formulas."""

    watts_per_cpu: float        # W per busy logical CPU
    cpu_power_source: str       # where those watts came from (short)
    ram_w_per_gib: float
    pue: float
    intensity_g_per_kwh: float
    intensity_source: str
    embodied_g_per_s: float     # TE / lifetime, gCO2e per second of the whole host
    host_threads: int           # SCI's ToR: the host's hardware threads
    idle_w: float = 0.0         # W charged per second of wall time: reserved CPUs x idle W (0: idle_power="none")
    reserved_share: float | None = None   # min(1, RR / ToR) with embodied_allocation="reserved"; None: usage


@functools.lru_cache(maxsize=256)
def params(settings: config.Settings, machine: hardware.Machine | None = None) -> Params:
    """The constants for a snapshot on ``machine`` (cached: snapshots, machines and data are immutable)."""
    cpu = power(settings, machine)
    g, source = grid.lookup(settings.intensity_g_per_kwh, settings.country, settings.region)
    emb = embodied(settings, machine)
    idle_w, cpu_source = power_source(settings.idle_power, cpu)
    return Params(
        watts_per_cpu=cpu.watts_per_cpu,
        cpu_power_source=cpu_source,
        ram_w_per_gib=settings.ram_w_per_gb,
        pue=settings.pue,
        intensity_g_per_kwh=g,
        intensity_source=source,
        embodied_g_per_s=emb.total_g / (emb.lifetime_years * hardware.SECONDS_PER_YEAR),
        host_threads=cpu.host_threads,
        idle_w=idle_w,
        reserved_share=(min(1.0, cpu.reserved_cpus / cpu.host_threads)
                        if settings.embodied_allocation == "reserved" else None),
    )


def _minimum(a: float, b: float) -> float:
    """``numpy.minimum`` of two floats: NaN when either is NaN (Python's ``min`` is not)."""
    if a != a or b != b:
        return NAN
    return a if a <= b else b


def _sum_known(a: float, b: float) -> float:
    """``a + b``, the known one where one is NaN, NaN where both are (model's ``_sum_known``)."""
    if a != a:
        return b
    if b != b:
        return a
    return a + b


def derive_row(settings_id: int, wall_s: float, cpu_s: float, peak_rss_bytes: float, peak_added_bytes: float,
               machine: hardware.Machine | None = None) -> dict[str, float | str | None]:
    """The figures of ``frugal.energy.model.OUTPUTS`` for one row measured under snapshot
    ``settings_id`` with no meter (floats, NaN for unknown; texts str or None), as
    ``frugal.energy.model.derive`` gives them for the same row. Units: s, B in; J, gCO2e out."""
    settings = config.snapshot(settings_id)
    if settings is None:
        return {"energy_cpu_j": NAN, "energy_ram_j": NAN, "energy_gpu_j": NAN, "energy_j": NAN, "carbon_g": NAN,
                "embodied_g": NAN, "energy_method": None, "intensity_g_per_kwh": NAN,
                "intensity_source": f"settings snapshot {settings_id} is unknown in this process",
                "cpu_power_source": None}
    p = params(settings, machine)
    if settings.idle_power == "reserved" or peak_added_bytes != peak_added_bytes:
        held = peak_rss_bytes
    else:
        held = peak_added_bytes
    cpu_j = cpu_s * p.watts_per_cpu
    if p.idle_w:
        cpu_j += wall_s * p.idle_w
    ram_j = held * (p.ram_w_per_gib / GIB)
    ram_j *= wall_s
    if p.reserved_share is not None:
        emb = wall_s * (p.embodied_g_per_s * p.reserved_share)
    else:
        emb = _minimum(wall_s, cpu_s / p.host_threads) * p.embodied_g_per_s
    energy = _sum_known(cpu_j, ram_j) * p.pue
    carbon = energy / J_PER_KWH
    carbon *= p.intensity_g_per_kwh
    return {"energy_cpu_j": cpu_j, "energy_ram_j": ram_j, "energy_gpu_j": NAN, "energy_j": energy,
            "carbon_g": carbon, "embodied_g": emb, "energy_method": "model",
            "intensity_g_per_kwh": float(p.intensity_g_per_kwh), "intensity_source": p.intensity_source,
            "cpu_power_source": p.cpu_power_source}
