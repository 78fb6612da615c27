"""Compare the footprints of variants with statistics: ``compare`` and its ``Comparison``.

Each variant runs many times, interleaved in a seeded random order by the one run loop
(``frugal.analysis.runner``), measured by ``frugal.measure`` (so every run also appears in
``frugal.results()``). The ratio of a variant to the baseline is the ratio of their medians,
with a seeded bootstrap interval; verdicts follow that interval after the multiplicity
correction (both from ``frugal.analysis.ratios``). METHODOLOGY.md, "Statistics", says why.
"""
from __future__ import annotations

import html
import math
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from frugal import stats
from frugal.core.measure import measure, qualified_name
from frugal.analysis.ratios import Medians, Ratio, against_baseline, testable
from frugal.analysis.runner import attempt, check_runnable, check_seed, run_once, run_plan, runs_frame
from frugal.stats import MIN_RUNS
from frugal.units import unit_of
from frugal.validate import check_int, check_number, check_text
from frugal.analysis.verdicts import (ALPHA, CONFIDENCE, FAILED, METRICS, Failure, Table, failures_of, failed_runs,
                             metrics_of, short_runs, table, warnings_html, warnings_text)

__all__ = ["Comparison", "compare"]

CV_WARN = 0.10        # a coefficient of variation at or above this is warned about
MIN_RUNS_CI = 10      # fewer successful runs make a rough bootstrap interval
ADDITIVE = ("wall_s", "cpu_s", "energy_j", "carbon_g", "embodied_g")   # totals on a summary row


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
    ``progress``: a bar on stderr, by default when stderr is a terminal. A variant that
    returns an iterator (a generator, ``map``...) is measured consuming it to its end: lazy
    work is done inside the measured run.

    Time, CPU and memory are measured; energy and carbon are derived from them (measured by a
    meter where one exists, modelled otherwise: the ``energy_method`` column says which).
    A variant that raises is recorded with its error and the others go on; a variant whose
    runs failed is named in a ``RuntimeWarning`` with its errors (type and message), is
    never graded or ranked, and is compared on its successful runs only (none: not at all).
    Every measured run also appears in ``frugal.results()`` under its variant's name;
    warm-up runs appear nowhere.
    """
    named = _named_variants(variants)
    repeat = check_int("repeat", repeat, 2)
    warmup = check_int("warmup", warmup, 0)
    if check_text("baseline", baseline, optional=True) is None:
        baseline = next(iter(named))
    elif baseline not in named:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(named)}")
    unit_of_variant = _units_map(units, named)
    seed = check_seed(seed)
    regions = {name: measure(name, units=unit_of_variant[name]) for name in named}
    errors: dict[str, list[str]] = {name: [] for name in named}
    runs = run_plan(list(named), lambda name: run_once(regions[name], named[name], errors[name]),
                    lambda name: attempt(named[name]), repeat=repeat, warmup=warmup, seed=seed,
                    interleave=interleave, progress=progress, label="frugal.compare", describe=repr)
    rows = runs.rows()
    frame = runs_frame({"variant": pd.array([r[0] for r in rows], dtype="string"),
                        "run": np.array([r[1] for r in rows], dtype="i8"),
                        "order": np.array([r[2] for r in rows], dtype="i8")}, [r[3] for r in rows])
    cmp = Comparison(frame, baseline, seed=seed, per_unit=units is not None, notes=runs.notes, errors=errors)
    cmp.warn_failures("frugal.compare")
    return cmp


# --- presenting ------------------------------------------------------------------------

class Comparison:
    """The runs of several variants, and their statistics against a baseline.

    ``frame``: one row per run (``variant``, ``run``, ``order``, then every Measurement
    field). ``summary()``: medians with bootstrap 95% CIs; ``ratios()``: each variant against
    the baseline, the ratio of medians with its bootstrap interval and a verdict that follows
    it; ``failures``: the variants with failed runs; ``warnings``: what makes the figures less
    trustworthy. Statistics use the successful runs only. Bootstrap resamples are drawn from
    ``seed``, so they repeat. ``errors``: per variant, the failed runs' error texts (type
    and message, or exit status and the end of stderr), when known; else the frame's
    ``error`` column (the type) is shown.

    Warnings: failed runs (and failed warm-ups); runs shorter than 1000 steps of their clock
    (wall: perf_counter's resolution, at least 1 µs; CPU: the observed step of getrusage,
    1 µs on Linux, so 1 ms for both here); a coefficient of variation of 10% or more; fewer
    than 10 successful runs (rough CIs); fewer than 5 (too few runs to tell anything).
    A Comparison can be rebuilt from a saved ``frame``: ``Comparison(frame, "sorted")``, or
    from any measurements with ``Comparison.from_frame(frame, by="name")``.
    """

    def __init__(self, frame: pd.DataFrame, baseline: str | None = None, *, seed: int = 0,
                 per_unit: bool = False, notes: Iterable[str] = (),
                 errors: Mapping[str, Sequence[str]] | None = None) -> None:
        missing = [c for c in ("variant", "status") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}")
        if len(frame) == 0:
            raise ValueError("frame has no runs")
        self.frame = frame
        self.variants: list[str] = [str(v) for v in pd.unique(frame["variant"])]
        if check_text("baseline", baseline, optional=True) is None:
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
        self.errors: dict[str, list[str]] = {str(k): list(v) for k, v in (errors or {}).items()}
        ok = frame[(frame["status"] == "ok").fillna(False)]
        self._ok = {str(k): g for k, g in ok.groupby("variant", sort=False)}
        self._values: dict[tuple[str, str], np.ndarray] = {}
        self.failures: dict[str, Failure] = {str(k): v for k, v in
                                             failures_of(frame, "variant", self.errors).items()}
        self.warnings: list[str] = self._find_warnings(list(notes))
        self._boot: Medians[str] | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, by: str = "name", baseline: str | None = None, *,
                   seed: int = 0, per_unit: bool = False) -> Comparison:
        """A Comparison of runs measured elsewhere (``frugal.results()``, ``frugal.load()``...),
        one variant per value of column ``by``.

        Rows keep their order (by ``started_at`` when the frame has it); a summary row
        (``calls`` > 1) stands for one call of the average cost: its totals are divided by
        its calls, its peak memory kept. Failed rows are named in a ``RuntimeWarning``, as by
        ``compare``. ``per_unit``: compare cost per functional unit (``units``).
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"from_frame(frame=...) must be a pandas DataFrame, got {type(frame).__name__}")
        check_text("by", by)
        if by not in frame.columns:
            raise ValueError(f"from_frame(by=...): the frame has no column {by!r}")
        if "status" not in frame.columns:
            raise ValueError("from_frame(frame=...): the frame has no column 'status'")
        rows = frame[frame[by].notna()]
        if "started_at" in rows.columns:
            rows = rows.sort_values("started_at", kind="stable")
        rows = rows.reset_index(drop=True)
        variant = rows[by].astype("string")
        rows = rows.drop(columns=[c for c in ("variant", "run", "order") if c in rows.columns])
        if "calls" in rows.columns:
            calls = pd.to_numeric(rows["calls"], errors="coerce").astype("Float64").fillna(1.0)
            if (calls > 1).any():
                for column in ADDITIVE:
                    if column in rows.columns:
                        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype("Float64") / calls
        rows.insert(0, "variant", variant)
        rows.insert(1, "run", rows.groupby("variant", sort=False).cumcount().astype("i8"))
        rows.insert(2, "order", np.arange(len(rows), dtype="i8"))
        cmp = cls(rows, baseline, seed=seed, per_unit=per_unit)
        cmp.warn_failures("frugal.Comparison.from_frame")
        return cmp

    def warn_failures(self, where: str) -> None:
        """A ``RuntimeWarning`` per variant with failed runs, naming it and its errors."""
        for variant, failure in self.failures.items():
            warnings.warn(f"{where}: {failure.sentence(repr(variant))}", RuntimeWarning, stacklevel=3)

    def values(self, variant: str, metric: str) -> np.ndarray:
        """The successful runs' values of one metric (per unit when units were given)."""
        if metric not in self.frame.columns:
            raise ValueError(f"metric {metric!r} is not a column of the frame")
        key = (variant, metric)
        if key not in self._values:
            rows = self._ok.get(variant)
            if rows is None:
                return np.empty(0)
            v: npt.NDArray[np.float64] = rows[metric].to_numpy(dtype="f8", na_value=np.nan)
            if self.per_unit:
                # a run with no work done (units 0, or unknown) has no value per unit
                units: npt.NDArray[np.float64] = rows["units"].to_numpy(dtype="f8", na_value=np.nan)
                v = np.divide(v, units, out=np.full_like(v, np.nan), where=units > 0)
            self._values[key] = v[~np.isnan(v)]
        return self._values[key]

    def _medians(self) -> Medians[str]:
        """Bootstrap replicates of every variant's medians, as many as the family of ratios
        needs (``replicates_for``)."""
        if self._boot is None:
            m = sum(testable(self.values(v, metric), self.values(self.baseline, metric))
                    for v in self.variants if v != self.baseline for metric in self.metrics)
            self._boot = Medians(self.values, self.variants, stats.replicates_for(m, ALPHA), self.seed)
        return self._boot

    # --- tables ---------------------------------------------------------------------------

    def summary(self) -> Table:
        """Per variant and metric: successful runs ``n``, the ``median`` with its bootstrap
        95% CI (``ci_low``, ``ci_high``), in the metric's ``unit``, the coefficient of
        variation ``cv`` (standard deviation / mean), the ``failed`` runs and the variant's
        ``status`` ("ok", "partly failed", "failed"). ``attrs["warnings"]`` holds the warnings."""
        boot = self._medians()
        rows = []
        for variant in self.variants:
            failure = self.failures.get(variant)
            for metric in self.metrics:
                v = self.values(variant, metric)
                low, high = stats.percentile_interval(boot(variant, metric), CONFIDENCE) if len(v) else (math.nan,) * 2
                rows.append({"variant": variant, "metric": metric, "n": len(v),
                             "median": float(np.median(v)) if len(v) else math.nan,
                             "ci_low": low, "ci_high": high, "cv": stats.coefficient_of_variation(v),
                             "unit": unit_of(metric) + ("/unit" if self.per_unit else ""),
                             "failed": failure.failed if failure else 0,
                             "status": failure.status if failure else "ok"})
        return self._table(rows, ["variant", "metric", "n", "median", "ci_low", "ci_high", "cv", "unit",
                                  "failed", "status"])

    def ratios(self, alpha: float = ALPHA) -> Table:
        """Each variant against the baseline, per metric: the ``ratio`` of medians with its
        bootstrap interval (``ci_low``, ``ci_high``) at ``ci_level``, ``significant`` exactly
        when that interval excludes 1, an ``outcome`` and a one-sentence ``verdict``.

        Decisions control the false discovery rate at ``alpha`` over every ratio of the table
        (Benjamini-Hochberg), and the intervals are widened to match: all are shown at level
        1 - max(R, 1)·alpha/m for m ratios of which R differ (95% for one ratio alone). With
        fewer than 5 successful runs on a side the outcome is "too few runs" (no interval,
        the runs the spread would need in the verdict); a failed variant's outcome is
        "failed". The two-sided Mann-Whitney U ``p_value`` and Cliff's delta support the
        ratio; they decide nothing. ``n``/``n_baseline``: the successful runs compared.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
        boot = self._medians()
        samples = {(v, metric): (self.values(v, metric), self.values(self.baseline, metric))
                   for v in self.variants if v != self.baseline for metric in self.metrics}
        found = against_baseline(samples, lambda k: (boot(*k), boot(self.baseline, k[1])), alpha)
        rows: list[dict[str, Any]] = []
        for (variant, metric), r in found.items():
            outcome, sentence = self._verdict(variant, metric, r)
            rows.append({"variant": variant, "metric": metric, "baseline": self.baseline, "n": r.n[0],
                         "n_baseline": r.n[1], "ratio": r.ratio, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "ci_level": r.ci_level, "p_value": r.p_value,
                         "cliffs_delta": stats.cliffs_delta(*samples[variant, metric]),
                         "significant": r.significant, "outcome": outcome, "verdict": sentence})
        return self._table(rows, ["variant", "metric", "baseline", "n", "n_baseline", "ratio", "ci_low", "ci_high",
                                  "ci_level", "p_value", "cliffs_delta", "significant", "outcome", "verdict"])

    def _verdict(self, variant: str, metric: str, r: Ratio) -> tuple[str, str]:
        """(outcome, sentence): the engine's, unless the variant failed; failed runs on either
        side are named in the sentence."""
        failure = self.failures.get(variant)
        if failure is not None and failure.status == "failed":
            return FAILED, failure.sentence(variant)
        note = failure.sentence(variant) if failure is not None else ""
        base_failure = self.failures.get(self.baseline)
        if base_failure is not None:
            note = "; ".join(filter(None, [note, base_failure.sentence(self.baseline, "nothing can be compared "
                                                                                      "with it")]))
        return r.outcome, r.verdict(variant, self.baseline, metric, per_unit=self.per_unit, failure=note)

    def _table(self, rows: list[dict[str, Any]], columns: list[str]) -> Table:
        return table(rows, columns, self.warnings, per_unit=self.per_unit)

    def _find_warnings(self, notes: list[str]) -> list[str]:
        label = repr
        out = failed_runs(self.frame, "variant", label, self.errors) + notes + short_runs(self.frame, "variant", label)
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
            if 0 < n_ok[variant] < MIN_RUNS_CI:
                out.append(f"{variant!r} has only {n_ok[variant]} successful runs: its confidence "
                           f"intervals are rough ({MIN_RUNS_CI} or more advised)")
        few = [v for v in self.variants if 0 < n_ok[v] < MIN_RUNS]
        if few and len(self.variants) > 1:
            out.append(f"{', '.join(map(repr, few))} {'has' if len(few) == 1 else 'have'} fewer than {MIN_RUNS} "
                       f"successful runs: too few runs to tell a difference ({MIN_RUNS} or more each are needed)")
        return out

    def indicators(self) -> pd.DataFrame:
        """Frugality indicators per variant against the baseline (``frugal.indicators``)."""
        from frugal.analysis.indicators import indicators

        return indicators(self.frame, by="variant", baseline=self.baseline, errors=self.errors)

    def plot(self, metric: str = "energy_j") -> Any:
        """A chart of one metric per variant (``frugal.plot.compare``)."""
        from frugal.plot import compare as chart   # charts are drawn a layer above

        return chart(self, metric=metric)

    def __repr__(self) -> str:
        runs = self.frame.groupby("variant", sort=False).size()
        head = (f"<frugal.Comparison: {len(self.variants)} variants, {len(self.frame)} runs "
                f"({', '.join(f'{v}: {n}' for v, n in runs.items())}), baseline {self.baseline!r}>")
        verdicts = "".join(f"\n- {v}" for v in dict.fromkeys(self.ratios()["verdict"]))
        return head + verdicts + warnings_text(self.warnings)

    def _repr_html_(self) -> str:
        title = (f"<p><b>frugal.compare</b>: {len(self.variants)} variants, {len(self.frame)} runs, "
                 f"baseline <b>{html.escape(self.baseline)}</b>"
                 f"{' (cost per functional unit)' if self.per_unit else ''}</p>")
        summary = pd.DataFrame(self.summary()).to_html(index=False, escape=True)
        ratios = pd.DataFrame(self.ratios()).to_html(index=False, escape=True)
        return (f"<div class='frugal-comparison'>{title}<p>Summary (medians, 95% CI)</p>{summary}"
                f"<p>Against the baseline</p>{ratios}{warnings_html(self.warnings)}</div>")
