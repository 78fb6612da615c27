"""Grid carbon intensity (gCO2e/kWh): explicit value, else country and region, else time zone, else world.

Countries are ISO 3166 alpha-2 or alpha-3 codes or English names (``frugal/data/countries.csv``);
regions exist where the bundled data have them (US states, Canadian and Chinese provinces,
Swedish and Norwegian bidding zones). The time zone is read offline (``TZ``, ``/etc/timezone``,
``/etc/localtime``) and mapped to a country with the tz database's table (``timezones.csv``).
By default every figure is on one basis, life-cycle: the national figures (Our World in Data /
Ember) and the world average made from them; a region is a choice of its publisher's figure,
whose basis (often direct combustion) ``intensity_source`` names. Standard library only; every
lookup is a dict access after the first.
"""
from __future__ import annotations

import functools
import os

from frugal import data

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_ALIASES = {"uk": "GBR", "great britain": "GBR", "england": "GBR", "america": "USA",
            "united states of america": "USA", "russia": "RUS", "south korea": "KOR",
            "north korea": "PRK", "czech republic": "CZE", "vietnam": "VNM", "iran": "IRN",
            "syria": "SYR", "laos": "LAO", "bolivia": "BOL", "venezuela": "VEN", "tanzania": "TZA",
            "moldova": "MDA", "taiwan": "TWN"}


@functools.lru_cache(maxsize=None)
def _country_index() -> tuple[dict[str, str], dict[str, str]]:
    """(any accepted spelling, case-folded -> alpha-3), (alpha-3 -> English name)."""
    index: dict[str, str] = {}
    names: dict[str, str] = {}
    for rec in data.countries():
        a3 = rec["alpha3"]
        names[a3] = rec["common_name"] or rec["name"]
        index[rec["alpha2"].casefold()] = a3
        index[a3.casefold()] = a3
        for key in ("name", "common_name", "official_name"):
            if rec[key]:
                index.setdefault(rec[key].casefold(), a3)
    for a3, (name, _, _) in data.grid_countries().items():
        names.setdefault(a3, name)
        index.setdefault(a3.casefold(), a3)
        index.setdefault(name.casefold(), a3)
    for alias, a3 in _ALIASES.items():
        index.setdefault(alias, a3)
    return index, names


def country_name(alpha3: str) -> str:
    """English name of an alpha-3 code (the code itself when unknown)."""
    return _country_index()[1].get(alpha3, alpha3)


def resolve_country(text: str, setting: str = "country") -> str:
    """The ISO alpha-3 code for a code or English name; ValueError with close matches otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"{setting} must be a str (ISO 3166 code or English name), got {type(text).__name__}")
    index, names = _country_index()
    key = " ".join(text.split()).casefold()
    if key.startswith("the "):
        key = key[4:]
    a3 = index.get(key)
    if a3 is not None:
        return a3
    import difflib     # only for a name that is not found

    spellings = list(index)
    close = difflib.get_close_matches(key, spellings, n=4, cutoff=0.6)
    if not close:  # a typo in a long name: compare word by word as well
        close = [s for s in spellings if any(difflib.get_close_matches(w, s.split(), n=1, cutoff=0.75)
                                             for w in key.split() if len(w) > 3)][:4]
    seen, hints = set(), []
    for spelling in close:
        code = index[spelling]
        if code not in seen:
            seen.add(code)
            hints.append(f"{names.get(code, code)!r} ({code})")
    hint = f"; did you mean {' or '.join(hints)}?" if hints else ""
    raise ValueError(f"{setting}={text!r} is not a known country: give an ISO 3166 alpha-2 code ('FR'), "
                     f"alpha-3 code ('FRA') or English name ('France'){hint}")


# --- regions -----------------------------------------------------------------------

def regions(alpha3: str) -> dict[str, data.Region]:
    """Regions of a country in the bundled data: key or alias -> (name, gCO2e/kWh, source, basis, year)."""
    return data.grid_regions().get(alpha3, {})


def resolve_region(alpha3: str | None, text: str, setting: str = "region") -> str:
    """The key of a region of ``alpha3``; ValueError naming the regions that exist otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"{setting} must be a str, got {type(text).__name__}")
    countries = ", ".join(sorted(data.grid_regions()))
    if alpha3 is None:
        raise ValueError(f"{setting}={text!r} needs a country: the bundled data have regions for {countries}")
    table = regions(alpha3)
    if not table:
        raise ValueError(f"{setting}={text!r}: the bundled data have no regions for {alpha3} "
                         f"(only for {countries}); set the country alone")
    key = " ".join(text.split()).casefold()
    for suffix in (" province", " state", " municipality", " autonomous region"):
        if key.endswith(suffix) and key[: -len(suffix)] in table:
            key = key[: -len(suffix)]
    if key in table:
        return key
    import difflib

    close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(table[c][0]) for c in close)}?" if close else ""
    raise ValueError(f"{setting}={text!r} is not a region of {alpha3} in the bundled data{hint}")


