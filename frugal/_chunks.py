"""Columns as SQLite blobs and back: the store keeps each batch of measurements as one row of a
``chunks`` table, one BLOB per Measurement field, so that writing a batch is one INSERT and
reading a million rows is a few ``numpy.frombuffer`` calls, not a Python object per value.

A blob says its own kind in its first byte, so the store follows ``FIELDS`` with no table of
types: ``f`` float64 (NaN for unknown), ``i`` int64, ``t`` datetime64[ns] as int64 ns since
the epoch (UTC), ``b`` bool as one byte, ``s`` text: a dictionary (a JSON list of the
distinct strings, null for none) and one code per row (1, 2 or 4 bytes), little-endian.
A field that a chunk lacks (a store written before the field existed) reads as unknown.
"""
from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

_HEAD = struct.Struct("<cI")   # kind, then for text: the dictionary's length in bytes
_CODE_WIDTHS = ((0xFF, "<u1", 1), (0xFFFF, "<u2", 2), (0x7FFF_FFFF, "<i4", 4))


def factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """(codes, labels) of a column of strings and None, labels in order of first appearance."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    labels = list(dict.fromkeys(items))
    if len(labels) <= 1:
        return np.zeros(len(items), dtype="i8"), labels
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter(map(index.__getitem__, items), dtype="i8", count=len(items)), labels


def _valid_text(label: Any) -> Any:
    """A str that UTF-8 can hold (lone surrogates written as ``\\udcxx``), or None."""
    if label is None or (isinstance(label, float) and label != label):
        return None
    text = label if isinstance(label, str) else str(label)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def encode(values: Any) -> bytes:
    """One column as a self-describing blob."""
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "M":
        return b"t" + arr.astype("datetime64[ns]").astype("<i8").tobytes()
    if kind == "b":
        return b"b" + arr.astype("u1").tobytes()
    if kind in "iu":
        return b"i" + arr.astype("<i8").tobytes()
    if kind == "f":
        return b"f" + arr.astype("<f8").tobytes()
    codes, labels = factorize(arr)
    words = json.dumps([_valid_text(label) for label in labels], ensure_ascii=False).encode("utf-8")
    limit, dtype, width = next(w for w in _CODE_WIDTHS if len(labels) <= w[0])
    return _HEAD.pack(b"s", len(words)) + words + bytes([width]) + codes.astype(dtype).tobytes()


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
        dtype = {1: "<u1", 2: "<u2", 4: "<i4"}[width]
        codes = np.frombuffer(blob, dtype=dtype, offset=start + size + 1, count=n)
        return "s", (codes, labels)
    dtype = {b"f": "<f8", b"i": "<i8", b"t": "<i8", b"b": "u1"}[kind]
    values = np.frombuffer(blob, dtype=dtype, offset=1, count=n)
    if kind == b"t":
        return "t", values.view("datetime64[ns]")
    if kind == b"b":
        return "b", values.astype(bool)
    return kind.decode(), values


_MISSING = {"f": np.nan, "i": -1, "t": np.datetime64("NaT"), "b": False}


def concat_decoded(parts: list[tuple[str, Any]], sizes: list[int]) -> Any:
    """One column from the decoded blobs of several chunks (missing ones filled as unknown):
    a numpy array; text as an object array of str and None."""
    kinds = {k for k, _ in parts if k}
    if not kinds:
        return np.full(sum(sizes), np.nan)
    if "s" in kinds:
        table: dict[Any, int] = {}
        coded = []
        for (kind, value), n in zip(parts, sizes):
            if kind == "s":
                codes, labels = value
                remap = np.array([table.setdefault(label, len(table)) for label in labels] or [0], dtype="i8")
                coded.append(remap[codes])
            else:
                coded.append(np.full(n, table.setdefault(None, len(table)), dtype="i8"))
        labels_arr = np.empty(len(table), dtype=object)
        labels_arr[:] = list(table)
        return labels_arr[np.concatenate(coded)] if coded else np.array([], dtype=object)
    kind = "f" if "f" in kinds else kinds.pop()
    arrays = [value if k else np.full(n, _MISSING[kind]) for (k, value), n in zip(parts, sizes)]
    out = np.concatenate(arrays) if arrays else np.array([])
    return out.astype("datetime64[ns]") if kind == "t" else out
