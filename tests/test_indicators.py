"""frugal.indicators: arithmetic against frames computed by hand, grades, gains, bad input."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.analysis.indicators import EQUIVALENTS, energy_basis, indicators, indicators_of, per_unit
from frugal.measurement import FIELDS


def frame_of(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame with every Measurement column; unspecified numbers NaN, one call, modelled energy."""
    base = {f: np.nan for f in FIELDS}
    base.update(status="ok", calls=1, depth=0, scope="process", children=False, pid=1,
                energy_method="model", intensity_g_per_kwh=50.0, intensity_source="test grid",
                name="f")
    columns = list(FIELDS) + [c for c in extra if c not in FIELDS]
    return pd.DataFrame([{**base, **r} for r in rows], columns=columns)


def cost(energy, units=np.nan, calls=1, wall=1.0, cpu=0.5, peak=100.0, carbon=None, embodied=None, **kw):
    """One row whose carbon is 10% and embodied 2.5% of its energy unless given."""
    return dict(energy_j=energy, units=units, calls=calls, wall_s=wall, cpu_s=cpu, peak_rss_bytes=peak,
                carbon_g=energy / 10 if carbon is None else carbon,
                embodied_g=energy / 40 if embodied is None else embodied, **kw)


@pytest.fixture
def hand() -> pd.DataFrame:
    return frame_of([
        cost(2.0, units=4, wall=1.0, cpu=0.5, peak=100, carbon=0.2, embodied=0.05, name="a"),
        cost(6.0, units=4, wall=3.0, cpu=1.5, peak=300, carbon=0.6, embodied=0.15, name="a"),
        # a summary row: 10 calls, totals, 20 units in all, peak the largest of the calls
        cost(5.0, units=20, calls=10, wall=2.0, cpu=2.0, peak=1000, carbon=0.5, embodied=0.5, name="s"),
        cost(3.0, name="n"),
        cost(5.0, name="n"),
    ])


def test_per_unit_indicators_are_ratios_of_totals(hand):
    """Energy, carbon, time and CPU per unit are the group's totals over its total units."""
    t = indicators(hand)
    a = t.loc["a"]
    assert a["energy_per_unit_j"] == pytest.approx(8 / 8)
    assert a["carbon_per_unit_g"] == pytest.approx((0.8 + 0.2) / 8)
    assert a["operational_per_unit_g"] == pytest.approx(0.8 / 8)
    assert a["embodied_per_unit_g"] == pytest.approx(0.2 / 8)
    assert a["embodied_share"] == pytest.approx(0.2)
    assert a["peak_added_per_unit_bytes"] == pytest.approx((100 + 300) / 8)
    assert a["time_per_unit_s"] == pytest.approx(0.5)
    assert a["cpu_per_unit_s"] == pytest.approx(0.25)
    assert a["cpu_util"] == pytest.approx(0.5)
    assert (a["n_runs"], a["calls"], a["units"], a["unit"]) == (2, 2, 8.0, "unit")


def test_memory_is_what_a_region_added_and_a_frame_without_it_says_what_it_shows(hand):
    """Memory per unit is peak_added_bytes x calls / units; a frame with no value of that column
    (a store written before frugal recorded it) falls back to the peak resident set and says so."""
    old = indicators(hand.drop(columns=["peak_added_bytes"], errors="ignore"))
    assert old.loc["a", "peak_added_per_unit_bytes"] == pytest.approx((100 + 300) / 8)
    assert old.attrs["memory"] == "peak_rss_bytes" and "peak_added_bytes" in old.attrs["memory_note"]
    new = indicators(hand.assign(peak_added_bytes=hand["peak_rss_bytes"] / 10))
    assert new.loc["a", "peak_added_per_unit_bytes"] == pytest.approx((10 + 30) / 8)
    assert new.loc["s", "peak_added_per_unit_bytes"] == pytest.approx(50)
    assert new.attrs["memory"] == "peak_added_bytes" and new.attrs["memory_note"] == ""


