"""Columns as SQLite blobs and back: the store keeps each batch of measurements as one row of a
``chunks`` table, one BLOB per Measurement field, so that writing a batch is one INSERT and
reading a million rows is a few ``numpy.frombuffer`` calls, not a Python object per value.

A blob says its own kind in its first byte, so the store follows ``FIELDS`` with no table of
types: ``f`` float64 (NaN for unknown), ``i`` int64, ``t`` datetime64[ns] as int64 ns since
the epoch (UTC), ``b`` bool as one byte, ``s`` text: a dictionary (a JSON list of the
distinct strings, null for none) and one code per row (1, 2 or 4 bytes; none when there is
one label), little-endian. A numeric column with one value in every row is the kind, ``=``,
and that one value; a float column equal to an earlier one is ``@`` and that column's name.
A field that a chunk lacks (a store written before the field existed) reads as unknown.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from frugal.frames.columns import Text, text_of
from frugal.store.plain import HEAD as _HEAD
from frugal.store.plain import text_head

_CODE_WIDTHS = ((0xFF, "<u1", 1), (0xFFFF, "<u2", 2), (0x7FFF_FFFF, "<i4", 4))


def encode(values: Any) -> bytes:
    """One column as a self-describing blob."""
    if isinstance(values, Text) or (isinstance(values, np.ndarray) and values.dtype.kind in "OUS"):
        return _encode_text(text_of(values).used() if isinstance(values, Text) else text_of(values))
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        return _encode_text(text_of(arr))
    kind = arr.dtype.kind
    # One value in every row (calls, pid, a missing GPU...): the kind, "=", and that value.
    if kind in "biufM" and len(arr) and _constant(arr):
        return _encode_constant(arr)
    # ascontiguousarray copies only what is not already contiguous of that type; tobytes copies once
    if kind == "M":
        return b"t" + np.ascontiguousarray(arr.astype("datetime64[ns]", copy=False).view("<i8")).tobytes()
    if kind == "b":
        return b"b" + np.ascontiguousarray(arr, dtype="u1").tobytes()
    if kind in "iu":
        return b"i" + np.ascontiguousarray(arr, dtype="<i8").tobytes()
    return b"f" + np.ascontiguousarray(arr, dtype="<f8").tobytes()


def _constant(arr: np.ndarray) -> bool:
    first = arr[0]
    if arr.dtype.kind == "f" and first != first:
        return bool(np.isnan(arr).all())
    return bool((arr == first).all())


_CONSTANT_KINDS = {"b": ("b", "u1"), "i": ("i", "<i8"), "u": ("i", "<i8"), "f": ("f", "<f8"), "M": ("t", "<i8")}


def _encode_constant(arr: np.ndarray) -> bytes:
    kind, dtype = _CONSTANT_KINDS[arr.dtype.kind]
    value = arr[:1].astype("datetime64[ns]").view("<i8") if kind == "t" else arr[:1].astype(dtype)
    return kind.encode() + b"=" + value.astype(dtype).tobytes()


def _encode_text(text: Text) -> bytes:
    if len(text.labels) <= 1:       # one label for every row: no codes (width 0)
        return text_head(text.labels) + bytes([0])
    _, dtype, width = next(w for w in _CODE_WIDTHS if len(text.labels) <= w[0])
    return text_head(text.labels) + bytes([width]) + text.codes.astype(dtype).tobytes()


def encode_all(columns: dict[str, Any]) -> dict[str, bytes]:
    """Each column as a blob; a float column equal to one before it (``wall_min_s`` of call rows
    is ``wall_s``) is ``@`` and that column's name."""
    out: dict[str, bytes] = {}
    seen: dict[tuple[Any, ...], list[str]] = {}
    for field, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind == "f" and len(values) > 1:
            signature = (len(values), values[:1].tobytes(), values[-1:].tobytes())
            same = next((other for other in seen.get(signature, ())
                         if np.array_equal(columns[other], values, equal_nan=True)), None)
            if same is not None:
                out[field] = b"@" + same.encode()
                continue
            seen.setdefault(signature, []).append(field)
        out[field] = encode(values)
    return out


def distinct(values: Any) -> list[Any]:
    """The distinct values of a text column (its used labels)."""
    return text_of(values).used().labels if isinstance(values, Text) else text_of(values).labels


def decode_all(blobs: dict[str, bytes | None], n: int) -> dict[str, tuple[str, Any]]:
    """``decode`` of each blob of one chunk, references (``@field``) resolved."""
    out: dict[str, tuple[str, Any]] = {}
    for field, blob in blobs.items():
        if blob is not None and blob[:1] == b"@":
            out[field] = out.get(blob[1:].decode(), ("", None))
        else:
            out[field] = decode(blob, n)
    return out


def decode(blob: bytes | None, n: int) -> tuple[str, Any]:
    """(kind, values) of a blob: a numpy array, or for text (codes, labels); ``kind`` "" and
    None for a missing blob."""
    if blob is None:
        return "", None
    kind = blob[:1]
    if kind == b"s":
        _, size = _HEAD.unpack_from(blob)
        start = _HEAD.size
        labels = json.loads(blob[start:start + size].decode("utf-8"))
        width = blob[start + size]
        if width == 0:
            return "s", (np.zeros(n, dtype="u1"), labels)
        dtype = {1: "<u1", 2: "<u2", 4: "<i4"}[width]
        codes = np.frombuffer(blob, dtype=dtype, offset=start + size + 1, count=n)
        return "s", (codes, labels)
    dtype = {b"f": "<f8", b"i": "<i8", b"t": "<i8", b"b": "u1"}[kind]
    if blob[1:2] == b"=" and len(blob) == 2 + np.dtype(dtype).itemsize:   # one value for every row
        values = np.full(n, np.frombuffer(blob, dtype=dtype, offset=2, count=1)[0])
    else:
        values = np.frombuffer(blob, dtype=dtype, offset=1, count=n)
    if kind == b"t":
        return "t", values.view("datetime64[ns]")
    if kind == b"b":
        return "b", values.astype(bool)
    return kind.decode(), values


_MISSING = {"f": np.nan, "i": -1, "t": np.datetime64("NaT", "ns"), "b": False}


def concat_decoded(parts: list[tuple[str, Any]], sizes: list[int]) -> Any:
    """One column from the decoded blobs of several chunks (missing ones filled as unknown):
    a numpy array; text as Text."""
    kinds = {k for k, _ in parts if k}
    if not kinds:
        return np.full(sum(sizes), np.nan)
    if "s" in kinds:
        return Text.concat([Text(*value) if kind == "s" else Text(np.zeros(n, dtype="i8"), [None])
                            for (kind, value), n in zip(parts, sizes)])
    kind = "f" if "f" in kinds else kinds.pop()
    arrays = [value if k else np.full(n, _MISSING[kind]) for (k, value), n in zip(parts, sizes)]
    out = np.concatenate(arrays) if arrays else np.array([])
    return out.astype("datetime64[ns]") if kind == "t" else out
