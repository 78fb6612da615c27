"""Grades A to G: how many times the best a group costs, on one stated geometric scale, with
statistical ties; or absolute thresholds that the user gives. Pure numpy over medians and
their bootstrap replicates; ``frugal.indicators`` puts the letters in its table.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from frugal import stats
from frugal.stats import MIN_RUNS
from frugal.units import format_quantity

GRADES = "ABCDEFG"

SCALE = (1.1, 1.25, 1.5, 2.0, 4.0, 10.0)
"""Upper bounds of grades A to F as ratios to the best group (G: beyond 10x). Each band is
wider than the one before (by 1.14x to 2.5x): near the best a 10% step matters, far from it
only the order of magnitude does."""


def scale_text(bounds: Sequence[float] = SCALE) -> str:
    """``A <= 1.1x the best, B <= 1.25x, ..., G above 10x``."""
    parts = [f"{GRADES[i]} <= {b:g}x" + (" the best" if i == 0 else "") for i, b in enumerate(bounds)]
    return ", ".join(parts) + f", {GRADES[len(bounds)]} above {bounds[-1]:g}x"


def letter_index(ratio: np.ndarray, bounds: Sequence[float] = SCALE) -> np.ndarray:
    """0 (A) to 6 (G) for ratios to the best (a ratio on a bound takes the better grade);
    NaN where the ratio is NaN."""
    r = np.asarray(ratio, dtype="f8")
    idx = np.searchsorted(np.asarray(bounds, dtype="f8"), np.where(np.isnan(r), 0.0, r), side="left")
    return np.where(np.isnan(r), np.nan, idx.astype("f8"))


def letters(idx: np.ndarray) -> list[str | None]:
    """Grade letters for indices 0..6 (None where the index is NaN)."""
    return [GRADES[int(i)] if math.isfinite(i) else None for i in np.asarray(idx, dtype="f8")]


@dataclass(frozen=True)
class Relative:
    """Relative grades of one indicator: per group the grade ``index`` (0 = A; NaN: not
    graded), the ``ratio`` of its median to the best's and whether it is ``tied`` with the
    best; ``best`` the best group's position; ``level`` the confidence level of the ties."""

    index: np.ndarray
    ratio: np.ndarray
    tied: np.ndarray
    best: int | None
    level: float


def relative(medians: np.ndarray, replicates: Callable[[int], np.ndarray], n: Sequence[int] | np.ndarray,
             alpha: float = 0.05, bounds: Sequence[float] = SCALE, tables: int = 1,
             only: Sequence[bool] | np.ndarray | None = None) -> Relative:
    """Grade groups by the ratio of their median to the lowest median (the best group).

    ``replicates(i)``: bootstrap replicates of group i's median (``stats.resample_medians``),
    asked for only for the groups tested and the best; ``n[i]``: its runs. ``only``: the
    groups whose tie with the best is tested (all by default); the others are graded on their
    ratio alone, so that a caller showing a few of many groups draws no replicates for the rest
    (the family, and so every interval's level, stays that of all the groups). A group whose interval of the ratio to the best includes 1 is tied
    with the best and shares its grade, A; the others get the band of their ratio on
    ``bounds``. The best is chosen by the data, so the family is every pair of tested groups
    on each of the ``tables`` indicators graded together (M = tables · k(k-1)/2 for k
    groups): each interval is at level 1 - alpha/M (Bonferroni), and identical groups are
    tied on every indicator with probability 1 - alpha at least, whichever came out best. Groups with fewer than ``MIN_RUNS`` runs (or a best with fewer) are graded on their
    ratio alone. A NaN median is not graded. A best median of 0: groups at 0 are A, any
    cost above it G.
    """
    med = np.asarray(medians, dtype="f8")
    k = len(med)
    known = np.isfinite(med)
    ratio = np.full(k, np.nan)
    tied = np.zeros(k, dtype=bool)
    if not known.any():
        return Relative(np.full(k, np.nan), ratio, tied, None, 1 - alpha)
    best = int(np.nanargmin(med))
    if med[best] > 0:
        ratio[known] = med[known] / med[best]
    else:
        ratio[known] = np.where(med[known] > 0, np.inf, 1.0)
    tested = [i for i in range(k) if known[i] and n[i] >= MIN_RUNS]
    level = 1 - alpha / max(tables * pairs(len(tested)), 1)
    if best in tested and med[best] > 0:
        for i in tested if only is None else [i for i in tested if only[i]]:
            low, _ = stats.percentile_interval(stats.ratio_replicates(replicates(i), replicates(best)), level)
            tied[i] = low <= 1
    tied[best] = True
    index = letter_index(ratio, bounds)
    index[tied] = 0.0
    return Relative(index, ratio, tied, best, level)


