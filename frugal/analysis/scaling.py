"""Measure one function over growing input sizes; fit a power law and the usual complexity
classes per metric (``scaling``).

Every run is measured by ``frugal.measure`` through the one run loop (``frugal.analysis.runner``), so
it also appears in ``frugal.results()``.
"""
from __future__ import annotations

import functools
import html
import numbers
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from frugal import stats
from frugal.core.measure import measure, qualified_name
from frugal.measurement import Measurement
from frugal.analysis.runner import attempt, check_runnable, check_seed, run_once, run_plan, runs_frame
from frugal.stats import CLASS_TIE, Fit
from frugal.validate import check_int, check_number, check_text
from frugal.analysis.verdicts import CONFIDENCE, Table, failed_runs, metrics_of, short_runs, table, warnings_html, warnings_text

__all__ = ["Complexity", "Scaling", "scaling"]


def _sizes(sizes: Any) -> list[float]:
    try:
        values = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of positive numbers, got {type(sizes).__name__}") from None
    if len(values) < 2:
        raise ValueError(f"sizes needs two sizes at least to fit a power law, got {values!r}")
    for v in values:
        check_number("each of sizes", v, low_open=True)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"sizes must be strictly increasing, got {values!r}")
    return values


def _fits_int64(n: object) -> bool:
    """True for a whole number (an int, a numpy integer...) that int64 holds."""
    return isinstance(n, numbers.Integral) and n < 2**63


def scaling(func: Callable[[Any], Any], sizes: Iterable[float], make_input: Callable[[Any], Any],
            repeat: int = 5, warmup: int = 1, progress: bool | None = None, *,
            name: str | None = None, seed: int | None = None) -> Scaling:
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
    check_runnable("func", func)
    check_runnable("make_input", make_input)
    sizes = _sizes(sizes)
    repeat = check_int("repeat", repeat, 2)
    warmup = check_int("warmup", warmup, 0)
    name = check_text("name", name, optional=True) or qualified_name(func)
    seed = check_seed(seed)
    regions = {n: measure(name, units=n) for n in sizes}

    def run(n: float) -> Measurement:
        data = make_input(n)        # built outside the region; freed before the next run
        return run_once(regions[n], functools.partial(func, data))

    def warm(n: float) -> Exception | None:
        data = make_input(n)        # an input that cannot be made stops the whole measurement
        return attempt(functools.partial(func, data))

    runs = run_plan(sizes, run, warm, repeat=repeat, warmup=warmup, seed=seed, progress=progress,
                    label="frugal.scaling", describe=lambda n: f"size {n:g}")
    rows = runs.rows()
    integral = all(_fits_int64(n) for n in sizes)   # else int64 overflows
    frame = runs_frame({"size": np.array([r[0] for r in rows], dtype="i8" if integral else "f8"),
                        "run": np.array([r[1] for r in rows], dtype="i8"),
                        "order": np.array([r[2] for r in rows], dtype="i8")}, [r[3] for r in rows])
    return Scaling(frame, name=name, seed=seed, notes=runs.notes)


@dataclass(frozen=True)
class Complexity:
    """The complexity classes fitted to one metric of a ``Scaling``, best first.

    ``best``: the class that fits best (``"n log n"``); ``fits``: a table of every class
    tried, with its ``coefficient`` (the metric's unit per g(size)), ``residual`` (root mean
    square of the log residuals), ``r2`` and ``share`` (how often it fitted best when the runs
    were resampled); ``alike``: the other classes that fit about as well; ``warning``: a
    sentence saying so, or None.
    """

    metric: str
    best: str
    fits: Table
    alike: tuple[str, ...]
    warning: str | None

    @classmethod
    def of(cls, metric: str, fits: list[stats.ClassFit], sizes: list[float], notes: list[str]) -> Complexity:
        best = fits[0]
        alike = tuple(f.name for f in fits[1:]
                      if f.share >= 0.05 or f.residual - best.residual < CLASS_TIE)
        warning = None
        if alike:
            warning = (f"{metric}: {' and '.join((best.name,) + alike)} fit about as well over sizes "
                       f"{sizes[0]:g} to {sizes[-1]:g} ({best.name} best in {best.share:.0%} of resamples, "
                       f"residuals {', '.join(f'{f.residual:.1%}' for f in fits[:1 + len(alike)])}): "
                       "measure over a wider range of sizes, or more runs, to tell them apart")
        rows = [{"class": f.name, "coefficient": f.coefficient, "residual": f.residual, "r2": f.r2,
                 "share": f.share} for f in fits]
        table_ = table(rows, ["class", "coefficient", "residual", "r2", "share"],
                       list(notes) + ([warning] if warning else []))
        return cls(metric, best.name, table_, alike, warning)

    def __str__(self) -> str:
        row = self.fits.iloc[0]
        return (f"{self.metric} ~ {self.best} (residual {row['residual']:.1%}, R² {row['r2']:.3f}"
                + (f"; {', '.join(self.alike)} fit about as well" if self.alike else "") + ")")

    def __repr__(self) -> str:
        return f"<frugal.Complexity {self}>\n{self.fits!r}"


