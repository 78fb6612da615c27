"""The one ratio of frugal: a variant against a baseline, as the ratio of medians with its
bootstrap interval decided over a family (Benjamini-Hochberg), its outcome, the runs it would
need and its verdict. ``compare``, ``indicators`` and the pytest gate call ``against_baseline``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from frugal import stats
from frugal.analysis.verdicts import ALPHA, outcome_of, verdict

K = TypeVar("K", bound=Hashable)


class Medians(Generic[K]):
    """Bootstrap replicates of each group's median of each metric, drawn when first asked for:
    ``n_boot`` resamples (at most ``max_cells // n`` for n values, when ``max_cells`` is
    given), seeded by (``seed``, the group's position in ``groups``, n).

    ``values(group, metric)``: the group's known values of the metric.
    """

    def __init__(self, values: Callable[[K, str], np.ndarray], groups: Sequence[K], n_boot: int, seed: int,
                 max_cells: int | None = None) -> None:
        self._values = values
        self._position = {g: i for i, g in enumerate(groups)}
        self.n_boot, self.seed, self.max_cells = n_boot, seed, max_cells
        self._drawn: dict[tuple[K, str], np.ndarray] = {}
        self._ranks: dict[tuple[K, int], tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, group: K, metric: str) -> np.ndarray:
        key = (group, metric)
        if key not in self._drawn:
            values = self._values(group, metric)
            n = len(values)
            if n == 0:
                self._drawn[key] = np.empty(0)
            else:
                # one draw of ranks per group and sample size serves all its metrics, so that
                # the metrics of one run are resampled together
                if (group, n) not in self._ranks:
                    n_boot = self.n_boot if self.max_cells is None else max(1, min(self.n_boot, self.max_cells // n))
                    self._ranks[group, n] = stats.median_ranks(n, n_boot, [self.seed, self._position[group], n])
                self._drawn[key] = stats.medians_at(values, self._ranks[group, n])
        return self._drawn[key]


@dataclass(frozen=True)
class Ratio:
    """One variant against the baseline on one metric: ``ratio`` of medians (variant /
    baseline), its interval (``ci_low``, ``ci_high`` at ``ci_level``; NaN when not tested),
    ``significant`` (the interval excludes the null value), the two-sided Mann-Whitney U
    ``p_value`` (supporting only), ``outcome``, ``n`` (variant, baseline runs) and
    ``runs_needed`` per side at the observed spread (0 without a ratio)."""

    ratio: float
    ci_low: float
    ci_high: float
    ci_level: float
    significant: bool
    p_value: float
    outcome: str
    n: tuple[int, int]
    runs_needed: int

    def verdict(self, variant: str, baseline: str, metric: str, *, per_unit: bool = False,
                failure: str = "") -> str:
        """The one-sentence verdict (``frugal.analysis.verdicts.verdict``) on this ratio."""
        return verdict(variant, baseline, metric, self.ratio, (self.ci_low, self.ci_high), self.ci_level,
                       self.outcome, per_unit=per_unit, n=self.n, runs_needed=self.runs_needed, failure=failure)


def testable(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the ratio of ``x``'s median to ``y``'s gets an interval: ``MIN_RUNS`` values a
    side or more and a finite ratio."""
    return min(len(x), len(y)) >= stats.MIN_RUNS and math.isfinite(stats.median_ratio(x, y))


def against_baseline(samples: Mapping[K, tuple[np.ndarray, np.ndarray]],
                     medians: Callable[[K], tuple[np.ndarray, np.ndarray]], alpha: float = ALPHA, *,
                     nulls: float | Mapping[K, float] = 1.0, side: str = "both") -> dict[K, Ratio]:
    """Per key of ``samples`` (values of the variant, values of the baseline), its ``Ratio``.

    ``medians(key)``: bootstrap replicates of the two medians, asked for only for the
    ``testable`` keys. Their ratio replicates r*_b = m*_x,b / m*_y,b form one family, decided
    at false discovery rate ``alpha`` against ``nulls`` (one value, or one per key)
    by ``frugal.stats.fdr_decisions`` (``side="greater"``: increases only), which also widens
    every interval to level 1 - max(R, 1)·alpha/m. ``runs_needed`` is read at that level
    (1 - alpha without an interval).
    """
    tested = [k for k, (x, y) in samples.items() if testable(x, y)]
    replicates = [stats.ratio_replicates(*medians(k)) for k in tested]
    null = [nulls[k] for k in tested] if isinstance(nulls, Mapping) else nulls
    decided = stats.fdr_decisions(replicates, null, alpha, side=side)
    interval = {k: (float(decided.low[i]), float(decided.high[i]), decided.level, bool(decided.significant[i]))
                for i, k in enumerate(tested)}
    out: dict[K, Ratio] = {}
    for k, (x, y) in samples.items():
        ratio = stats.median_ratio(x, y)
        low, high, level, significant = interval.get(k, (math.nan, math.nan, math.nan, False))
        n = (len(x), len(y))
        runs = stats.runs_needed(x, y, ratio, level if math.isfinite(level) else 1 - alpha) \
            if min(n) and math.isfinite(ratio) else 0
        out[k] = Ratio(ratio, low, high, level, significant, stats.mann_whitney_u(x, y)[1],
                       outcome_of(ratio, significant, n), n, runs)
    return out