def test_a_tiny_sort_adds_under_a_mib_while_the_process_holds_100():
    """Measured for real in a process already holding 100 MiB: a tiny sort's memory is what it
    added (under 1 MiB), not the process's peak."""
    frugal.clear()
    ballast = bytearray(100 * 2**20)
    ballast[::4096] = b"1" * len(ballast[::4096])       # resident, not just reserved
    for _ in range(5):
        with frugal.measure("tiny"):
            sorted(range(300, 0, -1))
    frame = frugal.results()
    frugal.clear()
    table = indicators(frame)
    assert table.attrs["memory"] == "peak_added_bytes"
    assert table.loc["tiny", "peak_added_per_unit_bytes"] < 2**20
    assert frame["peak_rss_bytes"].min() > 100 * 2**20
    del ballast


def test_summary_rows_use_their_totals(hand):
    """A summary row (calls > 1) divides its totals by its total units; its peak is per call."""
    s = indicators(hand).loc["s"]
    assert s["energy_per_unit_j"] == pytest.approx(5 / 20)
    assert s["time_per_unit_s"] == pytest.approx(2 / 20)
    assert s["carbon_per_unit_g"] == pytest.approx(1.0 / 20)
    assert s["embodied_share"] == pytest.approx(0.5)
    # 1000 B held by a call that does 2 units: 500 B per unit
    assert s["peak_added_per_unit_bytes"] == pytest.approx(500)
    assert s["calls"] == 10


def test_groups_without_units_are_per_call_and_say_so(hand):
    """Without units the functional unit is one call, in the unit column and the attrs note."""
    t = indicators(hand)
    assert t.loc["n", "unit"] == "call"
    assert t.loc["n", "energy_per_unit_j"] == pytest.approx(4.0)
    assert "per call" in t.attrs["unit_note"] and "n" in t.attrs["unit_note"]


def test_human_equivalents_use_the_documented_constants(hand):
    """car-km, smartphone charges and tree-months divide the total carbon by their constants."""
    t = indicators(hand)
    total = 0.8 + 0.2
    assert t.loc["a", "carbon_g"] == pytest.approx(total)
    assert t.loc["a", "car_km"] == pytest.approx(total / 108.1)
    assert t.loc["a", "smartphone_charges"] == pytest.approx(total / 8.22)
    assert t.loc["a", "tree_months"] == pytest.approx(total / (11_000 / 12))
    assert set(t.attrs["equivalents"]) == set(EQUIVALENTS)
    assert all(e["source"] for e in t.attrs["equivalents"].values())


def test_relative_grades_follow_the_stated_geometric_scale():
    """One run each (no interval, so no tie): the ratio to the best picks the band A <= 1.1x,
    B <= 1.25x, C <= 1.5x, D <= 2x, E <= 4x, F <= 10x, G beyond; 100x is G."""
    ratios = [1.0, 1.1, 1.2, 1.45, 1.9, 3.9, 9.0, 100.0]
    t = indicators(frame_of([cost(r, units=1, name=f"r{r}") for r in ratios]))
    assert list(t["grade_energy"]) == list("AABCDEFG")
    scale = t.attrs["grade_scale"]["energy_per_unit_j"]
    assert scale["kind"] == "relative" and scale["bounds"] == [1.1, 1.25, 1.5, 2.0, 4.0, 10.0]
    assert scale["best"] == "r1.0"
    assert ("A <= 1.1x the best, B <= 1.25x, C <= 1.5x, D <= 2x, E <= 4x, F <= 10x, G above 10x"
            in t.attrs["grade_scale_text"])


def test_a_statistical_tie_with_the_best_shares_its_grade():
    """A group 30% costlier than the best on average but too noisy to tell apart (its interval
    against the best includes 1) gets the best's grade; the same spread with many runs does not."""
    rng = np.random.default_rng(4)
    def rows(name, scale, n, sd):
        return [cost(e, units=1, name=name) for e in scale * rng.lognormal(0, sd, n)]

    noisy = indicators(frame_of(rows("best", 1.0, 6, 0.6) + rows("other", 1.3, 6, 0.6)))
    assert noisy.attrs["grade_scale"]["energy_per_unit_j"]["tied"] == ["other"]
    assert list(noisy["grade_energy"]) == ["A", "A"]
    clear = indicators(frame_of(rows("best", 1.0, 60, 0.05) + rows("other", 1.3, 60, 0.05)))
    assert list(clear["grade_energy"]) == ["A", "C"]
    assert clear.attrs["grade_scale"]["energy_per_unit_j"]["tied"] == []


