"""CodeCarbon's ``emissions.csv``, both ways: frugal's measurements written in its 38 columns
(``codecarbon_csv``), and a file that CodeCarbon wrote read as a frugal frame
(``load_codecarbon``). CodeCarbon itself is not needed for either: its columns are data here.
"""
from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from frugal.energy.row import J_PER_KWH
from frugal.files import as_path
from frugal.frames.frame import floats, frame_from_columns
from frugal.interop.common import Record, records, utc_text

# CodeCarbon 3.3.2's EmissionsData, in its order (tests/test_export.py holds them equal).
# Units: duration s, emissions kg CO2e, emissions_rate kg/s, *_power W, *_energy and
# energy_consumed kWh, water_consumed L, ram_total_size and ram_used_gb GB.
COLUMNS = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)
# What makes a file CodeCarbon's (every 2.x and 3.x file has them); a name column is needed too.
REQUIRED = ("timestamp", "duration", "emissions", "energy_consumed")
NAME_COLUMNS = ("task_name", "project_name")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_PARTS = (("energy_cpu_j", "cpu_energy", "cpu_power"), ("energy_gpu_j", "gpu_energy", "gpu_power"),
          ("energy_ram_j", "ram_energy", "ram_power"))


def _number(x: float | None) -> str:
    # repr: the shortest text that reads back as the same float; unknown is an empty cell
    return "" if x is None else repr(float(x))


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den <= 0 else num / den


def _row(r: Record) -> dict[str, str]:
    """One CSV row: what frugal knows, in CodeCarbon's units; what it does not know is empty."""
    wall, energy = r.get("wall_s"), r.get("energy_j")
    carbon = r.get("carbon_g")
    emissions = None if carbon is None else carbon / 1000.0
    row = dict.fromkeys(COLUMNS, "")
    row.update({
        "timestamp": utc_text(r.ended_at),       # CodeCarbon stamps a run when it ends
        "project_name": r.name,
        "run_id": r.text["run_id"] or "",
        "duration": _number(wall),
        "emissions": _number(emissions),
        "emissions_rate": _number(_ratio(emissions, wall)),
        "energy_consumed": _number(None if energy is None else energy / J_PER_KWH),
        "os": r.text["platform"] or "",
        "python_version": r.text["python"] or "",
        "cpu_model": r.text["cpu"] or "",
        "tracking_mode": "process" if r.text["scope"] == "process" else "",
    })
    parts = 0.0
    for field, energy_col, power_col in _PARTS:
        joules = r.get(field)
        row[energy_col] = _number(None if joules is None else joules / J_PER_KWH)
        row[power_col] = _number(_ratio(joules, wall))       # the mean power over the region
        parts += joules or 0.0
    # energy_j is the parts' sum times the PUE in force: the PUE is that ratio
    row["pue"] = _number(_ratio(energy, parts))
    return row


