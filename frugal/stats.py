"""Statistics for comparing measured runs: pure functions over arrays, formula in each docstring.

Medians with percentile-bootstrap confidence intervals, the ratio of two medians, the
Mann-Whitney U test, Cliff's delta, the coefficient of variation and a power-law fit on
log-log axes. numpy only; nothing here keeps state between calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import numpy.typing as npt

N_BOOT = 2000
"""Bootstrap resamples used by default (percentile CIs: the 2.5% and 97.5% quantiles)."""

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


def bootstrap_median_ci(x: ArrayLike, confidence: float = 0.95, n_boot: int = N_BOOT,
                        seed: int | Sequence[int] | np.random.Generator | None = None) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median, in the unit of ``x``.

    Draw ``n_boot`` samples of size n from ``x`` with replacement, take each one's median
    m*_b; the interval is the (α/2, 1 - α/2) quantiles of the m*_b, α = 1 - confidence.
    (NaN, NaN) for an empty sample; (x, x) for a single value.
    """
    _check_confidence(confidence)
    a = _clean(x)
    if len(a) == 0:
        return math.nan, math.nan
    rng = _rng(seed)
    medians = np.median(a[rng.integers(0, len(a), size=(n_boot, len(a)))], axis=1)
    alpha = 1 - confidence
    low, high = np.quantile(medians, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def median_ratio(x: ArrayLike, y: ArrayLike) -> float:
    """``median(x) / median(y)``; NaN when either sample is empty or median(y) is 0."""
    a, b = _clean(x), _clean(y)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    mb = np.median(b)
    return math.nan if mb == 0 else float(np.median(a) / mb)


def bootstrap_ratio_ci(x: ArrayLike, y: ArrayLike, confidence: float = 0.95, n_boot: int = N_BOOT,
                       seed: int | Sequence[int] | np.random.Generator | None = None) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``median(x) / median(y)`` (unitless).

    ``x`` and ``y`` are resampled independently (they are separate runs): r*_b =
    median(x*_b) / median(y*_b); the interval is the (α/2, 1 - α/2) quantiles of the r*_b.
    (NaN, NaN) when a sample is empty or a resampled median of ``y`` is 0.
    """
    _check_confidence(confidence)
    a, b = _clean(x, "x"), _clean(y, "y")
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan
    rng = _rng(seed)
    ma = np.median(a[rng.integers(0, len(a), size=(n_boot, len(a)))], axis=1)
    mb = np.median(b[rng.integers(0, len(b), size=(n_boot, len(b)))], axis=1)
    if (mb == 0).any():
        return math.nan, math.nan
    alpha = 1 - confidence
    low, high = np.quantile(ma / mb, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


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
    s = np.asarray(sizes, dtype="f8").ravel()
    v = np.asarray(values, dtype="f8").ravel()
    if len(s) != len(v):
        raise ValueError(f"sizes and values differ in length ({len(s)} and {len(v)})")
    keep = np.isfinite(v) & (v > 0) & np.isfinite(s) & (s > 0)
    s, v = s[keep], v[keep]
    levels = np.unique(s)
    if len(levels) < 2:
        raise ValueError("values: a power law needs positive values at two sizes at least")
    logv = np.log(v)
    groups = [logv[s == level] for level in levels]
    logx = np.log(levels)
    logm = np.array([np.median(g) for g in groups])
    slope, intercept = _line_through_medians(logx, logm)
    residual = ((logm - (intercept + slope * logx)) ** 2).sum()
    total = ((logm - logm.mean()) ** 2).sum()
    r2 = 1.0 - residual / total if total > 0 else 1.0
    rng = _rng(seed)
    boot = np.column_stack([np.median(g[rng.integers(0, len(g), size=(n_boot, len(g)))], axis=1)
                            for g in groups])
    slopes, _ = _line_through_medians(np.broadcast_to(logx, boot.shape), boot)
    alpha = 1 - confidence
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return Fit(float(slope), float(low), float(high), float(r2), float(math.exp(intercept)), int(len(v)))
