"""The result value: one frozen record per measured region (or per name in summary mode).

A leaf: it imports nothing of frugal but ``frugal.units`` (the unit of each field), so every
other layer can depend on it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from frugal.units import format_quantity, unit_of


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one measured region cost.

    Time and CPU are measured by the kernel's clocks; peak memory is the kernel's
    resident high-water mark for this region (exact on Linux), and ``peak_added_bytes`` that
    peak minus the resident memory at the start (None where no per-region peak exists). Energy and carbon are
    *derived* from those raw numbers when results are read, by a meter where one was
    present (``energy_method`` says which) or by the documented model (METHODOLOGY.md).
    A field that could not be known is ``None`` (NaN in a DataFrame), never a guess.

    In summary mode (``record="summary"``) one Measurement stands for ``calls`` calls:
    time, CPU, energy and carbon are totals, ``wall_min_s``/``wall_max_s`` the extremes,
    and ``peak_rss_bytes`` the largest process high-water mark seen at the end of a call
    (an upper bound: summary mode does not reset the mark, to stay cheap).
    The unit of each field is ``frugal.units.unit_of(field)``.
    """

    name: str
    started_at: datetime                    # UTC, start of the region (first call in summary mode)
    wall_s: float                           # monotonic wall time, s
    cpu_user_s: float                       # user CPU time of the scope, s
    cpu_system_s: float                     # system CPU time of the scope, s
    cpu_s: float                            # cpu_user_s + cpu_system_s, s
    cpu_util: float | None                  # cpu_s / wall_s (above 1 with threads)
    peak_rss_bytes: int | None              # peak resident memory during the region, B
    rss_delta_bytes: int | None             # resident memory at end minus start, B
    rss_start_bytes: int | None = None      # resident memory at the start of the region, B
    peak_added_bytes: int | None = None     # peak minus start, never negative: what the region added, B
    energy_cpu_j: float | None = None       # J
    energy_ram_j: float | None = None       # J
    energy_gpu_j: float | None = None       # J
    energy_j: float | None = None           # (cpu + ram + gpu) x PUE, J
    carbon_g: float | None = None           # operational: energy x grid intensity, gCO2e
    embodied_g: float | None = None         # share of manufacturing emissions (SCI's M), gCO2e
    units: float | None = None              # functional units of work, when given
    status: str = "ok"                      # "ok", "error" or "interrupted"
    error: str | None = None                # exception type name when status != "ok"
    parent: str | None = None               # name of the enclosing region
    depth: int = 0                          # 0 for a top-level region
    energy_method: str | None = None        # "model", "rapl", "nvml", "rapl+nvml", "codecarbon"...
    intensity_g_per_kwh: float | None = None  # grid carbon intensity used, gCO2e/kWh
    intensity_source: str | None = None     # where that intensity came from
    cpu_power_source: str | None = None     # where the W per busy CPU came from ("AMD EPYC 7763: 280 W / 128 threads (table)")
    scope: str = "process"                  # "process", "thread", or "task" (a coroutine's own steps)
    children: bool = False                  # whether waited children's CPU is included
    calls: int = 1                          # number of calls this record stands for
    wall_min_s: float | None = None         # shortest call (summary mode; wall_s otherwise)
    wall_max_s: float | None = None         # longest call (summary mode; wall_s otherwise)
    pid: int | None = None                  # process that measured it

    def _repr_html_(self) -> str:
        """A two-column table for notebooks: each known field with its unit."""
        import html     # for a notebook only (html.entities is a large table)

        rows = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or f.name == "name":
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                text = format_quantity(value, unit_of(f.name))
            else:
                text = str(value)
            rows.append(f"<tr><th style='text-align:left'>{f.name}</th>"
                        f"<td style='text-align:right'>{html.escape(text)}</td></tr>")
        return (f"<table class='frugal-measurement'><caption style='text-align:left'>"
                f"Measurement {html.escape(self.name)}</caption>{''.join(rows)}</table>")


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Measurement))