class Scaling:
    """The runs of one function over input sizes, and a power law fitted per metric.

    ``frame``: one row per run (``size``, ``run``, ``order``, then every Measurement field).
    ``exponent(metric)``: the fitted exponent k of ``metric ≈ c · size^k`` with its bootstrap
    95% CI and R²; ``complexity(metric)``: the complexity class that fits best (``.best``);
    ``predict(metric, size)``: the fitted value at another size (an extrapolation, as
    trustworthy as the fit and the range it came from).
    """

    def __init__(self, frame: pd.DataFrame, name: str | None = None, *, seed: int = 0,
                 notes: Iterable[str] = ()) -> None:
        missing = [c for c in ("size", "status") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}")
        self.frame = frame
        self.name = name if name is not None else str(frame["name"].iloc[0]) if "name" in frame else ""
        self.sizes: list[float] = sorted(float(s) for s in pd.unique(frame["size"]))
        self.seed = check_int("seed", seed, 0)
        self.metrics: list[str] = metrics_of(frame)

        def label(size: float) -> str:
            return f"size {size:g}"

        self.warnings: list[str] = (failed_runs(frame, "size", label, left_out="the fits leave this size out",
                                                kept="the fits use its {ok} successful runs") + list(notes)
                                    + short_runs(frame, "size", label))

    def _runs(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(sizes, values) of the successful runs, one entry per run."""
        if metric not in self.frame.columns or metric in ("size", "run", "order"):
            raise ValueError(f"metric {metric!r} is not a measured column")
        ok = self.frame[self.frame["status"] == "ok"]
        try:
            values = ok[metric].to_numpy(dtype="f8", na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"metric {metric!r} is not numeric") from None
        return ok["size"].to_numpy(dtype="f8"), values

    def exponent(self, metric: str = "cpu_s") -> Fit:
        """The power law ``metric ≈ coefficient · size^exponent`` fitted on log-log axes
        through the median of each size (least squares), with a bootstrap 95% CI of the
        exponent over runs and R². Successful runs with a positive value only."""
        sizes, values = self._runs(metric)
        try:
            return stats.fit_power_law(sizes, values, CONFIDENCE, seed=[self.seed, zlib.crc32(metric.encode())])
        except ValueError as exc:
            raise ValueError(f"metric {metric!r}: {exc}") from None

    def complexity(self, metric: str = "cpu_s") -> Complexity:
        """Which of the usual complexity classes (1, log n, n, n log n, n^2, n^3, and 2^n
        when every size is at most 1000) fits ``metric`` best: ``value ≈ c · g(size)`` by
        least squares on the logarithms of the median per size (``frugal.stats.fit_classes``).

        Returns a ``Complexity``: ``.best`` (e.g. ``"n log n"``), ``.fits`` (class,
        coefficient, residual, R², bootstrap share) and ``.warning`` when another class fits
        about as well over these sizes (it is also issued as a ``RuntimeWarning``).
        """
        result = self._complexity(metric)
        if result.warning:
            warnings.warn(f"frugal.scaling of {self.name!r}: {result.warning}", RuntimeWarning, stacklevel=2)
        return result

    def _complexity(self, metric: str) -> Complexity:
        sizes, values = self._runs(metric)
        try:
            fits = stats.fit_classes(sizes, values, seed=[self.seed, zlib.crc32(metric.encode()), 1])
        except ValueError as exc:
            raise ValueError(f"metric {metric!r}: {exc}") from None
        return Complexity.of(metric, fits, self.sizes, self.warnings)

    def predict(self, metric: str, size: float | np.ndarray) -> float | np.ndarray:
        """The fitted power law's value of ``metric`` at ``size``, in the metric's unit."""
        return self.exponent(metric).predict(size)

    def fits(self) -> Table:
        """One row per metric that can be fitted: exponent, CI, R², coefficient, runs, and the
        complexity class that fits best (``class``, with ``alike``: those that fit about as well)."""
        rows = []
        for metric in self.metrics:
            try:
                fit = self.exponent(metric)
                cx = self._complexity(metric)
            except ValueError:
                continue
            rows.append({"metric": metric, "exponent": fit.exponent, "ci_low": fit.ci_low,
                         "ci_high": fit.ci_high, "r2": fit.r2, "coefficient": fit.coefficient, "n": fit.n,
                         "class": cx.best, "alike": ", ".join(cx.alike)})
        return table(rows, ["metric", "exponent", "ci_low", "ci_high", "r2", "coefficient", "n", "class", "alike"],
                     self.warnings)

    def plot(self, metric: str = "cpu_s") -> Any:
        """A log-log chart of one metric against size with the fitted line (``frugal.plot.scaling``)."""
        from frugal.plot import scaling as chart   # charts are drawn a layer above

        return chart(self, metric=metric)

    def __repr__(self) -> str:
        lines = [f"<frugal.Scaling of {self.name!r}: {len(self.frame)} runs over sizes "
                 f"{', '.join(f'{s:g}' for s in self.sizes)}>"]
        for _, row in self.fits().iterrows():
            alike = f", or {row['alike']}" if row["alike"] else ""
            lines.append(f"- {row['metric']} ~ size^{row['exponent']:.2f} "
                         f"(95% CI {row['ci_low']:.2f}-{row['ci_high']:.2f}, R² {row['r2']:.3f}): "
                         f"{row['class']}{alike}")
        return "\n".join(lines) + warnings_text(self.warnings)

    def _repr_html_(self) -> str:
        title = (f"<p><b>frugal.scaling</b> of <b>{html.escape(self.name)}</b>: {len(self.frame)} runs, "
                 f"sizes {html.escape(', '.join(f'{s:g}' for s in self.sizes))}</p>")
        fits = pd.DataFrame(self.fits()).to_html(index=False, escape=True)
        return f"<div class='frugal-scaling'>{title}{fits}{warnings_html(self.warnings)}</div>"
