"""frugal.stats against scipy, hand-computed values and known distributions (seeded)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from frugal import stats


def _samples(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if kind == "small, no ties":
        return rng.normal(0, 1, 5), rng.normal(1, 1, 7)
    if kind == "one tiny sample":
        return rng.normal(0, 1, 1), rng.normal(0, 1, 30)
    if kind == "small, ties":
        return rng.integers(0, 3, 6).astype(float), rng.integers(0, 4, 8).astype(float)
    if kind == "large, ties":
        return rng.integers(0, 10, 40).astype(float), rng.integers(2, 12, 35).astype(float)
    if kind == "large, no ties":
        return rng.lognormal(0, 1, 30), rng.lognormal(0.5, 1, 30)
    if kind == "separated":
        return np.arange(10.0), np.arange(10.0) + 100
    if kind == "all equal":
        return np.ones(12), np.ones(9)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["small, no ties", "one tiny sample", "small, ties", "large, ties",
                                  "large, no ties", "separated", "all equal"])
def test_mann_whitney_matches_scipy(kind):
    """U and the two-sided p-value equal scipy's mannwhitneyu with its defaults (exact or asymptotic)."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        x, y = _samples(kind, rng)
        u, p = stats.mann_whitney_u(x, y)
        expected = scipy.stats.mannwhitneyu(x, y)
        assert u == pytest.approx(float(expected.statistic), abs=1e-9)
        if kind == "all equal":
            # no evidence of a difference: p = 1, as scipy gave before 1.18 (it now gives NaN there)
            assert p == 1.0 and (expected.pvalue == 1.0 or math.isnan(expected.pvalue))
            continue
        assert p == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-300)


def test_mann_whitney_drops_nan_and_handles_empty():
    """NaN marks an unknown value and is left out; an empty sample gives NaN, not an error."""
    x, y = [1.0, 2.0, np.nan, 3.0], [4.0, 5.0, 6.0]
    assert stats.mann_whitney_u(x, y) == stats.mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert all(math.isnan(v) for v in stats.mann_whitney_u([], [1.0]))


def test_exact_u_distribution_by_hand():
    """For 2 against 2 values the six orderings give U = 0, 1, 2, 2, 3, 4."""
    assert stats._exact_u_counts(2, 2).tolist() == [1, 1, 2, 1, 1]
    counts = stats._exact_u_counts(4, 9)
    assert counts.sum() == math.comb(13, 4)
    assert counts.tolist() == counts[::-1].tolist()  # U is symmetric about n1 n2 / 2


def test_min_p_value_is_what_the_exact_test_reaches():
    """2 / C(n1+n2, n1): 3 runs each can never be significant at 0.05, 4 runs each can."""
    assert stats.min_p_value(3, 3) == pytest.approx(0.1)
    assert stats.min_p_value(4, 4) == pytest.approx(2 / 70)
    assert stats.mann_whitney_u([1, 2, 3, 4], [5, 6, 7, 8])[1] == pytest.approx(stats.min_p_value(4, 4))


def test_cliffs_delta_hand_example():
    """[1, 2, 3] against [2, 2, 4]: 2 pairs greater, 5 smaller, 2 tied, so δ = (2 - 5) / 9."""
    assert stats.cliffs_delta([1, 2, 3], [2, 2, 4]) == pytest.approx(-1 / 3)
    assert stats.cliffs_delta([5, 6], [1, 2, 3]) == 1.0
    assert stats.cliffs_delta([1, 2, 3], [5, 6]) == -1.0
    assert stats.cliffs_delta([4, 4, 4], [4, 4]) == 0.0


def test_cliffs_delta_is_linked_to_u():
    """δ = 2 U / (n_x n_y) - 1 on random samples with ties."""
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 20, 33).astype(float), rng.integers(0, 20, 21).astype(float)
    u, _ = stats.mann_whitney_u(x, y)
    assert stats.cliffs_delta(x, y) == pytest.approx(2 * u / (33 * 21) - 1)


def test_coefficient_of_variation_by_hand():
    """[1, 2, 3]: sample standard deviation 1 over mean 2."""
    assert stats.coefficient_of_variation([1, 2, 3]) == pytest.approx(0.5)
    assert math.isnan(stats.coefficient_of_variation([7.0]))
    assert stats.coefficient_of_variation([4, 4, 4]) == 0.0


def test_identical_samples_show_no_difference():
    """Two identical deterministic samples: p = 1, δ = 0, ratio 1 with a CI of exactly 1."""
    x = [0.010, 0.011, 0.012, 0.010, 0.013, 0.011, 0.012, 0.010, 0.011, 0.012]
    assert stats.mann_whitney_u(x, x)[1] == 1.0
    assert stats.cliffs_delta(x, x) == 0.0
    assert stats.median_ratio(x, x) == 1.0
    assert stats.bootstrap_ratio_ci([3.0] * 10, [3.0] * 10, seed=1) == (1.0, 1.0)


