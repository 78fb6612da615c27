"""Results as a pandas DataFrame: one typed row per measurement (pandas imported here only)."""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd

from frugal._records import LOG
from frugal.columns import Text, log_columns
from frugal.measurement import FIELDS

_DTYPES = {
    "name": "string", "status": "string", "error": "string", "parent": "string",
    "energy_method": "string", "intensity_source": "string", "cpu_power_source": "string", "scope": "string",
    "peak_rss_bytes": "Int64", "rss_delta_bytes": "Int64", "rss_start_bytes": "Int64",
    "peak_added_bytes": "Int64", "depth": "int64", "calls": "int64", "pid": "int64", "children": "bool",
}


def int_array(values: Any) -> Any:
    """Nullable integers (``Int64``) from floats with NaN for unknown, rounded, in one pass."""
    floats = np.asarray(values, dtype="f8")
    mask = np.isnan(floats)
    with np.errstate(invalid="ignore"):     # masked values become garbage integers: the mask hides them
        return pd.arrays.IntegerArray(np.rint(floats).astype("i8"), mask)


def string_array(values: Any) -> Any:
    """A ``string`` array (None and NaN become NA; anything else its str); from Text, the
    table of labels is converted and indexed by the codes, with no object per row."""
    if isinstance(values, Text):
        labels = [None if v is None or v != v else str(v) for v in values.labels]
        # one label: the codes are all 0 (np.zeros costs no pass over memory)
        codes = np.zeros(len(values), dtype=np.intp) if len(labels) == 1 else values.codes.astype(np.intp)
        return pd.array(labels, dtype="string").take(codes)
    if isinstance(values, np.ndarray) and values.dtype != object:
        values = values.astype(object)
    return pd.array(values, dtype="string")


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
            values = int_array(values)
        elif dtype == "string":
            values = string_array(values)
        elif dtype is None:
            values = np.asarray(values, dtype="f8")
        else:
            values = np.asarray(values).astype(dtype)
        data[field] = values
    # The arrays are this frame's own (made above or by the caller for it): no copy, no
    # consolidation into blocks, which would cost more than everything else here.
    return pd.DataFrame(data, columns=list(FIELDS), copy=False)


def results() -> pd.DataFrame:
    """Every measurement of this process since the last ``clear()``, one row each.

    Rows for ``record="summary"`` names come last, one per name, with ``calls`` > 1. With a
    store set, memory keeps the latest ``frugal.store.MAX_ROWS_IN_MEMORY`` rows: older ones,
    once stored, are read back with ``frugal.load()`` (a warning says how many).
    """
    if LOG.released:
        warnings.warn(f"frugal.results() holds the latest measurements only: {LOG.released:,} earlier ones "
                      "were stored and then released from memory (frugal.store.MAX_ROWS_IN_MEMORY); "
                      "frugal.load() reads them all", RuntimeWarning, stacklevel=2)
    return frame_from_columns(log_columns(pid=os.getpid()))
