"""frugal.compare and frugal.scaling on real runs: frames, statistics, warnings, bad input."""
from __future__ import annotations

import random
import sys
import uuid

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.analysis.compare import Comparison
from frugal.analysis.scaling import Scaling
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
    """Insertion sort on 300 floats costs significantly more CPU time than sorted(); the verdict
    quotes the ratio of medians and the interval (widened for the family of ratios) that decides it."""
    ratios = sorts.ratios()
    row = ratios.set_index("metric").loc["cpu_s"]
    assert row["variant"] == "insertion" and row["baseline"] == "sorted"
    assert row["significant"] and row["outcome"] == "higher" and row["p_value"] < 0.001
    cpu = sorts.frame[sorts.frame["status"] == "ok"].groupby("variant")["cpu_s"].median()
    assert row["ratio"] == pytest.approx(cpu["insertion"] / cpu["sorted"]) and row["ratio"] > 3
    assert 1 < row["ci_low"] <= row["ratio"] <= row["ci_high"]
    # every ratio with an interval shares the level (memory added can be 0 for both: no ratio)
    assert 0.95 <= row["ci_level"] < 1 and (ratios["ci_level"].dropna() == row["ci_level"]).all()
    assert row["cliffs_delta"] == 1.0
    level = f"{float(f'{row.ci_level * 100:.3g}'):g}% CI"
    assert row["verdict"].startswith(f"insertion uses {frugal.units.format_ratio(row['ratio'])}x the CPU time "
                                     f"of sorted ({level} ")


def test_identical_variants_show_no_significant_difference():
    """Two identical deterministic variants are not found different (alpha 0.001: 0.1% false alarms a metric)."""
    cmp = frugal.compare({"a": work, "b": work}, repeat=15, warmup=1, seed=3, progress=False)
    ratios = cmp.ratios(alpha=0.001)
    assert set(ratios["metric"]) >= {"wall_s", "cpu_s"}
    assert not ratios["significant"].any(), ratios[["metric", "p_value"]]
    # memory added is 0 for both when neither allocates: then there is no ratio to speak of
    assert all(v.startswith("no significant difference in ") or (m == "peak_added_bytes" and "a median of 0" in v)
               for m, v in zip(ratios["metric"], ratios["verdict"]))


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


@pytest.mark.slow
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
    memory = "peak_added_bytes" if "peak_added_bytes" in FIELDS else "peak_rss_bytes"   # what this frugal records
    assert "energy_j" in cmp.metrics and {"wall_s", "cpu_s", memory} <= set(cmp.metrics)
    ratios = cmp.ratios().set_index("metric")
    assert ratios.loc["energy_j", "ratio"] == pytest.approx(ratios.loc["cpu_s", "ratio"])
    assert "the energy of sorted" in ratios.loc["energy_j", "verdict"]


def test_failing_variant_is_recorded_and_the_others_go_on():
    """A variant that raises on some runs keeps those runs, with status and error; a RuntimeWarning
    names it with the error's type and message; it is compared on its successful runs, flagged."""
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) % 2 == 0:
            raise KeyError("odd")
        work(2000)

    with pytest.warns(RuntimeWarning, match=r"runs of 'flaky' failed \(KeyError: 'odd' x\d\): it is compared on"):
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
    assert summary.loc[("flaky", "cpu_s"), ["failed", "status"]].tolist() == [n_failed, "partly failed"]
    assert summary.loc[("steady", "cpu_s"), "n"] == 6
    assert summary.loc[("steady", "cpu_s"), "status"] == "ok"
    ratios = cmp.ratios()
    assert (ratios["n"] == 6 - n_failed).all()
    assert all(f"{n_failed} of 6 runs of flaky failed (KeyError: 'odd'" in v for v in ratios["verdict"])
    assert cmp.failures["flaky"].status == "partly failed"
    table = cmp.indicators()
    assert table.loc["flaky", "status"] == "partly failed" and table.loc["flaky", "failed_runs"] == n_failed


def test_a_variant_that_always_fails_is_never_graded_ranked_or_compared():
    """All runs failing: a RuntimeWarning with the error's message; no ratio, grade or gain is
    invented; summary, ratios, indicators and the printed comparison say it failed."""
    def boom():
        raise ZeroDivisionError("the divisor ran out")

    with pytest.warns(RuntimeWarning, match="3 of 3 runs of 'boom' failed .ZeroDivisionError: the divisor ran out"):
        cmp = frugal.compare({"ok": work, "boom": boom}, repeat=3, warmup=0, seed=1, progress=False)
    ratios = cmp.ratios()
    assert ratios["ratio"].isna().all() and not ratios["significant"].any()
    assert set(ratios["outcome"]) == {"failed"}
    assert all(v.startswith("3 of 3 runs of boom failed (ZeroDivisionError: the divisor ran out x3): it is not "
                            "compared, ranked or graded") for v in ratios["verdict"])
    assert set(cmp.summary().set_index("variant").loc["boom", "status"]) == {"failed"}
    table = cmp.indicators()
    assert table.loc["boom", "status"] == "failed" and pd.isna(table.loc["boom", "grade"])
    assert np.isnan(table.loc["boom", "gain"]) and table.loc["ok", "grade"] == "A"
    assert "the divisor ran out" in repr(cmp) and "the divisor ran out" in repr(table)