def test_median_ci_coverage_on_lognormal_samples():
    """The 95% bootstrap CI of the median covers the true median in about 95% of 200 samples."""
    rng = np.random.default_rng(20240601)
    true_median = math.exp(0.0)
    hits = 0
    for _ in range(200):
        sample = rng.lognormal(0.0, 0.6, 30)
        low, high = stats.bootstrap_median_ci(sample, seed=rng)
        hits += low <= true_median <= high
    # 200 trials: 3 standard errors of a 95% proportion is about 0.046
    assert 0.90 <= hits / 200 <= 0.995


def test_ratio_ci_coverage_on_lognormal_samples():
    """The 95% bootstrap CI of a ratio of medians covers the true ratio (2) in about 95% of 200 pairs."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(200):
        base = rng.lognormal(0.0, 0.5, 25)
        other = 2.0 * rng.lognormal(0.0, 0.5, 25)
        low, high = stats.bootstrap_ratio_ci(other, base, seed=rng)
        hits += low <= 2.0 <= high
    assert 0.90 <= hits / 200 <= 0.995


def test_mann_whitney_false_positive_rate_is_near_alpha():
    """Samples from one distribution are called different at p < 0.05 about 5% of the time."""
    rng = np.random.default_rng(99)
    trials = 400
    positives = sum(stats.mann_whitney_u(rng.lognormal(0, 1, 20), rng.lognormal(0, 1, 20))[1] < 0.05
                    for _ in range(trials))
    assert 0.01 <= positives / trials <= 0.09


def test_mann_whitney_detects_a_real_shift():
    """A 1.5x shift of lognormal(0, 0.2) samples of 20 runs is found significant, with a large effect."""
    rng = np.random.default_rng(3)
    x, y = 1.5 * rng.lognormal(0, 0.2, 20), rng.lognormal(0, 0.2, 20)
    assert stats.mann_whitney_u(x, y)[1] < 0.001
    assert stats.cliffs_delta(x, y) > 0.5  # population δ = 2Φ(ln 1.5 / (0.2√2)) - 1 ≈ 0.85


def test_bootstrap_is_reproducible_with_a_seed():
    """The same seed gives the same interval."""
    x = np.random.default_rng(1).lognormal(0, 1, 30)
    assert stats.bootstrap_median_ci(x, seed=[4, 2]) == stats.bootstrap_median_ci(x, seed=[4, 2])


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_resampled_medians_follow_the_exact_bootstrap_law(n):
    """Replicates of the median of n values follow the bootstrap's exact law: for odd n,
    P(m* <= x_(j)) = P(Binomial(n, j/n) >= (n+1)/2); for even n, m* is the mean of two
    sorted values of the sample. Empty in, empty out."""
    x = np.sort(np.random.default_rng(n).lognormal(0, 1, n))
    reps = stats.resample_medians(x, 100_000, [3, n])
    if n % 2:
        cdf = [(reps <= x[j - 1] * (1 + 1e-12)).mean() for j in range(1, n + 1)]
        exact = [scipy.stats.binom.sf((n + 1) // 2 - 1, n, j / n) for j in range(1, n + 1)]
        assert cdf == pytest.approx(exact, abs=0.005)
    else:
        pairs = (x[:, None] + x[None, :]) / 2
        assert np.isin(reps, pairs).all()
    assert (stats.resample_medians(x, 50, [3, n]) == stats.resample_medians(x, 50, [3, n])).all()
    assert len(stats.resample_medians([], 50, 1)) == 0


def test_percentile_interval_and_ratio_replicates_refuse_what_has_no_value():
    """A replicate that is not finite, or a resampled median of 0 below a ratio, gives no interval."""
    assert stats.percentile_interval([1.0, 2.0, 3.0], 0.5) == pytest.approx((1.5, 2.5))
    assert all(math.isnan(v) for v in stats.percentile_interval([1.0, np.nan], 0.9))
    assert np.isnan(stats.ratio_replicates(np.ones(4), np.array([1.0, 0.0, 1.0, 1.0]))).all()


def test_fit_power_law_recovers_an_exact_law():
    """values = 3 · size^1.5 exactly: exponent 1.5, coefficient 3, R² 1, a CI of width 0."""
    sizes = np.repeat([10.0, 100.0, 1000.0], 4)
    fit = stats.fit_power_law(sizes, 3.0 * sizes**1.5, seed=0)
    assert fit.exponent == pytest.approx(1.5)
    assert fit.coefficient == pytest.approx(3.0)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.ci_low == pytest.approx(1.5) and fit.ci_high == pytest.approx(1.5)
    assert fit.predict(10_000) == pytest.approx(3.0 * 10_000**1.5)
    assert fit.n == 12


@pytest.mark.slow
def test_fit_power_law_ci_coverage_with_noise():
    """With 20% multiplicative noise, the exponent's 95% CI covers the true 1.5 in most of 200 fits."""
    rng = np.random.default_rng(17)
    sizes = np.repeat([100, 200, 400, 800], 7)
    hits = 0
    for _ in range(200):
        values = 2.0 * sizes**1.5 * rng.lognormal(0, 0.2, len(sizes))
        fit = stats.fit_power_law(sizes, values, seed=rng)
        hits += fit.ci_low <= 1.5 <= fit.ci_high
    assert 0.88 <= hits / 200 <= 1.0


