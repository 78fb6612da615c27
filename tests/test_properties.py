"""Bad input everywhere, generated: each call either works or raises a clear ValueError/TypeError.

Property-based (hypothesis) over the options of measure, units, sizes, comparisons,
indicator frames and charts. "Clear" means the message names the argument or column.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import frugal
from frugal.measurement import FIELDS
from frugal.units import parse_size

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.just(object()),
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


def works_or_says_why(call, *names):
    """Run ``call``; a ValueError/TypeError must name one of ``names``; anything else fails."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(n in message for n in names), f"unclear error: {message!r}"
        return None


@FAST
@given(name=ANY, units=ANY, scope=ANY, children=ANY, record=ANY)
def test_measure_options(name, units, scope, children, record):
    """Any measure() options either give a working region or an error naming the option."""
    made = works_or_says_why(
        lambda: frugal.measure(name=name, units=units, scope=scope, children=children, record=record),
        "name", "units", "scope", "children", "record")
    if made is None:
        return
    wrapped = made(lambda x: x * 2)
    assert wrapped(21) == 42


@FAST
@given(value=ANY)
def test_units_returned_by_a_callable_never_break_the_call(value):
    """Whatever a units callable returns, the call's result comes back; units are a number >= 0 or None."""
    f = frugal.measure(name="f", units=lambda: value)(lambda: "result")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f() == "result"
    got = frugal.results()["units"].iloc[-1]
    if _good_units(value):
        assert got == float(value) and not caught
    else:
        assert np.isnan(got)
        assert value is None or any("units" in str(w.message) for w in caught)  # None: no units, said nothing


def _good_units(value) -> bool:
    return (value is not None and not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value) and value >= 0)


@FAST
@given(text=st.one_of(st.text(max_size=12), st.from_regex(r"\s*-?[0-9.]{1,6}\s*[kKmMgGtTiIbB]{0,3}\s*")))
def test_sizes(text):
    """A size string parses to bytes >= 0 or raises a ValueError naming the argument."""
    got = works_or_says_why(lambda: parse_size(text, "max_peak_memory"), "max_peak_memory")
    assert got is None or (isinstance(got, int) and got >= 0)


@settings(max_examples=25, deadline=None)
@given(repeat=ANY, warmup=ANY, baseline=ANY, units=ANY, seed=ANY)
def test_compare_arguments(repeat, warmup, baseline, units, seed):
    """compare() with any arguments runs or raises an error naming the argument."""
    if isinstance(repeat, int) and repeat > 4:
        repeat = 4  # keep each example fast
    if isinstance(warmup, int) and warmup > 2:
        warmup = 2
    cmp = works_or_says_why(
        lambda: frugal.compare({"a": lambda: 1, "b": lambda: 2}, repeat=repeat, warmup=warmup,
                               baseline=baseline, units=units, seed=seed, progress=False),
        "repeat", "warmup", "baseline", "units", "seed")
    if cmp is not None:
        assert len(cmp.frame) == 2 * repeat


def frames():
    """Frames with the results columns and arbitrary, sometimes invalid, numbers."""
    number = st.one_of(st.floats(-1e3, 1e3), st.just(float("nan")), st.just(0.0))

    @st.composite
    def build(draw):
        n = draw(st.integers(1, 6))
        data = {f: [None] * n for f in FIELDS}
        data["name"] = draw(st.lists(st.sampled_from(["a", "b", "<b>c</b>"]), min_size=n, max_size=n))
        for col in ("wall_s", "cpu_s", "cpu_user_s", "cpu_system_s", "energy_j", "energy_cpu_j",
                    "energy_ram_j", "energy_gpu_j", "carbon_g", "embodied_g", "peak_rss_bytes", "units"):
            data[col] = draw(st.lists(number, min_size=n, max_size=n))
        data["calls"] = draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n))
        data["status"] = ["ok"] * n
        data["energy_method"] = ["model"] * n
        data["started_at"] = pd.Timestamp("2026-01-01", tz="UTC")
        return pd.DataFrame(data)

    return build()


@FAST
@given(frame=frames(), grades=st.one_of(st.just("relative"), ANY))
def test_indicators_on_any_frame(frame, grades):
    """indicators() on any frame gives a table or an error naming the column or argument."""
    table = works_or_says_why(lambda: frugal.indicators(frame, grades=grades, n_boot=50),
                              "column", "grades", "frame")
    if table is not None:
        assert set(table.index) == set(frame["name"])


@FAST
@given(frame=frames(), metric=st.sampled_from(["energy_j", "wall_s", "carbon_g", "nope"]))
def test_compare_chart_on_any_frame(frame, metric):
    """The compare chart draws any frame or raises an error naming the column or argument."""
    from frugal import plot

    fig = works_or_says_why(lambda: plot.compare(frame, metric=metric, by="name"), "column", "metric", "frame")
    assert fig is None or fig.axes
