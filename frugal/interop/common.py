"""What every export shares: the frame of what was given, and its rows as plain records, one
per measurement or one per name (that name's totals)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from frugal.frames.frame import floats

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
PER = ("measurement", "name")
# the sums of a name's rows (None where a row of the name does not know the value)
_SUMMED = ("wall_s", "cpu_s", "energy_cpu_j", "energy_ram_j", "energy_gpu_j", "energy_j", "carbon_g",
           "embodied_g", "units", "calls")
_TEXT = ("run_id", "platform", "python", "cpu", "scope", "energy_method", "git_commit")


@dataclass(frozen=True)
class Record:
    """One row of an export: a measurement, or a name's measurements summed (``rows`` of them).

    Numbers are None where frugal does not know them (never 0 in their place); ``unit`` is the
    functional unit the per-unit figures of this name count (``"unit"`` or ``"call"``, as
    ``frugal.indicators`` decides it: units when every row of the name has them) and
    ``work`` how many of them this record stands for."""

    name: str
    started_at: datetime            # UTC
    ended_at: datetime              # UTC: the last end of the record's rows
    values: dict[str, float | None]
    text: dict[str, str | None]
    rows: int
    unit: str
    work: float

    def get(self, field: str) -> float | None:
        return self.values.get(field)


def frame_of(data: Any, argument: str) -> pd.DataFrame:
    """The frame of ``data``: a DataFrame of frugal's columns, or a ``Comparison`` (its frame).
    Raises ``TypeError``/``ValueError`` naming ``argument``."""
    frame = getattr(data, "frame", data) if not isinstance(data, pd.DataFrame) else data
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{argument} must be a frame of frugal.results() or frugal.load(), or a Comparison, "
                        f"got {type(data).__name__}")
    missing = [c for c in ("name", "started_at", "wall_s", "energy_j", "carbon_g") if c not in frame.columns]
    if missing:
        raise ValueError(f"{argument}: the frame has no column {', '.join(map(repr, missing))} "
                         "(give a frame of frugal.results(), frugal.load() or frugal.load_codecarbon())")
    if len(frame) == 0:
        raise ValueError(f"{argument}: the frame has no rows")
    return frame


def check_per(per: Any) -> str:
    if per not in PER:
        raise ValueError(f"per must be one of {', '.join(map(repr, PER))}, got {per!r}")
    return str(per)


def _value(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _sum(values: np.ndarray) -> float | None:
    # a total with an unknown part is unknown: a partial sum would pass for the whole
    return None if len(values) == 0 or np.isnan(values).any() else float(values.sum())


def _texts(frame: pd.DataFrame, col: str) -> list[str | None]:
    if col not in frame.columns:
        return [None] * len(frame)
    return [None if v is None or v is pd.NA or v != v else str(v) for v in frame[col].to_numpy(dtype=object)]


def records(frame: pd.DataFrame, per: str) -> list[Record]:
    """The rows of ``frame`` as records, in the frame's order (per name: in order of first
    appearance); failed rows are kept: the energy they spent was spent."""
    # whole microseconds (what a datetime holds), from the nanoseconds without a float between
    ns = pd.to_datetime(frame["started_at"], utc=True).to_numpy(dtype="datetime64[ns]").astype("i8")
    start = [_EPOCH + timedelta(microseconds=t) for t in (ns // 1000).tolist()]
    cols = {c: floats(frame[c]) if c in frame.columns else np.full(len(frame), np.nan) for c in _SUMMED}
    calls = cols["calls"]
    cols["calls"] = np.where(np.isnan(calls), 1.0, calls)        # a frame without calls: one each
    wall = cols["wall_s"]
    ends = [s + timedelta(seconds=0.0 if math.isnan(w) else float(w)) for s, w in zip(start, wall.tolist())]
    text = {c: _texts(frame, c) for c in _TEXT}
    names = _texts(frame, "name")
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name if name is not None else "", []).append(i)
    unit_of: dict[str, str] = {}
    for name, idx in groups.items():
        unit_of[name] = "unit" if np.isfinite(cols["units"][idx]).all() else "call"
    out = []
    if per == "measurement":
        for i, name in enumerate(names):
            key = name if name is not None else ""
            values = {c: _value(cols[c][i]) for c in _SUMMED}
            unit = unit_of[key]
            work = values["units"] if unit == "unit" else values["calls"]
            out.append(Record(key, start[i], ends[i], values, {c: text[c][i] for c in _TEXT}, 1, unit,
                              float(work or 0.0)))
        return out
    for name, idx in groups.items():
        values = {c: _sum(cols[c][idx]) for c in _SUMMED}
        unit = unit_of[name]
        work = values["units"] if unit == "unit" else values["calls"]
        common = {c: shared([text[c][i] for i in idx]) for c in _TEXT}
        out.append(Record(name, min(start[i] for i in idx), max(ends[i] for i in idx), values, common,
                          len(idx), unit, float(work or 0.0)))
    return out


def shared(values: list[str | None]) -> str | None:
    """The value every row has, else None (a name measured on two machines has no one CPU)."""
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


def utc_text(when: datetime) -> str:
    """ISO 8601 in UTC, to the microsecond, with its offset: no reader takes it for local time."""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")
