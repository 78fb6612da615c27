"""Bad input everywhere, generated: each call either works or raises a clear ValueError/TypeError.

Property-based (hypothesis) over the options of measure, units, sizes, comparisons,
indicator frames and charts, configure() values, FRUGAL_* variables, marker budgets and
scaling sizes. "Clear" means the message names the argument, setting, variable or column.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import frugal
from frugal.core import settings as config
from frugal.measurement import FIELDS
from frugal.pytest_plugin import marks
from frugal.analysis.thresholds import parse_threshold
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
@example(value=10**400)      # an int beyond a float's range once broke the measured call
@example(value=math.inf)
@example(value=1e308)        # the largest finite floats are good units
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
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        number = float(value)
    except OverflowError:          # an int beyond a float's range
        return False
    return math.isfinite(number) and number >= 0


@FAST
@given(text=st.one_of(st.text(max_size=12), st.from_regex(r"\s*-?[0-9.]{1,6}\s*[kKmMgGtTiIbB]{0,3}\s*")))
@example(text=10**400)
def test_sizes(text):
    """A size string parses to bytes >= 0 or raises a ValueError naming the argument."""
    got = works_or_says_why(lambda: parse_size(text, "max_peak_added_bytes"), "max_peak_added_bytes")
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
@pytest.mark.slow
def test_indicators_on_any_frame(frame, grades):
    """indicators() on any frame gives a table or an error naming the column or argument."""
    table = works_or_says_why(lambda: frugal.indicators(frame, grades=grades, n_boot=50),
                              "column", "grades", "frame")
    if table is not None:
        assert set(table.index) == set(frame["name"])


@FAST
@given(frame=frames(), metric=st.sampled_from(["energy_j", "wall_s", "carbon_g", "nope"]))
@pytest.mark.slow
def test_compare_chart_on_any_frame(frame, metric):
    """The compare chart draws any frame or raises an error naming the column or argument."""
    from frugal import plot

    fig = works_or_says_why(lambda: plot.compare(frame, metric=metric, by="name"), "column", "metric", "frame")
    assert fig is None or fig.axes


# --- configuration, environment, budgets, sizes, more charts ----------------------------------

HOSTILE_NAMES = ["<script>alert(1)</script>", "a\nb\tc", "数据", "данные", "بيانات", "🌱", "cost $x$ and $y",
                 "$\\frac{$", "\"q\" & 'q'"]
WILD = st.one_of(
    ANY, st.just(10**400), st.just(-10**400), st.integers(), st.sampled_from([math.inf, -math.inf, -0.0, 1e308]),
    st.sampled_from(HOSTILE_NAMES), st.binary(max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
SETTING_VALUES = {
    "country": st.sampled_from(["FRA", "fr", "France", "USA", "ZZ", "", " fra "]),
    "region": st.sampled_from(["california", "CA", "nope"]),
    "intensity_g_per_kwh": st.one_of(st.floats(-10, 3000), st.integers(-10, 3000)),
    "pue": st.floats(0, 12),
    "embodied": st.sampled_from(["auto", "laptop", "desktop", "server", "mainframe"]),
    "embodied_total_g": st.floats(-1, 1e7),
    "lifetime_years": st.floats(-1, 120),
    "cpu_tdp_w": st.floats(-1, 20_000),
    "ram_w_per_gb": st.floats(-1, 120),
    "energy": st.sampled_from(["auto", "model", "rapl", "RAPL"]),   # codecarbon: starts a tracker, slow
    "powercap_root": st.sampled_from(["/nonexistent", "relative/dir", "/"]),
    "gpu": st.sampled_from([True, False, "yes", 1]),
    "store": st.sampled_from(["frugal.db", "sub/dir/f.db", "", "bad\x00name.db", " "]),
}


def _setting_value(name: str):
    return st.one_of(SETTING_VALUES[name], WILD)


@st.composite
def settings_changes(draw):
    names = draw(st.lists(st.sampled_from(sorted(SETTING_VALUES) + ["pu", "colour"]), min_size=1, max_size=3,
                          unique=True))
    return {n: draw(_setting_value(n)) if n in SETTING_VALUES else draw(WILD) for n in names}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder to work in: a relative store path given to configure() lands here."""
    return tmp_path_factory.mktemp("properties")


