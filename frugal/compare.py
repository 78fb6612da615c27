"""Compare the footprints of variants, and of one function over input sizes, with statistics.

``compare`` runs each variant many times, interleaved in a seeded random order, and gives
medians with bootstrap confidence intervals, ratios to a baseline, Mann-Whitney p-values and
plain-word verdicts. ``scaling`` measures one function over growing inputs and fits a power
law per metric. Every run is measured by ``frugal.measure``, so it also appears in
``frugal.results()`` like any measured region (named after its variant or function).
"""
from __future__ import annotations

import functools
import gc
import html
import inspect
import math
import numbers
import os
import random
import resource
import sys
import time
import zlib
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from frugal import stats
from frugal._hot import _qualname, measure
from frugal.errors import FrugalError
from frugal.frame import frame_from_columns
from frugal.measurement import FIELDS, Measurement
from frugal.stats import Fit

__all__ = ["Comparison", "Fit", "Scaling", "compare", "scaling"]

METRICS = ("wall_s", "cpu_s", "peak_rss_bytes", "energy_j", "carbon_g", "embodied_g")
"""The columns summarised and compared (those with no value at all are skipped)."""

ALPHA = 0.05          # significance level of the verdicts
CONFIDENCE = 0.95     # level of every confidence interval
CV_WARN = 0.10        # a coefficient of variation at or above this is warned about
MIN_RUNS_CI = 10      # fewer successful runs make a rough bootstrap interval
CLOCK_STEPS = 1000    # a run shorter than this many clock steps is "shorter than the clock resolves"
WALL_FLOOR_S = 1e-6   # the jitter of frugal's own probe reads: the wall clock's effective step

_UNITS = {"wall_s": "s", "cpu_s": "s", "peak_rss_bytes": "B", "energy_j": "J",
          "carbon_g": "gCO2e", "embodied_g": "gCO2e"}
_NOUNS = {"wall_s": "wall time", "cpu_s": "CPU time", "peak_rss_bytes": "peak memory",
          "energy_j": "energy", "carbon_g": "operational carbon", "embodied_g": "embodied carbon"}


# --- clocks ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def cpu_clock_resolution() -> float:
    """The smallest step of the CPU clock that ``measure`` reads (getrusage), in s, observed.

    Spins (at most 50 ms) until the process's user+system time has moved 50 times and keeps
    the smallest move. The kernel's reported unit is 1 µs; coarser on tick-based systems.
    """
    def now() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    steps: list[float] = []
    deadline = time.perf_counter() + 0.05
    last = now()
    while len(steps) < 50 and time.perf_counter() < deadline:
        t = now()
        if t != last:
            steps.append(round(t - last, 9))
            last = t
    return min(steps) if steps else 0.05


def wall_clock_resolution() -> float:
    """The wall clock's effective step in s: perf_counter's resolution, at least 1 µs
    (frugal's own probe reads at each end of a region jitter by about that much)."""
    return max(time.get_clock_info("perf_counter").resolution, WALL_FLOOR_S)


# --- argument checks -----------------------------------------------------------------

