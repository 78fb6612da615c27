"""The tables frugal reads, shipped beside this module as small CSV files.

CPU models (TDP, cores, threads, architecture), CPU architectures' use coefficients, countries (ISO 3166), time zones, grid intensities by
country, world and region, embodied-carbon presets, cloud instance types and two defaults.
``tools/build_data.py`` writes them from pinned upstream sources (CodeCarbon, pycountry,
tzdata, Cloud Carbon Footprint, Boavizta); ``SOURCES.md`` gives each source, licence, date
and checksum, and ``manifest.json`` the same for ``environment()``. Each table is parsed
once per process, when first needed (never at ``import frugal``). Standard library only.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

class CpuRow(tuple[str, float, "int | None", "int | None", str, str]):
    """(name, tdp_w, cores, threads, family, source) of one CPU model, by index or by name: TDP of one
    package in W; cores and hardware threads None where not known (threads may be known alone);
    family the CCF architecture of a server chip ('' when none: laptops, desktops, unknown); source
    '' for CodeCarbon's TDP and Boavizta's counts, else the row's own source (added or corrected)."""

    __slots__ = ()

    def __new__(cls, name: str, tdp_w: float, cores: int | None, threads: int | None, family: str = "",
                source: str = "") -> CpuRow:
        return super().__new__(cls, (name, tdp_w, cores, threads, family, source))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def tdp_w(self) -> float:
        return self[1]

    @property
    def cores(self) -> int | None:
        return self[2]

    @property
    def threads(self) -> int | None:
        return self[3]

    @property
    def family(self) -> str:
        return self[4]

    @property
    def source(self) -> str:
        return self[5]


Region = tuple[str, float, str, str, str]
"""(display name, gCO2e/kWh, source, basis, year)."""


@functools.lru_cache(maxsize=None)
def rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of one shipped CSV file as dicts of text."""
    import csv

    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        # DictReader's rows, without its per-row Python step (a third of the time of this table)
        return tuple(dict(zip(header, row)) for row in reader if row)


def _int(text: str) -> int | None:
    return int(text) if text else None


def _cpu_row(r: dict[str, str]) -> CpuRow:
    return CpuRow(r["name"], float(r["tdp_w"]), _int(r["cores"]), _int(r["threads"]), r["family"], r["source"])


@functools.lru_cache(maxsize=None)
def cpu_table() -> tuple[CpuRow, ...]:
    """CPU models in CodeCarbon's order (about 4,900), with cores and threads where Boavizta has them."""
    return tuple(_cpu_row(r) for r in rows("cpus.csv"))


@functools.lru_cache(maxsize=64)
def cpu_rows_holding(text: str) -> tuple[CpuRow, ...]:
    """The rows of ``cpu_table()`` whose line of cpus.csv holds ``text`` (case-folded), in the
    table's order: only those lines are parsed (one lookup of a brand string in ``frugal run``
    cost 20 ms for the whole table). Each row of the file is one line (held by a test)."""
    import csv

    with open(os.path.join(HERE, "cpus.csv"), encoding="utf-8", newline="") as f:
        header, *lines = f.read().splitlines()
    return tuple(_cpu_row(r) for r in csv.DictReader([header, *(line for line in lines if text in line.casefold())]))


Family = tuple[float, float, bool, str]
"""(min W per vCPU at idle, max W per vCPU at full load, placeholder, source) of one CPU architecture."""


@functools.lru_cache(maxsize=None)
def families() -> dict[tuple[str, str], Family]:
    """(provider, family) -> Family: CCF's SPECpower-derived use coefficients as CCF gives them;
    placeholder rows copy another family's values (the source names which)."""
    return {(r["provider"], r["family"]): (float(r["min_w"]), float(r["max_w"]), r["placeholder"] == "true",
                                           r["source"]) for r in rows("families.csv")}


@functools.lru_cache(maxsize=None)
def countries() -> tuple[dict[str, str], ...]:
    """ISO 3166-1 countries: alpha2, alpha3, name, common_name, official_name ('' when none)."""
    return rows("countries.csv")


@functools.lru_cache(maxsize=None)
def zone_countries() -> dict[str, str]:
    """IANA time zone (and its backward-compatible links) -> ISO alpha-2 country."""
    return {r["zone"]: r["alpha2"] for r in rows("timezones.csv")}