@FAST
@given(changes=settings_changes())
@example(changes={"store": "bad\x00name.db"})
@example(changes={"pue": 10**400, "gpu": "yes"})
@example(changes={"powercap_root": "a\x00b"})
@pytest.mark.slow
def test_configure_any_values(scratch, changes):
    """configure() with any values applies them all or raises an error naming one, changing nothing."""
    base = frugal.configure()
    if changes.get("energy") == "codecarbon":
        changes["energy"] = "model"
    with contextlib.chdir(scratch):
        try:
            new = works_or_says_why(lambda: frugal.configure(**changes), *changes, "setting")
            if new is None:
                assert frugal.configure() == base          # refused: nothing changed
            else:
                assert new == frugal.configure()
                with frugal.measure("after_configure") as m:
                    pass
                assert m.result.wall_s >= 0
        except frugal.FrugalError as exc:              # a store path that cannot be a store
            assert "store" in changes and "store" in str(exc)
            assert frugal.configure() == base
        finally:
            frugal.configure(**dataclasses.asdict(base))


ENV_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["1e400", "nan", "inf", "-1", "0", "1.2", "FRA",
                                                            "yes", "  ", "数据", "\x00"]))


@FAST
@given(environ=st.dictionaries(st.sampled_from([f"FRUGAL_{s.upper()}" for s in config.SETTINGS] + ["FRUGAL_X"]),
                               ENV_TEXT, max_size=4))
@pytest.mark.slow
def test_frugal_environment_variables_are_read_or_named(environ):
    """Any FRUGAL_* text is read into a setting that validates, or reported naming its variable."""
    given, raw, errors = config._from_env(environ)
    for error in errors:
        assert error.startswith("FRUGAL_") and any(error.startswith(f"{v}=") for v in environ)
    for name, value in given.items():
        if name == "store":
            continue                                      # opened, not parsed: see the subprocess test
        works_or_says_why(lambda: config._validate({name: value}, config.Settings()), name)