def _int_at_least(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _progress_flag(progress: Any) -> bool | None:
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be None, True or False, got {progress!r}")
    return progress


def _seed(seed: Any) -> int:
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    return _int_at_least("seed", seed, 0)


def _callable(what: str, fn: Any) -> Callable[[], Any]:
    if not callable(fn):
        raise ValueError(f"{what} must be callable, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise ValueError(f"{what} is an async function: pass a plain callable that runs it, "
                         "e.g. lambda: asyncio.run(f())")
    return fn


def _named_variants(variants: Any) -> dict[str, Callable[[], Any]]:
    if isinstance(variants, Mapping):
        items = list(variants.items())
    elif isinstance(variants, Iterable) and not isinstance(variants, (str, bytes)):
        items = []
        for fn in variants:
            _callable("each of variants", fn)
            items.append((getattr(fn, "__name__", None) or _qualname(fn), fn))
    else:
        raise ValueError(f"variants must be a dict of name -> callable or a list of callables, "
                         f"got {type(variants).__name__}")
    if not items:
        raise ValueError("variants is empty: give at least one callable")
    named: dict[str, Callable[[], Any]] = {}
    for name, fn in items:
        if not isinstance(name, str) or not name:
            raise ValueError(f"variants: names must be non-empty strings, got {name!r}")
        if name in named:
            raise ValueError(f"variants: two variants are named {name!r}; pass a dict to name them")
        named[name] = _callable(f"variants[{name!r}]", fn)
    return named


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    try:
        return float(value)
    except OverflowError:       # an int beyond a float's range
        raise ValueError(f"{name} must be a finite number > 0 (a float), got an int of "
                         f"{value.bit_length()} bits") from None


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
        return {n: _positive(f"units[{n!r}]", units[n]) for n in names}
    value = _positive("units", units)
    return dict.fromkeys(names, value)


def _sizes(sizes: Any) -> list[float]:
    try:
        values = list(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a sequence of positive numbers, got {type(sizes).__name__}") from None
    if len(values) < 2:
        raise ValueError(f"sizes needs two sizes at least to fit a power law, got {values!r}")
    for v in values:
        _positive("each of sizes", v)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"sizes must be strictly increasing, got {values!r}")
    return values


# --- running ---------------------------------------------------------------------------

class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, label: str, enabled: bool | None) -> None:
        if enabled is None:
            try:
                enabled = bool(sys.stderr is not None and sys.stderr.isatty())
            except (AttributeError, ValueError):
                enabled = False
        self.on = enabled
        self.total, self.done, self.label = total, 0, label
        self._last = -1.0
        self._width = 0

    def step(self, note: str = "") -> None:
        self.done += 1
        if not self.on:
            return
        now = time.perf_counter()
        if self.done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.total and 24 * self.done // self.total
        line = f"{self.label} [{'#' * filled}{'.' * (24 - filled)}] {self.done}/{self.total} {note}"
        sys.stderr.write("\r" + line + " " * max(0, self._width - len(line)))
        sys.stderr.flush()
        self._width = len(line)

    def close(self) -> None:
        if self.on and self._width:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _run_once(region: Any, fn: Callable[[], Any]) -> Measurement:
    """One measured run; an exception is recorded in the Measurement (status, error)."""
    try:
        with region:
            fn()
    except Exception:
        pass  # the region recorded it: status "error", error = the exception's type name
    try:
        return region.result
    except FrugalError:
        # the probes themselves failed (frugal warned): keep the run, say it was not measured
        nan = math.nan
        return Measurement(name=region.name, started_at=datetime.now(timezone.utc), wall_s=nan,
                           cpu_user_s=nan, cpu_system_s=nan, cpu_s=nan, cpu_util=None,
                           peak_rss_bytes=None, rss_delta_bytes=None, status="error",
                           error="FrugalError (not measured)", pid=os.getpid())


def _frame(keys: dict[str, list], runs: list[Measurement]) -> pd.DataFrame:
    """Key columns first, then every Measurement field, one row per run."""
    cols: dict[str, Any] = {f: [getattr(m, f) for m in runs] for f in FIELDS}
    cols["started_at"] = [m.started_at.astimezone(timezone.utc).replace(tzinfo=None) for m in runs]
    frame = frame_from_columns(cols)
    for position, (name, values) in enumerate(keys.items()):
        frame.insert(position, name, values)
    return frame


def _warmup_notes(failures: Counter, warmup: int) -> list[str]:
    return [f"{n} of {warmup} warm-up runs of {name!r} raised {err}" for (name, err), n in failures.items()]


