"""frugal.compare and frugal.scaling on real runs: frames, statistics, warnings, bad input."""
from __future__ import annotations

import random
import sys
import uuid

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.comparison import Comparison
from frugal.complexity import Scaling
from frugal.demo import insertion_sort
from frugal.measurement import FIELDS


def work(n: int = 20_000) -> int:
    return sum(i * i for i in range(n))


def random_list(n: int) -> list:
    return [random.random() for _ in range(int(n))]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sorts() -> Comparison:
    data = random_list(300)
    return frugal.compare({"sorted": lambda: sorted(data), "insertion": lambda: insertion_sort(list(data))},
                          repeat=10, warmup=1, seed=42, progress=False)


# --- compare: frames and statistics --------------------------------------------------

def test_insertion_sort_is_significantly_costlier_than_sorted(sorts):
    """Insertion sort on 300 floats costs significantly more CPU time than sorted()."""
    row = sorts.ratios().set_index("metric").loc["cpu_s"]
    assert row["variant"] == "insertion" and row["baseline"] == "sorted"
    assert row["significant"] and row["p_value"] < 0.001
    assert row["ratio"] > 3 and row["ci_low"] > 1
    assert row["cliffs_delta"] == 1.0
    assert row["verdict"].startswith("insertion uses ") and "the CPU time of sorted (95% CI" in row["verdict"]


def test_identical_variants_show_no_significant_difference():
    """Two identical deterministic variants are not found different (alpha 0.001: 0.1% false alarms a metric)."""
    cmp = frugal.compare({"a": work, "b": work}, repeat=15, warmup=1, seed=3, progress=False)
    ratios = cmp.ratios(alpha=0.001)
    assert set(ratios["metric"]) >= {"wall_s", "cpu_s"}
    assert not ratios["significant"].any(), ratios[["metric", "p_value"]]
    assert all(v.startswith("no significant difference in ") for v in ratios["verdict"])


def test_frame_has_one_row_per_run_with_every_field(sorts):
    """The frame: variant, run, order, then every Measurement field; orders are a permutation."""
    frame = sorts.frame
    assert list(frame.columns) == ["variant", "run", "order", *FIELDS]
    assert len(frame) == 20
    assert sorted(frame["order"]) == list(range(20))
    for _, group in frame.groupby("variant"):
        assert sorted(group["run"]) == list(range(10))
    assert (frame["name"] == frame["variant"]).all()
    assert (frame["status"] == "ok").all()


def test_runs_are_interleaved_by_seed_or_blocked():
    """interleave=True shuffles the runs by seed (the same seed, the same order); False runs blocks."""
    def orders(**kw):
        cmp = frugal.compare({"a": lambda: None, "b": lambda: None}, repeat=8, warmup=0, progress=False, **kw)
        return cmp.frame.set_index(["variant", "run"])["order"]

    assert orders(seed=5).equals(orders(seed=5))
    blocked = orders(seed=5, interleave=False)
    assert list(blocked.loc["a"]) == list(range(8)) and list(blocked.loc["b"]) == list(range(8, 16))
    assert not orders(seed=5).equals(blocked)


def test_summary_gives_medians_with_ci_and_cv(sorts):
    """summary(): per variant and metric, n, the median inside its CI, and the CV, with warnings attached."""
    summary = sorts.summary()
    assert list(summary.columns[:7]) == ["variant", "metric", "n", "median", "ci_low", "ci_high", "cv"]
    assert set(summary["metric"]) == set(sorts.metrics)
    cpu = summary[summary["metric"] == "cpu_s"].set_index("variant")
    for variant in ("sorted", "insertion"):
        values = sorts.frame.loc[sorts.frame["variant"] == variant, "cpu_s"]
        assert cpu.loc[variant, "median"] == pytest.approx(values.median())
        assert cpu.loc[variant, "ci_low"] <= cpu.loc[variant, "median"] <= cpu.loc[variant, "ci_high"]
        assert cpu.loc[variant, "n"] == 10
    assert summary.attrs["warnings"] == sorts.warnings
    assert sorts.summary().equals(summary)  # bootstrap drawn from the Comparison's seed