# --- time zone ----------------------------------------------------------------------

def system_timezone(environ: Mapping[str, str] | None = None, etc: str = "/etc") -> str | None:
    """The IANA name of the system time zone, read offline (None when it cannot be told)."""
    environ = os.environ if environ is None else environ
    tz = environ.get("TZ", "").lstrip(":")
    if tz:
        return tz.split("zoneinfo/", 1)[-1] if tz.startswith("/") else tz
    try:
        with open(os.path.join(etc, "timezone"), encoding="utf-8") as f:
            name = f.readline().strip()
        if name:
            return name
    except OSError:
        pass
    try:
        target = os.readlink(os.path.join(etc, "localtime"))
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


def country_from_timezone(tz: str | None) -> str | None:
    """The alpha-3 country of a time zone per the tz database (None for UTC and the like)."""
    if not tz:
        return None
    a2 = data.zone_countries().get(tz)
    if a2 is None:  # a backward-compatible link (US/Eastern): follow it to its canonical name
        real = os.path.realpath(os.path.join("/usr/share/zoneinfo", tz))
        if "zoneinfo/" in real:
            a2 = data.zone_countries().get(real.split("zoneinfo/", 1)[1])
    if a2 is None:
        return None
    return _country_index()[0].get(a2.casefold())


# --- the intensity in force -------------------------------------------------------------

def lookup(intensity_g_per_kwh: float | None, country: str | None, region: str | None,
           tz: str | None = None) -> tuple[float, str]:
    """(gCO2e/kWh, source): explicit value, else country/region, else time zone, else world.

    ``country`` is an alpha-3 code (resolved by ``resolve_country``), ``region`` a key from
    ``resolve_region``; ``tz`` overrides the system time zone (for tests).
    """
    if intensity_g_per_kwh is not None:
        return float(intensity_g_per_kwh), "configured (intensity_g_per_kwh)"
    via = ""
    if country is None:
        tz = system_timezone() if tz is None else tz
        country = country_from_timezone(tz)
        if country is None:
            why = f"time zone {tz} names no country" if tz else "no country set, no time zone found"
            return _world(why)
        via = f"time zone {tz} -> "
    if region is not None:
        name, g, src, basis, year = regions(country)[region]
        return g, f"{via}{name}, {country}: {basis} {year} ({src})"
    rec = data.grid_countries().get(country)
    if rec is None:
        return _world(f"no data for {country}")
    _, g, year = rec
    pin = data.manifest()["pins"]["codecarbon"]
    return g, f"{via}{country_name(country)} ({country}): life-cycle {year} (Our World in Data / Ember via CodeCarbon {pin})"


def _world(why: str) -> tuple[float, str]:
    g, years, basis, source = data.world()["life-cycle"]
    return g, f"world average ({why}): {basis} {years}, {source}"


def describe(country: str | None, region: str | None) -> dict[str, Any]:
    """What the country and region settings resolve to, for ``environment()``."""
    tz = system_timezone()
    return {"country": country, "region": region, "time_zone": tz,
            "country_from_time_zone": None if country else country_from_timezone(tz)}