def compare(variants: Mapping[str, Callable[[], Any]] | Iterable[Callable[[], Any]], repeat: int = 30,
            warmup: int = 3, baseline: str | None = None, units: float | Mapping[str, float] | None = None,
            interleave: bool = True, seed: int | None = None, progress: bool | None = None) -> "Comparison":
    """Measure each variant ``repeat`` times and compare their footprints.

    ``variants``: a dict of name -> zero-argument callable, or a list of callables (named
    after their ``__name__``). Each variant first runs ``warmup`` times unmeasured; then the
    ``repeat`` measured runs of all variants are interleaved in a random order drawn from
    ``seed`` (``interleave=False``: one variant after the other), so a machine that slows
    down or heats up weighs on every variant alike. ``units``: functional units of work done
    by one run (one number, or one per variant); when given, the statistics compare cost
    per unit. ``progress``: a bar on stderr, by default when stderr is a terminal.

    Time, CPU and memory are measured; energy and carbon are derived from them (measured by a
    meter where one exists, modelled otherwise: the ``energy_method`` column says which).
    A variant that raises is recorded with its error and the others go on; the
    Comparison's ``warnings`` say which runs failed. Every measured run also appears in
    ``frugal.results()`` under its variant's name; warm-up runs appear nowhere.
    """
    named = _named_variants(variants)
    repeat = _int_at_least("repeat", repeat, 2)
    warmup = _int_at_least("warmup", warmup, 0)
    if baseline is None:
        baseline = next(iter(named))
    elif baseline not in named:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(named)}")
    unit_of = _units_map(units, named)
    if not isinstance(interleave, bool):
        raise ValueError(f"interleave must be True or False, got {interleave!r}")
    seed = _seed(seed)
    order = [name for name in named for _ in range(repeat)]
    if interleave:
        random.Random(seed).shuffle(order)
    regions = {name: measure(name, units=unit_of[name]) for name in named}
    bar = _Progress(len(named) * warmup + len(order), "frugal.compare", _progress_flag(progress))
    failures: Counter = Counter()
    done: dict[str, list[tuple[int, Measurement]]] = {name: [] for name in named}
    try:
        for name, fn in named.items():
            for _ in range(warmup):
                try:
                    fn()
                except Exception as exc:
                    failures[name, type(exc).__name__] += 1
                bar.step(f"warm-up {name}")
        gc.collect()  # garbage left by the warm-ups is not any measured run's cost
        for position, name in enumerate(order):
            done[name].append((position, _run_once(regions[name], named[name])))
            bar.step(name)
    finally:
        bar.close()
    rows = [(name, run, position, m) for name in named for run, (position, m) in enumerate(done[name])]
    frame = _frame({"variant": pd.array([r[0] for r in rows], dtype="string"),
                    "run": np.array([r[1] for r in rows], dtype="i8"),
                    "order": np.array([r[2] for r in rows], dtype="i8")}, [r[3] for r in rows])
    return Comparison(frame, baseline, seed=seed, per_unit=units is not None,
                      notes=_warmup_notes(failures, warmup))


# --- presenting ------------------------------------------------------------------------

class _Table(pd.DataFrame):
    """A DataFrame that shows the warnings in ``attrs["warnings"]`` under itself when printed."""

    @property
    def _constructor(self):  # derived frames are plain DataFrames
        return pd.DataFrame

    def __repr__(self) -> str:
        return super().__repr__() + _warnings_text(self.attrs.get("warnings", []))

    def _repr_html_(self) -> str:
        return (pd.DataFrame(self).to_html(index=False, escape=True)
                + _warnings_html(self.attrs.get("warnings", [])))


def _warnings_text(warnings: list[str]) -> str:
    return "".join(["\n\nwarnings:"] + [f"\n- {w}" for w in warnings]) if warnings else ""


def _warnings_html(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<p><b>Warnings</b></p><ul>{items}</ul>"


def _ratio_decimals(r: float) -> int:
    """Two significant digits (three near 1, where small differences matter)."""
    if not math.isfinite(r) or r <= 0:
        return 2
    sig = 3 if 0.8 <= r < 1.25 else 2
    return max(0, sig - 1 - math.floor(math.log10(r)))


def _fmt_ratio(r: float, decimals: int | None = None) -> str:
    if not math.isfinite(r):
        return f"{r:g}"
    return f"{r:.{_ratio_decimals(r) if decimals is None else decimals}f}"


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _fmt_duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:g} {unit}"
    return f"{seconds * 1e9:g} ns"


def verdict(variant: str, baseline: str, metric: str, ratio: float, ci: tuple[float, float],
            p: float, significant: bool, per_unit: bool = False) -> str:
    """One plain sentence: how ``variant``'s median ``metric`` compares with ``baseline``'s."""
    noun = _NOUNS.get(metric, metric) + (" per unit" if per_unit else "")
    if not math.isfinite(ratio) or not math.isfinite(p):
        return f"cannot compare the {noun} of {variant} and {baseline}: not enough successful runs or a median of 0"
    d = _ratio_decimals(ratio)
    ci_text = f"95% CI {_fmt_ratio(ci[0], d)}-{_fmt_ratio(ci[1], d)}" if math.isfinite(ci[0]) else "no CI"
    if significant:
        return f"{variant} uses {_fmt_ratio(ratio)}x the {noun} of {baseline} ({ci_text}, {_fmt_p(p)})"
    return (f"no significant difference in {noun} between {variant} and {baseline} "
            f"(ratio {_fmt_ratio(ratio)}, {ci_text}, {_fmt_p(p)})")


