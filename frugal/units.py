"""Quantities as people write and read them: the one formatter, the unit of every column, and
size parsing.

Printing: ``format_quantity(value, unit)`` is the one way frugal turns a number into text,
on every surface (terminal, dashboard, charts, notebooks, exports): three significant digits,
no exponent, ``n/a`` for an unknown value. Memory is binary (B, KiB, MiB, GiB, TiB); energy is
joules with SI prefixes up to kJ and kWh from 3.6 MJ; carbon is mg/g/kg/t CO2e; time is ns to s.
``scale_for(values, unit)`` picks the same prefix for a whole axis of a chart.

Parsing: sizes follow the SI and IEC conventions (``kB``/``MB`` powers of 1000, ``KiB``/``MiB``
powers of 1024), so ``"100MB"`` and ``"100MiB"`` each mean what they say. Standard library only;
the checks of arguments and settings live in ``frugal.validate``.
"""
from __future__ import annotations

import math
import numbers
import re
from collections import namedtuple
from collections.abc import Iterable

from frugal.validate import float_of

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    class Quantity(NamedTuple):
        label: str
        unit: str
else:
    Quantity = namedtuple("Quantity", "label unit")
Quantity.__doc__ = "What a column or indicator holds: a label for people and its unit."


# The unit of every column frugal writes (Measurement's fields and the indicators).
QUANTITIES: dict[str, Quantity] = {
    "wall_s": Quantity("wall time", "s"),
    "cpu_user_s": Quantity("user CPU time", "s"),
    "cpu_system_s": Quantity("system CPU time", "s"),
    "cpu_s": Quantity("CPU time", "s"),
    "cpu_util": Quantity("CPU utilisation", "ratio"),
    "peak_rss_bytes": Quantity("peak memory", "B"),
    "rss_delta_bytes": Quantity("memory growth", "B"),
    "rss_start_bytes": Quantity("memory at start", "B"),
    "peak_added_bytes": Quantity("memory added", "B"),
    "energy_cpu_j": Quantity("CPU energy", "J"),
    "energy_ram_j": Quantity("memory energy", "J"),
    "energy_gpu_j": Quantity("GPU energy", "J"),
    "energy_j": Quantity("energy", "J"),
    "carbon_g": Quantity("operational carbon", "gCO2e"),
    "embodied_g": Quantity("embodied carbon", "gCO2e"),
    "units": Quantity("functional units", "units"),
    "intensity_g_per_kwh": Quantity("grid carbon intensity", "gCO2e/kWh"),
    "wall_min_s": Quantity("shortest call", "s"),
    "wall_max_s": Quantity("longest call", "s"),
    "energy_per_unit_j": Quantity("energy per unit", "J"),
    "carbon_per_unit_g": Quantity("carbon per unit (SCI)", "gCO2e"),
    "operational_per_unit_g": Quantity("operational carbon per unit", "gCO2e"),
    "embodied_per_unit_g": Quantity("embodied carbon per unit", "gCO2e"),
    "embodied_share": Quantity("embodied share", "ratio"),
    "peak_added_per_unit_bytes": Quantity("memory added per unit", "B"),
    "time_per_unit_s": Quantity("time per unit", "s"),
    "cpu_per_unit_s": Quantity("CPU time per unit", "s"),
    "car_km": Quantity("km driven by a new car", "km"),
    "smartphone_charges": Quantity("smartphone charges", "charges"),
    "tree_months": Quantity("months of a tree's uptake", "tree-months"),
    "gain": Quantity("gain against the baseline", "ratio"),
    "gain_ci_low": Quantity("gain, lower 95% bound", "ratio"),
    "gain_ci_high": Quantity("gain, upper 95% bound", "ratio"),
}

# "Memory" on every surface: what a region added above its start (its peak minus its resident
# memory at the start), not the process's peak. Summary rows, whole-process runs and stores
# written before frugal recorded it have the process's peak only: MEMORY_FALLBACK stands for
# memory then (``frugal.frames.columns.memory_column`` picks one).
MEMORY, MEMORY_FALLBACK = "peak_added_bytes", "peak_rss_bytes"


def unit_of(column: str) -> str:
    """The unit of a column or indicator ('' when frugal does not know it)."""
    q = QUANTITIES.get(column)
    return q.unit if q is not None else ""


def label_of(column: str) -> str:
    """What a column holds, in words (the column's own name when frugal does not know it)."""
    q = QUANTITIES.get(column)
    return q.label if q is not None else column


# --- printing ------------------------------------------------------------------------------

# (factor, prefix), largest first; a unit uses the slice of this ladder that suits it.
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
       (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))
