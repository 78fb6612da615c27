"""The data sets frugal reads: found inside installed packages and parsed as plain files.

CodeCarbon ships its CPU power table and its grid-intensity data inside its package;
pycountry ships ISO 3166; the system (or the ``tzdata`` package) ships the time-zone table.
Nothing of these packages is imported (CodeCarbon's trackers and HTTP clients stay
unloaded): each file is located with ``importlib.util.find_spec`` and parsed with the
standard library, once per process. Standard library only.
"""
from __future__ import annotations

import functools
import importlib.util
import os

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any

from frugal.errors import FrugalError

# The embodied-carbon presets are derived from this release of Boavizta's data set.
BOAVIZTA_COMMIT = "61323eb5c3bb63b0703e7a9c6456482ccbaac3a6"

# name: (TE in gCO2e, lifetime in years, rows of the data set behind the median)
# TE = median over the subcategory of gwp_total x (1 - gwp_use_ratio): every phase but use
# (manufacture, transport, end of life). Lifetime = median of the rows' `lifetime`.
EMBODIED_PRESETS: dict[str, tuple[float, float, int]] = {
    "laptop": (240_500.0, 4.0, 406),
    "desktop": (296_000.0, 4.0, 237),
    "server": (1_278_000.0, 4.0, 55),
}


def package_dir(name: str) -> str | None:
    """Folder of an installed package, without importing it (None when not installed)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def codecarbon_file(*parts: str) -> str:
    """Path of a data file bundled with CodeCarbon; FrugalError when it is missing."""
    root = package_dir("codecarbon")
    if root is None:
        raise FrugalError("frugal reads its CPU power and grid-intensity data from the codecarbon "
                          "package, which is not installed: pip install codecarbon")
    path = os.path.join(root, "data", *parts)
    if not os.path.isfile(path):
        raise FrugalError(f"codecarbon {version('codecarbon')} has no data file {path}: "
                          "frugal needs a codecarbon release that bundles it (>= 2.3)")
    return path


@functools.lru_cache(maxsize=None)
def version(dist: str) -> str:
    """Installed version of a distribution, or 'absent'."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _json(*parts: str) -> dict[str, Any]:
    """A JSON file of CodeCarbon's package: each one holds an object."""
    import json

    with open(codecarbon_file(*parts), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@functools.lru_cache(maxsize=None)
def _cpu_rows() -> tuple[tuple[tuple[str, float], ...], tuple[str, ...]]:
    import csv

    rows, skipped = [], []
    with open(codecarbon_file("hardware", "cpu_power.csv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            name, tdp = (row.get("Name") or "").strip(), (row.get("TDP") or "").strip()
            try:
                rows.append((name, float(tdp)))
            except ValueError:  # a few rows hold two figures run together ("27.29.5")
                skipped.append(f"{name}: {tdp!r}")
    return tuple(rows), tuple(skipped)


def cpu_power_table() -> tuple[tuple[str, float], ...]:
    """CodeCarbon's CPU table: (model name, TDP in W), about 4,900 rows; unparsable rows left out."""
    return _cpu_rows()[0]


def cpu_power_skipped() -> tuple[str, ...]:
    """Rows of the CPU table left out because their TDP is not a number."""
    return _cpu_rows()[1]


@functools.lru_cache(maxsize=None)
def energy_mix() -> dict[str, dict[str, Any]]:
    """CodeCarbon's per-country electricity data (alpha-3 -> record with carbon_intensity, year)."""
    return _json("private_infra", "global_energy_mix.json")


@functools.lru_cache(maxsize=None)
def world_average() -> tuple[float, str]:
    """The world-average intensity in gCO2e/kWh and the source CodeCarbon gives for it."""
    data = _json("private_infra", "carbon_intensity_per_source.json")
    return float(data["world_average"]), str(data.get("world_average_source", ""))


@functools.lru_cache(maxsize=None)
def usa_emissions() -> dict[str, Any]:
    """EPA eGRID rates per US state, lbs CO2e/MWh (as bundled by CodeCarbon)."""
    return _json("private_infra", "2023", "usa_emissions.json")


@functools.lru_cache(maxsize=None)
def canada_mix() -> dict[str, dict[str, Any]]:
    """Electricity generation mix per Canadian province, in percent (as bundled by CodeCarbon)."""
    return _json("private_infra", "2023", "canada_energy_mix.json")


@functools.lru_cache(maxsize=None)
def china_provinces() -> dict[str, Any]:
    """MEE/NBS provincial emission factors of China, gCO2/kWh (as bundled by CodeCarbon)."""
    return _json("private_infra", "2023", "china_provincial_emissions.json")


@functools.lru_cache(maxsize=None)
def nordic_zones() -> dict[str, Any]:
    """Bidding-zone factors of Sweden and Norway, gCO2e/kWh (as bundled by CodeCarbon)."""
    return _json("private_infra", "nordic_emissions.json")


@functools.lru_cache(maxsize=None)
def iso3166() -> tuple[dict[str, str], ...]:
    """ISO 3166-1 countries (alpha_2, alpha_3, name, common_name, official_name) from pycountry's data."""
    root = package_dir("pycountry")
    path = None if root is None else os.path.join(root, "databases", "iso3166-1.json")
    if path is None or not os.path.isfile(path):
        return ()
    import json

    with open(path, encoding="utf-8") as f:
        return tuple(json.load(f)["3166-1"])


def _zone_tab_paths() -> list[str]:
    paths = ["/usr/share/zoneinfo/zone.tab", "/usr/lib/zoneinfo/zone.tab",
             "/usr/share/lib/zoneinfo/zone.tab"]
    tzdata = package_dir("tzdata")
    if tzdata is not None:
        paths.append(os.path.join(tzdata, "zoneinfo", "zone.tab"))
    return paths


@functools.lru_cache(maxsize=None)
def zone_countries() -> dict[str, str]:
    """IANA time zone -> ISO alpha-2 country, from the tz database's ``zone.tab``."""
    for path in _zone_tab_paths():
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        table = {}
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) >= 3:
                table[fields[2]] = fields[0]
        return table
    return {}


def versions() -> dict[str, str]:
    """Versions of every data set in use, for ``environment()`` and the store's run metadata."""
    mix_years = sorted({str(v.get("year")) for v in energy_mix().values() if v.get("year")})
    return {
        "codecarbon": version("codecarbon"),
        "cpu_power.csv": (f"codecarbon {version('codecarbon')}, {len(cpu_power_table())} CPU models "
                          f"({len(cpu_power_skipped())} rows with an unparsable TDP left out)"),
        "global_energy_mix.json": f"codecarbon {version('codecarbon')}, years {', '.join(mix_years)}",
        "usa_emissions.json": str(usa_emissions().get("_source", {}).get("name", "EPA eGRID")),
        "iso3166": f"pycountry {version('pycountry')}",
        "embodied presets": f"Boavizta environmental-footprint-data @ {BOAVIZTA_COMMIT[:10]}",
    }
