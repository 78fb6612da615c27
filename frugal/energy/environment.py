"""``frugal.environment()``: what was detected, which data and model are in force, and why.

A read-only mapping with a plain-text ``str`` (aligned ``key: value`` lines) and an HTML
table for notebooks. Standard library only.
"""
from __future__ import annotations

from collections.abc import Mapping

from frugal import data
from frugal.validate import redact
from frugal.core import own, span
from frugal.core import settings as config
from frugal.machine import grid
from frugal.energy.constants import embodied, power, power_source
from frugal.core.rows import LOG, ROW_SIZE, S_CALLS

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any, Iterator


class Environment(Mapping[str, "Any"]):     # typing is not imported: a quoted name
    """The report of ``frugal.environment()``: a mapping of str to values (nested dicts for meters and data)."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def to_dict(self) -> dict[str, Any]:
        """A plain nested dict (JSON-ready: every leaf is a str, number or bool)."""
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in self._items.items()}

    def __str__(self) -> str:
        width = max(map(len, self._items)) if self._items else 0
        lines = []
        for key, value in self._items.items():
            if isinstance(value, Mapping):
                lines.append(f"{key}:")
                inner = max(map(len, value)) if value else 0
                lines += [f"  {k:<{inner}}  {v}" for k, v in value.items()]
            else:
                lines.append(f"{key:<{width}}  {value}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        rows = []
        for key, value in self._items.items():
            if isinstance(value, Mapping):
                inner = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                                for k, v in value.items())
                cell = f"<table>{inner}</table>"
            else:
                cell = html.escape(str(value))
            rows.append(f"<tr><th style='text-align:left'>{html.escape(key)}</th><td style='text-align:left'>{cell}</td></tr>")
        return f"<table class='frugal-environment'>{''.join(rows)}</table>"


def _memory_probe() -> str:
    probe = span.memory_probe()
    return f"{probe.name}: {probe.why}"


def environment() -> Environment:
    """What frugal detected and which data and model are in force (a dict-like report).

    Keys include the CPU model, virtual or bare metal, the instance type, the host's threads,
    the power model, the chip's family, the W charged per busy logical CPU and per idle reserved
    CPU, and the CPUs reserved, each with its source; the meters found and why the
    others were not; the grid intensity and its source; PUE; the embodied constants; and the
    shipped data tables with their pinned sources.
    """
    settings = config.current()
    settings_id = span.active().settings_id
    meter, reasons = config.meter_state(settings_id)
    return build(settings, settings_id, meter, reasons)


def build(settings: config.Settings, settings_id: int, meter: Any, reasons: dict[str, str]) -> Environment:
    """The report for a settings snapshot and the meter in force with it."""
    cpu = power(settings)
    m = cpu.machine
    g, source = grid.lookup(settings.intensity_g_per_kwh, settings.country, settings.region)
    emb = embodied(settings)
    where = grid.describe(settings.country, settings.region)
    meters = dict(reasons)
    if meter is not None:
        meters["in use"] = meter.describe()
    return Environment({
        "cpu_brand": m.brand or "(unknown)",
        "cpu_model": cpu.cpu_model or "(unknown)",
        "cpu_model_source": cpu.cpu_model_source,
        "logical_cpus": m.logical_cpus,
        "cpu_packages": m.sockets,
        "virtual": m.virtual,
        "virtual_source": m.virtual_source,
        "instance_type": cpu.instance_type or "(none)",
        "instance_type_source": cpu.instance_source,
        "host_threads": cpu.host_threads,
        "host_threads_source": cpu.host_threads_source,
        "cpu_tdp_w": cpu.tdp_w if cpu.tdp_w is not None else "unknown",
        "power_model": settings.power_model,
        "cpu_family": cpu.family or "(unknown)",
        "cpu_w_per_logical_cpu": round(cpu.watts_per_cpu, 4),
        "cpu_power_source": power_source(settings.idle_power, cpu)[1],
        "idle_power": settings.idle_power,
        "idle_w_per_cpu": round(cpu.idle_w_per_cpu, 4) if cpu.idle_w_per_cpu is not None else "unknown",
        "reserved_cpus": cpu.reserved_cpus,
        "reserved_cpus_source": cpu.reserved_source,
        "memory_probe": _memory_probe(),
        "ram_w_per_gb": settings.ram_w_per_gb,
        "energy": settings.energy,
        "energy_method": meter.method if meter is not None else "model",
        "meters": meters,
        "country": where["country"] or (f"(from time zone) {where['country_from_time_zone']}"
                                        if where["country_from_time_zone"] else "(none)"),
        "region": where["region"] or "(none)",
        "time_zone": where["time_zone"] or "(unknown)",
        "intensity_g_per_kwh": round(g, 3),
        "intensity_source": source,
        "pue": settings.pue,
        "embodied_allocation": settings.embodied_allocation,
        "embodied_preset": emb.preset,
        "embodied_total_g": emb.total_g,
        "lifetime_years": emb.lifetime_years,
        "embodied_source": emb.source,
        "gpu": settings.gpu,
        "store": redact(settings.store) if settings.store else "(none)",    # a URL's password: never shown
        # measurements that could not be stored before the memory bound forgot them (never silently)
        "rows_dropped": LOG.dropped,
        "settings_id": settings_id,
        "data": data.versions(),
        # frugal's own CPU in this process so far (left out of process-scope regions), by kind of work
        "frugal_cpu_s": {k: round(v, 6) for k, v in own.by_kind().items()},
        "frugal_calls_measured": _calls_measured(),
    })


def _calls_measured() -> int:
    """Call rows this process recorded, plus the summarised calls held since the last ``clear()``."""
    summarised: int = sum(agg[S_CALLS] for agg in list(LOG.summary.values()))
    return LOG.end() // ROW_SIZE + summarised