def _metrics_of(frame: pd.DataFrame) -> list[str]:
    return [m for m in METRICS if m in frame.columns
            and not np.isnan(frame[m].to_numpy(dtype="f8", na_value=np.nan)).all()]


def _failed_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str]) -> list[str]:
    out = []
    failed = frame[frame["status"] != "ok"]
    for value, group in failed.groupby(key, sort=False):
        errors = Counter(str(e) for e in group["error"].fillna(group["status"]))
        kinds = ", ".join(f"{e} x{n}" if n > 1 else e for e, n in errors.items())
        total = int((frame[key] == value).sum())
        out.append(f"{len(group)} of {total} runs of {label(value)} failed ({kinds}): "
                   "they are left out of the statistics")
    return out


def _short_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str]) -> list[str]:
    """Runs whose wall or CPU time is under CLOCK_STEPS steps of its clock, one line per group."""
    out = []
    ok = frame[frame["status"] == "ok"]
    clocks = (("wall_s", "wall", wall_clock_resolution()), ("cpu_s", "CPU", cpu_clock_resolution()))
    for value, group in ok.groupby(key, sort=False):
        parts = []
        for column, clock, step in clocks:
            times = group[column].to_numpy(dtype="f8", na_value=np.nan)
            short = int((times < CLOCK_STEPS * step).sum())
            if short:
                parts.append(f"{short} of {len(group)} under {_fmt_duration(CLOCK_STEPS * step)} of "
                             f"{clock} time ({CLOCK_STEPS} steps of the {clock} clock's "
                             f"{_fmt_duration(step)} resolution)")
        if parts:
            out.append(f"runs of {label(value)} are short for the clocks: {'; '.join(parts)}. A clock "
                       "step then exceeds 0.1% of a value and frugal's own overhead weighs: make each "
                       "run do more work (e.g. a loop inside it)")
    return out


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
        self.seed = _int_at_least("seed", seed, 0)
        self.per_unit = bool(per_unit)
        if self.per_unit and "units" not in frame.columns:
            raise ValueError("frame lacks the column 'units' needed for per_unit=True")
        self.metrics: list[str] = _metrics_of(frame)
        self.warnings: list[str] = self._find_warnings(list(notes))

    def values(self, variant: str, metric: str) -> np.ndarray:
        """The successful runs' values of one metric (per unit when units were given)."""
        if metric not in self.frame.columns:
            raise ValueError(f"metric {metric!r} is not a column of the frame")
        rows = self.frame[(self.frame["variant"] == variant) & (self.frame["status"] == "ok")]
        v = rows[metric].to_numpy(dtype="f8", na_value=np.nan)
        if self.per_unit:
            # a run with no work done (units 0, or unknown) has no value per unit
            units = rows["units"].to_numpy(dtype="f8", na_value=np.nan)
            v = np.divide(v, units, out=np.full_like(v, np.nan), where=units > 0)
        return v[~np.isnan(v)]

    def summary(self) -> pd.DataFrame:
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
                             "unit": _UNITS.get(metric, "") + ("/unit" if self.per_unit else "")})
        return self._table(rows, ["variant", "metric", "n", "median", "ci_low", "ci_high", "cv", "unit"])

    def ratios(self, alpha: float = ALPHA) -> pd.DataFrame:
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

    def _table(self, rows: list[dict], columns: list[str]) -> pd.DataFrame:
        table = _Table(pd.DataFrame(rows, columns=columns))
        table.attrs["warnings"] = list(self.warnings)
        table.attrs["per_unit"] = self.per_unit
        return table

    def _find_warnings(self, notes: list[str]) -> list[str]:
        label = repr
        out = _failed_runs(self.frame, "variant", label) + notes + _short_runs(self.frame, "variant", label)
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
        from frugal.indicators import indicators

        return indicators(self.frame, by="variant", baseline=self.baseline)

    def plot(self, metric: str = "energy_j") -> Any:
        """A chart of one metric per variant (``frugal.plot.compare``)."""
        from frugal import plot

        return plot.compare(self, metric=metric)

    def __repr__(self) -> str:
        runs = self.frame.groupby("variant", sort=False).size()
        head = (f"<frugal.Comparison: {len(self.variants)} variants, {len(self.frame)} runs "
                f"({', '.join(f'{v}: {n}' for v, n in runs.items())}), baseline {self.baseline!r}>")
        verdicts = "".join(f"\n- {v}" for v in self.ratios()["verdict"])
        return head + verdicts + _warnings_text(self.warnings)

    def _repr_html_(self) -> str:
        title = (f"<p><b>frugal.compare</b>: {len(self.variants)} variants, {len(self.frame)} runs, "
                 f"baseline <b>{html.escape(self.baseline)}</b>"
                 f"{' (cost per functional unit)' if self.per_unit else ''}</p>")
        summary = pd.DataFrame(self.summary()).to_html(index=False, escape=True)
        ratios = pd.DataFrame(self.ratios()).to_html(index=False, escape=True)
        return (f"<div class='frugal-comparison'>{title}<p>Summary (medians, 95% CI)</p>{summary}"
                f"<p>Against the baseline</p>{ratios}{_warnings_html(self.warnings)}</div>")