def test_absolute_thresholds_grade_on_the_given_scale():
    """With six thresholds, a value at or below the first is A and above the last is G."""
    rows = [cost(e, units=1, name=str(e)) for e in (1.0, 1.5, 6.5)]
    t = indicators(frame_of(rows), grades={"energy_per_unit_j": [1, 2, 3, 4, 5, 6]})
    assert list(t["grade_energy"]) == ["A", "B", "G"]
    assert t.attrs["grade_scale"]["energy_per_unit_j"] == {
        "kind": "absolute", "thresholds": [1, 2, 3, 4, 5, 6], "unit": "J"}
    assert t.attrs["grade_scale"]["time_per_unit_s"]["kind"] == "relative"
    assert "absolute thresholds 1 J/unit, 2 J/unit, 3 J/unit, 4 J/unit, 5 J/unit, 6 J/unit" in t.attrs["grade_scale_text"]


def test_overall_grade_is_the_rounded_mean_of_indicator_grades():
    """fat: energy, carbon and time 8x the best (F) and memory the best (A) average 3.75: E.
    lean: memory 5x the best (F), the rest A, average 1.25: B."""
    rows = [cost(1.0, units=1, wall=1.0, peak=500, name="lean"), cost(8.0, units=1, wall=8.0, peak=100, name="fat")]
    t = indicators(frame_of(rows))
    assert list(t.loc["fat", ["grade_energy", "grade_carbon", "grade_memory", "grade_time"]]) == ["F", "F", "A", "F"]
    assert t.loc["fat", "grade"] == "E"
    assert list(t.loc["lean", ["grade_energy", "grade_carbon", "grade_memory", "grade_time"]]) == ["A", "A", "F", "A"]
    assert t.loc["lean", "grade"] == "B"


def test_ratio_to_the_baseline_is_the_ratio_of_medians_with_its_interval():
    """Halving the energy per unit over 12 runs: the ratio of medians near 0.5 with a bootstrap
    interval around it that excludes 1, a verdict quoting them, gain = 1 - ratio."""
    rng = np.random.default_rng(3)
    old = 10 * (1 + 0.03 * rng.standard_normal(12))
    new = 5 * (1 + 0.03 * rng.standard_normal(12))
    rows = [cost(e, units=10, name="old", variant="old") for e in old]
    rows += [cost(e, units=10, name="new", variant="new") for e in new]
    t = indicators(frame_of(rows, extra=("variant",)), by="variant", baseline="old")
    row = t.loc["new"]
    assert row["ratio"] == pytest.approx(np.median(new) / np.median(old))
    assert row["gain"] == pytest.approx(1 - row["ratio"])
    assert row["ratio_ci_low"] < row["ratio"] < row["ratio_ci_high"] < 0.6 and row["ratio_ci_low"] > 0.4
    assert (row["gain_ci_low"], row["gain_ci_high"]) == pytest.approx((1 - row["ratio_ci_high"],
                                                                        1 - row["ratio_ci_low"]))
    assert row["significant"] and row["outcome"] == "lower" and row["ratio_ci_level"] == pytest.approx(0.95)
    assert row["gain_p"] < 0.001
    assert row["verdict"].startswith(f"new uses {frugal.units.format_ratio(row['ratio'])}x the energy per unit of old (95% CI ")
    assert t.loc["old", "gain"] == 0.0 and np.isnan(t.loc["old", "gain_ci_low"])
    assert t.attrs["baseline"] == "old" and t.attrs["gain_of"] == "energy_per_unit_j"


def test_gain_without_repeated_runs_has_no_ci():
    """One run per group gives the point gain but no interval: too few runs to tell."""
    t = indicators(frame_of([cost(4.0, units=1, name="b"), cost(1.0, units=1, name="c")]), baseline="b")
    assert t.loc["c", "gain"] == pytest.approx(0.75)
    assert np.isnan(t.loc["c", "gain_ci_low"]) and np.isnan(t.loc["c", "gain_p"])
    assert t.loc["c", "outcome"] == "too few runs" and "(n=1 vs 1)" in t.loc["c", "verdict"]


def test_gain_can_be_computed_on_another_indicator():
    """gain_of='time_per_unit_s' compares time when energy is not known."""
    rows = [cost(np.nan, units=1, wall=2.0, name="b"), cost(np.nan, units=1, wall=1.0, name="c")]
    t = indicators(frame_of(rows), baseline="b", gain_of="time_per_unit_s")
    assert t.loc["c", "gain"] == pytest.approx(0.5)


