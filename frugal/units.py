"""Quantities as people write and read them: parse sizes ("50 MB"), print values with units.

Sizes follow the SI and IEC conventions: ``kB``/``MB``/``GB``/``TB`` are powers of 1000,
``KiB``/``MiB``/``GiB``/``TiB`` powers of 1024 (case does not matter; ``K``, ``M``, ``G``
alone mean the SI multiples of bytes). Nothing here imports numpy or pandas.
"""
from __future__ import annotations

import math
import numbers
import re

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
        number, factor = _float(value), 1
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


def parse_number(value: object, what: str) -> float:
    """A finite number >= 0 (not a bool); ``what`` names the argument in the error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    number = _float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return number


def _float(value: numbers.Real) -> float:
    """``float(value)``, with an int beyond a float's range read as infinite (then refused)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def format_bytes(value: float | None) -> str:
    """``61.2 MB``: decimal (SI) multiples, three significant digits; ``n/a`` when unknown."""
    if value is None or value != value:
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= factor:
            return f"{sign}{_digits(value / factor)} {unit}"
    return f"{sign}{value:.0f} B"


_PREFIXES = ((1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def format_si(value: float | None, unit: str) -> str:
    """A value with an SI prefix and up to three significant digits: ``12.3 ms``, ``450 µJ``.

    ``n/a`` when unknown (None or NaN); ``0 J`` for zero.
    """
    if value is None or value != value:
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    magnitude = abs(value)
    for factor, prefix in _PREFIXES:
        if prefix == "k" and unit == "s":
            continue  # 1200 s reads better than 1.2 ks
        if magnitude >= factor * 0.9995:
            return f"{_digits(value / factor)} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def format_plain(value: float | None, unit: str) -> str:
    """A value as the user wrote it, with its unit: ``7.1 J``, ``0.25 s``; ``n/a`` when unknown."""
    if value is None or value != value:
        return "n/a"
    return f"{value:.4g} {unit}"


def _digits(value: float) -> str:
    """Up to three significant digits, no exponent, no trailing zeros (``1.23``, ``12``, ``450``)."""
    magnitude = abs(value)
    if magnitude >= 99.95:
        return f"{value:.0f}"
    text = f"{value:.1f}" if magnitude >= 9.995 else f"{value:.2f}"
    return text.rstrip("0").rstrip(".")