def test_a_run_without_a_measurement_is_kept_as_failed():
    """When the region yields no Measurement, the run is still a row: status error, nothing invented."""
    from frugal.analysis.runner import run_once

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
    """Runs under 1000 clock steps, and runs too few to tell anything, are each warned about."""
    cmp = frugal.compare({"a": lambda: None, "b": lambda: None}, repeat=3, warmup=0, seed=1, progress=False)
    text = "\n".join(cmp.warnings)
    assert "runs of 'a' are short for the clocks" in text and "of CPU time" in text
    assert "'a', 'b' have fewer than 5 successful runs: too few runs to tell a difference" in text
    assert "'a' has only 3 successful runs" in text


def test_three_runs_against_three_are_too_few_to_tell():
    """3 runs against 3, one variant twice as slow: not "no difference" but "too few runs to tell
    (n=3 vs 3)", with the runs that the observed spread would need, and no interval."""
    cmp = frugal.compare({"one": lambda: work(10_000), "two": lambda: work(20_000)}, repeat=3, warmup=1, seed=2,
                         progress=False)
    row = cmp.ratios().set_index("metric").loc["cpu_s"]
    assert row["outcome"] == "too few runs" and not row["significant"]
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]) and row["ratio"] > 1.3
    assert row["verdict"].startswith("too few runs to tell the CPU time of two from one (n=3 vs 3): about ")
    needed = int(row["verdict"].split("about ")[1].split(" runs")[0])
    assert needed >= 5


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
    ({"variants": {"a": work}, "baseline": []}, TypeError, "baseline"),
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
    pytest.importorskip("frugal.analysis.indicators")
    expected = frugal.indicators(sorts.frame, by="variant", baseline="sorted")
    pd.testing.assert_frame_equal(sorts.indicators(), expected)


def test_plot_delegates_to_frugal_plot(sorts):
    """Comparison.plot() draws through frugal.plot.compare."""
    pytest.importorskip("frugal.plot")
    pytest.importorskip("matplotlib").use("Agg")
    assert sorts.plot(metric="cpu_s") is not None


# --- scaling ----------------------------------------------------------------------------

@pytest.mark.slow
def test_insertion_sort_exponent_is_near_two():
    """Insertion sort's fitted CPU-time exponent over sizes 200..1600 is about 2."""
    sc = frugal.scaling(insertion_sort, [200, 400, 800, 1600], random_list, repeat=5, seed=1, progress=False)
    fit = sc.exponent("cpu_s")
    assert 1.6 <= fit.exponent <= 2.4
    assert fit.ci_low <= fit.exponent <= fit.ci_high
    assert fit.r2 > 0.9 and fit.n == 20


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- runs measured elsewhere -------------------------------------------------------------------

def test_from_frame_compares_runs_loaded_from_the_store(tmp_path):
    """Runs measured by frugal.measure into a store, read back with frugal.load(), compared with
    Comparison.from_frame(by="name"): the costlier function is found higher (interval and
    verdict agree), a failing one is warned about and not compared, and each row is one run."""
    from frugal import store

    db = tmp_path / "runs.db"
    names = {k: _unique(k) for k in ("light", "heavy", "broken")}
    previous = store.default_store()
    store.set_default_store(db)
    try:
        store.flush()     # this process's earlier rows go first, not while the runs are measured
        for _ in range(8):
            with frugal.measure(names["light"]):
                work(10_000)
            with frugal.measure(names["heavy"]):
                work(80_000)
            with pytest.raises(ValueError):
                with frugal.measure(names["broken"]):
                    raise ValueError("no input")
        store.flush()
    finally:
        store.set_default_store(previous)
    frame = frugal.load(db, name=list(names.values()))   # the store also holds this process's earlier runs
    with pytest.warns(RuntimeWarning, match=f"8 of 8 runs of '{names['broken']}' failed \\(ValueError x8\\)"):
        cmp = Comparison.from_frame(frame, by="name", baseline=names["light"], seed=1)
    assert cmp.variants == list(names.values()) and cmp.baseline == names["light"]
    assert list(cmp.frame.groupby("variant", sort=False).size()) == [8, 8, 8]
    ratios = cmp.ratios().set_index(["variant", "metric"])
    cpu = ratios.loc[(names["heavy"], "cpu_s")]
    assert cpu["outcome"] == "higher" and cpu["significant"] and cpu["ci_low"] > 1.5
    assert (ratios.loc[names["broken"], "outcome"] == "failed").all()
    table = cmp.indicators()
    assert table.loc[names["broken"], "status"] == "failed" and pd.isna(table.loc[names["broken"], "grade"])
    assert table.loc[names["light"], "grade_time"] == "A" and table.loc[names["heavy"], "grade_time"] in "EF"  # 8x the work: a clear grade whatever the machine's load