def test_metrics_skip_all_nan_columns_and_use_real_values(sorts):
    """All-NaN metrics are skipped; once a metric has values (energy later), it is summarised and compared."""
    frame = sorts.frame.copy()
    frame["energy_j"] = np.nan
    assert "energy_j" not in Comparison(frame, "sorted").metrics
    frame["energy_j"] = frame["cpu_s"] * 15.0  # what a CPU power model would give
    cmp = Comparison(frame, "sorted", seed=1)
    assert "energy_j" in cmp.metrics and {"wall_s", "cpu_s", "peak_rss_bytes"} <= set(cmp.metrics)
    ratios = cmp.ratios().set_index("metric")
    assert ratios.loc["energy_j", "ratio"] == pytest.approx(ratios.loc["cpu_s", "ratio"])
    assert "the energy of sorted" in ratios.loc["energy_j", "verdict"]


def test_failing_variant_is_recorded_and_the_others_go_on():
    """A variant that raises on some runs keeps those runs, with status and error, and is warned about."""
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) % 2 == 0:
            raise KeyError("odd")
        work(2000)

    cmp = frugal.compare({"steady": work, "flaky": flaky}, repeat=6, warmup=2, seed=1, progress=False)
    frame = cmp.frame
    assert len(frame) == 12
    failed = frame[frame["status"] == "error"]
    assert set(failed["variant"]) == {"flaky"} and set(failed["error"]) == {"KeyError"}
    n_failed = len(failed)
    assert n_failed >= 3
    assert any(f"{n_failed} of 6 runs of 'flaky' failed (KeyError" in w for w in cmp.warnings)
    assert any("warm-up runs of 'flaky' raised KeyError" in w for w in cmp.warnings)
    summary = cmp.summary().set_index(["variant", "metric"])
    assert summary.loc[("flaky", "cpu_s"), "n"] == 6 - n_failed
    assert summary.loc[("steady", "cpu_s"), "n"] == 6


def test_a_variant_that_always_fails_cannot_be_compared():
    """All runs failing: no statistic is invented, the verdict and warnings say why."""
    def boom():
        raise ZeroDivisionError

    cmp = frugal.compare({"ok": work, "boom": boom}, repeat=3, warmup=0, seed=1, progress=False)
    ratios = cmp.ratios()
    assert ratios["ratio"].isna().all() and not ratios["significant"].any()
    assert all(v.startswith("cannot compare") for v in ratios["verdict"])
    assert any("'boom' has no successful run" in w for w in cmp.warnings)


def test_a_run_without_a_measurement_is_kept_as_failed():
    """When the region yields no Measurement, the run is still a row: status error, nothing invented."""
    from frugal.runner import run_once

    region = frugal.measure(_unique("summary-only"), record="summary")  # m.result refuses summary regions
    m = run_once(region, work)
    assert m.status == "error" and m.error.startswith("FrugalError") and m.wall_s != m.wall_s


def test_runs_appear_in_results_but_warm_ups_do_not():
    """Every measured run is also a row of frugal.results() under its variant's name; warm-ups are not."""
    name = _unique("cmp-results")
    frugal.compare({name: lambda: None}, repeat=4, warmup=3, progress=False)
    assert (frugal.results()["name"] == name).sum() == 4


def test_units_make_statistics_per_unit():
    """With units, medians are per functional unit and the units are kept in the frame."""
    cmp = frugal.compare({"one": work, "ten": work}, repeat=4, warmup=0, units={"one": 1, "ten": 10},
                         seed=2, progress=False)
    assert cmp.per_unit and list(cmp.frame.groupby("variant", sort=False)["units"].first()) == [1.0, 10.0]
    ten = cmp.frame[cmp.frame["variant"] == "ten"]
    summary = cmp.summary().set_index(["variant", "metric"])
    assert summary.loc[("ten", "cpu_s"), "median"] == pytest.approx((ten["cpu_s"] / 10).median())
    assert summary.loc[("ten", "cpu_s"), "unit"] == "s/unit"
    assert "per unit" in cmp.ratios()["verdict"].iloc[0]


# --- compare: warnings -----------------------------------------------------------------

def test_too_short_runs_and_too_few_runs_are_warned_about():
    """Runs under 1000 clock steps, and runs too few for p < 0.05 ever, are each warned about."""
    cmp = frugal.compare({"a": lambda: None, "b": lambda: None}, repeat=3, warmup=0, seed=1, progress=False)
    text = "\n".join(cmp.warnings)
    assert "runs of 'a' are short for the clocks" in text and "of CPU time" in text
    assert "cannot reach p < 0.05 whatever the data" in text
    assert "'a' has only 3 successful runs" in text


def test_high_variation_is_warned_about_and_shown_with_the_summary():
    """Runs alternating between 1x and 4x the work exceed a 10% CV; the summary prints the warning."""
    calls = []

    def uneven():
        calls.append(1)
        work(5_000 if len(calls) % 2 else 20_000)

    cmp = frugal.compare({"uneven": uneven}, repeat=6, warmup=0, seed=1, progress=False)
    assert any(w.startswith("the runs of 'uneven' vary a lot") for w in cmp.warnings)
    assert "vary a lot" in repr(cmp.summary()) and "vary a lot" in cmp.summary()._repr_html_()


