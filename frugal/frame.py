"""Results as a pandas DataFrame: one typed row per measurement (pandas imported here only)."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from frugal.columns import log_columns
from frugal.measurement import FIELDS

_DTYPES = {
    "name": "string", "status": "string", "error": "string", "parent": "string",
    "energy_method": "string", "intensity_source": "string", "cpu_power_source": "string", "scope": "string",
    "peak_rss_bytes": "Int64", "rss_delta_bytes": "Int64", "depth": "int64",
    "calls": "int64", "pid": "int64", "children": "bool",
}


def frame_from_columns(cols: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame with Measurement's fields as columns, in their order, typed."""
    data = {}
    for field in FIELDS:
        values = cols[field]
        if field == "started_at":
            data[field] = pd.to_datetime(np.asarray(values, dtype="datetime64[ns]")).tz_localize("UTC")
            continue
        dtype = _DTYPES.get(field)
        if dtype == "Int64":
            values = pd.array(np.round(np.asarray(values, dtype="f8")), dtype="Float64").astype("Int64")
        elif dtype == "string":
            values = pd.array([None if v is None or v != v else str(v) for v in values], dtype="string")
        elif dtype is None:
            values = np.asarray(values, dtype="f8")
        else:
            values = np.asarray(values).astype(dtype)
        data[field] = values
    return pd.DataFrame(data, columns=list(FIELDS))


def results() -> pd.DataFrame:
    """Every measurement of this process since the last ``clear()``, one row each.

    Rows for ``record="summary"`` names come last, one per name, with ``calls`` > 1.
    """
    return frame_from_columns(log_columns(pid=os.getpid()))
