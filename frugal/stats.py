"""Statistics for comparing measured runs: pure functions over arrays, formula in each docstring.

Medians with percentile-bootstrap confidence intervals, the ratio of two medians and its
bootstrap replicates, decisions over a family of ratios (Benjamini-Hochberg, with the
matching false-coverage-rate intervals), the runs a difference needs, the Mann-Whitney U
test, Cliff's delta, the coefficient of variation, a power-law fit and the fit of the usual
complexity classes on log-log axes, and the change points of a series. numpy only; nothing
here keeps state between calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import numpy.typing as npt

N_BOOT = 2000
"""Bootstrap resamples used by default (percentile CIs: the 2.5% and 97.5% quantiles)."""

MIN_RUNS = 5
"""Successful runs needed on each side before a ratio is judged: a bootstrap from 4 values
or fewer has too few distinct resamples to stand for the spread of the runs."""

TAIL_DRAWS = 40
"""A family of m ratios decided at alpha draws ``TAIL_DRAWS · m / alpha`` resamples (within
bounds), so that about half as many fall beyond each bound of the narrowest interval it may
show (level 1 - alpha/m): 20 replicates in each tail."""

ArrayLike = Sequence[float] | np.ndarray


def _clean(x: ArrayLike, name: str = "x") -> np.ndarray:
    """The finite values of ``x`` as float64 (NaN marks a value that is not known)."""
    a: npt.NDArray[np.float64] = np.asarray(x, dtype="f8").ravel()
    if np.isinf(a).any():
        raise ValueError(f"{name} holds infinite values")
    return a[~np.isnan(a)]


def _rng(seed: int | Sequence[int] | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")


def coefficient_of_variation(x: ArrayLike) -> float:
    """Sample standard deviation over mean: ``cv = s / mean``, ``s² = Σ(x - mean)² / (n - 1)``.

    NaN for fewer than two values or a zero mean. Unitless (0.1 means 10%).
    """
    a = _clean(x)
    if len(a) < 2:
        return math.nan
    mean = a.mean()
    if mean == 0:
        return math.nan
    return float(a.std(ddof=1) / abs(mean))


def median_ranks(n: int, n_boot: int = N_BOOT,
                 seed: int | Sequence[int] | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For ``n_boot`` bootstrap resamples of n values: the ranks (0-based, in the sorted
    sample) of the two middle values of each resample (equal when n is odd).

    A resample draws n ranks with replacement; the sample being sorted, its middle values
    are the sample's values at the middle order statistics of the drawn ranks. The ranks of
    one draw serve every column of the same n rows. Drawn in chunks of at most about four
    million ranks.
    """
    rng = _rng(seed)
    low, high = np.empty(n_boot, dtype="i8"), np.empty(n_boot, dtype="i8")
    dtype = np.int16 if n <= np.iinfo(np.int16).max else np.int64   # int16 sorts by radix: fast
    step = max(1, 4_000_000 // max(n, 1))
    for start in range(0, n_boot, step):
        count = min(step, n_boot - start)
        draws = np.sort(rng.integers(0, n, size=(count, n), dtype=dtype), axis=1)
        low[start:start + count], high[start:start + count] = draws[:, (n - 1) // 2], draws[:, n // 2]
    return low, high


def medians_at(x: ArrayLike, ranks: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The medians of the resamples whose middle ranks are ``ranks`` (``median_ranks``): the
    mean of the sorted sample's values at those ranks."""
    ordered = np.sort(_clean(x))
    out: np.ndarray = (ordered[ranks[0]] + ordered[ranks[1]]) / 2
    return out


def resample_medians(x: ArrayLike, n_boot: int = N_BOOT,
                     seed: int | Sequence[int] | np.random.Generator | None = None) -> np.ndarray:
    """Bootstrap replicates of the median, in the unit of ``x``: m*_b = median(x*_b), b = 1..n_boot,
    each x*_b n values drawn from ``x`` with replacement. An empty array for an empty ``x``."""
    a = _clean(x)
    if len(a) == 0:
        return np.empty(0)
    return medians_at(a, median_ranks(len(a), n_boot, seed))


def percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """The (α/2, 1 - α/2) quantiles of bootstrap ``replicates``, α = 1 - confidence (linear
    interpolation between order statistics). (NaN, NaN) when a replicate is not finite."""
    _check_confidence(confidence)
    r = np.asarray(replicates, dtype="f8")
    if len(r) == 0 or not np.isfinite(r).all():
        return math.nan, math.nan
    alpha = 1 - confidence
    low, high = np.quantile(r, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_median_ci(x: ArrayLike, confidence: float = 0.95, n_boot: int = N_BOOT,
                        seed: int | Sequence[int] | np.random.Generator | None = None) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median, in the unit of ``x``.

    Draw ``n_boot`` samples of size n from ``x`` with replacement, take each one's median
    m*_b; the interval is the (α/2, 1 - α/2) quantiles of the m*_b, α = 1 - confidence.
    (NaN, NaN) for an empty sample; (x, x) for a single value.
    """
    _check_confidence(confidence)
    return percentile_interval(resample_medians(x, n_boot, seed), confidence)


def median_ratio(x: ArrayLike, y: ArrayLike) -> float:
    """``median(x) / median(y)``; NaN when either sample is empty or median(y) is 0."""
    a, b = _clean(x), _clean(y)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    mb = np.median(b)
    return math.nan if mb == 0 else float(np.median(a) / mb)


def ratio_replicates(x_medians: np.ndarray, y_medians: np.ndarray) -> np.ndarray:
    """Bootstrap replicates of ``median(x) / median(y)`` from the two samples' own replicates
    (``resample_medians``, drawn independently: the runs are separate): r*_b = m*_x,b / m*_y,b.
    NaN everywhere when a sample is empty or a resampled median of y is 0 (no ratio exists).
    Two samples with different numbers of replicates (a large group drawn fewer to bound
    memory) are paired on the first replicates of each, as many as the shorter has: each
    replicate is an independent draw, so any k of them are k bootstrap replicates."""
    if len(x_medians) == 0 or len(y_medians) == 0:
        return np.full(max(len(x_medians), len(y_medians), 1), np.nan)
    k = min(len(x_medians), len(y_medians))
    x_medians, y_medians = x_medians[:k], y_medians[:k]
    if (y_medians == 0).any():
        return np.full(k, np.nan)
    out: np.ndarray = x_medians / y_medians
    return out


def bootstrap_ratio_ci(x: ArrayLike, y: ArrayLike, confidence: float = 0.95, n_boot: int = N_BOOT,
                       seed: int | Sequence[int] | np.random.Generator | None = None) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``median(x) / median(y)`` (unitless).

    ``x`` and ``y`` are resampled independently (they are separate runs): r*_b =
    median(x*_b) / median(y*_b); the interval is the (α/2, 1 - α/2) quantiles of the r*_b.
    (NaN, NaN) when a sample is empty or a resampled median of ``y`` is 0.
    """
    _check_confidence(confidence)
    a, b = _clean(x, "x"), _clean(y, "y")
    rng = _rng(seed)
    reps = ratio_replicates(resample_medians(a, n_boot, rng), resample_medians(b, n_boot, rng))
    return percentile_interval(reps, confidence)


def replicates_for(m: int, alpha: float = 0.05, n_boot: int = N_BOOT) -> int:
    """Bootstrap resamples for a family of ``m`` ratios decided at ``alpha``: at least
    ``n_boot``, else ``TAIL_DRAWS · m / α`` (about 20 beyond each bound of the narrowest
    interval the family may show, at level 1 - α/m), capped at ten times ``n_boot`` so that
    the cost stays in the caller's hands."""
    return int(max(n_boot, min(math.ceil(TAIL_DRAWS * max(m, 1) / alpha), 10 * n_boot)))


@dataclass(frozen=True)
class Decisions:
    """What the Benjamini-Hochberg procedure decided over a family of m ratios, read from
    their bootstrap intervals.

    ``level``: the confidence level of every interval shown, 1 - max(R, 1)·α/m with R the
    number of ratios found different; ``low``/``high``: those intervals; ``significant``:
    each interval excludes its null value, which is exactly the procedure's decision.
    """

    level: float
    low: np.ndarray
    high: np.ndarray
    significant: np.ndarray
    rejected: int

    @property
    def m(self) -> int:
        return len(self.low)


def fdr_decisions(replicates: Sequence[np.ndarray], nulls: float | Sequence[float] = 1.0,
                  alpha: float = 0.05, side: str = "both") -> Decisions:
    """Decide which of m ratios differ from their null value (1: no difference), controlling
    the false discovery rate at ``alpha`` (Benjamini & Hochberg 1995), and give the intervals
    that match the decisions: the false-coverage-rate adjusted intervals of Benjamini &
    Yekutieli (2005), at level 1 - R·α/m for R ratios found different.

    Ratio i is judged by its percentile-bootstrap interval I_i(a) at level 1 - a (the
    (a/2, 1 - a/2) quantiles of its replicates): its bootstrap p-value is the smallest a at
    which I_i(a) excludes null_i. The step-up procedure then reads, with
    E(a) = #{i : I_i(a) excludes null_i}:  R = max{k : E(kα/m) >= k} (0 if none). Every
    interval is shown at a = max(R, 1)·α/m; exactly the R decided ratios exclude their null
    there. ``side="greater"`` judges only increases (the lower bound above the null).
    Replicates that are not all finite (a median of 0) give NaN bounds and no decision.
    """
    if side not in ("both", "greater"):
        raise ValueError(f"side must be 'both' or 'greater', got {side!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    m = len(replicates)
    if m == 0:
        empty = np.empty(0)
        return Decisions(1 - alpha, empty, empty, np.empty(0, dtype=bool), 0)
    null = np.broadcast_to(np.asarray(nulls, dtype="f8"), (m,))
    k = np.arange(1, m + 1)
    a = k * alpha / m
    low = np.full((m, m), np.nan)
    high = np.full((m, m), np.nan)
    for i, r in enumerate(replicates):
        r = np.sort(np.asarray(r, dtype="f8"))     # once: m quantiles are then read by index
        if len(r) and np.isfinite(r).all():
            low[i], high[i] = np.interp(np.concatenate([a / 2, 1 - a / 2]) * (len(r) - 1), np.arange(len(r)), r)\
                .reshape(2, m)
    excludes = low > null[:, None]
    if side == "both":
        excludes |= high < null[:, None]
    counts = excludes.sum(axis=0)               # E(kα/m) for k = 1..m, never decreasing in k
    found = np.nonzero(counts >= k)[0]
    rejected = int(k[found[-1]]) if len(found) else 0
    j = max(rejected, 1) - 1
    return Decisions(float(1 - a[j]), low[:, j], high[:, j], excludes[:, j], rejected)


def _log_spread(x: np.ndarray) -> float:
    """A robust standard deviation of log x: 1.4826 · MAD, or the sample sd where the MAD is 0."""
    logs = np.log(x[x > 0])
    if len(logs) < 2:
        return 0.0
    mad = 1.4826 * float(np.median(np.abs(logs - np.median(logs))))
    return mad if mad > 0 else float(logs.std(ddof=1))


def runs_needed(x: ArrayLike, y: ArrayLike, ratio: float, confidence: float = 0.95,
                power: float = 0.8, smallest: float = 1.1) -> int:
    """About how many runs per side would tell a ratio of medians ``ratio`` from 1, at the
    spread observed in ``x`` and ``y``, with a two-sided interval at ``confidence`` and the
    chance ``power`` of finding it.

    With σ the robust standard deviation of log values (1.4826 · MAD), the median of n runs
    has a standard error of about √(π/2) · σ / √n (its asymptotic efficiency under a normal
    law), so n = (π/2)(σ_x² + σ_y²)(z_(1-α/2) + z_power)² / d², with d = |log ratio|, at
    least log ``smallest`` (a ratio near 1 is read as "a difference of 10%"). At least
    ``MIN_RUNS``.
    """
    from statistics import NormalDist

    _check_confidence(confidence)
    a, b = _clean(x, "x"), _clean(y, "y")
    spread = _log_spread(a) ** 2 + _log_spread(b) ** 2
    d = max(abs(math.log(ratio)) if math.isfinite(ratio) and ratio > 0 else 0.0, math.log(smallest))
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2) + NormalDist().inv_cdf(power)
    n = math.pi / 2 * spread * z**2 / d**2
    return max(MIN_RUNS, math.ceil(n))


def cliffs_delta(x: ArrayLike, y: ArrayLike) -> float:
    """Cliff's delta, an effect size in [-1, 1]: ``δ = (#{x_i > y_j} - #{x_i < y_j}) / (n_x n_y)``.

    +1: every x is larger than every y; 0: as often larger as smaller. NaN for an empty sample.
    """
    a, b = _clean(x, "x"), np.sort(_clean(y, "y"))
    if len(a) == 0 or len(b) == 0:
        return math.nan
    greater = np.searchsorted(b, a, side="left").sum()          # y_j < x_i
    less = (len(b) - np.searchsorted(b, a, side="right")).sum()  # y_j > x_i
    return float((greater - less) / (len(a) * len(b)))


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..n, ties sharing their average rank; and the size of each tie group."""
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse], counts


def _exact_u_counts(n1: int, n2: int) -> np.ndarray:
    """How many of the C(n1+n2, n1) orderings give U = 0, 1, ..., n1·n2 (no ties).

    These are the coefficients of the Gaussian binomial [n1+n2, n1]_q, built one factor
    at a time: [n2+i, i]_q = [n2+i-1, i-1]_q · (1 - q^(n2+i)) / (1 - q^i).
    """
    n1, n2 = min(n1, n2), max(n1, n2)
    c = np.zeros(n1 * n2 + 1)
    c[0] = 1.0
    for i in range(1, n1 + 1):
        k = n2 + i
        c[k:] -= c[:-k].copy()
        for r in range(i):  # dividing by (1 - q^i) is a running sum with stride i
            c[r::i] = np.cumsum(c[r::i])
    return c


def mann_whitney_u(x: ArrayLike, y: ArrayLike) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test: returns (U of x, p-value). Same answers as scipy's
    ``mannwhitneyu(x, y)`` with its defaults.

    U_x = R_x - n_x(n_x + 1)/2, with R_x the sum of x's average ranks in the pooled sample,
    and U = max(U_x, n_x n_y - U_x). Exact when a sample has at most 8 values and there are
    no ties: p = 2 P(U' >= U) over all orderings. Otherwise the normal approximation with tie
    and continuity corrections: z = (U - n_x n_y/2 - 1/2) / σ,
    σ² = n_x n_y/12 · ((n + 1) - Σ(t³ - t)/(n(n - 1))), t the tie group sizes, and
    p = 2 (1 - Φ(z)), capped at 1. All values equal (σ = 0): p = 1. NaN for an empty sample.
    """
    a, b = _clean(x, "x"), _clean(y, "y")
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    ranks, ties = _average_ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = max(u1, n1 * n2 - u1)
    if (n1 <= 8 or n2 <= 8) and not (ties > 1).any():
        counts = _exact_u_counts(n1, n2)
        # P(U' >= u) = P(U' <= n1 n2 - u) by symmetry; sum the short tail
        p = 2 * counts[: int(round(n1 * n2 - u)) + 1].sum() / math.comb(n1 + n2, n1)
        return u1, float(min(1.0, p))
    n = n1 + n2
    t = ties.astype("f8")
    var = n1 * n2 / 12 * ((n + 1) - (t**3 - t).sum() / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return u1, float(min(1.0, math.erfc(z / math.sqrt(2))))


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the exact Mann-Whitney test can give: 2 / C(n1+n2, n1).

    When it is not below α, no data can make the difference significant.
    """
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


@dataclass(frozen=True, slots=True)
class Fit:
    """A power law ``value ≈ coefficient · size ** exponent``, fitted on log-log axes.

    ``ci_low``/``ci_high`` bound the exponent (bootstrap 95%); ``r2`` is the coefficient of
    determination of the fit on log-log axes; ``n`` the number of runs used. The coefficient
    is in the metric's unit (per size ** exponent).
    """

    exponent: float
    ci_low: float
    ci_high: float
    r2: float
    coefficient: float
    n: int = 0

    def predict(self, size: float | np.ndarray) -> float | np.ndarray:
        """``coefficient · size ** exponent``, in the metric's unit."""
        out = self.coefficient * np.asarray(size, dtype="f8") ** self.exponent
        return float(out) if np.ndim(out) == 0 else out

    def __str__(self) -> str:
        return (f"size^{self.exponent:.2f} (95% CI {self.ci_low:.2f}-{self.ci_high:.2f}, "
                f"R² {self.r2:.3f}, {self.n} runs)")


def _line_through_medians(logx: np.ndarray, logy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept through rows of points: arrays (B, k) -> (B,), (B,)."""
    mx = logx.mean(axis=-1, keepdims=True)
    my = logy.mean(axis=-1, keepdims=True)
    slope = ((logx - mx) * (logy - my)).sum(axis=-1) / ((logx - mx) ** 2).sum(axis=-1)
    return slope, my[..., 0] - slope * mx[..., 0]


def fit_power_law(sizes: ArrayLike, values: ArrayLike, confidence: float = 0.95, n_boot: int = N_BOOT,
                  seed: int | Sequence[int] | np.random.Generator | None = None) -> Fit:
    """Fit ``value = c · size^k`` by least squares on log-log axes through the median per size.

    ``sizes`` and ``values`` are paired, one entry per run (several runs per size). With
    m_s the median of log(value) at size s: minimise Σ_s (log m_s - log c - k log s)².
    Medians keep a run slowed by another program from bending the line. ``r2`` =
    1 - SS_res / SS_tot of that fit. The CI of k resamples runs within each size (with
    replacement), refits, and takes the (α/2, 1 - α/2) quantiles. Non-positive or NaN values
    are left out (a logarithm needs a positive number); fewer than two sizes left is a ValueError.
    """
    _check_confidence(confidence)
    levels, groups, n = _log_runs_by_size(sizes, values, "a power law")
    logx = np.log(levels)
    logm = np.array([np.median(g) for g in groups])
    slope, intercept = _line_through_medians(logx, logm)
    residual = ((logm - (intercept + slope * logx)) ** 2).sum()
    total = ((logm - logm.mean()) ** 2).sum()
    r2 = 1.0 - residual / total if total > 0 else 1.0
    boot = _resampled_size_medians(groups, n_boot, _rng(seed))
    slopes, _ = _line_through_medians(np.broadcast_to(logx, boot.shape), boot)
    alpha = 1 - confidence
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return Fit(float(slope), float(low), float(high), float(r2), float(math.exp(intercept)), n)


def _log_runs_by_size(sizes: ArrayLike, values: ArrayLike, what: str) -> tuple[np.ndarray, list[np.ndarray], int]:
    """(the sizes, the log values of the runs at each size, the runs kept): runs paired with
    their size, non-positive or NaN values left out; fewer than two sizes left is a ValueError."""
    s = np.asarray(sizes, dtype="f8").ravel()
    v = np.asarray(values, dtype="f8").ravel()
    if len(s) != len(v):
        raise ValueError(f"sizes and values differ in length ({len(s)} and {len(v)})")
    keep = np.isfinite(v) & (v > 0) & np.isfinite(s) & (s > 0)
    s, v = s[keep], v[keep]
    levels = np.unique(s)
    if len(levels) < 2:
        raise ValueError(f"values: {what} needs positive values at two sizes at least")
    logv = np.log(v)
    return levels, [logv[s == level] for level in levels], int(len(v))


def _resampled_size_medians(groups: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of each size's runs resampled with replacement: (n_boot, sizes)."""
    return np.column_stack([np.median(g[rng.integers(0, len(g), size=(n_boot, len(g)))], axis=1)
                            for g in groups])


# --- complexity classes -------------------------------------------------------------------

def _log2_of_log2(n: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.log(np.log2(n))
    return out


COMPLEXITY_CLASSES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "1": np.zeros_like,
    "log n": _log2_of_log2,
    "n": np.log,
    "n log n": lambda n: np.log(n) + _log2_of_log2(n),
    "n^2": lambda n: 2 * np.log(n),
    "n^3": lambda n: 3 * np.log(n),
    "2^n": lambda n: n * math.log(2),
}
"""Each class's log g(n), for value ≈ c · g(n); logarithms of sizes in base 2 ("log n" is log2 n)."""

LARGEST_EXPONENTIAL_SIZE = 1000
"""2^n is fitted only when every size is at most this (2^1000 ≈ 1e301 is still a float)."""

CLASS_TIE = 0.01
"""Two classes whose root-mean-square log residuals differ by less than this (1%) fit alike."""


def classes_for(sizes: ArrayLike) -> list[str]:
    """The complexity classes the ``sizes`` allow: log n and n log n need every size >= 2
    (log2 1 = 0), 2^n every size <= ``LARGEST_EXPONENTIAL_SIZE``."""
    s = np.asarray(sizes, dtype="f8")
    out = ["1", "n", "n^2", "n^3"]
    if (s >= 2).all():
        out[1:1] = ["log n"]
        out.insert(3, "n log n")
    if (s <= LARGEST_EXPONENTIAL_SIZE).all():
        out.append("2^n")
    return out


@dataclass(frozen=True, slots=True)
class ClassFit:
    """``value ≈ coefficient · g(size)`` for one complexity class, least squares on log medians.

    ``coefficient`` is in the metric's unit per g(size); ``residual`` is the root mean square
    of the log residuals (0.05: the medians sit about 5% off the curve); ``r2`` = 1 -
    SS_res / SS_tot of the log medians (negative when the class does worse than their mean);
    ``share`` is the fraction of bootstrap resamples (runs resampled within each size) in
    which this class fitted best.
    """

    name: str
    coefficient: float
    residual: float
    r2: float
    share: float


def _class_residuals(logm: np.ndarray, logg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log c and Σ residual² of ``log m = log c + log g`` for rows of log medians: (..., k) -> (...,)."""
    d = logm - logg
    logc = d.mean(axis=-1)
    return logc, ((d - logc[..., None]) ** 2).sum(axis=-1)


def fit_classes(sizes: ArrayLike, values: ArrayLike, n_boot: int = N_BOOT,
                seed: int | Sequence[int] | np.random.Generator | None = None) -> list[ClassFit]:
    """Fit ``value = c · g(size)`` for each class of ``classes_for(sizes)`` by least squares on
    the logarithms of the median value per size, best fit first.

    ``sizes`` and ``values`` are paired, one entry per run. With m_s the median at size s and
    L_s = log m_s, G_s = log g(s): log c = mean_s(L_s - G_s), residual² = mean_s(L_s - G_s -
    log c)². On logarithms every size weighs alike (a relative error), as on the log-log
    chart. ``share``: runs are resampled within each size ``n_boot`` times and the classes
    refitted; how often each fits best. Non-positive or NaN values are left out; fewer than
    two sizes left is a ValueError.
    """
    levels, groups, _ = _log_runs_by_size(sizes, values, "a complexity class")
    logm = np.array([np.median(g) for g in groups])
    names = classes_for(levels)
    logg = np.array([COMPLEXITY_CLASSES[c](levels) for c in names])      # (classes, sizes)
    logc, ss = _class_residuals(logm[None, :], logg)
    total = ((logm - logm.mean()) ** 2).sum()
    boot = _resampled_size_medians(groups, n_boot, _rng(seed))           # (n_boot, sizes)
    _, boot_ss = _class_residuals(boot[:, None, :], logg[None, :, :])   # (n_boot, classes)
    wins = np.bincount(boot_ss.argmin(axis=1), minlength=len(names)) / n_boot
    fits = []
    for i, name in enumerate(names):
        r2 = 1.0 - ss[i] / total if total > 0 else (1.0 if ss[i] == 0 else math.nan)
        fits.append(ClassFit(name, float(np.exp(logc[i])), float(math.sqrt(ss[i] / len(levels))),
                             float(r2), float(wins[i])))
    return sorted(fits, key=lambda f: (f.residual, -f.share))


PENALTY = 4.0
"""``c`` of the change-point penalty ``c · σ² · ln n``, chosen by benchmarks/regressions.py (200
commits, CV 5%): a flat series shows a step in 5.1% at c = 2, 0.7% at c = 3, 0.1% at c = 4 (target 1%),
while a +10% step at k in [20, 180] gains (ln 1.1 / σ)² · k(n - k) / n ≥ 65 σ², three times the 21 σ²
of the penalty: found in 100% at c = 3 to 5."""

MIN_SEGMENT = 5
"""Default shortest segment, in values: one or a few outliers in a row (a noisy runner) cannot
make a segment of their own. 3, 5 and 10 give the same figures on the benchmark."""


def change_point_penalty(values: ArrayLike, penalty: float = PENALTY) -> float:
    """The penalty per segment of ``change_points``, in squared log units: ``pen = c · σ² · ln n``,
    with c = ``penalty`` and σ the robust standard deviation of ln x from its n - 1 first
    differences, ``σ = 1.4826 · MAD(Δ ln x) / √2`` (a step moves one difference: σ barely moves).
    Where more than half the differences are equal (MAD 0: quantised values) their sample
    standard deviation stands for 1.4826 · MAD. 0 for fewer than three values.
    """
    logs = _log_series(values)
    if not (isinstance(penalty, (int, float)) and math.isfinite(penalty) and penalty > 0):
        raise ValueError(f"penalty must be a finite number above 0, got {penalty!r}")
    d = np.diff(logs)
    mad = 1.4826 * float(np.median(np.abs(d - np.median(d)))) if len(d) > 1 else 0.0
    scale = mad if mad > 0 or len(d) < 2 else float(d.std(ddof=1))
    return float(penalty * scale**2 / 2 * math.log(len(logs)))


def _log_series(values: ArrayLike) -> np.ndarray:
    a: npt.NDArray[np.float64] = np.asarray(values, dtype="f8")
    if a.ndim != 1 or not (np.isfinite(a).all() and (a > 0).all()):
        raise ValueError(f"values must be one series of finite values above 0 (it is taken in logs), got {a!r:.60}")
    return np.log(a)


def change_points(values: ArrayLike, *, min_size: int = MIN_SEGMENT, penalty: float = PENALTY) -> list[int]:
    """The indices at which a new segment of ``values`` begins (ascending; [] for no step).

    The exact optimal segmentation of y = ln x (PELT, Killick et al. 2012) under the L2
    (mean-shift) cost: minimise Σ_segments [Σ_(i in seg) (y_i - mean_seg y)² + pen] over every
    segmentation whose segments hold at least ``min_size`` values, with ``pen`` of
    ``change_point_penalty`` (``c · σ² · ln n``, c = ``penalty``); ties go to the earlier last
    change. A series shorter than 2 · ``min_size`` or than three values, or constant, has none.
    """
    logs = _log_series(values)
    if not isinstance(min_size, (int, np.integer)) or isinstance(min_size, bool) or min_size < 1:
        raise ValueError(f"min_size must be an integer of at least 1, got {min_size!r}")
    pen = change_point_penalty(values, penalty)
    if len(logs) < 2 * min_size or pen == 0:
        return []
    return _pelt(logs - np.median(logs), pen, int(min_size))   # centred: the cumulative sums lose less


def _pelt(y: np.ndarray, pen: float, m: int) -> list[int]:
    """F(s) = min_t F(t) + C(t, s) + pen, pruning t once F(t) + C(t, s) > F(s): it ends no best segmentation
    of an s' ≥ s + m (C(t, s') ≥ C(t, s) + C(s, s')); before s + m, s is no valid last change: the pruning waits."""
    n = len(y)
    s1, s2 = np.concatenate(([0.0], np.cumsum(y))), np.concatenate(([0.0], np.cumsum(y * y)))
    best, last = np.concatenate(([0.0], np.full(n, np.inf))), np.zeros(n + 1, dtype=np.intp)
    # per candidate t: t, F(t) - S2(t), S1(t) and when its pruning takes effect, side by side
    cand, base, c1 = np.empty(n + 1, dtype=np.intp), np.empty(n + 1), np.empty(n + 1)
    expires, k = np.full(n + 1, n + 1, dtype=np.intp), 0
    for s in range(m, n + 1):
        if s - m == 0 or s - m >= m:                 # F(t) is finite only there
            cand[k], base[k], c1[k], expires[k], k = s - m, best[s - m] - s2[s - m], s1[s - m], n + 1, k + 1
        if expires[:k].min() <= s:
            k = len(keep := np.flatnonzero(expires[:k] > s))
            cand[:k], base[:k], c1[:k], expires[:k] = cand[keep], base[keep], c1[keep], expires[keep]
        fit = base[:k] - (s1[s] - c1[:k]) ** 2 / (s - cand[:k])
        j = int(fit.argmin())
        best[s], last[s] = fit[j] + s2[s] + pen, cand[j]
        expires[:k][(fit > fit[j] + pen) & (expires[:k] > s + m)] = s + m
    out = [n]
    while last[out[-1]] > 0:
        out.append(int(last[out[-1]]))
    return out[:0:-1]