@pytest.mark.parametrize("methods, basis", [
    (["model"], "modelled"), (["rapl"], "measured"), (["rapl+nvml"], "measured"),
    (["rapl", "model"], "mixed"), (["rapl+model"], "mixed"), ([], "none"), (["codecarbon"], "codecarbon"),
])
def test_energy_basis_says_measured_or_modelled(methods, basis):
    """energy_method values map to measured (meters), modelled (model), mixed, or their own name."""
    assert energy_basis(methods) == basis


def test_each_group_says_how_its_energy_was_known():
    """The table carries energy_basis, the methods and the grid intensity per group."""
    rows = [cost(1.0, units=1, name="m", energy_method="rapl", intensity_g_per_kwh=30.0),
            cost(1.0, units=1, name="d", energy_method="model")]
    t = indicators(frame_of(rows))
    assert t.loc["m", "energy_basis"] == "measured" and t.loc["d", "energy_basis"] == "modelled"
    assert t.loc["m", "intensity_g_per_kwh"] == 30.0 and t.loc["d", "intensity_source"] == "test grid"
    assert "measured" in t.attrs["provenance"]["time_per_unit_s"]
    assert "modelled" in t.attrs["provenance"]["carbon_per_unit_g"]


def test_principles_view_groups_the_indicators():
    """view='principles' returns energy, matter, reliability and overall column groups."""
    rows = [cost(e, units=1, name="a") for e in (1.0, 2.0, 3.0)] + [cost(2.0, units=1, name="b")]
    p = indicators(frame_of(rows), view="principles")
    assert list(p.columns.get_level_values(0).unique()) == ["energy", "matter", "reliability", "overall"]
    assert p.loc["a", ("energy", "energy_per_unit_j")] == pytest.approx(2.0)
    assert p.loc["a", ("reliability", "n_runs")] == 3
    assert p.loc["a", ("reliability", "cv_energy")] == pytest.approx(np.std([1, 2, 3], ddof=1) / 2)
    assert p.loc["a", ("reliability", "ci_rel_width")] > 0
    assert np.isnan(p.loc["b", ("reliability", "cv_energy")])
    assert p.loc["a", ("reliability", "energy_basis")] == "modelled"
    assert "grade_scale_text" in p.attrs


def test_per_unit_helper_matches_the_table(hand):
    """per_unit gives the same ratio of totals as indicators for any column."""
    pu = per_unit(hand, columns=["energy_j", "wall_s"])
    t = indicators(hand)
    assert pu["energy_j"].to_numpy() == pytest.approx(t["energy_per_unit_j"].to_numpy())
    assert list(pu["unit"]) == ["unit", "unit", "call"]


def test_real_results_frame():
    """A frugal.results() frame, with a summary row, gives the time per unit of its own columns."""
    frugal.clear()

    @frugal.measure(units=50)
    def batch():
        return sum(range(20_000))

    @frugal.measure(units=2, record="summary")
    def hot():
        return sum(range(100))

    for _ in range(3):
        batch()
    for _ in range(5):
        hot()
    frame = frugal.results()
    frugal.clear()
    t = frugal.indicators(frame)
    rows = frame[frame["name"] == frame["name"].iloc[0]]
    assert t.iloc[0]["time_per_unit_s"] == pytest.approx(rows["wall_s"].sum() / rows["units"].sum())
    hot_row = t.loc[[n for n in t.index if n.endswith("hot")][0]]
    assert (hot_row["calls"], hot_row["units"], hot_row["unit"]) == (5, 10.0, "unit")
    assert t["grade_time"].notna().all()
    assert t.attrs["grade_scale_text"].startswith("Grades run from A")


@pytest.mark.parametrize("column", ["wall_s", "energy_j", "units", "calls", "embodied_g"])
def test_missing_column_is_named(hand, column):
    """A frame without a needed column raises ValueError naming it."""
    with pytest.raises(ValueError, match=repr(column)):
        indicators(hand.drop(columns=[column]))


