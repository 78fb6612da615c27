"""Compare the footprints of variants with statistics: ``compare`` and its ``Comparison``.

Each variant runs many times, interleaved in a seeded random order by the one run loop
(``frugal.runner``), measured by ``frugal.measure`` (so every run also appears in
``frugal.results()``).
"""
from __future__ import annotations

import html
import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from frugal import hooks, stats
from frugal._hot import measure, qualified_name
from frugal.runner import attempt, check_runnable, check_seed, run_once, run_plan, runs_frame
from frugal.units import check_int, check_number, unit_of
from frugal.verdicts import (CONFIDENCE, METRICS, Table, failed_runs, metrics_of, short_runs, table, verdict,
                             warnings_html, warnings_text)

__all__ = ["Comparison", "compare"]

ALPHA = 0.05          # significance level of the verdicts
CV_WARN = 0.10        # a coefficient of variation at or above this is warned about
MIN_RUNS_CI = 10      # fewer successful runs make a rough bootstrap interval


# --- argument checks -----------------------------------------------------------------

def _named_variants(variants: Any) -> dict[str, Callable[[], Any]]:
    if isinstance(variants, Mapping):
        items = list(variants.items())
    elif isinstance(variants, Iterable) and not isinstance(variants, (str, bytes)):
        items = []
        for fn in variants:
            check_runnable("each of variants", fn)
            items.append((getattr(fn, "__name__", None) or qualified_name(fn), fn))
    else:
        raise TypeError(f"variants must be a dict of name -> callable or a list of callables, "
                        f"got {type(variants).__name__}")
    if not items:
        raise ValueError("variants is empty: give at least one callable")
    named: dict[str, Callable[[], Any]] = {}
    for name, fn in items:
        if not isinstance(name, str) or not name:
            raise ValueError(f"variants: names must be non-empty strings, got {name!r}")
        if name in named:
            raise ValueError(f"variants: two variants are named {name!r}; pass a dict to name them")
        named[name] = check_runnable(f"variants[{name!r}]", fn)
    return named


def _units_map(units: Any, names: Iterable[str]) -> dict[str, float | None]:
    names = list(names)
    if units is None:
        return dict.fromkeys(names)
    if isinstance(units, Mapping):
        missing = [n for n in names if n not in units]
        extra = [k for k in units if k not in names]
        if missing or extra:
            raise ValueError(f"units must give a number for every variant and no other "
                             f"(missing {missing}, unknown {extra})")
        return {n: check_number(f"units[{n!r}]", units[n], low_open=True) for n in names}
    value = check_number("units", units, low_open=True)
    return dict.fromkeys(names, value)


# --- running ---------------------------------------------------------------------------

def compare(variants: Mapping[str, Callable[[], Any]] | Iterable[Callable[[], Any]], repeat: int = 30,
            warmup: int = 3, baseline: str | None = None, units: float | Mapping[str, float] | None = None,
            interleave: bool = True, seed: int | None = None, progress: bool | None = None) -> Comparison:
    """Measure each variant ``repeat`` times and compare their footprints.

    ``variants``: a dict of name -> zero-argument callable, or a list of callables (named
    after their ``__name__``). Each variant first runs ``warmup`` times unmeasured; then
    ``repeat`` rounds each run every variant once, in an order drawn from ``seed``
    (``interleave=False``: one variant after the other), so a machine that slows down or
    heats up weighs on every variant alike. ``units``: functional units of work done by one
    run (one number, or one per variant); when given, the statistics compare cost per unit.
    ``progress``: a bar on stderr, by default when stderr is a terminal.

    Time, CPU and memory are measured; energy and carbon are derived from them (measured by a
    meter where one exists, modelled otherwise: the ``energy_method`` column says which).
    A variant that raises is recorded with its error and the others go on; the
    Comparison's ``warnings`` say which runs failed. Every measured run also appears in
    ``frugal.results()`` under its variant's name; warm-up runs appear nowhere.
    """
    named = _named_variants(variants)
    repeat = check_int("repeat", repeat, 2)
    warmup = check_int("warmup", warmup, 0)
    if baseline is None:
        baseline = next(iter(named))
    elif baseline not in named:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(named)}")
    unit_of_variant = _units_map(units, named)
    seed = check_seed(seed)
    regions = {name: measure(name, units=unit_of_variant[name]) for name in named}
    runs = run_plan(list(named), lambda name: run_once(regions[name], named[name]),
                    lambda name: attempt(named[name]), repeat=repeat, warmup=warmup, seed=seed,
                    interleave=interleave, progress=progress, label="frugal.compare", describe=repr)
    rows = runs.rows()
    frame = runs_frame({"variant": pd.array([r[0] for r in rows], dtype="string"),
                        "run": np.array([r[1] for r in rows], dtype="i8"),
                        "order": np.array([r[2] for r in rows], dtype="i8")}, [r[3] for r in rows])
    return Comparison(frame, baseline, seed=seed, per_unit=units is not None, notes=runs.notes)


