"""Parsing sizes and printing quantities with units."""
from __future__ import annotations

import pytest

from frugal.units import format_bytes, format_plain, format_si, parse_number, parse_size


@pytest.mark.parametrize(("text", "expected"), [
    ("50 MB", 50_000_000), ("50MB", 50_000_000), ("50 mb", 50_000_000), ("1.5 GiB", 3 * 2**29),
    ("800 kB", 800_000), ("2 KiB", 2048), ("10", 10), ("10 B", 10), ("1e3 kB", 10**6),
    ("3 G", 3 * 10**9), (4096, 4096), (2.5, 2), (0, 0),
])
def test_parse_size_good(text: object, expected: int) -> None:
    """Sizes are SI (kB, MB...) or IEC (KiB, MiB...) multiples of bytes, any case; numbers are bytes."""
    assert parse_size(text) == expected


@pytest.mark.parametrize(("value", "error"), [
    ("50 XB", ValueError), ("MB", ValueError), ("fifty MB", ValueError), ("-5 MB", ValueError),
    ("", ValueError), (float("nan"), ValueError), (float("inf"), ValueError), (-1, ValueError),
    (True, TypeError), (None, TypeError), ([50], TypeError),
])
def test_parse_size_bad(value: object, error: type) -> None:
    """A size that is not one raises, naming the argument."""
    with pytest.raises(error, match="max_peak_memory"):
        parse_size(value, "max_peak_memory")


@pytest.mark.parametrize(("value", "error"), [("1", TypeError), (False, TypeError),
                                              (-0.5, ValueError), (float("nan"), ValueError)])
def test_parse_number_bad(value: object, error: type) -> None:
    """A budget number must be a finite real >= 0, not a string or a bool."""
    with pytest.raises(error, match="max_cpu_s"):
        parse_number(value, "max_cpu_s")


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.0123, "J", "12.3 mJ"), (1.0, "s", "1 s"), (4.5e-6, "s", "4.5 µs"), (1234.5, "J", "1.23 kJ"),
    (1234.5, "s", "1234 s"), (0, "g", "0 g"), (None, "J", "n/a"), (float("nan"), "J", "n/a"),
    (-0.25, "J", "-250 mJ"),
])
def test_format_si(value: float | None, unit: str, text: str) -> None:
    """Values print with an SI prefix and up to three significant digits; unknown is n/a."""
    assert format_si(value, unit) == text


@pytest.mark.parametrize(("value", "text"), [
    (61_234_567, "61.2 MB"), (10e6, "10 MB"), (123, "123 B"), (1.5e9, "1.5 GB"), (None, "n/a"),
    (-2048, "-2.05 kB"),
])
def test_format_bytes(value: float | None, text: str) -> None:
    """Sizes print in decimal multiples, matching how '50 MB' is parsed."""
    assert format_bytes(value) == text


def test_format_plain_keeps_the_users_number() -> None:
    """Budgets print as written (7.1 J, 0.01 s), with four significant digits at most."""
    assert format_plain(7.1, "J") == "7.1 J"
    assert format_plain(0.069843, "s") == "0.06984 s"
    assert format_plain(None, "s") == "n/a"
