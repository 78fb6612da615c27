"""Results as a pandas DataFrame: one typed row per measurement (pandas imported here only)."""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd

from frugal.core import arrays as _arrays
from frugal.core.rows import LOG
from frugal.frames.columns import Text, log_columns
from frugal.measurement import FIELDS

_DTYPES = {
    "name": "string", "status": "string", "error": "string", "parent": "string",
    "energy_method": "string", "intensity_source": "string", "cpu_power_source": "string", "scope": "string",
    "peak_rss_bytes": "Int64", "rss_delta_bytes": "Int64", "rss_start_bytes": "Int64",
    "peak_added_bytes": "Int64", "depth": "int64", "calls": "int64", "pid": "int64", "children": "bool",
}

_INTEGER_FIELDS = [f for f in FIELDS if _DTYPES.get(f) == "Int64"]


def int_array(values: Any, ints: np.ndarray | None = None) -> Any:
    """Nullable integers (``Int64``) from floats with NaN for unknown, rounded, in one pass
    (into ``ints`` when given: an array of as many int64)."""
    floats = np.asarray(values, dtype="f8")
    ints = np.empty(len(floats), dtype="i8") if ints is None else ints
    with np.errstate(invalid="ignore"):     # NaN becomes a garbage integer: the mask hides it
        np.rint(floats, out=ints, casting="unsafe")
    return pd.arrays.IntegerArray(ints, np.isnan(floats))


def _constant(values: Text) -> tuple[bool, Any]:
    """(True, the label) when every row of ``values`` has the same label."""
    codes = values.codes
    if len(values.labels) == 1 and len(codes):
        return True, values.labels[0]
    if len(codes) and codes.min() == codes.max():
        return True, values.labels[int(codes[0])]
    return False, None


def _label(value: Any) -> str | None:
    return None if value is None or value != value else str(value)


def _repeated(label: str | None, storage: np.ndarray, empty: Any = None) -> Any:
    """A ``string`` array of ``label`` (NA for None) in every row of ``storage``, an object
    array it fills. Filling and handing the array type its storage takes a third of the time
    of ``take`` (which copies element by element); where pandas lacks those internals, ``take``.
    ``empty``: ``pd.array([None], dtype="string")``, made once for many columns (``label`` is
    then a str or None, as ``_label`` gives)."""
    try:
        if empty is not None:
            storage.fill(empty._ndarray[0] if label is None else label)
            return empty._from_backing_data(storage)
        one = pd.array([label], dtype="string")
        storage.fill(one._ndarray[0])           # the array type's own NA for None
        return one._from_backing_data(storage)
    except AttributeError:
        return pd.array([label], dtype="string").take(np.zeros(len(storage), dtype=np.intp))


def _utc(values: Any) -> Any:
    """Nanoseconds since the epoch as a ``datetime64[ns, UTC]`` array over the same memory
    (``pd.to_datetime(...).tz_localize`` copies them: 0.1 ms at 10^4 rows, a fresh 8 MB at
    10^6); where pandas lacks that constructor, the public one, which copies."""
    values = np.asarray(values, dtype="datetime64[ns]")
    dtype = pd.DatetimeTZDtype("ns", "UTC")
    try:
        return pd.arrays.DatetimeArray._simple_new(values, dtype=dtype)
    except AttributeError:
        return pd.array(values, dtype=dtype)


def string_array(values: Any) -> Any:
    """A ``string`` array (None and NaN become NA; anything else its str); from Text, the
    table of labels is converted and indexed by the codes, with no object per row."""
    if isinstance(values, Text):
        constant, label = _constant(values)
        if constant:
            return _repeated(_label(label), np.empty(len(values), dtype=object))
        labels = [_label(v) for v in values.labels]
        return pd.array(labels, dtype="string").take(values.codes.astype(np.intp, copy=False))
    if isinstance(values, np.ndarray) and values.dtype != object:
        values = values.astype(object)
    return pd.array(values, dtype="string")


def frame_from_columns(cols: dict[str, Any], spare: list[np.ndarray] | None = None) -> pd.DataFrame:
    """A DataFrame with Measurement's fields as columns, in their order, typed.

    The arrays are this frame's own (made here or by the caller for it): no copy, and no
    consolidation into blocks, which would cost more than all the rest. Where two columns hold
    the same values (one array behind wall_s and wall_min_s; one text for every row of two
    text columns), the second is the first's copy-on-write copy: pandas copies it only when
    either is written to.
    """
    n = len(cols["wall_s"])
    data: dict[str, Any] = {}
    same: dict[str, str] = {}               # column -> the earlier column with the same values
    arrays: dict[int, str] = {}             # id of an array -> its first column
    constants = {}                          # text column with one label in every row -> that label
    for field in FIELDS:
        if _DTYPES.get(field) == "string" and isinstance(cols[field], Text):
            constant, label = _constant(cols[field])
            if constant:
                constants[field] = _label(label)
    texts: dict[str | None, str] = {}       # such a label -> the first column that has it
    for field, label in constants.items():
        texts.setdefault(label, field)
    # the new memory of the frame, in few allocations (``_arrays``)
    storage = dict(zip(texts.values(), _arrays.rows(len(texts), n, "O")))
    empty = pd.array([None], dtype="string") if texts else None
    integer_fields = _INTEGER_FIELDS
    ints = dict(zip(integer_fields, _arrays.rows(len(integer_fields), n, "i8", spare)))
    for field in FIELDS:
        values = cols[field]
        if field == "started_at":
            data[field] = _utc(values)
            continue
        dtype = _DTYPES.get(field)
        if dtype == "Int64":
            values = int_array(values, ints[field])
        elif field in constants:
            label = constants[field]
            if texts[label] != field:
                same[field] = texts[label]
                continue
            values = _repeated(label, storage[field], empty)
        elif dtype == "string":
            values = string_array(values)
        elif dtype is None:
            values = np.asarray(values, dtype="f8")
        else:
            values = np.asarray(values).astype(dtype, copy=False)
        if isinstance(values, np.ndarray):
            if id(values) in arrays:
                same[field] = arrays[id(values)]
                continue
            if any(np.may_share_memory(values, data[f]) for f in arrays.values()):
                values = values.copy()      # a view of memory another column holds: its own copy
            arrays[id(values)] = field
        data[field] = values
    frame = pd.DataFrame(data, columns=[f for f in FIELDS if f not in same], copy=False)
    for position, field in enumerate(FIELDS):
        if field in same:
            frame.insert(position, field, frame[same[field]])
    return frame


def floats(series: Any) -> np.ndarray:
    """A column as a float64 array, NaN for unknown values (NA, None, text that is not a number)."""
    values: np.ndarray = pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(dtype="f8", na_value=np.nan)
    return values


def labels(column: Any) -> list[str]:
    """The distinct values of a text column as str, in order of first appearance, missing ones
    left out. Python's own hashing over the column's objects: a str keeps its hash, where
    ``Series.unique()`` hashes the text of every row again (10 ms against 230 ms for 10^6 rows
    of a 100-character label)."""
    values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else np.asarray(column, dtype=object)
    return [str(v) for v in dict.fromkeys(values.tolist()) if v is not None and v is not pd.NA and v == v]


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
    # the frame's numeric memory in one block (``_arrays``): freed, it is reused by the next call
    spare: list[np.ndarray] = []
    cols = log_columns(pid=os.getpid(), spare=spare, extra=len(_INTEGER_FIELDS))
    return frame_from_columns(cols, spare)
