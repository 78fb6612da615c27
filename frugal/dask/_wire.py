"""Task records and energy columns as they travel from a worker to the client, with no object per task.

Energy: numbers go as float64 bytes (NaN where unknown), or as one value where the whole
batch has it (the intensity, GPU energy); text as [labels, codes as bytes], no codes where
there is one label (the method, the sources). Rows: the scheduler keeps each worker
process's task records as ``RowsPack`` until the client pulls them: rows without the fields
the client does not read (``wire_row``), keys as their 16-byte token (or UTF-8 bytes),
prefixes as 1-byte codes. The scheduler held 630 bytes a task as lists of floats and str,
then about 300 as a bytes object and a str per task; benchmarks/dask_overhead.py prints
what it holds now (about 120).
"""
from __future__ import annotations

import struct
import sys
from array import array
from typing import Any

import numpy as np

from frugal.core.rows import ROW_FIELDS
from frugal.frames.columns import ENERGY_FIELDS, ROW_DTYPE, text_of
from frugal.energy.row import TEXT_OUTPUTS

# A row's fields that the client does not read: the worker's interning ids (names and
# errors travel as text). The worker leaves them out of what it sends; the client puts zeros back.
_DROPPED = ("name_id", "parent_id", "error_id")
_KEPT_DTYPE = np.dtype([(name, "<" + code) for name, code, _, _ in ROW_FIELDS if name not in _DROPPED])


def _kept_ranges() -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    at = 0
    for name, code, _, _ in ROW_FIELDS:
        end = at + struct.calcsize("<" + code)
        if name not in _DROPPED:
            if out and out[-1][1] == at:
                out[-1] = (out[-1][0], end)
            else:
                out.append((at, end))
        at = end
    return out


_RANGES = _kept_ranges()
assert len(_RANGES) == 4 and _KEPT_DTYPE.itemsize == sum(b - a for a, b in _RANGES)
(_A0, _B0), (_A1, _B1), (_A2, _B2), (_A3, _B3) = _RANGES
WIRE_ROW_SIZE = _KEPT_DTYPE.itemsize


def wire_row(row: bytes) -> bytes:
    """A packed row (``ROW``) as it travels: without the fields in ``_DROPPED``."""
    return row[_A0:_B0] + row[_A1:_B1] + row[_A2:_B2] + row[_A3:_B3]


def rows_from_wire(blob: bytes) -> np.ndarray:
    """Rows that travelled as ``wire_row``, as a ``ROW_DTYPE`` array (dropped fields 0)."""
    kept = np.frombuffer(blob, dtype=_KEPT_DTYPE)
    out = np.zeros(len(kept), dtype=ROW_DTYPE)
    for name in _KEPT_DTYPE.names or ():
        out[name] = kept[name]
    return out


def packed(cols: dict[str, Any], count: int) -> dict[str, Any]:
    """The energy message's values: ``count`` rows of each of ``ENERGY_FIELDS``."""
    out: dict[str, Any] = {"count": count}
    for field in ENERGY_FIELDS:
        if field in TEXT_OUTPUTS:
            text = text_of(cols[field])
            labels = [None if v is None or v != v else str(v) for v in text.labels]
            if len(labels) == 1:     # one label: no codes
                out[field] = [labels, b""]
            else:
                out[field] = [labels, text.codes.astype("<u1" if len(labels) <= 256 else "<i4").tobytes()]
        else:   # None -> NaN
            values = np.asarray(cols[field], dtype="<f8")
            bits = values.view("<u8")
            if count and (bits == bits[0]).all():   # the same value (bit for bit) in every row
                out[field] = [values[:1].tobytes()]
            else:
                out[field] = values.tobytes()
    return out


def unpacked(values: dict[str, Any], field: str) -> np.ndarray:
    """One column of those values: float64, or objects (str and None) for text."""
    count = values["count"]
    if field in TEXT_OUTPUTS:
        labels, codes = values[field]
        table = np.empty(len(labels), dtype=object)
        table[:] = labels
        if not codes and count:
            index = np.zeros(count, dtype="i8")
        else:
            index = np.frombuffer(codes, dtype="<u1" if len(codes) == count else "<i4")
        out: np.ndarray = table[index]
        return out
    data = values[field]
    if isinstance(data, (list, tuple)):   # Dask's msgpack reads lists as tuples
        return np.full(count, np.frombuffer(data[0], dtype="<f8")[0])
    return np.frombuffer(data, dtype="<f8")


