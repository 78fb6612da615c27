"""From raw columns to energy and carbon: the model, the meters' readings, intensity, embodied.

Per row, with the settings snapshot the row was measured under (one vectorised pass per
snapshot):

    energy_cpu_j = cpu_s x W per busy logical CPU           (model; RAPL package when metered)
                   + wall_s x reserved CPUs x idle W per CPU  (only with idle_power="reserved")
    energy_ram_j = ram_w_per_gb x GiB held x wall_s        (model; RAPL dram when metered)
                   GiB held = what the region added (peak_added_bytes) with idle_power="none",
                   the process's resident peak (peak_rss_bytes) with "reserved" or where the
                   added memory is unknown (summary rows, whole-process runs)
    energy_gpu_j = NVML counter delta                       (NaN when no GPU meter)
    energy_j     = (cpu + ram + gpu, the known parts) x PUE
    carbon_g     = energy_j / 3.6e6 x intensity_g_per_kwh
    embodied_g   = TE x wall_s / lifetime x min(1, RR / host threads)
                   RR = reserved CPUs (embodied_allocation="reserved", SCI) or cpu_s / wall_s ("usage")

W per busy logical CPU (power_model "specpower": CCF's max - min W per vCPU of the chip's family;
"tdp": the chip's TDP over its own threads, never over a VM's vCPUs), idle W per CPU (CCF's min),
reserved CPUs (affinity, else the guest's vCPUs) and host threads:
``frugal.machine.hardware.cpu_power``. ``cpu_power_source`` says where the watts came from and
whether idle power was charged (``frugal.energy.constants.power_source``).

Summary rows carry totals (wall_s, cpu_s summed over calls), so the same formulas give the
totals. numpy is imported here, when results are read, never on the measured call; one row
without numpy (``frugal run``): ``frugal.energy.row.derive_row``, the same formulas, the same
bits (held by tests/test_energy_row.py).
"""
from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal.core import arrays as _arrays
from frugal.core import settings as config
from frugal.machine import hardware
from frugal.energy.row import GIB, J_PER_KWH, OUTPUTS, TEXT_OUTPUTS, Params, params

if TYPE_CHECKING:
    from frugal.core.rows import MeterReading

def derive(cols: dict[str, Any], meters: dict[int, MeterReading],
           machine: hardware.Machine | None = None) -> dict[str, np.ndarray]:
    """The energy and carbon columns for raw columns (see the module docstring for formulas).

    ``machine``: the machine the rows were measured on, this one by default (tests and
    benchmarks give others: a VM of a given chip, a laptop).
    ``cols`` needs wall_s, cpu_s, peak_rss_bytes (NaN: unknown, then no RAM energy),
    peak_added_bytes (optional: NaN or absent, the resident peak is charged instead),
    ``_seq`` and ``_settings_id``; ``meters`` maps a row's ``_seq`` (its identity) to
    ``(meter, start counters, end counters)`` for rows measured with a meter in force.
    Text columns are object arrays of str and None (``derive_coded`` gives codes instead).
    """
    out, labels = derive_coded(cols, meters, machine)
    for field in TEXT_OUTPUTS:
        table = np.empty(len(labels[field]), dtype=object)
        table[:] = labels[field]
        out[field] = table[out[field]]
    return out


DERIVED_NEW = 7
"""Float columns that ``derive_coded`` makes."""


def derive_coded(cols: dict[str, Any], meters: dict[int, MeterReading], machine: hardware.Machine | None = None,
                 spare: list[np.ndarray] | None = None,
                 ) -> tuple[dict[str, np.ndarray], dict[str, list[str | None]]]:
    """``derive``, with each text column as integer codes into a table of labels, returned
    beside: no Python object per row. With one settings snapshot (the usual case) every
    formula runs once over whole columns, with the snapshot's constants as scalars.
    ``spare``: rows to make the float columns in (``_arrays.rows``)."""
    wall = np.asarray(cols["wall_s"], dtype="f8")
    n = len(wall)
    cpu = np.asarray(cols["cpu_s"], dtype="f8")
    peak = np.asarray(cols["peak_rss_bytes"], dtype="f8")
    added = _added(peak, cols.get("peak_added_bytes"))
    sid = np.asarray(cols["_settings_id"])
    codes = {field: np.zeros(n, dtype=np.intp) for field in TEXT_OUTPUTS}
    tables: dict[str, dict[str | None, int]] = {field: {} for field in TEXT_OUTPUTS}

    def label(field: str, sel: Any, text: str | None) -> None:
        code = tables[field].setdefault(text, len(tables[field]))
        if code:                 # codes start at 0
            codes[field][sel] = code

    first = sid[0] if n else 0
    whole = not n or bool((sid == first).all())
    groups: list[tuple[Any, Any]] = [(first, slice(None))] if whole else [(s, sid == s) for s in np.unique(sid)]
    snapshots = [(int(s), sel, config.snapshot(int(s))) for s, sel in groups]
    cpu_j, ram_j, gpu_j, emb, g_kwh, energy, carbon = _arrays.rows(DERIVED_NEW, n, spare=spare)
    # NaN wherever no formula below writes: the rows of an unknown snapshot, and the GPU
    # unless a meter measured it (one known snapshot writes every row of the rest)
    modelled = whole and snapshots[0][2] is not None
    for column in (gpu_j,) if modelled else (cpu_j, ram_j, gpu_j, emb, g_kwh):
        column.fill(np.nan)
    pue: Any = np.nan if whole else np.full(n, np.nan)
    for s, sel, settings in snapshots:
        if settings is None:
            for field, text in zip(TEXT_OUTPUTS, (None, f"settings snapshot {s} is unknown in this process", None)):
                label(field, sel, text)
            continue
        p = params(settings, machine)
        held = peak if settings.idle_power == "reserved" else added
        if whole:
            _model(p, wall, cpu, held, cpu_j, ram_j, emb)
            g_kwh.fill(p.intensity_g_per_kwh)
            pue = p.pue
        else:
            part = _arrays.rows(3, int(np.count_nonzero(sel)))
            _model(p, wall[sel], cpu[sel], held[sel], *part)
            cpu_j[sel], ram_j[sel], emb[sel] = part
            g_kwh[sel] = p.intensity_g_per_kwh
            pue[sel] = p.pue
        for field, text in zip(TEXT_OUTPUTS, ("model", p.intensity_source, p.cpu_power_source)):
            label(field, sel, text)
    gpu_metered = bool(meters) and n > 0 and _apply_meters(meters, np.asarray(cols["_seq"], dtype="i8"), cpu,
                                                           cpu_j, ram_j, gpu_j, label)
    _sum_known([cpu_j, ram_j, gpu_j] if gpu_metered else [cpu_j, ram_j], out=energy)
    energy *= pue
    np.divide(energy, J_PER_KWH, out=carbon)
    carbon *= g_kwh
    out = {
        "energy_cpu_j": cpu_j,
        "energy_ram_j": ram_j,
        "energy_gpu_j": gpu_j,
        "energy_j": energy,
        "carbon_g": carbon,
        "embodied_g": emb,
        "intensity_g_per_kwh": g_kwh,
        **codes,
    }
    return {field: out[field] for field in OUTPUTS}, {field: list(t) for field, t in tables.items()}


