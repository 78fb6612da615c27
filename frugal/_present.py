"""How ``Comparison`` and ``Scaling`` present themselves: plain-word verdicts, number formats,
warnings about failed and too-short runs, and tables that print their warnings under themselves.
"""
from __future__ import annotations

import html
import math
from collections import Counter
from typing import Any, Callable

import numpy as np
import pandas as pd

from frugal._runs import CLOCK_STEPS, cpu_clock_resolution, wall_clock_resolution

METRICS = ("wall_s", "cpu_s", "peak_rss_bytes", "energy_j", "carbon_g", "embodied_g")
"""The columns summarised and compared (those with no value at all are skipped)."""

CONFIDENCE = 0.95     # level of every confidence interval

_UNITS = {"wall_s": "s", "cpu_s": "s", "peak_rss_bytes": "B", "energy_j": "J",
          "carbon_g": "gCO2e", "embodied_g": "gCO2e"}
_NOUNS = {"wall_s": "wall time", "cpu_s": "CPU time", "peak_rss_bytes": "peak memory",
          "energy_j": "energy", "carbon_g": "operational carbon", "embodied_g": "embodied carbon"}


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
