"""From what a chart is given (a frame, a Comparison, a Scaling) to the numbers it draws."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from frugal import stats
from frugal.analysis.indicators import check_values
from frugal.frames.frame import floats
from frugal.plot._style import ADDITIVE


def unpack(obj: Any, argument: str) -> tuple[pd.DataFrame, Any | None]:
    """(frame, owner): a DataFrame as is, or the ``.frame`` of a Comparison or Scaling."""
    if isinstance(obj, pd.DataFrame):
        return obj, None
    frame = getattr(obj, "frame", None)
    if isinstance(frame, pd.DataFrame):
        return frame, obj
    raise TypeError(f"{argument} must be a pandas DataFrame or an object with a .frame DataFrame "
                    f"(frugal.Comparison, frugal.Scaling), got {type(obj).__name__}")


def group_column(frame: pd.DataFrame, by: str | None) -> str:
    """``by``, or ``variant`` when the frame has it (a Comparison's frame), else ``name``."""
    if by is None:
        by = "variant" if "variant" in frame.columns else "name"
    if by not in frame.columns:
        raise ValueError(f"by={by!r}: the frame has no such column")
    return by


def given_table(table: Any, by: str, chart: str) -> pd.DataFrame:
    """An indicators table handed to a chart: ``frugal.indicators`` of the same grouping, or an error naming it."""
    if not isinstance(table, pd.DataFrame) or "grade_scale" not in table.attrs:
        raise TypeError(f"{chart}(table=...) must be a frugal.indicators table, got {type(table).__name__}")
    if table.attrs.get("by") != by:
        raise ValueError(f"{chart}(table=...) is grouped by {table.attrs.get('by')!r}, not by {by!r}")
    return table


def need(frame: pd.DataFrame, *columns: str) -> None:
    """``ValueError`` naming the first missing column; then the value checks of indicators."""
    for col in columns:
        if col not in frame.columns:
            raise ValueError(f"the frame has no column {col!r}")
    check_values(frame)


def per_call(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """The metric of each row for one call: totals of summary rows divided by their calls."""
    values = floats(frame[metric])
    if metric in ADDITIVE and "calls" in frame.columns:
        values = values / floats(frame["calls"])
    return values


def medians(frame: pd.DataFrame, metric: str, by: str, n_boot: int = stats.N_BOOT,
            seed: int = 0) -> pd.DataFrame:
    """Per group: n, median of the per-call metric over the successful runs and its 95%
    bootstrap CI (frugal.stats). ``attrs["per"]`` says what one value is for ("call")."""
    values = np.where(successful(frame), per_call(frame, metric), np.nan)
    out = []
    for group, idx in frame.groupby(by, sort=False, dropna=False).indices.items():
        v = values[idx]
        v = v[np.isfinite(v)]
        low, high = stats.bootstrap_median_ci(v, n_boot=n_boot, seed=seed) if len(v) > 1 else (np.nan, np.nan)
        out.append({by: group, "n": len(v), "median": float(np.median(v)) if len(v) else np.nan,
                    "ci_low": low, "ci_high": high})
    table = pd.DataFrame(out)
    table.attrs["per"] = "call" if metric in ADDITIVE else ""
    return table


def successful(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose status is "ok" (every row when the frame has no status column)."""
    if "status" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    ok: np.ndarray = (frame["status"].astype("string") == "ok").fillna(False).to_numpy(dtype=bool)
    return ok


def comparison_medians(cmp: Any, frame: pd.DataFrame, metric: str, by: str) -> pd.DataFrame:
    """The Comparison's own summary for ``metric`` when it has one, else computed from its frame."""
    summary = getattr(cmp, "summary", None)
    if by == "variant" and callable(summary):
        table = summary()
        if isinstance(table, pd.DataFrame) and {"variant", "metric", "median"} <= set(table.columns):
            rows = table[table["metric"] == metric]
            if len(rows):
                rows = rows.rename(columns={"variant": by})
                for col in ("n", "ci_low", "ci_high"):
                    if col not in rows.columns:
                        rows[col] = np.nan
                rows = rows[[by, "n", "median", "ci_low", "ci_high"]].reset_index(drop=True)
                per_unit = bool(getattr(cmp, "per_unit", False))
                rows.attrs["per"] = "unit" if per_unit else ("call" if metric in ADDITIVE else "")
                return rows
    return medians(frame, metric, by)
