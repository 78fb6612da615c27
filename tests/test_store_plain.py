"""A chunk written from Python values with struct (``frugal.store.plain``, ``frugal run``) is,
byte for byte, the chunk numpy writes (``frugal.store.chunks``), and reads back the same."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings as hsettings, strategies as st

from frugal.frames.process import Instant
from frugal.store import chunks, plain

FLOAT = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(math.nan), st.just(0.0))
TEXT = st.one_of(st.none(), st.sampled_from(["ok", "error", "é", "\udcff", "a b"]))


def _numpy(column: list, kind: str) -> object:
    if kind == "t":
        return np.array(column, dtype="i8").astype("datetime64[ns]")
    if kind == "s":
        out = np.empty(len(column), dtype=object)
        out[:] = column
        return out
    return np.array(column, dtype={"f": "f8", "i": "i8", "b": bool}[kind])


@hsettings(max_examples=150, deadline=None)
@given(n=st.integers(1, 6), data=st.data())
def test_plain_chunks_are_the_bytes_numpy_writes_and_read_back(n, data):
    """Random columns of every kind (constant or not, NaN, equal float columns): same blobs, same values read."""
    def draw(strategy):
        values = data.draw(st.lists(strategy, min_size=n, max_size=n))
        return values if data.draw(st.booleans()) else [values[0]] * n

    cols = {"f1": draw(FLOAT), "i": draw(st.integers(-2**63, 2**63 - 1)), "b": draw(st.booleans()),
            "t": [Instant(v) for v in draw(st.integers(0, 2**62))], "s": draw(TEXT),
            "f2": None, "many": [str(i % 300) for i in range(n * 60)][:n]}
    cols["f2"] = list(cols["f1"]) if data.draw(st.booleans()) else draw(FLOAT)
    kinds = {"f1": "f", "i": "i", "b": "b", "t": "t", "s": "s", "f2": "f", "many": "s"}
    assert plain.plain(cols)
    mine = plain.encode_all(cols)
    theirs = chunks.encode_all({k: _numpy(v, kinds[k]) for k, v in cols.items()})
    assert mine == theirs
    for field, (kind, values) in chunks.decode_all(mine, n).items():
        if kind == "s":
            codes, labels = values
            assert [labels[c] for c in codes] == [plain.valid_text(v) for v in cols[field]]
        elif kind == "f":
            assert [float(v).hex() for v in values] == [float(v).hex() for v in cols[field]]
        else:
            assert np.asarray(values).astype("i8").tolist() == [int(v) for v in cols[field]]