@pytest.mark.slow
def test_bad_environment_variables_never_break_import_or_measuring(tmp_path):
    """With several invalid FRUGAL_* variables, import and the measured code run; reading names each variable."""
    code = """
import frugal
with frugal.measure("works") as m:
    ran = True
print(ran)
for read in (lambda: m.result, frugal.configure):
    try:
        read()
    except ValueError as exc:
        print(str(exc).replace("\\n", " "))
"""
    bad = {"FRUGAL_PUE": "1e400", "FRUGAL_COUNTRY": "数据", "FRUGAL_GPU": "maybe",
           "FRUGAL_STORE": str(tmp_path / "no" / "such" / "dir" / "\udcff.db"), "FRUGAL_LIFETIME_YEARS": "nan",
           "FRUGAL_ENERGY": "rapl", "FRUGAL_POWERCAP_ROOT": str(tmp_path / "none")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    env.update({k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for k, v in bad.items()})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    ran, *messages = proc.stdout.splitlines()
    assert ran == "True" and len(messages) == 2     # the call ran; reading results or settings says why not
    for var in ("FRUGAL_PUE", "FRUGAL_COUNTRY", "FRUGAL_GPU", "FRUGAL_LIFETIME_YEARS", "FRUGAL_ENERGY"):
        assert all(var in message for message in messages)


BUDGET_KEYS = sorted(marks.BUDGETS) + ["max_energy", "max_peak_memory"]


@FAST
@given(budgets=st.dictionaries(st.sampled_from(BUDGET_KEYS),
                               st.one_of(WILD, st.sampled_from(["50 MB", "1.5GiB", "-1 MB", "1e400 kB", "5 J"])),
                               max_size=3))
def test_marker_budgets(budgets):
    """Any budgets given to @pytest.mark.frugal become finite limits >= 0, or an error naming the key."""
    mark = pytest.mark.frugal(**budgets).mark
    limits = works_or_says_why(lambda: marks.parse_marks("frugal", [mark], "t.py::t"), *budgets, "budget")
    if limits is not None:
        assert {lim.key for lim in limits} == {k for k, v in budgets.items() if v is not None}
        assert all(math.isfinite(lim.limit) and lim.limit >= 0 for lim in limits)


@FAST
@given(text=st.one_of(st.text(max_size=16), st.from_regex(r"[a-z_]{0,12}:-?[0-9.e]{0,6}%?", fullmatch=True)))
def test_compare_fail_thresholds(text):
    """--frugal-compare-fail text parses to a threshold or raises an error naming the option."""
    works_or_says_why(lambda: parse_threshold(text), "--frugal-compare-fail")


SIZE = st.one_of(st.integers(-3, 10**20), st.floats(allow_nan=True), st.just(10**400), st.just(2**63),
                 st.sampled_from([True, "10", None, 1e-300]))


@settings(max_examples=40, deadline=None)
@given(sizes=st.one_of(
    st.lists(st.one_of(st.integers(1, 2**70), st.floats(1e-300, 1e300), st.just(10**400)), min_size=2, max_size=4,
             unique=True).map(sorted),
    st.lists(SIZE, max_size=4), WILD))
@pytest.mark.slow
def test_scaling_sizes(sizes):
    """scaling() with any sizes measures every size or raises an error naming sizes."""
    sc = works_or_says_why(lambda: frugal.scaling(lambda n: n, sizes=sizes, make_input=lambda n: n, repeat=2,
                                                  warmup=0, progress=False), "sizes")
    if sc is not None:
        assert len(sc.frame) == 2 * len(sizes)
        assert sorted(set(sc.frame["size"].tolist())) == sorted(float(s) for s in sizes)


def hostile_frames():
    """Frames as frames() makes, with hostile names and a few commits or runs (for the trend)."""
    @st.composite
    def build(draw):
        frame = draw(frames())
        n = len(frame)
        frame["name"] = draw(st.lists(st.sampled_from(HOSTILE_NAMES + ["a"]), min_size=n, max_size=n))
        frame["commit"] = draw(st.lists(st.sampled_from(["abc1234", "def5678", "<i>"]), min_size=n, max_size=n))
        return frame

    return build()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=hostile_frames(), chart=st.sampled_from(["profile", "pareto", "breakdown", "trend"]),
       metric=st.sampled_from(["energy_j", "wall_s", "nope"]))
@pytest.mark.slow
def test_more_charts_on_any_frame(frame, chart, metric):
    """profile, pareto, breakdown and trend draw any frame, hostile names too, or raise naming a column."""
    from frugal import plot

    make = {"profile": lambda: plot.profile(frame, by="name"), "pareto": lambda: plot.pareto(frame, by="name"),
            "breakdown": lambda: plot.breakdown(frame, by="name"),
            "trend": lambda: plot.trend(frame, metric=metric, by="name", x="commit")}[chart]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)    # glyphs missing from the font (CJK, emoji)
        fig = works_or_says_why(make, "column", "metric", "frame", "indicator", "profile", "pareto",
                                "breakdown", "trend")
        if fig is not None:
            svg = plot.to_svg(fig)                      # drawing, where matplotlib parses the text
            assert svg.startswith("<svg") and "<script" not in svg


@FAST
@given(frame=hostile_frames(), baseline=st.one_of(st.none(), st.sampled_from(HOSTILE_NAMES + ["a"]), WILD),
       per_unit=st.booleans(), seed=st.one_of(st.integers(0, 2**40), WILD))
@pytest.mark.slow
def test_comparison_of_any_frame(frame, baseline, per_unit, seed):
    """A Comparison rebuilt from any frame gives its summary, ratios and text, or an error naming what is wrong."""
    frame = frame.assign(variant=frame["name"], run=range(len(frame)), order=range(len(frame)))
    cmp = works_or_says_why(lambda: frugal.Comparison(frame, baseline, seed=seed, per_unit=per_unit),
                            "baseline", "seed", "column", "frame", "units")
    if cmp is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            summary, ratios = cmp.summary(), cmp.ratios()
        assert set(summary["variant"]) == set(frame["variant"])
        assert set(ratios["variant"]) <= set(frame["variant"]) - {cmp.baseline}
        assert cmp.baseline in str(cmp)