# --- presenting ------------------------------------------------------------------------

class Comparison:
    """The runs of several variants, and their statistics against a baseline.

    ``frame``: one row per run (``variant``, ``run``, ``order``, then every Measurement
    field). ``summary()``: medians with bootstrap CIs; ``ratios()``: each variant against the
    baseline; ``warnings``: what makes the figures less trustworthy. Statistics use the
    successful runs only. Bootstrap resamples are drawn from ``seed``, so they repeat.

    Warnings: failed runs (and failed warm-ups); runs shorter than 1000 steps of their clock
    (wall: perf_counter's resolution, at least 1 µs; CPU: the observed step of getrusage,
    1 µs on Linux, so 1 ms for both here); a coefficient of variation of 10% or more; fewer
    than 10 successful runs (rough CIs); and run counts for which the exact Mann-Whitney test
    cannot reach p < 0.05 whatever the data (2 / C(n1+n2, n1) >= 0.05, e.g. 3 against 3).
    A Comparison can be rebuilt from a saved ``frame``: ``Comparison(frame, "sorted")``.
    """

    def __init__(self, frame: pd.DataFrame, baseline: str | None = None, *, seed: int = 0,
                 per_unit: bool = False, notes: Iterable[str] = ()) -> None:
        missing = [c for c in ("variant", "status") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}")
        if len(frame) == 0:
            raise ValueError("frame has no runs")
        self.frame = frame
        self.variants: list[str] = [str(v) for v in pd.unique(frame["variant"])]
        if baseline is None:
            baseline = self.variants[0]
        if baseline not in self.variants:
            raise ValueError(f"baseline {baseline!r} is not one of the variants {self.variants}")
        self.baseline: str = baseline
        self.seed = check_int("seed", seed, 0)
        self.per_unit = bool(per_unit)
        if self.per_unit and "units" not in frame.columns:
            raise ValueError("frame lacks the column 'units' needed for per_unit=True")
        self.metrics: list[str] = metrics_of(frame)
        if not self.metrics:
            raise ValueError(f"frame has no value in any compared column ({', '.join(METRICS)}): "
                             "nothing to compare")
        self.warnings: list[str] = self._find_warnings(list(notes))

    def values(self, variant: str, metric: str) -> np.ndarray:
        """The successful runs' values of one metric (per unit when units were given)."""
        if metric not in self.frame.columns:
            raise ValueError(f"metric {metric!r} is not a column of the frame")
        rows = self.frame[(self.frame["variant"] == variant) & (self.frame["status"] == "ok")]
        v: npt.NDArray[np.float64] = rows[metric].to_numpy(dtype="f8", na_value=np.nan)
        if self.per_unit:
            # a run with no work done (units 0, or unknown) has no value per unit
            units: npt.NDArray[np.float64] = rows["units"].to_numpy(dtype="f8", na_value=np.nan)
            v = np.divide(v, units, out=np.full_like(v, np.nan), where=units > 0)
        return v[~np.isnan(v)]

    def summary(self) -> Table:
        """Per variant and metric: successful runs ``n``, the ``median`` with its bootstrap
        95% CI (``ci_low``, ``ci_high``), in the metric's ``unit``, and the coefficient of
        variation ``cv`` (standard deviation / mean). ``attrs["warnings"]`` holds the warnings."""
        rows = []
        for i, variant in enumerate(self.variants):
            for j, metric in enumerate(self.metrics):
                v = self.values(variant, metric)
                low, high = stats.bootstrap_median_ci(v, CONFIDENCE, seed=[self.seed, 0, i, j])
                rows.append({"variant": variant, "metric": metric, "n": len(v),
                             "median": float(np.median(v)) if len(v) else math.nan,
                             "ci_low": low, "ci_high": high, "cv": stats.coefficient_of_variation(v),
                             "unit": unit_of(metric) + ("/unit" if self.per_unit else "")})
        return self._table(rows, ["variant", "metric", "n", "median", "ci_low", "ci_high", "cv", "unit"])

    def ratios(self, alpha: float = ALPHA) -> Table:
        """Each variant against the baseline, per metric: ``ratio`` of medians with its
        bootstrap 95% CI, the two-sided Mann-Whitney U ``p_value``, Cliff's delta,
        ``significant`` (p < ``alpha``) and a one-sentence ``verdict``. p-values are per
        comparison, not corrected for the number of metrics and variants."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
        rows = []
        for i, variant in enumerate(self.variants):
            if variant == self.baseline:
                continue
            for j, metric in enumerate(self.metrics):
                x, y = self.values(variant, metric), self.values(self.baseline, metric)
                ratio = stats.median_ratio(x, y)
                ci = stats.bootstrap_ratio_ci(x, y, CONFIDENCE, seed=[self.seed, 1, i, j])
                _, p = stats.mann_whitney_u(x, y)
                significant = bool(p < alpha) and math.isfinite(ratio)
                rows.append({"variant": variant, "metric": metric, "baseline": self.baseline,
                             "ratio": ratio, "ci_low": ci[0], "ci_high": ci[1], "p_value": p,
                             "cliffs_delta": stats.cliffs_delta(x, y), "significant": significant,
                             "verdict": verdict(variant, self.baseline, metric, ratio, ci, p,
                                                significant, self.per_unit)})
        return self._table(rows, ["variant", "metric", "baseline", "ratio", "ci_low", "ci_high",
                                  "p_value", "cliffs_delta", "significant", "verdict"])

    def _table(self, rows: list[dict[str, Any]], columns: list[str]) -> Table:
        return table(rows, columns, self.warnings, per_unit=self.per_unit)

    def _find_warnings(self, notes: list[str]) -> list[str]:
        label = repr
        out = failed_runs(self.frame, "variant", label) + notes + short_runs(self.frame, "variant", label)
        n_ok = {v: int(((self.frame["variant"] == v) & (self.frame["status"] == "ok")).sum())
                for v in self.variants}
        for variant in self.variants:
            noisy = []
            for metric in self.metrics:
                cv = stats.coefficient_of_variation(self.values(variant, metric))
                if cv >= CV_WARN:
                    noisy.append(f"{metric} {cv:.0%}")
            if noisy:
                out.append(f"the runs of {variant!r} vary a lot (coefficient of variation "
                           f"{', '.join(noisy)}; {CV_WARN:.0%} or more): close other programs or add runs")
            if n_ok[variant] == 0:
                out.append(f"{variant!r} has no successful run: it cannot be compared")
            elif n_ok[variant] < MIN_RUNS_CI:
                out.append(f"{variant!r} has only {n_ok[variant]} successful runs: its confidence "
                           f"intervals are rough ({MIN_RUNS_CI} or more advised)")
        for variant in self.variants:
            n1, n2 = n_ok[variant], n_ok[self.baseline]
            if variant != self.baseline and n1 and n2 and stats.min_p_value(n1, n2) >= ALPHA:
                out.append(f"with {n1} and {n2} successful runs, the Mann-Whitney test of {variant!r} "
                           f"against {self.baseline!r} cannot reach p < {ALPHA} whatever the data: "
                           "use repeat=4 or more")
        return out

    def indicators(self) -> pd.DataFrame:
        """Frugality indicators per variant against the baseline (``frugal.indicators``)."""
        from frugal.frugality import indicators

        return indicators(self.frame, by="variant", baseline=self.baseline)

    def plot(self, metric: str = "energy_j") -> Any:
        """A chart of one metric per variant (``frugal.plot.compare``)."""
        return hooks.chart("compare")(self, metric=metric)

    def __repr__(self) -> str:
        runs = self.frame.groupby("variant", sort=False).size()
        head = (f"<frugal.Comparison: {len(self.variants)} variants, {len(self.frame)} runs "
                f"({', '.join(f'{v}: {n}' for v, n in runs.items())}), baseline {self.baseline!r}>")
        verdicts = "".join(f"\n- {v}" for v in self.ratios()["verdict"])
        return head + verdicts + warnings_text(self.warnings)

    def _repr_html_(self) -> str:
        title = (f"<p><b>frugal.compare</b>: {len(self.variants)} variants, {len(self.frame)} runs, "
                 f"baseline <b>{html.escape(self.baseline)}</b>"
                 f"{' (cost per functional unit)' if self.per_unit else ''}</p>")
        summary = pd.DataFrame(self.summary()).to_html(index=False, escape=True)
        ratios = pd.DataFrame(self.ratios()).to_html(index=False, escape=True)
        return (f"<div class='frugal-comparison'>{title}<p>Summary (medians, 95% CI)</p>{summary}"
                f"<p>Against the baseline</p>{ratios}{warnings_html(self.warnings)}</div>")