def _le(a: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _grown(a: array, value: int) -> array:  # type: ignore[type-arg]
    """``a`` (unsigned codes) widened to hold ``value``, with it appended."""
    a = array("I" if value >= 1 << 16 else "H", a)
    a.append(value)
    return a


_SEAL_BYTES = 1 << 16   # rows then held as bytes of their exact size, not a growing bytearray


class RowsPack:
    """One worker process's task records on the scheduler, consecutive from ``head["seq"]``.

    Each record adds its row (``wire_row``), its key, a code for its key prefix and, when it
    failed, its error type. A key made as Dask names most tasks, its prefix, "-" and 32 hex
    digits (a token, ``forms`` 1) or a uuid's text (``forms`` 2), is kept as the token's 16
    bytes; any other as its UTF-8 bytes and their size (``forms`` 0). Sizes and codes take one byte each until one does
    not fit (then two, or four).
    """

    __slots__ = ("head", "seq", "epoch_ns", "count", "sealed", "rows", "tokens", "keys", "sizes",
                 "forms", "codes", "labels", "errors")

    def __init__(self, inc: str, seq: int, epoch_ns: int, worker: str | None) -> None:
        self.head: dict[str, Any] = {"kind": "rows", "inc": inc, "seq": seq, "epoch_ns": epoch_ns,
                                     "worker": worker}
        self.seq = seq
        self.epoch_ns = epoch_ns
        self.count = 0
        self.sealed: list[tuple[bytes, bytes, bytes]] = []   # (rows, tokens, keys) held exactly
        self.rows = bytearray()
        self.tokens = bytearray()
        self.keys = bytearray()
        self.sizes = array("B")
        self.forms = array("B")
        self.codes = array("B")
        self.labels: dict[str, int] = {}     # prefix -> its code
        self.errors: list[list[Any]] = []    # [index, error type] of the records that failed

    def follows(self, seq: int, epoch_ns: int) -> bool:
        """Whether records from ``seq`` (clock anchor ``epoch_ns``) continue this pack."""
        return self.seq + self.count == seq and self.epoch_ns == epoch_ns

    def add(self, row: bytes, key: str, prefix: str, error: str | None) -> None:
        code = self.labels.get(prefix)
        if code is None:
            code = self.labels[prefix] = len(self.labels)
        self.rows += row
        n = len(prefix)
        token = None
        size = len(key) - n
        if (size == 33 or size == 37) and key[n] == "-" and key.startswith(prefix):
            tail = key[n + 1:]
            if size == 37:   # a uuid's text (submit and map with pure=False)
                tail = tail.replace("-", "")
            try:
                token = bytes.fromhex(tail)
            except ValueError:
                pass
            # upper case, spaces, dashes elsewhere: kept as text
            if token is not None and _token_text(token.hex(), size == 37) != key[n + 1:]:
                token = None
        if token is not None:
            self.tokens += token
            self.forms.append(1 if size == 33 else 2)
        else:
            k = key.encode("utf-8", "surrogatepass")
            self.keys += k
            self.forms.append(0)
            try:
                self.sizes.append(len(k))
            except OverflowError:   # a key of 256 bytes or more: wider sizes from now on
                self.sizes = _grown(self.sizes, len(k))
        try:
            self.codes.append(code)
        except OverflowError:
            self.codes = _grown(self.codes, code)
        if error is not None:
            self.errors.append([self.count, error])
        self.count += 1
        if len(self.rows) >= _SEAL_BYTES:
            self._seal()

    def _seal(self) -> None:
        self.sealed.append((bytes(self.rows), bytes(self.tokens), bytes(self.keys)))
        self.rows, self.tokens, self.keys = bytearray(), bytearray(), bytearray()

    def message(self) -> dict[str, Any]:
        """What the client takes: the head, ``count``, ``rows``, ``tokens``, ``keys``,
        ``sizes``, ``forms`` and ``codes`` (each [item size, little-endian bytes]),
        ``prefixes``, ``errors``."""
        self._seal()
        rows, tokens, keys = (b"".join(part) for part in zip(*self.sealed))
        self.sealed = []
        return dict(self.head, count=self.count, rows=rows, tokens=tokens, keys=keys,
                    sizes=[self.sizes.itemsize, _le(self.sizes)], forms=[1, _le(self.forms)],
                    codes=[self.codes.itemsize, _le(self.codes)], prefixes=list(self.labels),
                    errors=self.errors)


def _token_text(h: str, dashed: bool) -> str:
    """A token's 32 hex digits as the key has them: as they are, or as a uuid's text."""
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" if dashed else h


def _uints(item: list[Any]) -> np.ndarray:
    size, data = item
    return np.frombuffer(data, dtype=f"<u{size}")


def _texts(blob: bytes, sizes: np.ndarray) -> list[str]:
    ends = np.cumsum(sizes.astype("i8"))
    starts = (ends - sizes).tolist()
    text = blob.decode("utf-8", "surrogatepass")
    if len(text) == len(blob):   # ASCII: byte offsets are character offsets
        return [text[a:b] for a, b in zip(starts, ends.tolist())]
    return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends.tolist())]


def unpacked_rows(msg: dict[str, Any]) -> tuple[np.ndarray, list[str], np.ndarray, list[str | None]]:
    """A pulled rows message's records: rows (``ROW_DTYPE``), keys, prefix codes (into
    ``msg["prefixes"]``) and error types (None where the task did not fail)."""
    codes = _uints(msg["codes"])
    forms = _uints(msg["forms"]).tolist()
    texts = iter(_texts(msg["keys"], _uints(msg["sizes"])))
    hexes = msg["tokens"].hex()
    prefixes = [f"{p}-" for p in msg["prefixes"]]
    keys = []
    at = 0
    for form, code in zip(forms, codes.tolist()):
        if form:
            keys.append(prefixes[code] + _token_text(hexes[at:at + 32], form == 2))
            at += 32
        else:
            keys.append(next(texts))
    errors: list[str | None] = [None] * msg["count"]
    for i, error in msg["errors"]:
        errors[i] = error
    return rows_from_wire(msg["rows"]), keys, codes, errors
