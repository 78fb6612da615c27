"""Measure one function over growing input sizes and fit a power law per metric (``scaling``).

Every run is measured by ``frugal.measure``, so it also appears in ``frugal.results()``.
"""
from __future__ import annotations

import functools
import gc
import html
import numbers
import random
import zlib
from collections import Counter
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from frugal import stats
from frugal._hot import _qualname, measure
from frugal._present import (CONFIDENCE, _failed_runs, _metrics_of, _short_runs, _Table,
                             _warnings_html, _warnings_text)
from frugal._runs import (_callable, _frame, _int_at_least, _positive, _progress_flag,
                          _run_once, _seed, _warmup_notes)
from frugal.measurement import Measurement
from frugal.progress import Progress
from frugal.stats import Fit

__all__ = ["Fit", "Scaling", "scaling"]


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
    bar = Progress(len(sizes) * (warmup + repeat), "frugal.scaling", _progress_flag(progress), keep=True)
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