_BINARY = ((2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B"))
_ENERGY = ((3.6e9, "MWh"), (3.6e6, "kWh"), (1e3, "kJ"), (1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"),
           (1e-9, "nJ"), (1e-12, "pJ"))
_CARBON = ((1e6, "tCO2e"), (1e3, "kgCO2e"), (1.0, "gCO2e"), (1e-3, "mgCO2e"), (1e-6, "µgCO2e"),
           (1e-9, "ngCO2e"), (1e-12, "pgCO2e"))
_TIME = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_PLAIN = ("", "ratio", "units", "charges", "tree-months", "km", "gCO2e/kWh")


def _ladder(unit: str) -> tuple[tuple[float, str], ...] | None:
    """The prefixes a unit is shown with, or None for a unit printed as it is."""
    if unit == "B":
        return _BINARY
    if unit == "J":
        return _ENERGY
    if unit in ("gCO2e", "g"):
        return _CARBON if unit == "gCO2e" else tuple((f, p + "g") for f, p in _SI if f <= 1e3)
    if unit == "s":
        return _TIME
    if unit in _PLAIN or unit in ("%", "x"):
        return None
    return tuple((f, p + unit) for f, p in _SI)


def _digits(value: float, digits: int = 3) -> str:
    """``digits`` significant digits, no exponent, no trailing zeros: ``1.23``, ``12``, ``450``."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    text = f"{value:.{decimals}f}"
    if float(text) != 0 and abs(float(text)) >= 10 ** digits:   # 999.6 rounds to 1000
        text = f"{value:.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _known(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is unknown (None, NaN, pandas NA, text)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def format_quantity(value: Any, unit: str, digits: int = 3) -> str:
    """A value with its unit and a readable prefix: ``12.3 ms``, ``45.6 MiB``, ``1.2 kgCO2e``.

    Three significant digits (``digits``); ``n/a`` when the value is unknown (None, NaN, NA).
    ``unit`` is the column's unit (``unit_of``): ``B`` prints in binary multiples, ``J`` in
    J with SI prefixes up to kJ then kWh, ``gCO2e`` from µg to t, ``s`` from ns to s, ``%``
    as a percentage of a ratio (0.25 is 25%), ``x`` as a ratio (``2.13x``); a unit frugal
    does not scale (``ratio``, counts) prints as the number alone or with its unit.
    """
    v = _known(value)
    if v is None:
        return "n/a"
    if unit == "%":
        return f"{_digits(v * 100, digits)}%"
    if unit == "x":
        return f"{format_ratio(v)}x"
    ladder = _ladder(unit)
    if ladder is None:
        text = _digits(v, digits)
        return text if unit in ("", "ratio") else f"{text} {unit}"
    if v == 0:
        return f"0 {unit}"
    magnitude = abs(v)
    for factor, name in ladder:
        # the prefix whose value would round to >= 1 in three digits
        if magnitude >= factor * (1 - 0.5 * 10 ** -digits):
            return f"{_digits(v / factor, digits)} {name}"
    factor, name = ladder[-1]
    return f"{_digits(v / factor, digits)} {name}"


def scale_for(values: Iterable[Any], unit: str) -> tuple[float, str]:
    """``(factor, unit)`` to show a whole axis of values with one prefix: ``values * factor``.

    The prefix is the one ``format_quantity`` gives the largest value, so an axis and the
    labels beside it read alike.
    """
    finite = [abs(v) for v in (_known(x) for x in values) if v is not None and v != 0]
    ladder = _ladder(unit)
    if not finite or ladder is None:
        return 1.0, unit
    top = max(finite)
    for factor, name in ladder:
        if top >= factor * 0.9995:
            return 1.0 / factor, name
    factor, name = ladder[-1]
    return 1.0 / factor, name


def format_ratio(r: Any) -> str:
    """A ratio: two significant digits, three near 1 where small differences matter (``1.04``)."""
    v = _known(r)
    if v is None:
        return "n/a"
    if v <= 0:
        return _digits(v, 2)
    return _digits(v, 3 if 0.8 <= v < 1.25 else 2)


def format_ci(value: Any, low: Any, high: Any, unit: str) -> str:
    """``12.1 [12, 12.2] ms``: a value and its interval, the unit said once when they share it."""
    m, lo, hi = format_quantity(value, unit), format_quantity(low, unit), format_quantity(high, unit)
    if lo == "n/a" or hi == "n/a":
        return m
    parts = [x.rsplit(" ", 1) for x in (m, lo, hi)]
    if all(len(p) == 2 for p in parts) and len({p[1] for p in parts}) == 1:
        return f"{parts[0][0]} [{parts[1][0]}, {parts[2][0]}] {parts[0][1]}"
    return f"{m} [{lo}, {hi}]"


def format_change(ratio: Any, decimals: int = 0) -> str:
    """A ratio as a signed change, ``+18%`` or ``-12%``; ``0%`` when it rounds to none (never ``-0%``)."""
    v = _known(ratio)
    if v is None:
        return "n/a"
    text = f"{(v - 1) * 100:+.{decimals}f}"
    return f"{text[1:] if float(text) == 0 else text}%"


def format_p(p: Any) -> str:
    """A p-value as people quote it: ``p < 0.001``, ``p = 0.042``; ``no test`` when unknown."""
    v = _known(p)
    if v is None:
        return "no test"
    return "p < 0.001" if v < 0.001 else f"p = {_digits(v, 2)}"


def format_count(n: Any) -> str:
    """A whole number with thousands separators: ``1,000,000``."""
    v = _known(n)
    return "n/a" if v is None else f"{int(round(v)):,}"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one: ``1 passed test``, ``1,771,486 measurements``."""
    return f"{format_count(n)} {noun if n == 1 else plural or noun + 's'}"


# --- parsing -------------------------------------------------------------------------------

_SIZE_FACTORS = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_size(value: object, what: str = "size") -> int:
    """Bytes from an int (bytes) or a string such as ``"50 MB"``, ``"1.5GiB"``, ``"800 kB"``.

    ``what`` names the argument in the error: a ``ValueError`` for an unknown unit or a
    negative size, a ``TypeError`` for anything that is neither a number nor a string.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise TypeError(f"{what} must be a size such as '50 MB' or a number of bytes, "
                        f"got {type(value).__name__}")
    if isinstance(value, numbers.Real):
        number, factor = float_of(value), 1
    else:
        match = _SIZE.match(value)
        if match is None or match.group(2).lower() not in _SIZE_FACTORS:
            known = "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB"
            raise ValueError(f"{what}={value!r} is not a size: write a number and a unit "
                             f"({known}), e.g. '50 MB'")
        number, factor = float(match.group(1)), _SIZE_FACTORS[match.group(2).lower()]
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what}={value!r} must be a finite size >= 0")
    return int(round(number * factor))