# --- scaling ---------------------------------------------------------------------------

def scaling(func: Callable[[Any], Any], sizes: Iterable[float], make_input: Callable[[Any], Any],
            repeat: int = 5, warmup: int = 1, progress: bool | None = None, *,
            name: str | None = None, seed: int | None = None) -> "Scaling":
    """Measure ``func(make_input(n))`` for each size n and fit a power law per metric.

    ``sizes``: positive, strictly increasing (two at least). A fresh input is built by
    ``make_input(n)`` before every run, outside the measured region (``func`` may consume
    or mutate it). At each size, ``warmup`` unmeasured runs come first; then ``repeat``
    rounds each visit every size once, in an order drawn from ``seed``. Each run records
    ``units = n``. ``peak_rss_bytes`` is the process's peak during a run, so it includes the
    input already built. Runs are named ``name`` (default: ``func``'s qualified name) and also
    appear in ``frugal.results()``. A run that raises is recorded with its error; an
    exception from ``make_input`` stops the whole measurement (no run can be made without input).
    """
    _callable("func", func)
    _callable("make_input", make_input)
    sizes = _sizes(sizes)
    repeat = _int_at_least("repeat", repeat, 2)
    warmup = _int_at_least("warmup", warmup, 0)
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    name = name or _qualname(func)
    seed = _seed(seed)
    rng = random.Random(seed)
    bar = _Progress(len(sizes) * (warmup + repeat), "frugal.scaling", _progress_flag(progress))
    failures: Counter = Counter()
    done: dict[float, list[tuple[int, Measurement]]] = {n: [] for n in sizes}
    regions = {n: measure(name, units=n) for n in sizes}
    position = 0
    try:
        for n in sizes:
            for _ in range(warmup):
                data = make_input(n)
                try:
                    func(data)
                except Exception as exc:
                    failures[f"size {n:g}", type(exc).__name__] += 1
                del data
                bar.step(f"warm-up n={n:g}")
        gc.collect()
        for _ in range(repeat):
            for n in rng.sample(sizes, len(sizes)):
                data = make_input(n)
                done[n].append((position, _run_once(regions[n], functools.partial(func, data))))
                del data
                position += 1
                bar.step(f"n={n:g}")
    finally:
        bar.close()
    rows = [(n, run, pos, m) for n in sizes for run, (pos, m) in enumerate(done[n])]
    integral = all(isinstance(n, numbers.Integral) and n < 2**63 for n in sizes)   # else int64 overflows
    frame = _frame({"size": np.array([r[0] for r in rows], dtype="i8" if integral else "f8"),
                    "run": np.array([r[1] for r in rows], dtype="i8"),
                    "order": np.array([r[2] for r in rows], dtype="i8")}, [r[3] for r in rows])
    return Scaling(frame, name=name, seed=seed, notes=_warmup_notes(failures, warmup))