def test_from_frame_reads_summary_rows_per_call_and_names_bad_input():
    """A summary row (calls > 1) stands for one call of its average cost; a missing column or a
    frame that is not one is an error naming the argument."""
    name = _unique("summary")

    @frugal.measure(name=name, record="summary")
    def hot():
        return sum(range(2_000))

    for _ in range(50):
        hot()
    frame = frugal.results()
    frame = frame[frame["name"] == name]
    cmp = Comparison.from_frame(frame)
    row = frame.iloc[0]
    assert cmp.values(name, "wall_s")[0] == pytest.approx(row["wall_s"] / row["calls"])
    with pytest.raises(ValueError, match="by"):
        Comparison.from_frame(frame, by="nothing")
    with pytest.raises(TypeError, match="frame"):
        Comparison.from_frame([1, 2])
    with pytest.raises(TypeError, match="baseline"):
        Comparison.from_frame(frame, baseline=["x"])


# --- complexity classes -------------------------------------------------------------------------

def double_loop(xs: list) -> int:
    count = 0
    for a in xs:
        for b in xs:
            count += a < b
    return count


@pytest.mark.parametrize("func, sizes, make, expected", [
    (sorted, [2000, 4000, 8000, 16000, 32000, 64000], random_list, {"n log n", "n"}),
    (double_loop, [50, 100, 200, 400], random_list, {"n^2"}),
    (sum, [10_000, 20_000, 40_000, 80_000, 160_000, 320_000], lambda n: [1] * int(n), {"n"}),
])
@pytest.mark.slow
def test_complexity_class_of_real_functions(func, sizes, make, expected):
    """Measured CPU time: sorted() reads as n log n (or n), a double loop as n^2, sum of a list as n;
    the fit table gives class, coefficient, residual, R² and bootstrap share, best first."""
    import warnings

    sc = frugal.scaling(func, sizes, make, repeat=5, seed=1, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cx = sc.complexity("cpu_s")
    assert cx.best in expected, cx.fits
    # a busy machine may leave n log n and n apart by less than its noise: then it says so
    assert [str(w.message) for w in caught] == ([f"frugal.scaling of {sc.name!r}: {cx.warning}"] if cx.alike else [])
    assert list(cx.fits.columns) == ["class", "coefficient", "residual", "r2", "share"]
    assert cx.fits["class"].iloc[0] == cx.best and cx.fits["residual"].is_monotonic_increasing
    assert cx.fits["r2"].iloc[0] > 0.9
    assert sc.fits().set_index("metric").loc["cpu_s", "class"] == cx.best
    assert 0.7 <= sc.exponent("cpu_s").exponent <= 2.3            # exponent() stays


def test_complexity_classes_recovered_from_exact_laws_and_ties_warned():
    """value = 3e-9 · g(n) with 5% noise is read as its class for every class; sizes too close
    to tell n from n log n give a RuntimeWarning naming both."""
    from frugal import stats

    rng = np.random.default_rng(4)
    laws = {"1": lambda n: np.ones_like(n), "log n": np.log2, "n": lambda n: n, "n log n": lambda n: n * np.log2(n),
            "n^2": lambda n: n**2, "n^3": lambda n: n**3, "2^n": lambda n: 2.0**n}
    for name, law in laws.items():
        sizes = np.repeat([8.0, 16, 24, 32, 48, 64] if name == "2^n" else [1e3, 4e3, 1.6e4, 6.4e4, 2.56e5], 5)
        fits = stats.fit_classes(sizes, 3e-9 * law(sizes) * rng.lognormal(0, 0.05, len(sizes)), seed=1)
        assert fits[0].name == name and fits[0].share > 0.95
    close = frugal.scaling(sorted, [10_000, 10_500, 11_000], random_list, repeat=3, seed=1, progress=False)
    with pytest.warns(RuntimeWarning, match="fit about as well over sizes 10000 to 11000"):
        cx = close.complexity("wall_s")
    assert cx.alike and cx.warning and cx.warning in repr(cx.fits)
    assert "2^n" not in set(cx.fits["class"])          # sizes above 1000: 2^n is not fitted


def test_a_variant_returning_a_generator_is_measured_consuming_it():
    """``lambda: (i for i in range(n))`` does its work when iterated: the comparison measures
    that, and a generator summing n numbers costs about what a list of n numbers does, not
    1,900 times less (what measuring only the generator's creation said)."""
    n = 300_000
    consumed = []

    def counted():
        for i in range(n):
            yield i
        consumed.append(n)

    cmp = frugal.compare({"list": lambda: list(range(n)), "gen": lambda: (i for i in range(n)),
                          "map": lambda: map(abs, range(n)), "counted": counted}, repeat=5, warmup=1, seed=1,
                         progress=False)
    assert len(consumed) == 6        # the warm-up and every measured run iterated to the end
    summary = cmp.summary()
    wall = summary[summary["metric"] == "wall_s"].set_index("variant")["median"]
    assert wall["gen"] > wall["list"] / 20 and wall["map"] > wall["list"] / 20, wall