@pytest.mark.parametrize("column, value", [
    ("units", 0.0), ("units", -3.0), ("energy_j", -1.0), ("wall_s", -0.1), ("carbon_g", -1e-9),
    ("peak_rss_bytes", -1.0), ("calls", 0),
])
def test_bad_values_are_named(hand, column, value):
    """Zero or negative units, negative costs and calls below 1 raise ValueError naming the column."""
    bad = hand.copy()
    bad.loc[0, column] = value
    with pytest.raises(ValueError, match=repr(column)):
        indicators(bad)


@pytest.mark.parametrize("kwargs, word", [
    ({"by": "variant"}, "by"),
    ({"baseline": "nope"}, "baseline"),
    ({"grades": "absolute"}, "grades"),
    ({"grades": {"energy": [1, 2, 3, 4, 5, 6]}}, "grades"),
    ({"grades": {"energy_per_unit_j": [1, 2, 3, 4, 5]}}, "grades"),
    ({"grades": {"energy_per_unit_j": [1, 2, 3, 3, 5, 6]}}, "grades"),
    ({"view": "wide"}, "view"),
    ({"gain_of": "grade"}, "gain_of"),
])
def test_bad_arguments_are_named(hand, kwargs, word):
    """A bad by, baseline, grades, view or gain_of raises ValueError naming the argument."""
    with pytest.raises(ValueError, match=word):
        indicators(hand, **kwargs)


def test_not_a_frame_is_a_type_error():
    """Passing something other than a DataFrame is a TypeError naming frame."""
    with pytest.raises(TypeError, match="frame"):
        indicators([1, 2, 3])


def test_empty_frame_is_refused(hand):
    """A frame with no rows raises ValueError rather than an empty table."""
    with pytest.raises(ValueError, match="no rows"):
        indicators(hand.iloc[:0])


def test_indicators_load_no_plotting_library():
    """frugal.indicators works without importing matplotlib (charts load it on their own)."""
    code = ("import sys, frugal; frugal.indicators; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_groups_of_very_different_sizes_are_graded_and_compared():
    """Groups large enough that the bootstrap is capped (fewer resamples for the larger) still get
    grades and a gain: their replicates are paired on as many as the shorter has (it raised
    "operands could not be broadcast" before)."""
    from frugal.analysis.indicators import MAX_BOOT_CELLS

    rng = np.random.default_rng(7)
    sizes = {"a": 600, "b": 800, "c": 2_000}
    assert any(MAX_BOOT_CELLS // n < 10_000 for n in sizes.values())      # the cap applies, unequally
    rows = [cost(float(e), wall=float(e), name=g) for g, n in sizes.items()
            for e in rng.gamma(20, 1.0 if g != "c" else 2.0, size=n)]
    table = indicators(frame_of(rows), by="name", baseline="a")
    assert table.loc["c", "grade_energy"] > table.loc["a", "grade_energy"]       # twice the energy
    assert table.loc["c", "outcome"] == "higher" and table.loc["c", "ratio_ci_low"] > 1.8


@pytest.fixture(scope="module")
def many_names():
    """60 real measured names of growing cost, 6 calls each; one hidden name fails once."""
    frugal.clear()
    for _ in range(6):
        for i in range(60):
            with frugal.measure(f"n{i:02d}"):
                sum(range(200 * (i + 1)))
    try:
        with frugal.measure("n00"):
            raise KeyError("x")
    except KeyError:
        pass
    frame = frugal.results()
    frugal.clear()
    return frame


def test_indicators_of_a_few_names_gives_them_the_numbers_of_the_whole_table(many_names):
    """indicators_of(frame, names) equals indicators(frame) on those names, grades and all."""
    names = [f"n{i:02d}" for i in range(59, 44, -1)]
    whole = indicators(many_names, n_boot=500)
    some = indicators_of(many_names, names, n_boot=500)
    pd.testing.assert_frame_equal(some, whole.loc[list(some.index)])
    assert sorted(some.index) == sorted(names)


def test_indicators_of_pools_the_other_names_in_one_line(many_names):
    """The names left out are summed: how many, their rows, failures and ratio of totals."""
    some = indicators_of(many_names, ["n59", "n58"], n_boot=500)
    others = some.attrs["others"]
    rest = many_names[~many_names["name"].isin(["n59", "n58"])]
    ok = rest[rest["status"] == "ok"]
    assert (others["groups"], others["n_runs"], others["failed_runs"]) == (58, len(rest), 1)
    assert others["energy_per_unit_j"] == pytest.approx(ok["energy_j"].sum() / ok["calls"].sum())