def test_html_escapes_variant_names():
    """Variant names are HTML-escaped in the notebook view."""
    cmp = frugal.compare({"<b>base</b>": work, "x&y": work}, repeat=2, warmup=0, seed=1, progress=False)
    page = cmp._repr_html_()
    assert "<b>base</b>" not in page and "&lt;b&gt;base&lt;/b&gt;" in page and "x&amp;y" in page
    assert "Warnings" in page


# --- compare: progress and bad input --------------------------------------------------

def test_progress_bar_on_request_and_off_outside_a_terminal(capsys):
    """progress=True draws a bar on stderr; by default it is off when stderr is not a terminal."""
    frugal.compare([work], repeat=2, warmup=1, progress=True)
    err = capsys.readouterr().err
    assert "frugal.compare [" in err and "3/3" in err and err.endswith("\n")
    frugal.compare([work], repeat=2, warmup=1)
    frugal.compare([work], repeat=2, warmup=1, progress=False)
    assert capsys.readouterr().err == ""


async def _coroutine_function():
    return None


@pytest.mark.parametrize("kwargs, error, argument", [
    ({"variants": {}}, ValueError, "variants"),
    ({"variants": []}, ValueError, "variants"),
    ({"variants": 42}, TypeError, "variants"),
    ({"variants": {"a": 3}}, TypeError, "variants"),
    ({"variants": [lambda: 1, lambda: 2]}, ValueError, "variants"),
    ({"variants": {"a": _coroutine_function}}, ValueError, "variants"),
    ({"variants": {"a": work}, "baseline": "b"}, ValueError, "baseline"),
    ({"variants": {"a": work}, "repeat": 1}, ValueError, "repeat"),
    ({"variants": {"a": work}, "repeat": 2.5}, TypeError, "repeat"),
    ({"variants": {"a": work}, "warmup": -1}, ValueError, "warmup"),
    ({"variants": {"a": work}, "units": -1}, ValueError, "units"),
    ({"variants": {"a": work, "b": work}, "units": {"a": 1}}, ValueError, "units"),
    ({"variants": {"a": work}, "seed": -3}, ValueError, "seed"),
    ({"variants": {"a": work}, "progress": "yes"}, TypeError, "progress"),
    ({"variants": {"a": work}, "interleave": 1}, TypeError, "interleave"),
])
def test_compare_bad_input_names_the_argument(kwargs, error, argument):
    """Bad input is a ValueError (a wrong type: TypeError) naming the argument, before anything runs."""
    with pytest.raises(error, match=argument):
        frugal.compare(**kwargs)


def test_list_of_callables_is_named_after_them():
    """A list of functions: each variant is named after its __name__, the first is the baseline."""
    cmp = frugal.compare([work, random.random], repeat=2, warmup=0, progress=False)
    assert cmp.variants == ["work", "random"] and cmp.baseline == "work"


# --- delegation to the indicators and plot modules -------------------------------------

def test_indicators_delegate_to_frugal_indicators(sorts):
    """Comparison.indicators() is frugal.indicators on the frame, by variant, against the baseline."""
    pytest.importorskip("frugal.indicators")
    expected = frugal.indicators(sorts.frame, by="variant", baseline="sorted")
    pd.testing.assert_frame_equal(sorts.indicators(), expected)


def test_plot_delegates_to_frugal_plot(sorts):
    """Comparison.plot() draws through frugal.plot.compare."""
    pytest.importorskip("frugal.plot")
    pytest.importorskip("matplotlib").use("Agg")
    assert sorts.plot(metric="cpu_s") is not None


# --- scaling ----------------------------------------------------------------------------

def test_insertion_sort_exponent_is_near_two():
    """Insertion sort's fitted CPU-time exponent over sizes 200..1600 is about 2."""
    sc = frugal.scaling(insertion_sort, [200, 400, 800, 1600], random_list, repeat=5, seed=1, progress=False)
    fit = sc.exponent("cpu_s")
    assert 1.6 <= fit.exponent <= 2.4
    assert fit.ci_low <= fit.exponent <= fit.ci_high
    assert fit.r2 > 0.9 and fit.n == 20


