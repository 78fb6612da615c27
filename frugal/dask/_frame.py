"""The records the workers pushed, as DataFrames (pandas imported here only)."""
from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from frugal.frames.columns import ENERGY_FIELDS, ROW_DTYPE, Text, concat, raw_columns, text_of
from frugal.dask._wire import unpacked, unpacked_rows
from frugal.energy.row import TEXT_OUTPUTS
from frugal.frames.frame import frame_from_columns, int_array, string_array

LEADING = ("worker", "host", "key", "key_prefix")
TRAILING = ("rss_end_bytes",)


def incarnation_columns(inc: dict[str, Any]) -> dict[str, Any]:
    """Columns of one worker process's records, decoded with that process's clock anchor.

    Vectorised over the batches: a batch's rows have consecutive seqs from its ``seq``, and
    an energy message covers consecutive seqs from its own first one.
    """
    batches = [inc["rows"][s] for s in sorted(inc["rows"])]
    sizes = np.array([b["count"] for b in batches], dtype="i8")
    n = int(sizes.sum())
    starts = np.repeat(np.array([b["seq"] for b in batches], dtype="i8"), sizes)
    offsets = np.arange(n, dtype="i8") - np.repeat(np.cumsum(sizes) - sizes, sizes)
    seqs = starts + offsets                   # increasing: batches are taken in seq order
    parts = [unpacked_rows(b) for b in batches]
    # Names and error types travel as text: the worker's interning ids do not (they are 0).
    a = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=ROW_DTYPE)
    cols = raw_columns(a.tobytes(), {}, [""], [""], inc["pid"])
    prefixes = _prefixes([b["prefixes"] for b in batches], [p[2] for p in parts])
    cols["name"] = prefixes
    cols["error"] = text_of(list(chain.from_iterable(p[3] for p in parts)))
    epochs = np.repeat(np.array([b["epoch_ns"] for b in batches], dtype="i8"), sizes)
    cols["started_at"] = (a["t0_ns"] + epochs).astype("datetime64[ns]")

    for field in ENERGY_FIELDS:
        cols[field] = np.full(n, None if field in TEXT_OUTPUTS else np.nan,
                              dtype=object if field in TEXT_OUTPUTS else "f8")
    for first, values in inc["energy"].items():
        count = values["count"]
        wanted = first + np.arange(count, dtype="i8")
        where = np.minimum(np.searchsorted(seqs, wanted), max(n - 1, 0))
        keep = (seqs[where] == wanted) if n else np.zeros(count, dtype=bool)
        for field in ENERGY_FIELDS:
            cols[field][where[keep]] = unpacked(values, field)[keep]

    cols["rss_end_bytes"] = cols["rss_start_bytes"] + cols["rss_delta_bytes"]
    cols["worker"] = Text(np.zeros(n, dtype="u1"), [inc["worker"]])
    cols["host"] = Text(np.zeros(n, dtype="u1"), [inc["host"]])
    cols["key"] = np.array(list(chain.from_iterable(p[1] for p in parts)), dtype=object)
    cols["key_prefix"] = prefixes
    return cols


def _prefixes(labels: list[list[str]], codes: list[np.ndarray]) -> Text:
    """One text column from each batch's prefix labels and codes into them."""
    table: dict[str, int] = {}
    out = []
    for names, code in zip(labels, codes):
        remap = np.array([table.setdefault(name, len(table)) for name in names], dtype="i8")
        out.append(remap[code] if len(code) else np.zeros(0, dtype="i8"))
    joined = np.concatenate(out) if out else np.zeros(0, dtype="i8")
    return Text(joined, list(table))


def tracker_frame(incs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per task: leading task columns, Measurement's fields, then worker memory."""
    parts = [incarnation_columns(inc) for inc in incs if inc["rows"]]
    if parts:
        cols = concat(parts)
    else:
        cols = incarnation_columns({"rows": {}, "energy": {}, "pid": None, "worker": None, "host": None})
    frame = frame_from_columns(cols)
    for i, name in enumerate(LEADING):
        frame.insert(i, name, string_array(cols[name]))
    for name in TRAILING:
        frame[name] = int_array(cols[name])
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