def test_fit_power_law_leaves_out_values_without_a_logarithm():
    """Zero and NaN values are left out; fewer than two sizes left is a ValueError naming values."""
    fit = stats.fit_power_law([1, 2, 4, 4], [2.0, 8.0, 32.0, 0.0], seed=0)
    assert fit.exponent == pytest.approx(2.0) and fit.n == 3
    with pytest.raises(ValueError, match="values"):
        stats.fit_power_law([1, 2, 2], [1.0, 0.0, np.nan])


@pytest.mark.parametrize("call", [
    lambda: stats.bootstrap_median_ci([1.0, 2.0], confidence=1.5),
    lambda: stats.bootstrap_ratio_ci([1.0], [1.0], confidence=0),
    lambda: stats.fit_power_law([1, 2], [1.0]),
    lambda: stats.mann_whitney_u([1.0, math.inf], [1.0]),
])
def test_bad_input_is_a_value_error(call):
    """A confidence outside (0, 1), unpaired sizes and values, or an infinite value: ValueError."""
    with pytest.raises(ValueError):
        call()


def _noisy(n: int, rng: np.random.Generator, cv: float = 0.05) -> np.ndarray:
    return rng.lognormal(0.0, math.sqrt(math.log1p(cv**2)), n)


def _exact_segmentation(x: np.ndarray, pen: float, m: int) -> list[int]:
    """The optimal segmentation by the plain O(n²) recursion, every split tried, no pruning."""
    y = np.log(x)
    n = len(y)
    best, last = [0.0] + [math.inf] * n, [0] * (n + 1)
    for s in range(m, n + 1):
        for t in [0, *range(m, s - m + 1)]:
            cost = best[t] + float(((y[t:s] - y[t:s].mean()) ** 2).sum()) + pen
            if cost < best[s] - 1e-12:
                best[s], last[s] = cost, t
    out = [n]
    while last[out[-1]] > 0:
        out.append(last[out[-1]])
    return out[:0:-1]


def test_change_points_find_a_clear_step_at_its_index():
    """A +20% step at index 30 of 60 values with 1% noise begins the second segment at 30."""
    x = _noisy(60, np.random.default_rng(1), cv=0.01)
    x[30:] *= 1.2
    assert stats.change_points(x) == [30]


@pytest.mark.parametrize("x", [np.full(50, 3.0), _noisy(200, np.random.default_rng(2))], ids=["constant", "noise"])
def test_change_points_of_a_flat_series_are_none(x):
    """A constant series, or noise around one level, has no change point."""
    assert stats.change_points(x) == []


def test_change_points_find_two_steps():
    """A rise at 40 and a fall at 90 of 150 values are both found, in order."""
    x = _noisy(150, np.random.default_rng(3), cv=0.02)
    x[40:] *= 1.15
    x[90:] /= 1.25
    assert stats.change_points(x) == [40, 90]


def test_change_points_need_min_size_values_in_a_segment():
    """A three-value spike is a segment of its own with min_size=3; with the default 5 no segment is that short."""
    x = _noisy(60, np.random.default_rng(4), cv=0.01)
    x[30:33] *= 1.5
    assert stats.change_points(x, min_size=3) == [30, 33]
    assert min(np.diff([0, *stats.change_points(x), 60])) >= 5


@pytest.mark.parametrize("min_size", [1, 2, 5, 9])
def test_every_segment_holds_min_size_values(min_size):
    """With a penalty low enough to cut often, no segment (the first and last included) is shorter than min_size."""
    rng = np.random.default_rng(min_size)
    for _ in range(20):
        x = _noisy(80, rng, cv=0.2)
        bounds = [0, *stats.change_points(x, min_size=min_size, penalty=0.2), len(x)]
        assert len(bounds) > 3 and min(np.diff(bounds)) >= min_size


