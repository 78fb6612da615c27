"""Verdicts, grades and intervals on synthetic frames: each rule, and its rate over many seeded repetitions.

The frames have the relations of real metrics (energy from CPU time and memory, carbon from
energy, embodied carbon from wall time) with lognormal run-to-run noise; the rules are the
same code that ``frugal.compare`` and ``frugal.indicators`` run on real measurements.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal import stats
from frugal.analysis import grades
from frugal.measurement import FIELDS

GRADE_COLUMNS = ["grade_energy", "grade_carbon", "grade_memory", "grade_time", "grade"]


def synthetic(groups: dict[str, float], n: int | dict[str, int], rng: np.random.Generator,
              cv: float = 0.05) -> pd.DataFrame:
    """Runs of each group at ``scale`` times 10 ms, lognormal noise of ``cv``, 50 MB of memory."""
    parts = []
    for g, scale in groups.items():
        k = n[g] if isinstance(n, dict) else n
        wall = 0.01 * scale * rng.lognormal(0, cv, k)
        cpu = wall * 0.97 * rng.lognormal(0, cv / 3, k)
        peak = 50e6 + 4096 * rng.integers(0, 50, k)
        energy = cpu * 15.0 + peak / 1e9 * 0.3725 * wall
        part = pd.DataFrame({f: np.nan for f in FIELDS}, index=range(k))
        part = part.assign(name=g, status="ok", calls=1, wall_s=wall, cpu_s=cpu, peak_rss_bytes=peak,
                           energy_j=energy, carbon_g=energy * 50 / 3.6e6, embodied_g=wall * 1e-4)
        parts.append(part.assign(variant=g, run=range(k), order=range(k)))
    frame = pd.concat(parts, ignore_index=True)
    return frame[["variant", "run", "order", *FIELDS]]


def excludes_one(table: pd.DataFrame, low: str = "ci_low", high: str = "ci_high") -> pd.Series:
    return (table[low] > 1) | (table[high] < 1)


# --- one ratio, and verdicts that follow its interval -----------------------------------------

@pytest.mark.slow
def test_identical_variants_on_six_metrics_are_rarely_flagged_and_never_disagree():
    """Identical pairs, 120 seeds: some metric of six is called different in at most 10% of the
    comparisons (Benjamini-Hochberg at 5%), the intervals cover the true ratio 1 in at least 95%
    of the shown rows, and `significant` equals "the interval excludes 1" on every row."""
    rng = np.random.default_rng(101)
    flagged = covered = rows = 0
    for seed in range(120):
        ratios = frugal.Comparison(synthetic({"a": 1, "b": 1}, 20, rng), "a", seed=seed).ratios()
        assert len(ratios) == 6
        assert (excludes_one(ratios) == ratios["significant"]).all()
        flagged += bool(ratios["significant"].any())
        covered += int((~excludes_one(ratios)).sum())
        rows += len(ratios)
    assert flagged / 120 <= 0.10
    assert covered / rows >= 0.95


@pytest.mark.slow
def test_a_real_difference_is_found_and_the_interval_decides():
    """A 1.2x costlier variant (CV 5%, 20 runs) is found higher on time, CPU and energy in each of
    30 seeds; peak memory (equal) is not; every verdict follows its interval."""
    rng = np.random.default_rng(7)
    for seed in range(30):
        ratios = frugal.Comparison(synthetic({"a": 1, "b": 1.2}, 20, rng), "a", seed=seed).ratios()
        ratios = ratios.set_index("metric")
        assert (excludes_one(ratios) == ratios["significant"]).all()
        assert (ratios.loc[["wall_s", "cpu_s", "energy_j"], "outcome"] == "higher").all()
        assert ratios.loc["peak_rss_bytes", "ratio"] == pytest.approx(1, abs=0.01)
        level = ratios["ci_level"].iloc[0]
        assert (ratios["ci_level"] == level).all() and 0.95 <= level <= 1 - 0.05 / 6


def test_shown_level_is_the_benjamini_hochberg_level():
    """With R of m ratios different, every interval is shown at 1 - R·5%/m: here 5 of 6
    (peak memory is equal), so 95.83%; a Comparison of one metric shows 95%."""
    rng = np.random.default_rng(3)
    frame = synthetic({"a": 1, "b": 2}, 20, rng)
    ratios = frugal.Comparison(frame, "a", seed=1).ratios()
    assert ratios["significant"].sum() == 5
    assert ratios["ci_level"].iloc[0] == pytest.approx(1 - 5 * 0.05 / 6)
    one = frame.assign(**{m: np.nan for m in ("wall_s", "peak_rss_bytes", "energy_j", "carbon_g", "embodied_g")})
    single = frugal.Comparison(one, "a", seed=1).ratios()
    assert list(single["metric"]) == ["cpu_s"] and single["ci_level"].iloc[0] == pytest.approx(0.95)
    assert "(95% CI " in single["verdict"].iloc[0]


def test_the_ratio_and_its_interval_repeat_with_the_seed():
    """The bootstrap is seeded: the same seed gives the same intervals; another seed, close ones."""
    frame = synthetic({"a": 1, "b": 1.5}, 15, np.random.default_rng(2), cv=0.2)
    first = frugal.Comparison(frame, "a", seed=5).ratios()
    pd.testing.assert_frame_equal(first, frugal.Comparison(frame, "a", seed=5).ratios())
    other = frugal.Comparison(frame, "a", seed=6).ratios()
    assert (first["ratio"] == other["ratio"]).all()
    assert np.allclose(first["ci_low"], other["ci_low"], rtol=0.05)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_four_runs_or_fewer_are_too_few_to_tell(n):
    """n <= 4 on a side: "too few runs to tell (n=3 vs 3)", no interval, never significant, and
    the runs the observed spread would need (5 at least) even when one is twice the other."""
    frame = synthetic({"a": 1, "b": 2}, n, np.random.default_rng(n), cv=0.1)
    ratios = frugal.Comparison(frame, "a").ratios()
    assert (ratios["outcome"] == "too few runs").all() and not ratios["significant"].any()
    assert ratios["ci_low"].isna().all()
    cpu = ratios.set_index("metric").loc["cpu_s"]
    assert cpu["verdict"].startswith(f"too few runs to tell the CPU time of b from a (n={n} vs {n}): about ")
    assert int(cpu["verdict"].split("about ")[1].split()[0]) >= stats.MIN_RUNS


def test_runs_needed_grows_with_the_spread_and_shrinks_with_the_difference():
    """The suggested runs follow n = (π/2)(σx² + σy²)(z + z_power)² / (log ratio)²."""
    rng = np.random.default_rng(1)
    x, y = rng.lognormal(0, 0.3, 4), rng.lognormal(0, 0.3, 4)
    wide = stats.runs_needed(x, y, 1.15)
    assert stats.runs_needed(x, y, 1.5) < wide < stats.runs_needed(x * rng.lognormal(0, 0.6, 4), y, 1.15)
    spread = stats._log_spread(x) ** 2 + stats._log_spread(y) ** 2
    expected = math.pi / 2 * spread * (1.959964 + 0.841621) ** 2 / math.log(1.15) ** 2
    assert wide == max(stats.MIN_RUNS, math.ceil(expected))
    assert stats.runs_needed([1.0] * 4, [1.0] * 4, 1.0) == stats.MIN_RUNS


def test_fdr_decisions_are_benjamini_hochberg_on_bootstrap_p_values():
    """On replicates whose bootstrap p-values are known (normal draws around chosen centres),
    R equals Benjamini-Hochberg's count on those p-values, and exactly R intervals exclude 1."""
    rng = np.random.default_rng(0)
    centres = [1.0, 1.0, 1.0, 1.25, 1.30, 1.06]
    replicates = [c + 0.025 * rng.standard_normal(20_000) for c in centres]
    decided = stats.fdr_decisions(replicates, 1.0, 0.05)
    p = np.array([2 * min((r <= 1).mean(), (r >= 1).mean()) for r in replicates])
    order = np.sort(p)
    expected = max([k for k in range(1, 7) if order[k - 1] <= k * 0.05 / 6], default=0)
    assert decided.rejected == expected == int(decided.significant.sum())
    assert decided.level == pytest.approx(1 - max(expected, 1) * 0.05 / 6)
    assert list(decided.significant) == [False, False, False, True, True, decided.significant[5]]
    assert ((decided.low > 1) == decided.significant).all()


