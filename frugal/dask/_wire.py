"""Task records and energy columns as they travel from a worker to the client, with no object per task.

Energy: numbers go as float64 bytes (NaN where unknown), text as [labels, int32 codes as
bytes], each column zlib-compressed (constant columns, such as the intensity or the
method, shrink to almost nothing). Rows: the scheduler keeps each worker process's task
records as ``RowsPack`` until the client pulls them, packed in zlib chunks of fixed-size
columns and the keys' UTF-8 bytes. Per task, the scheduler held 630 bytes as lists of
floats and str, then about 300 as a bytes object and a str per task; see
benchmarks/dask_overhead.py for what it holds now.
"""
from __future__ import annotations

import sys
import zlib
from array import array
from typing import Any

import numpy as np

from frugal.frames.columns import ENERGY_FIELDS, text_of
from frugal.energy.model import TEXT_OUTPUTS

CHUNK_BYTES = 1 << 16   # raw record bytes compressed together: large enough to compress well
_LEVEL = 1              # zlib's fastest: the scheduler pays it per task
assert array("I").itemsize == 4


def packed(cols: dict[str, Any], count: int) -> dict[str, Any]:
    """The energy message's values: ``count`` rows of each of ``ENERGY_FIELDS``."""
    out: dict[str, Any] = {"count": count}
    for field in ENERGY_FIELDS:
        if field in TEXT_OUTPUTS:
            text = text_of(cols[field])
            labels = [None if v is None or v != v else str(v) for v in text.labels]
            out[field] = [labels, zlib.compress(text.codes.astype("<i4").tobytes(), _LEVEL)]
        else:   # None -> NaN
            out[field] = zlib.compress(np.asarray(cols[field], dtype="<f8").tobytes(), _LEVEL)
    return out


def unpacked(values: dict[str, Any], field: str) -> np.ndarray:
    """One column of those values: float64, or objects (str and None) for text."""
    if field in TEXT_OUTPUTS:
        labels, codes = values[field]
        table = np.empty(len(labels), dtype=object)
        table[:] = labels
        out: np.ndarray = table[np.frombuffer(zlib.decompress(codes), dtype="<i4")]
        return out
    return np.frombuffer(zlib.decompress(values[field]), dtype="<f8")


def _le(a: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


class RowsPack:
    """One worker process's task records on the scheduler, consecutive from ``head["seq"]``.

    Each record adds its row, its key (UTF-8), a code for its key prefix and, when it
    failed, its error type; every ``CHUNK_BYTES`` of rows and keys are compressed into one
    chunk: [count, zlib(prefix codes u4, key sizes u4, rows, keys)].
    """

    __slots__ = ("head", "count", "chunks", "rows", "keys", "sizes", "codes", "labels", "errors")

    def __init__(self, inc: str, seq: int, epoch_ns: int, worker: str | None) -> None:
        self.head: dict[str, Any] = {"kind": "rows", "inc": inc, "seq": seq, "epoch_ns": epoch_ns, "worker": worker}
        self.count = 0
        self.chunks: list[list[Any]] = []
        self.rows = bytearray()
        self.keys = bytearray()
        self.sizes = array("I")
        self.codes = array("I")
        self.labels: dict[str, int] = {}     # prefix -> its code
        self.errors: list[list[Any]] = []    # [index, error type] of the records that failed

    def follows(self, seq: int, epoch_ns: int) -> bool:
        """Whether records from ``seq`` (clock anchor ``epoch_ns``) continue this pack."""
        return bool(self.head["seq"] + self.count == seq and self.head["epoch_ns"] == epoch_ns)

    def add(self, row: bytes, key: str, prefix: str, error: str | None) -> None:
        code = self.labels.get(prefix)
        if code is None:
            code = self.labels[prefix] = len(self.labels)
        k = key.encode("utf-8", "surrogatepass")
        self.rows += row
        self.keys += k
        self.sizes.append(len(k))
        self.codes.append(code)
        if error is not None:
            self.errors.append([self.count, error])
        self.count += 1
        if len(self.rows) + len(self.keys) >= CHUNK_BYTES:
            self._seal()

    def _seal(self) -> None:
        n = len(self.sizes)
        if not n:
            return
        raw = b"".join((_le(self.codes), _le(self.sizes), self.rows, self.keys))
        self.chunks.append([n, zlib.compress(raw, _LEVEL)])
        self.rows, self.keys, self.sizes, self.codes = bytearray(), bytearray(), array("I"), array("I")

    def message(self) -> dict[str, Any]:
        """What the client takes: the head, ``count``, ``chunks``, ``prefixes``, ``errors``."""
        self._seal()
        return dict(self.head, count=self.count, chunks=self.chunks, prefixes=list(self.labels),
                    errors=self.errors)


def unpacked_rows(msg: dict[str, Any], row_size: int) -> tuple[bytes, list[str], np.ndarray, list[str | None]]:
    """A pulled rows message's records: rows joined, keys, prefix codes (into
    ``msg["prefixes"]``) and error types (None where the task did not fail)."""
    rows, keys, codes = [], [], []
    for n, blob in msg["chunks"]:
        raw = zlib.decompress(blob)
        codes.append(np.frombuffer(raw, dtype="<u4", count=n))
        sizes = np.frombuffer(raw, dtype="<u4", count=n, offset=4 * n).astype("i8")
        start = 8 * n + n * row_size
        rows.append(raw[8 * n:start])
        ends = np.cumsum(sizes)
        starts = (ends - sizes).tolist()
        ends_ = ends.tolist()
        blob_keys = raw[start:]
        text = blob_keys.decode("utf-8", "surrogatepass")
        if len(text) == len(blob_keys):   # ASCII: byte offsets are character offsets
            keys.extend([text[a:b] for a, b in zip(starts, ends_)])
        else:
            keys.extend([blob_keys[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends_)])
    errors: list[str | None] = [None] * msg["count"]
    for i, error in msg["errors"]:
        errors[i] = error
    code = np.concatenate(codes) if codes else np.zeros(0, dtype="<u4")
    return b"".join(rows), keys, code, errors