@functools.lru_cache(maxsize=None)
def grid_countries() -> dict[str, tuple[str, float, str]]:
    """alpha-3 -> (name, gCO2e/kWh, year): national life-cycle intensities (OWID / Ember)."""
    return {r["alpha3"]: (r["name"], float(r["g_per_kwh"]), r["year"]) for r in rows("grid_countries.csv")}


@functools.lru_cache(maxsize=None)
def world() -> dict[str, tuple[float, str, str, str]]:
    """key -> (gCO2e/kWh, year, basis, source): 'life-cycle' (in force) and 'iea-2019' (reference)."""
    return {r["key"]: (float(r["g_per_kwh"]), r["year"], r["basis"], r["source"]) for r in rows("grid_world.csv")}


@functools.lru_cache(maxsize=None)
def grid_regions() -> dict[str, dict[str, Region]]:
    """alpha-3 -> {key or alias (lower case) -> Region}: the regions with their own figure."""
    out: dict[str, dict[str, Region]] = {}
    for r in rows("grid_regions.csv"):
        value = (r["name"], float(r["g_per_kwh"]), r["source"], r["basis"], r["year"])
        table = out.setdefault(r["country"], {})
        table[r["key"]] = value
        for alias in filter(None, r["aliases"].split("|")):
            table.setdefault(alias, value)
    return out


@functools.lru_cache(maxsize=None)
def embodied_presets() -> dict[str, tuple[float, float, int]]:
    """preset -> (TE in gCO2e, lifetime in years, rows of Boavizta's data behind the medians)."""
    return {r["preset"]: (float(r["te_g"]), float(r["lifetime_years"]), int(r["rows"])) for r in rows("embodied.csv")}


@functools.lru_cache(maxsize=None)
def defaults() -> dict[str, float]:
    """unknown_cpu_w_per_thread (W) and vm_host_threads: the figures for what cannot be told."""
    return {r["key"]: float(r["value"]) for r in rows("defaults.csv")}


@dataclass(frozen=True)
class Instance:
    """A cloud instance type: the guest's vCPUs, its host and the host's embodied emissions."""

    provider: str                  # aws, gcp, azure
    instance_type: str             # as the provider spells it: m6i.large, n2-standard-2, Standard_D2s_v3
    series: str
    category: str                  # General Purpose, Compute Optimized, Memory Optimized
    vcpus: int
    host_threads: int | None       # the host's hardware threads (SCI's ToR)
    cpu_model: str                 # the host chip (or its microarchitecture when no model is published)
    family: str                    # the host's CCF architecture (a key of families() with some provider; '' when none)
    platform_te_g: float | None    # embodied emissions of the whole host, gCO2e
    lifetime_years: float | None
    source: str                    # tokens explained in SOURCES.md


def instance_key(name: str) -> str:
    """The spelling-free key of an instance type: 'Standard_D2s_v3', 'D2s v3' -> 'd2s_v3'."""
    key = "_".join(name.split()).casefold()
    return key.removeprefix("standard_")


@functools.lru_cache(maxsize=None)
def instances() -> dict[str, Instance]:
    """instance_key -> Instance (AWS, Google Cloud and Azure; about 1,500 types)."""
    out = {}
    for r in rows("instances.csv"):
        te = float(r["platform_te_g"]) if r["platform_te_g"] else None
        life = float(r["lifetime_years"]) if r["lifetime_years"] else None
        out[instance_key(r["instance_type"])] = Instance(
            r["provider"], r["instance_type"], r["series"], r["category"], int(r["vcpus"]),
            _int(r["host_threads"]), r["cpu_model"], r["family"], te, life, r["source"])
    return out


@functools.lru_cache(maxsize=None)
def manifest() -> dict[str, Any]:
    """What each shipped file holds, its sources (pinned), rows and SHA-256 (see SOURCES.md)."""
    import json

    with open(os.path.join(HERE, "manifest.json"), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@functools.lru_cache(maxsize=None)
def version(dist: str) -> str:
    """Installed version of a distribution, or 'absent'."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def versions() -> dict[str, str]:
    """One line per shipped table (its sources and rows), for ``environment()`` and the store."""
    return {name: f"{', '.join(item['sources'])}; {item['rows']} rows"
            for name, item in manifest()["files"].items()}