def test_sorted_exponent_is_near_one():
    """sorted()'s fitted CPU-time exponent over sizes 4,000..64,000 is about 1 (n log n: 1.1)."""
    sc = frugal.scaling(sorted, [4000, 8000, 16000, 32000, 64000], random_list, repeat=5, seed=1, progress=False)
    assert 0.7 <= sc.exponent("cpu_s").exponent <= 1.3


def test_scaling_frame_and_prediction():
    """The frame: size, run, order, every field; units = size; predict follows the fitted law."""
    sc = frugal.scaling(insertion_sort, [100, 200, 400], random_list, repeat=3, warmup=0, seed=1, progress=False)
    frame = sc.frame
    assert list(frame.columns) == ["size", "run", "order", *FIELDS]
    assert len(frame) == 9 and sorted(frame["order"]) == list(range(9))
    assert (frame["units"] == frame["size"]).all()
    assert frame["name"].str.endswith("insertion_sort").all()  # qualified name, as measure() gives
    fit = sc.exponent("wall_s")
    assert sc.predict("wall_s", 800) == pytest.approx(fit.coefficient * 800**fit.exponent)


def test_input_is_built_outside_the_measured_region():
    """make_input runs before each run, not inside its region: its own regions have no parent."""
    make_name = _unique("make-input")
    builds = []

    @frugal.measure(name=make_name)
    def make(n):
        builds.append(n)
        return random_list(n)

    frugal.scaling(sorted, [10, 20], make, repeat=3, warmup=1, progress=False)
    assert builds.count(10) == 4 and builds.count(20) == 4  # a fresh input for every run
    rows = frugal.results()
    rows = rows[rows["name"] == make_name]
    assert len(rows) == 8 and rows["parent"].isna().all()


def test_scaling_records_failures_and_still_fits():
    """A run that raises is kept with its error and warned about; the fit uses the others."""
    def picky(data):
        if len(data) == 200:
            raise ValueError("no")
        return sorted(data)

    sc = frugal.scaling(picky, [100, 200, 400, 800], random_list, repeat=2, warmup=0, seed=1, progress=False)
    failed = sc.frame[sc.frame["status"] == "error"]
    assert list(failed["size"]) == [200, 200] and set(failed["error"]) == {"ValueError"}
    assert any("2 of 2 runs of size 200 failed (ValueError x2)" in w for w in sc.warnings)
    assert sc.exponent("wall_s").n == 6


def test_exponent_of_a_metric_without_values_is_a_clear_error():
    """A metric with no positive value, or not a column, is a ValueError naming it."""
    sc = frugal.scaling(sorted, [10, 20], random_list, repeat=2, warmup=0, progress=False)
    frame = sc.frame.copy()
    frame["energy_j"] = np.nan
    with pytest.raises(ValueError, match="energy_j"):
        Scaling(frame).exponent("energy_j")
    with pytest.raises(ValueError, match="nonsense"):
        sc.exponent("nonsense")


@pytest.mark.parametrize("kwargs, error, argument", [
    ({"sizes": []}, ValueError, "sizes"),
    ({"sizes": [10]}, ValueError, "sizes"),
    ({"sizes": [20, 10]}, ValueError, "sizes"),
    ({"sizes": [10, 10]}, ValueError, "sizes"),
    ({"sizes": [0, 10]}, ValueError, "sizes"),
    ({"sizes": 10}, TypeError, "sizes"),
    ({"func": "sorted"}, TypeError, "func"),
    ({"make_input": None}, TypeError, "make_input"),
    ({"repeat": 1}, ValueError, "repeat"),
    ({"warmup": -1}, ValueError, "warmup"),
])
def test_scaling_bad_input_names_the_argument(kwargs, error, argument):
    """Bad input to scaling is a ValueError (a wrong type: TypeError) naming the argument."""
    args = {"func": sorted, "sizes": [10, 20], "make_input": random_list, **kwargs}
    with pytest.raises(error, match=argument):
        frugal.scaling(**args)


def test_compare_needs_no_scipy():
    """Using compare imports scipy nowhere: the statistics need numpy only."""
    import subprocess

    code = ("import sys, frugal; frugal.compare([lambda: None], repeat=2, warmup=0).ratios(); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_frame_without_any_value_is_refused():
    """A frame whose compared columns are all unknown is a ValueError, not a summary without rows."""
    row = {f: np.nan for f in FIELDS}
    row.update(name="a", started_at=pd.Timestamp("2026-01-01", tz="UTC"), status="ok", calls=1)
    frame = pd.DataFrame([row]).assign(variant="a", run=0, order=0)
    with pytest.raises(ValueError, match="no value in any compared column"):
        Comparison(frame)
