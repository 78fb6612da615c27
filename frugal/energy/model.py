"""From raw columns to energy and carbon: the model, the meters' readings, intensity, embodied.

Per row, with the settings snapshot the row was measured under (one vectorised pass per
snapshot):

    energy_cpu_j = cpu_s x W per busy logical CPU           (model; RAPL package when metered)
    energy_ram_j = ram_w_per_gb x peak_rss GiB x wall_s    (model; RAPL dram when metered)
    energy_gpu_j = NVML counter delta                       (NaN when no GPU meter)
    energy_j     = (cpu + ram + gpu, the known parts) x PUE
    carbon_g     = energy_j / 3.6e6 x intensity_g_per_kwh
    embodied_g   = TE x wall_s / lifetime x min(1, cpu_s / (wall_s x host threads))

W per busy logical CPU and host threads: ``frugal.hardware.cpu_power`` (the chip's TDP over
its own threads, never over a VM's vCPUs); ``cpu_power_source`` says where the watts came from.

Summary rows carry totals (wall_s, cpu_s summed over calls), so the same formulas give the
totals. numpy is imported here, when results are read, never on the measured call.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal import config, grid, hardware
from frugal.energy.constants import embodied, power

if TYPE_CHECKING:
    from frugal._records import MeterReading

GIB = float(1 << 30)
J_PER_KWH = 3.6e6

OUTPUTS = ("energy_cpu_j", "energy_ram_j", "energy_gpu_j", "energy_j", "carbon_g", "embodied_g",
           "energy_method", "intensity_g_per_kwh", "intensity_source", "cpu_power_source")


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


@functools.lru_cache(maxsize=256)
def params(settings: config.Settings, machine: hardware.Machine | None = None) -> Params:
    """The constants for a snapshot on ``machine`` (cached: snapshots, machines and data are immutable)."""
    cpu = power(settings, machine)
    g, source = grid.lookup(settings.intensity_g_per_kwh, settings.country, settings.region)
    emb = embodied(settings, machine)
    return Params(
        watts_per_cpu=cpu.watts_per_cpu,
        cpu_power_source=cpu.source,
        ram_w_per_gib=settings.ram_w_per_gb,
        pue=settings.pue,
        intensity_g_per_kwh=g,
        intensity_source=source,
        embodied_g_per_s=emb.total_g / (emb.lifetime_years * hardware.SECONDS_PER_YEAR),
        host_threads=cpu.host_threads,
    )


def derive(cols: dict[str, Any], meters: dict[int, MeterReading],
           machine: hardware.Machine | None = None) -> dict[str, np.ndarray]:
    """The energy and carbon columns for raw columns (see the module docstring for formulas).

    ``machine``: the machine the rows were measured on, this one by default (tests and
    benchmarks give others: a VM of a given chip, a laptop).
    ``cols`` needs wall_s, cpu_s, peak_rss_bytes (NaN: unknown, then no RAM energy),
    ``_seq`` and ``_settings_id``; ``meters`` maps a row's ``_seq`` (its identity) to
    ``(meter, start counters, end counters)`` for rows measured with a meter in force.
    """
    wall = np.asarray(cols["wall_s"], dtype="f8")
    n = len(wall)
    cpu = np.asarray(cols["cpu_s"], dtype="f8")
    peak = np.asarray(cols["peak_rss_bytes"], dtype="f8")
    sid = np.asarray(cols["_settings_id"], dtype="i8")
    cpu_j, ram_j, gpu_j = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    pue, g_kwh, emb = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    method = np.full(n, None, dtype=object)
    source = np.full(n, None, dtype=object)
    cpu_source = np.full(n, None, dtype=object)
    if n:
        first = sid[0]
        groups = [(first, slice(None))] if (sid == first).all() else [(s, sid == s) for s in np.unique(sid)]
        for s, sel in groups:
            settings = config.snapshot(int(s))
            if settings is None:
                source[sel] = f"settings snapshot {int(s)} is unknown in this process"
                continue
            p = params(settings, machine)
            w = wall[sel]
            c = cpu[sel]
            cpu_j[sel] = c * p.watts_per_cpu
            ram_j[sel] = peak[sel] * (p.ram_w_per_gib / GIB) * w
            # TE x wall/lifetime x min(1, cpu/(wall x host)) = TE/lifetime x min(wall, cpu/host)
            emb[sel] = p.embodied_g_per_s * np.minimum(w, c / p.host_threads)
            pue[sel] = p.pue
            g_kwh[sel] = p.intensity_g_per_kwh
            source[sel] = p.intensity_source
            cpu_source[sel] = p.cpu_power_source
            method[sel] = "model"
        if meters:
            _apply_meters(meters, np.asarray(cols["_seq"], dtype="i8"), cpu, cpu_j, ram_j, gpu_j, method,
                          cpu_source)
    known = np.nan_to_num(cpu_j) + np.nan_to_num(ram_j) + np.nan_to_num(gpu_j)
    energy = np.where(np.isnan(cpu_j) & np.isnan(ram_j) & np.isnan(gpu_j), np.nan, known) * pue
    return {
        "energy_cpu_j": cpu_j,
        "energy_ram_j": ram_j,
        "energy_gpu_j": gpu_j,
        "energy_j": energy,
        "carbon_g": energy / J_PER_KWH * g_kwh,
        "embodied_g": emb,
        "energy_method": method,
        "intensity_g_per_kwh": g_kwh,
        "intensity_source": source,
        "cpu_power_source": cpu_source,
    }


def _apply_meters(meters: dict[int, MeterReading], seq: np.ndarray, cpu: np.ndarray, cpu_j: np.ndarray,
                  ram_j: np.ndarray, gpu_j: np.ndarray, method: np.ndarray, cpu_source: np.ndarray) -> None:
    """Overwrite the modelled parts that a meter measured, in one pass per meter object."""
    count = len(meters)
    keys = np.fromiter(meters.keys(), dtype="i8", count=count)
    items = list(meters.values())
    order = np.argsort(seq, kind="stable")
    pos = np.minimum(np.searchsorted(seq, keys, sorter=order), len(seq) - 1)
    rows = order[pos]
    usable = (seq[rows] == keys) & np.fromiter(
        (it[1] is not None and it[2] is not None for it in items), dtype=bool, count=count)
    owners = {id(it[0]): it[0] for it in items}
    for meter in owners.values():
        if len(owners) == 1:
            idx = np.flatnonzero(usable)
        else:
            idx = np.flatnonzero(usable & np.fromiter((it[0] is meter for it in items), dtype=bool, count=count))
        if not len(idx):
            continue
        width = len(items[idx[0]][1])
        chosen = [items[i] for i in idx]
        start = np.fromiter(chain.from_iterable(it[1] for it in chosen), dtype="f8",
                            count=len(idx) * width).reshape(len(idx), width)
        end = np.fromiter(chain.from_iterable(it[2] for it in chosen), dtype="f8",
                          count=len(idx) * width).reshape(len(idx), width)
        r = rows[idx]
        c, m, g = meter.joules(start, end, cpu[r])
        if c is not None:
            cpu_j[r] = c
            cpu_source[r] = getattr(meter, "cpu_source", f"measured ({meter.method})")
        if m is not None:
            ram_j[r] = m
        if g is not None:
            gpu_j[r] = g
        method[r] = meter.method
