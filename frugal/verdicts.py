"""How ``Comparison`` and ``Scaling`` present themselves: plain-word verdicts, warnings about
failed and too-short runs, and tables that print their warnings under themselves. Numbers
are printed by ``frugal.units``, the one formatter.
"""
from __future__ import annotations

import html
import math
from collections import Counter
from typing import Any, Callable

import numpy as np
import pandas as pd

from frugal.runner import CLOCK_STEPS, cpu_clock_resolution, wall_clock_resolution
from frugal.units import format_p, format_quantity, format_ratio, label_of

METRICS = ("wall_s", "cpu_s", "peak_rss_bytes", "energy_j", "carbon_g", "embodied_g")
"""The columns summarised and compared (those with no value at all are skipped)."""

CONFIDENCE = 0.95     # level of every confidence interval


class Table(pd.DataFrame):  # type: ignore[misc]  # pandas has no type information here: DataFrame is Any
    """A DataFrame that shows the warnings in ``attrs["warnings"]`` under itself when printed."""

    @property
    def _constructor(self) -> Any:  # derived frames are plain DataFrames
        return pd.DataFrame

    def __repr__(self) -> str:
        return str(super().__repr__()) + warnings_text(self.attrs.get("warnings", []))

    def _repr_html_(self) -> str:
        return (str(pd.DataFrame(self).to_html(index=False, escape=True))
                + warnings_html(self.attrs.get("warnings", [])))


def table(rows: list[dict[str, Any]], columns: list[str], warnings: list[str], **attrs: Any) -> Table:
    """A Table of ``rows`` that shows ``warnings`` under itself; ``attrs`` join its ``attrs``."""
    out = Table(pd.DataFrame(rows, columns=columns))
    out.attrs["warnings"] = list(warnings)
    out.attrs.update(attrs)
    return out


def warnings_text(warnings: list[str]) -> str:
    """The warnings as lines under a printed table ('' when there are none)."""
    return "".join(["\n\nwarnings:"] + [f"\n- {w}" for w in warnings]) if warnings else ""


def warnings_html(warnings: list[str]) -> str:
    """The warnings as an HTML list ('' when there are none)."""
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<p><b>Warnings</b></p><ul>{items}</ul>"


def verdict(variant: str, baseline: str, metric: str, ratio: float, ci: tuple[float, float],
            p: float, significant: bool, per_unit: bool = False) -> str:
    """One plain sentence: how ``variant``'s median ``metric`` compares with ``baseline``'s."""
    noun = label_of(metric) + (" per unit" if per_unit else "")
    if not math.isfinite(ratio) or not math.isfinite(p):
        return f"cannot compare the {noun} of {variant} and {baseline}: not enough successful runs or a median of 0"
    ci_text = f"95% CI {format_ratio(ci[0])}-{format_ratio(ci[1])}" if math.isfinite(ci[0]) else "no CI"
    if significant:
        return f"{variant} uses {format_ratio(ratio)}x the {noun} of {baseline} ({ci_text}, {format_p(p)})"
    return (f"no significant difference in {noun} between {variant} and {baseline} "
            f"(ratio {format_ratio(ratio)}, {ci_text}, {format_p(p)})")


def metrics_of(frame: pd.DataFrame) -> list[str]:
    """The compared columns (``METRICS``) that hold at least one value in ``frame``."""
    return [m for m in METRICS if m in frame.columns
            and not np.isnan(frame[m].to_numpy(dtype="f8", na_value=np.nan)).all()]


def failed_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str]) -> list[str]:
    """One warning per group of ``key`` with failed runs: how many, and their errors."""
    out = []
    failed = frame[frame["status"] != "ok"]
    for value, group in failed.groupby(key, sort=False):
        errors: Counter[str] = Counter(str(e) for e in group["error"].fillna(group["status"]))
        kinds = ", ".join(f"{e} x{n}" if n > 1 else e for e, n in errors.items())
        total = int((frame[key] == value).sum())
        out.append(f"{len(group)} of {total} runs of {label(value)} failed ({kinds}): "
                   "they are left out of the statistics")
    return out


def short_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str]) -> list[str]:
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
                parts.append(f"{short} of {len(group)} under {format_quantity(CLOCK_STEPS * step, 's')} of "
                             f"{clock} time ({CLOCK_STEPS} steps of the {clock} clock's "
                             f"{format_quantity(step, 's')} resolution)")
        if parts:
            out.append(f"runs of {label(value)} are short for the clocks: {'; '.join(parts)}. A clock "
                       "step then exceeds 0.1% of a value and frugal's own overhead weighs: make each "
                       "run do more work (e.g. a loop inside it)")
    return out
