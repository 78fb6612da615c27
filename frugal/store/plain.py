"""Columns of Python values as the blobs of ``frugal.store.chunks``, written with ``struct``.

``frugal run`` stores one row: encoding it through numpy would import numpy (about 0.1 s of
its start-up). ``encode_all`` here writes, byte for byte, what ``frugal.store.chunks.encode_all``
writes for the same values (held by tests/test_store_plain.py), for a column dict whose
columns are lists: floats (NaN for unknown), ints, bools, ``Instant`` times, str or None.
"""
from __future__ import annotations

import json
import struct

from frugal.frames.process import Instant

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HEAD = struct.Struct("<cI")   # kind, then for text: the dictionary's length in bytes
_CODES = ((0xFF, "B", 1), (0xFFFF, "H", 2), (0x7FFF_FFFF, "i", 4))   # most labels, struct code, width
_PACK = {"f": "d", "i": "q", "t": "q", "b": "B"}


def valid_text(label: Any) -> Any:
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


def text_head(labels: list[Any]) -> bytes:
    """A text blob's kind, the length of its dictionary and the dictionary (JSON, UTF-8)."""
    words = json.dumps([valid_text(label) for label in labels], ensure_ascii=False).encode("utf-8")
    return HEAD.pack(b"s", len(words)) + words


def plain(columns: dict[str, Any]) -> bool:
    """Whether every column of ``columns`` is a list of Python values (not numpy arrays)."""
    return all(isinstance(values, list) for values in columns.values())


def kind_of(values: list[Any]) -> str:
    """The blob kind of a list: ``s`` text (str and None), ``t`` times, ``b``, ``i``, ``f``."""
    if all(v is None or isinstance(v, str) for v in values):
        return "s"
    if all(isinstance(v, Instant) for v in values):
        return "t"
    if all(isinstance(v, bool) for v in values):
        return "b"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "i"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "f"
    raise TypeError(f"a stored column holds values of one kind; got {sorted({type(v).__name__ for v in values})}")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)       # NaN equals NaN, as numpy's equal_nan


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def encode(values: list[Any]) -> bytes:
    """One column as a self-describing blob (``frugal.store.chunks.encode``)."""
    kind = kind_of(values)
    if kind == "s":
        labels = list(dict.fromkeys(values))
        if len(labels) <= 1:        # one label for every row: no codes (width 0)
            return text_head(labels) + bytes([0])
        _, code, width = next(c for c in _CODES if len(labels) <= c[0])
        index = {label: i for i, label in enumerate(labels)}
        return text_head(labels) + bytes([width]) + struct.pack(f"<{len(values)}{code}", *map(index.__getitem__, values))
    numbers = [float(v) for v in values] if kind == "f" else [int(v) for v in values]
    if numbers and all(_same(v, numbers[0]) for v in numbers):     # one value in every row
        return kind.encode() + b"=" + struct.pack("<" + _PACK[kind], numbers[0])
    return kind.encode() + struct.pack(f"<{len(numbers)}{_PACK[kind]}", *numbers)


def encode_all(columns: dict[str, list[Any]]) -> dict[str, bytes]:
    """Each column as a blob; a float column equal to one before it is ``@`` and that column's name."""
    out: dict[str, bytes] = {}
    floats: list[str] = []
    for field, values in columns.items():
        if len(values) > 1 and kind_of(values) == "f":
            # as chunks.encode_all: the first and last values' bits, then every value (NaN equal)
            same = next((other for other in floats if len(columns[other]) == len(values)
                         and _bits(columns[other][0]) == _bits(values[0])
                         and _bits(columns[other][-1]) == _bits(values[-1])
                         and all(map(_same, columns[other], values))), None)
            if same is not None:
                out[field] = b"@" + same.encode()
                continue
            floats.append(field)
        out[field] = encode(values)
    return out