def _added(peak: np.ndarray, added: Any) -> np.ndarray:
    """The memory a row charges when only what it adds is charged: ``peak_added_bytes``, and the
    resident peak where that is unknown (summary rows do not reset the mark; a whole-process
    run added all it held; rows stored before frugal recorded it)."""
    if added is None:
        return peak
    charged: np.ndarray = np.asarray(added, dtype="f8")
    unknown = np.isnan(charged)
    if not unknown.any():
        return charged
    out: np.ndarray = np.where(unknown, peak, charged)
    return out


def _model(p: Params, wall: np.ndarray, cpu: np.ndarray, held: np.ndarray,
           cpu_j: np.ndarray, ram_j: np.ndarray, emb: np.ndarray) -> None:
    """The modelled CPU and RAM energy and the embodied carbon of rows, into the last three;
    ``held``: the bytes of memory each row is charged for."""
    np.multiply(cpu, p.watts_per_cpu, out=cpu_j)
    if p.idle_w:
        cpu_j += wall * p.idle_w
    np.multiply(held, p.ram_w_per_gib / GIB, out=ram_j)
    ram_j *= wall
    if p.reserved_share is not None:
        # SCI: TE x wall/lifetime x min(1, RR/ToR), RR the CPUs reserved whether busy or not
        np.multiply(wall, p.embodied_g_per_s * p.reserved_share, out=emb)
        return
    # usage: TE x wall/lifetime x min(1, cpu/(wall x host)) = TE/lifetime x min(wall, cpu/host)
    np.divide(cpu, p.host_threads, out=emb)
    np.minimum(wall, emb, out=emb)
    emb *= p.embodied_g_per_s


def _sum_known(parts: list[np.ndarray], out: np.ndarray) -> None:
    """Row by row, into ``out``: the sum of the parts that are known (not NaN); NaN where none is."""
    total = parts[0]
    for part in parts[1:]:
        missing = np.isnan(total) | np.isnan(part)
        a, b = total[missing], part[missing]
        np.add(total, part, out=out)
        out[missing] = np.where(np.isnan(a), b, a)      # the known one, or NaN
        total = out


def _apply_meters(meters: dict[int, MeterReading], seq: np.ndarray, cpu: np.ndarray, cpu_j: np.ndarray,
                  ram_j: np.ndarray, gpu_j: np.ndarray, label: Callable[[str, np.ndarray, str], None]) -> bool:
    """Overwrite the modelled parts that a meter measured, in one pass per meter object;
    ``label(field, rows, text)`` sets a text column. True when a meter gave GPU energy."""
    count = len(meters)
    keys = np.fromiter(meters.keys(), dtype="i8", count=count)
    items = list(meters.values())
    order = np.argsort(seq, kind="stable")
    pos = np.minimum(np.searchsorted(seq, keys, sorter=order), len(seq) - 1)
    rows = order[pos]
    usable = (seq[rows] == keys) & np.fromiter(
        (it[1] is not None and it[2] is not None for it in items), dtype=bool, count=count)
    owners = {id(it[0]): it[0] for it in items}
    gpu = False
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
            label("cpu_power_source", r, getattr(meter, "cpu_source", f"measured ({meter.method})"))
        if m is not None:
            ram_j[r] = m
        if g is not None:
            gpu_j[r] = g
            gpu = True
        label("energy_method", r, meter.method)
    return gpu