def group_medians(values: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group 0..k-1 (``codes``, one per value): the median of its finite values and how
    many there are (NaN and 0 for none), for all groups in one sort. The median is the mean of
    the two middle order statistics, (x_(lo) + x_(hi)) / 2, exactly as ``numpy.median`` gives it."""
    v = np.asarray(values, dtype="f8")
    keep = np.isfinite(v)
    v, c = v[keep], np.asarray(codes)[keep]
    order = np.lexsort((v, c))
    v = v[order]
    n = np.bincount(c, minlength=k)
    start = np.cumsum(n) - n
    has = n > 0
    out = np.full(k, np.nan)
    out[has] = (v[start[has] + (n[has] - 1) // 2] + v[start[has] + n[has] // 2]) / 2
    return out, n


def pairs(k: int) -> int:
    """How many pairs ``k`` groups make: the family of the ties with a best chosen by the data."""
    return k * (k - 1) // 2


def absolute(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """0 (A) for a value at or below the first threshold .. 6 (G) above the last; NaN unknown."""
    v = np.asarray(values, dtype="f8")
    return np.where(np.isfinite(v), np.searchsorted(np.asarray(thresholds), np.nan_to_num(v), side="left"),
                    np.nan).astype("f8")


def overall(indices: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of the indicator grades (A = 0 .. G = 6) that are known, rounded half up."""
    stacked = np.vstack(indices)
    known = np.isfinite(stacked)
    count = known.sum(axis=0)
    mean = np.where(count > 0, np.nansum(stacked, axis=0) / np.maximum(count, 1), np.nan)
    out: np.ndarray = np.floor(mean + 0.5)
    return out


def spec(grades: Any, graded: Iterable[str]) -> dict[str, list[float] | None]:
    """``indicators(grades=...)`` read: each of the ``graded`` indicators -> 6 absolute
    thresholds, or None for the relative scale; ``ValueError``/``TypeError`` naming the argument."""
    if isinstance(grades, str):
        if grades != "relative":
            raise ValueError(f"indicators(grades=...) must be 'relative' or a mapping of thresholds, got {grades!r}")
        return {k: None for k in graded}
    if not isinstance(grades, Mapping):
        raise TypeError(f"indicators(grades=...) must be 'relative' or a mapping, got {type(grades).__name__}")
    out: dict[str, list[float] | None] = {k: None for k in graded}
    for key, thresholds in grades.items():
        if key not in out:
            raise ValueError(f"indicators(grades=...): {key!r} is not a graded indicator "
                             f"(one of {', '.join(out)})")
        try:
            t = [float(x) for x in thresholds]
        except (TypeError, ValueError):
            raise ValueError(f"indicators(grades=...): thresholds for {key!r} must be numbers") from None
        if len(t) != len(GRADES) - 1 or not all(math.isfinite(x) for x in t) \
                or any(b <= a for a, b in zip(t, t[1:])):
            raise ValueError(f"indicators(grades=...): {key!r} needs {len(GRADES) - 1} finite, strictly "
                             f"increasing thresholds (A <= t1 < B <= t2 ... G), got {list(thresholds)!r}")
        out[key] = t
    return out


def scale_text_of(scale: dict[str, dict[str, Any]]) -> str:
    """The grade scale of an indicators table (``attrs["grade_scale"]``) as lines of text."""
    lines = ["Grades run from A (most frugal) to G (least); lower values are better; failed groups are not graded."]
    relative = [k for k, s in scale.items() if s["kind"] == "relative"]
    if relative:
        lines.append(f"{', '.join(relative)}: the ratio of a group's median per unit to the best (lowest) median "
                     f"of the set: {scale_text()}. A group whose bootstrap interval against the best includes "
                     "1 (at 95% over every pair of groups on every graded indicator, Bonferroni) is tied with it and "
                     "shares its grade, A.")
    for indicator, s in scale.items():
        if s["kind"] == "absolute":
            t = ", ".join(format_quantity(x, s["unit"]) + "/unit" for x in s["thresholds"])
            lines.append(f"{indicator}: absolute thresholds {t} (value <= first threshold is A).")
    lines.append("Overall grade: the mean of the indicator grades (A=0 .. G=6), rounded half up.")
    return "\n".join(lines)
