"""The one formatter, the unit table and the checks: every surface prints and validates through them."""
from __future__ import annotations

import math

import pytest

from frugal.units import counted, format_change, format_ci, format_p, format_quantity, format_ratio, parse_size, scale_for, unit_of
from frugal.validate import check_choice, check_int, check_number, check_path, parse_number


@pytest.mark.parametrize(("text", "expected"), [
    ("50 MB", 50_000_000), ("50MB", 50_000_000), ("50 mb", 50_000_000), ("1.5 GiB", 3 * 2**29),
    ("800 kB", 800_000), ("2 KiB", 2048), ("10", 10), ("10 B", 10), ("1e3 kB", 10**6),
    ("3 G", 3 * 10**9), (4096, 4096), (2.5, 2), (0, 0), ("100MiB", 100 * 2**20), ("100MB", 10**8),
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
    with pytest.raises(error, match="max_peak_added_bytes"):
        parse_size(value, "max_peak_added_bytes")


@pytest.mark.parametrize(("value", "error"), [("1", TypeError), (False, TypeError),
                                              (-0.5, ValueError), (float("nan"), ValueError)])
def test_parse_number_bad(value: object, error: type) -> None:
    """A budget number must be a finite real >= 0, not a string or a bool."""
    with pytest.raises(error, match="max_cpu_s"):
        parse_number(value, "max_cpu_s")


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.0123, "J", "12.3 mJ"), (1.0, "s", "1 s"), (4.5e-6, "s", "4.5 µs"), (1234.5, "J", "1.23 kJ"),
    (1234.5, "s", "1234 s"), (0, "gCO2e", "0 gCO2e"), (None, "J", "n/a"), (float("nan"), "J", "n/a"),
    (-0.25, "J", "-250 mJ"), (0.0121, "s", "12.1 ms"), (2.5e-7, "J", "250 nJ"), (3 * 2**20, "B", "3 MiB"),
    (1500.0, "gCO2e", "1.5 kgCO2e"), (0.25, "%", "25%"), (91.9e-3, "J", "91.9 mJ"),
    (3.37e-11, "gCO2e", "33.7 pgCO2e"), (0.9, "%", "90%"), (77 * 2**20, "B", "77 MiB"),
    (61_234_567, "B", "58.4 MiB"), (123, "B", "123 B"), (-2048, "B", "-2 KiB"), (7.2e6, "J", "2 kWh"),
    (3.6e6, "J", "1 kWh"), (999.96, "s", "1000 s"), (2.13, "x", "2.1x"), (1.04, "x", "1.04x"),
    (56.0, "gCO2e/kWh", "56 gCO2e/kWh"), (0.5, "ratio", "0.5"), (float("inf"), "J", "n/a"),
])
def test_format_quantity(value: float | None, unit: str, text: str) -> None:
    """One rule for every surface: three significant digits, a prefix per unit, binary for memory."""
    assert format_quantity(value, unit) == text


def test_one_value_reads_the_same_on_an_axis_and_in_a_label() -> None:
    """An axis scaled by scale_for carries the prefix format_quantity gives its largest value."""
    for values, unit in (([1.2e-3, 4.5e-3], "J"), ([3 * 2**20, 2**19], "B"), ([1500.0, 20.0], "gCO2e"),
                         ([0.2, 0.9], "s")):
        factor, label = scale_for(values, unit)
        top = max(values)
        assert format_quantity(top, unit) == f"{format_quantity(top * factor, '')} {label}"


def test_ratios_intervals_and_p_values() -> None:
    """A ratio keeps three digits near 1, two elsewhere; a CI says its unit once; p as quoted."""
    assert format_ratio(34.2) == "34" and format_ratio(1.004) == "1" and format_ratio(0.0512) == "0.051"
    assert format_ratio(math.nan) == "n/a"
    assert format_ci(0.0121, 0.012, 0.0122, "s") == "12.1 [12, 12.2] ms"
    assert format_ci(0.9e-3, 0.8e-3, 1.2e-3, "s") == "900 µs [800 µs, 1.2 ms]"
    assert format_p(0.0004) == "p < 0.001" and format_p(0.0423) == "p = 0.042" and format_p(None) == "no test"


def test_every_measured_field_has_a_unit() -> None:
    """The unit table covers every numeric field of a Measurement."""
    from frugal.measurement import FIELDS

    numeric = {"wall_s", "cpu_user_s", "cpu_system_s", "cpu_s", "cpu_util", "peak_rss_bytes",
               "rss_delta_bytes", "energy_cpu_j", "energy_ram_j", "energy_gpu_j", "energy_j", "carbon_g",
               "embodied_g", "units", "intensity_g_per_kwh", "wall_min_s", "wall_max_s"}
    assert numeric <= set(FIELDS)
    assert all(unit_of(f) for f in numeric)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: check_number("pue", "2"), TypeError, "pue must be a number"),
    (lambda: check_number("pue", 0.5, 1, 10), ValueError, "pue=0.5 is out of range"),
    (lambda: check_number("pue", 10**400, 1, 10), ValueError, "pue="),
    (lambda: check_int("repeat", 1.5, 2), TypeError, "repeat must be a whole number"),
    (lambda: check_int("repeat", 1, 2), ValueError, "repeat must be a whole number >= 2"),
    (lambda: check_int("repeat", True, 2), TypeError, "repeat"),
    (lambda: check_choice("energy", "solar", ("auto", "model")), ValueError, "energy='solar'"),
    (lambda: check_path("store", b"x.db"), TypeError, "store must be a path"),
    (lambda: check_path("store", "a\x00b"), ValueError, "NUL"),
])
def test_checks_name_the_argument(call, error, match) -> None:
    """Every check raises the right error type with the argument's name in it."""
    with pytest.raises(error, match=match):
        call()


def test_counted_is_singular_for_one_and_separates_thousands():
    # "saved baseline of 1 passed tests", "1771486 measurements": what a count and its noun replace
    assert counted(1, "passed test") == "1 passed test"
    assert counted(2, "passed test") == "2 passed tests"
    assert counted(0, "run") == "0 runs"
    assert counted(1_771_486, "measurement") == "1,771,486 measurements"
    assert counted(3, "child", "children") == "3 children"


@pytest.mark.parametrize("ratio, decimals, text", [
    (1.18, 0, "+18%"), (0.88, 0, "-12%"), (0.996, 0, "0%"), (1.004, 0, "0%"), (1.0, 0, "0%"),
    (0.9996, 1, "0.0%"), (1.016, 1, "+1.6%"), (math.nan, 0, "n/a"), (None, 0, "n/a"),
])
def test_a_change_that_rounds_to_none_has_no_sign(ratio, decimals, text):
    # the pytest summary printed "-0%" for a median 0.4% lower: a sign on a change it says is none
    assert format_change(ratio, decimals) == text