def codecarbon_csv(frame: pd.DataFrame, per: str) -> str:
    """The text of an ``emissions.csv``: CodeCarbon's columns in its order, one row per
    measurement (``per="measurement"``) or per name (that name's totals)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in records(frame, per):
        writer.writerow(_row(r))
    return out.getvalue()


# --- reading CodeCarbon's file --------------------------------------------------------------

def _ends(stamps: Any, path: Path) -> np.ndarray:
    """CodeCarbon's timestamps (the end of each run) as UTC nanoseconds. CodeCarbon writes
    ``datetime.now()``, local time without an offset: a naive time is read in this machine's
    time zone, a time with an offset as it says."""
    out = np.empty(len(stamps), dtype="i8")
    for i, text in enumerate(stamps):
        try:
            stamp = str(text).strip()
            # Python 3.10's fromisoformat reads no "Z"
            when = datetime.fromisoformat(stamp[:-1] + "+00:00" if stamp.endswith("Z") else stamp)
        except ValueError:
            raise ValueError(f"load_codecarbon(path={str(path)!r}): row {i + 2} has a timestamp that is not "
                             f"an ISO 8601 time: {text!r}") from None
        # naive: local time (astimezone); whole microseconds, no float on the way
        out[i] = (when.astimezone(timezone.utc) - _EPOCH) // timedelta(microseconds=1) * 1000
    return out


def _names(raw: pd.DataFrame) -> np.ndarray:
    names = np.full(len(raw), None, dtype=object)
    for col in reversed(NAME_COLUMNS):          # task_name first where a row has one
        if col in raw.columns:
            values = raw[col].to_numpy(dtype=object)
            known = np.array([v is not None and v == v and str(v).strip() != "" for v in values], dtype=bool)
            names[known] = [str(v) for v in values[known]]
    return names


def load_codecarbon(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CodeCarbon ``emissions.csv`` (any 2.x or 3.x column set) as a frame of frugal's columns.

    One row per CodeCarbon row: ``name`` is its ``task_name``, else its ``project_name``;
    ``wall_s`` its ``duration``; ``energy_j``, ``energy_cpu_j``, ``energy_gpu_j``,
    ``energy_ram_j`` its kWh x 3.6e6; ``carbon_g`` its kg x 1000; ``intensity_g_per_kwh``
    their ratio; ``started_at`` its timestamp (the run's end, local time when it has no
    offset) minus the duration; ``energy_method="codecarbon"``; ``run_id`` CodeCarbon's run and
    ``source`` the file. What CodeCarbon does not record (CPU time, memory, embodied carbon,
    units) is NaN. The frame is accepted by ``frugal.indicators()`` and ``frugal.report()``.

    Raises ``ValueError`` naming the missing columns when the file is not CodeCarbon's.
    """
    file = as_path(path, "load_codecarbon(path=...)")
    if not file.is_file():
        raise ValueError(f"load_codecarbon(path=...): {file} is not a file")
    try:
        raw = pd.read_csv(file, dtype=object, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"load_codecarbon(path={str(file)!r}) is not a CodeCarbon CSV file: {exc}") from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if not any(c in raw.columns for c in NAME_COLUMNS):
        missing.append(" or ".join(NAME_COLUMNS))
    if missing:
        raise ValueError(f"load_codecarbon(path={str(file)!r}) is not a CodeCarbon emissions file: it has no "
                         f"column {', '.join(map(repr, missing))}")
    n = len(raw)
    nan = np.full(n, np.nan)

    def kwh_as_j(col: str) -> np.ndarray:
        return floats(raw[col]) * J_PER_KWH if col in raw.columns else nan.copy()

    wall = floats(raw["duration"])
    energy = kwh_as_j("energy_consumed")
    carbon = floats(raw["emissions"]) * 1000.0
    ends = _ends(raw["timestamp"].to_numpy(dtype=object), file)
    started = ends - np.where(np.isnan(wall), 0, np.rint(wall * 1e9)).astype("i8")
    modes = raw["tracking_mode"].to_numpy(dtype=object) if "tracking_mode" in raw.columns else np.full(n, None)
    cols: dict[str, Any] = {
        "name": _names(raw),
        "started_at": started.astype("datetime64[ns]"),
        "wall_s": wall, "cpu_user_s": nan, "cpu_system_s": nan, "cpu_s": nan, "cpu_util": nan,
        "peak_rss_bytes": nan, "rss_delta_bytes": nan, "rss_start_bytes": nan, "peak_added_bytes": nan,
        "energy_cpu_j": kwh_as_j("cpu_energy"), "energy_ram_j": kwh_as_j("ram_energy"),
        "energy_gpu_j": kwh_as_j("gpu_energy"), "energy_j": energy, "carbon_g": carbon, "embodied_g": nan,
        "units": nan, "status": np.full(n, "ok", dtype=object), "error": np.full(n, None, dtype=object),
        "parent": np.full(n, None, dtype=object), "depth": np.zeros(n, dtype="i8"),
        "energy_method": np.full(n, "codecarbon", dtype=object),
        "intensity_g_per_kwh": np.divide(carbon, energy / J_PER_KWH, out=nan.copy(), where=energy > 0),
        "intensity_source": np.full(n, f"CodeCarbon's emissions / energy_consumed in {file.name}", dtype=object),
        "cpu_power_source": np.full(n, None, dtype=object),
        # CodeCarbon's "machine" mode measured the whole machine, not one process
        "scope": np.array(["machine" if m == "machine" else "process" for m in modes], dtype=object),
        "children": np.zeros(n, dtype=bool), "calls": np.ones(n, dtype="i8"),
        "wall_min_s": wall, "wall_max_s": wall, "pid": np.zeros(n, dtype="i8"),
    }
    if any(v is None for v in cols["name"]):
        raise ValueError(f"load_codecarbon(path={str(file)!r}): a row has neither a task_name nor a project_name")
    frame = frame_from_columns(cols)
    frame["pid"] = pd.array([None] * n, dtype="Int64")      # CodeCarbon does not record the process
    frame["run_id"] = pd.array(raw["run_id"] if "run_id" in raw.columns else [None] * n, dtype="string")
    frame["source"] = pd.array([str(file)] * n, dtype="string")
    return frame