def test_change_points_are_the_exact_optimal_segmentation():
    """On 40 seeded series PELT's pruning loses nothing: the same points as trying every split."""
    rng = np.random.default_rng(5)
    for i in range(40):
        n, m, c = int(rng.integers(12, 70)), int(rng.integers(1, 6)), float(rng.choice([0.3, 1.0, 4.0]))
        x = _noisy(n, rng, cv=0.1)
        x[int(rng.integers(0, n)):] *= 1.2
        expected = _exact_segmentation(x, stats.change_point_penalty(x, c), m)
        assert stats.change_points(x, min_size=m, penalty=c) == expected, i


def test_change_point_penalty_by_hand():
    """pen = c · σ² · ln n with σ = 1.4826 · MAD of the log differences / √2; a step moves it little."""
    logs = np.log(_noisy(200, np.random.default_rng(6)))
    d = np.diff(logs)
    sigma = 1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2)
    assert stats.change_point_penalty(np.exp(logs), 3.0) == pytest.approx(3.0 * sigma**2 * math.log(200))
    stepped = np.exp(logs + np.where(np.arange(200) >= 100, math.log(1.1), 0.0))
    assert stats.change_point_penalty(stepped) == pytest.approx(stats.change_point_penalty(np.exp(logs)), rel=0.05)


def test_a_series_shorter_than_two_segments_has_no_change_point():
    """Fewer than 2 · min_size values cannot hold two segments, however clear the step."""
    x = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert stats.change_points(x, min_size=5) == []
    assert stats.change_points(x, min_size=4) == [4]


@pytest.mark.parametrize("values", [[1.0, math.nan, 2.0], [1.0, math.inf, 2.0], [1.0, 0.0, 2.0], [1.0, -1.0, 2.0],
                                    [[1.0, 2.0], [3.0, 4.0]]],
                         ids=["nan", "inf", "zero", "negative", "two-dimensional"])
def test_change_points_refuse_values_without_a_logarithm(values):
    """NaN, infinite, zero or negative values, or a table: a ValueError naming values."""
    with pytest.raises(ValueError, match="values"):
        stats.change_points(values)


@pytest.mark.parametrize("kwargs, name", [({"min_size": 0}, "min_size"), ({"min_size": 2.5}, "min_size"),
                                          ({"penalty": 0.0}, "penalty"), ({"penalty": math.nan}, "penalty")])
def test_change_points_refuse_bad_settings(kwargs, name):
    """A min_size below 1 or not an integer, a penalty not above 0: a ValueError naming it."""
    with pytest.raises(ValueError, match=name):
        stats.change_points(np.ones(20), **kwargs)


@pytest.mark.slow
def test_change_point_rates_over_seeded_series():
    """Over 200 series of 200 values (CV 5%): a +10% step is found nearly always and placed within ±3
    in at least 90% (96% expected), and a flat series gives a false alarm in at most 2% (about 0.1%
    expected; c = 2 would give 5%)."""
    rng = np.random.default_rng(2028)
    found = placed = alarms = 0
    for _ in range(200):
        true = int(rng.integers(20, 181))
        x = _noisy(200, rng)
        x[true:] *= 1.1
        points = stats.change_points(x)
        found += bool(points)
        placed += bool(points) and abs(points[0] - true) <= 3
        alarms += bool(stats.change_points(_noisy(200, rng)))
    assert found >= 198 and placed >= 180 and alarms <= 4


@pytest.mark.slow
def test_change_points_agree_with_ruptures_pelt():
    """On 50 seeded series (half with a step) ruptures' PELT, same cost, minimum size and penalty,
    gives the same change points in at least 47 (ruptures prunes without waiting min_size steps)."""
    ruptures = pytest.importorskip("ruptures", reason="ruptures is in the test extra: pip install -e '.[test]'")
    rng = np.random.default_rng(2029)
    same = 0
    for i in range(50):
        x = _noisy(120, rng)
        if i % 2:
            x[int(rng.integers(10, 110)):] *= 1.1
        pen = stats.change_point_penalty(x, 1.0)
        theirs = ruptures.Pelt(model="l2", min_size=5, jump=1).fit(np.log(x)).predict(pen=pen)[:-1]
        same += stats.change_points(x, min_size=5, penalty=1.0) == theirs
    assert same >= 47


@pytest.mark.slow
def test_regressions_benchmark_prints_each_figure_beside_its_target():
    """benchmarks/regressions.py runs as a script and prints (a), (b), (c) and (d), each with its target."""
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("ruptures", reason="ruptures is in the test extra: pip install -e '.[test]'")
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "regressions.py"
    out = subprocess.run([sys.executable, str(script), "--series", "5", "--commits", "40", "--names", "10"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    lines = [line for line in out.splitlines() if line.startswith("(")]
    assert [line[:3] for line in lines] == ["(a)", "(a)", "(b)", "(c)", "(d)"] and all("target" in line for line in lines)