class Scaling:
    """The runs of one function over input sizes, and a power law fitted per metric.

    ``frame``: one row per run (``size``, ``run``, ``order``, then every Measurement field).
    ``exponent(metric)``: the fitted exponent k of ``metric ≈ c · size^k`` with its bootstrap
    95% CI and R²; ``predict(metric, size)``: the fitted value at another size (an
    extrapolation, as trustworthy as the fit and the range it came from).
    """

    def __init__(self, frame: pd.DataFrame, name: str | None = None, *, seed: int = 0,
                 notes: Iterable[str] = ()) -> None:
        missing = [c for c in ("size", "status") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}")
        self.frame = frame
        self.name = name if name is not None else str(frame["name"].iloc[0]) if "name" in frame else ""
        self.sizes: list[float] = sorted(float(s) for s in pd.unique(frame["size"]))
        self.seed = _int_at_least("seed", seed, 0)
        self.metrics: list[str] = _metrics_of(frame)
        label = lambda size: f"size {size:g}"  # noqa: E731
        self.warnings: list[str] = (_failed_runs(frame, "size", label) + list(notes)
                                    + _short_runs(frame, "size", label))

    def exponent(self, metric: str = "cpu_s") -> Fit:
        """The power law ``metric ≈ coefficient · size^exponent`` fitted on log-log axes
        through the median of each size (least squares), with a bootstrap 95% CI of the
        exponent over runs and R². Successful runs with a positive value only."""
        if metric not in self.frame.columns or metric in ("size", "run", "order"):
            raise ValueError(f"metric {metric!r} is not a measured column")
        ok = self.frame[self.frame["status"] == "ok"]
        try:
            values = ok[metric].to_numpy(dtype="f8", na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"metric {metric!r} is not numeric") from None
        try:
            return stats.fit_power_law(ok["size"].to_numpy(dtype="f8"), values, CONFIDENCE,
                                       seed=[self.seed, zlib.crc32(metric.encode())])
        except ValueError as exc:
            raise ValueError(f"metric {metric!r}: {exc}") from None

    def predict(self, metric: str, size: float | np.ndarray) -> float | np.ndarray:
        """The fitted power law's value of ``metric`` at ``size``, in the metric's unit."""
        return self.exponent(metric).predict(size)

    def fits(self) -> pd.DataFrame:
        """One row per metric that can be fitted: exponent, CI, R², coefficient, runs."""
        rows = []
        for metric in self.metrics:
            try:
                fit = self.exponent(metric)
            except ValueError:
                continue
            rows.append({"metric": metric, "exponent": fit.exponent, "ci_low": fit.ci_low,
                         "ci_high": fit.ci_high, "r2": fit.r2, "coefficient": fit.coefficient, "n": fit.n})
        table = _Table(pd.DataFrame(rows, columns=["metric", "exponent", "ci_low", "ci_high", "r2",
                                                   "coefficient", "n"]))
        table.attrs["warnings"] = list(self.warnings)
        return table

    def plot(self, metric: str = "cpu_s") -> Any:
        """A log-log chart of one metric against size with the fitted line (``frugal.plot.scaling``)."""
        from frugal import plot

        return plot.scaling(self, metric=metric)

    def __repr__(self) -> str:
        lines = [f"<frugal.Scaling of {self.name!r}: {len(self.frame)} runs over sizes "
                 f"{', '.join(f'{s:g}' for s in self.sizes)}>"]
        for _, row in self.fits().iterrows():
            lines.append(f"- {row['metric']} ~ size^{row['exponent']:.2f} "
                         f"(95% CI {row['ci_low']:.2f}-{row['ci_high']:.2f}, R² {row['r2']:.3f})")
        return "\n".join(lines) + _warnings_text(self.warnings)

    def _repr_html_(self) -> str:
        title = (f"<p><b>frugal.scaling</b> of <b>{html.escape(self.name)}</b>: {len(self.frame)} runs, "
                 f"sizes {html.escape(', '.join(f'{s:g}' for s in self.sizes))}</p>")
        fits = pd.DataFrame(self.fits()).to_html(index=False, escape=True)
        return f"<div class='frugal-scaling'>{title}{fits}{_warnings_html(self.warnings)}</div>"
