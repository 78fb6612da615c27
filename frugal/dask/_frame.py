"""The records the workers pushed, as DataFrames (pandas imported here only)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from frugal.columns import ENERGY_FIELDS, ROW_DTYPE, concat, raw_columns
from frugal.frame import frame_from_columns

LEADING = ("worker", "host", "key", "key_prefix")
TRAILING = ("rss_end_bytes",)
_TEXT = {"energy_method", "intensity_source"}


def _incarnation_columns(inc: dict[str, Any]) -> dict[str, Any]:
    """Columns of one worker process's records, decoded with that process's clock anchor."""
    batches = [inc["rows"][s] for s in sorted(inc["rows"])]
    seqs = [b["seq"] + i for b in batches for i in range(len(b["keys"]))]
    a = np.frombuffer(b"".join(b["rows"] for b in batches), dtype=ROW_DTYPE).copy()
    # Names and error types travel as text: the worker's interning tables stay there.
    a["name_id"] = 0
    a["error_id"] = 0
    a["parent_id"] = 0
    cols = raw_columns(a.tobytes(), {}, [""], [""], inc["pid"])
    n = len(a)
    prefixes = np.array([p for b in batches for p in b["prefixes"]], dtype=object)
    cols["name"] = prefixes
    cols["error"] = np.array([e for b in batches for e in b["errors"]], dtype=object)
    epochs = np.array([b["epoch_ns"] for b in batches for _ in b["keys"]], dtype="i8")
    cols["started_at"] = (a["t0_ns"] + epochs).astype("datetime64[ns]")

    position = {s: i for i, s in enumerate(seqs)}
    for field in ENERGY_FIELDS:
        cols[field] = np.full(n, None if field in _TEXT else np.nan,
                              dtype=object if field in _TEXT else "f8")
    for first, values in inc["energy"].items():
        where = np.array([position.get(first + j, -1) for j in range(len(values["energy_j"]))], dtype="i8")
        keep = where >= 0
        for field in ENERGY_FIELDS:
            if field in _TEXT:
                got = np.array(values[field], dtype=object)
            else:
                got = np.array([np.nan if v is None else v for v in values[field]], dtype="f8")
            cols[field][where[keep]] = got[keep]

    cols["rss_end_bytes"] = cols["rss_start_bytes"] + cols["rss_delta_bytes"]
    cols["worker"] = np.full(n, inc["worker"], dtype=object)
    cols["host"] = np.full(n, inc["host"], dtype=object)
    cols["key"] = np.array([k for b in batches for k in b["keys"]], dtype=object)
    cols["key_prefix"] = prefixes
    return cols


def tracker_frame(incs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per task: leading task columns, Measurement's fields, then worker memory."""
    parts = [_incarnation_columns(inc) for inc in incs if inc["rows"]]
    if parts:
        cols = concat(parts)
    else:
        cols = _incarnation_columns({"rows": {}, "energy": {}, "pid": None, "worker": None, "host": None})
    frame = frame_from_columns(cols)
    for i, name in enumerate(LEADING):
        frame.insert(i, name, pd.array([None if v is None else str(v) for v in cols[name]], dtype="string"))
    for name in TRAILING:
        frame[name] = pd.array(np.round(cols[name]), dtype="Float64").astype("Int64")
    return frame.sort_values("started_at", kind="stable").reset_index(drop=True)


_SUMS = ("wall_s", "cpu_s", "energy_cpu_j", "energy_ram_j", "energy_gpu_j", "energy_j",
         "carbon_g", "embodied_g")


def _totals(frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"tasks": len(frame), "errors": int((frame["status"] != "ok").sum())}
    for col in _SUMS:
        out[col] = frame[col].astype("f8").sum(min_count=1)
    out["peak_rss_bytes"] = frame["peak_rss_bytes"].max() if len(frame) else pd.NA
    return out


def summary_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Totals per key prefix, per worker and for the whole cluster, one row each."""
    rows, index = [], []
    for level in ("key_prefix", "worker"):
        for group, sub in frame.groupby(level, sort=True):
            rows.append(_totals(sub))
            index.append((level, group))
    rows.append(_totals(frame))
    index.append(("cluster", "all"))
    table = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["level", "group"]))
    table["peak_rss_bytes"] = table["peak_rss_bytes"].astype("Int64")
    return table