def test_ratio_interval_coverage_over_many_seeds():
    """One 95% bootstrap interval of a ratio of medians covers the true ratio in 92-98.5% of
    400 seeded pairs of 20 lognormal runs (CV 30%)."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(400):
        low, high = stats.bootstrap_ratio_ci(2.0 * rng.lognormal(0, 0.3, 20), rng.lognormal(0, 0.3, 20), seed=rng)
        hits += low <= 2.0 <= high
    assert 0.92 <= hits / 400 <= 0.985


# --- failures ---------------------------------------------------------------------------------

def test_failed_and_partly_failed_groups_in_a_frame():
    """From a frame: a wholly failed variant is warned about, not compared, ranked or graded;
    a partly failed one is compared on its successful runs and flagged in every table."""
    rng = np.random.default_rng(5)
    frame = synthetic({"base": 1, "broken": 0.01, "flaky": 1}, 10, rng).astype({"error": "object"})
    frame.loc[frame["variant"] == "broken", ["status", "error"]] = ["error", "ZeroDivisionError"]
    flaky = frame.index[frame["variant"] == "flaky"][:3]
    frame.loc[flaky, ["status", "error"]] = ["error", "KeyError"]
    with pytest.warns(RuntimeWarning) as caught:
        cmp = frugal.Comparison.from_frame(frame, by="variant", baseline="base")
    text = [str(w.message) for w in caught]
    assert any("10 of 10 runs of 'broken' failed (ZeroDivisionError x10): it is not compared" in t for t in text)
    assert any("3 of 10 runs of 'flaky' failed (KeyError x3): it is compared on its 7" in t for t in text)
    ratios = cmp.ratios().set_index(["variant", "metric"])
    assert (ratios.loc["broken", "outcome"] == "failed").all() and ratios.loc["broken", "ratio"].isna().all()
    assert (ratios.loc["flaky", "n"] == 7).all()
    table = cmp.indicators()
    assert list(table["status"]) == ["ok", "failed", "partly failed"]
    assert pd.isna(table.loc["broken", "grade"]) and np.isnan(table.loc["broken", "energy_per_unit_j"])
    assert table.loc["base", "grade"] == "A" and table.attrs["grade_scale"]["energy_per_unit_j"]["best"] != "broken"


# --- grades -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cv", [0.05, 0.2])
@pytest.mark.slow
def test_identical_triples_get_one_grade(cv):
    """Three identical variants of 20 runs, 60 seeds: all get one grade, on every graded
    indicator and overall, in at least 95% of the comparisons (over 1,000 seeds, measured by
    benchmarks/verdict_rates.py: 100% at CV 5%, 99.2% at CV 20%)."""
    rng = np.random.default_rng(int(cv * 100))
    alike = sum(frugal.indicators(synthetic({"a": 1, "b": 1, "c": 1}, 20, rng, cv), by="variant")[GRADE_COLUMNS]
                .nunique().eq(1).all() for _ in range(60))
    assert alike / 60 >= 0.95


@pytest.mark.slow
def test_one_point_oh_four_is_never_more_than_a_letter_from_one():
    """Ratios r and 1.04r to any best, over a fine grid from 1 to 50: letters at most one apart;
    and with real spread, 1.00x and 1.04x variants (40 seeds) are at most one letter apart."""
    r = np.geomspace(1, 50, 20_001)
    assert np.abs(grades.letter_index(1.04 * r) - grades.letter_index(r)).max() == 1
    assert grades.letters(grades.letter_index(np.array([100.0, 10.0, 1.1]))) == ["G", "F", "A"]
    rng = np.random.default_rng(9)
    for _ in range(40):
        t = frugal.indicators(synthetic({"x": 0.6, "a": 1.0, "b": 1.04}, 20, rng), by="variant")
        for column in GRADE_COLUMNS:
            assert abs(ord(t.loc["a", column]) - ord(t.loc["b", column])) <= 1


def test_grade_scale_is_printed_beside_the_table():
    """The printed indicators table (text and HTML) shows the scale under itself."""
    t = frugal.indicators(synthetic({"a": 1, "b": 3}, 10, np.random.default_rng(1)), by="variant")
    assert "A <= 1.1x the best, B <= 1.25x" in repr(t) and "A &lt;= 1.1x the best" in t._repr_html_()
    assert list(t["grade_time"]) == ["A", "E"]
