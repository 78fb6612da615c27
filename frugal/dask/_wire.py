"""Energy columns as they travel from a worker to the client, with no object per task.

Numbers go as float64 bytes (NaN where unknown), text as [labels, int32 codes as bytes]. The
scheduler keeps each message as it came until the client pulls it: at 10^6 tasks, as lists of
floats and str, they took 630 bytes a task there (75 now).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from frugal.frames.columns import ENERGY_FIELDS, text_of
from frugal.energy.model import TEXT_OUTPUTS


def packed(cols: dict[str, Any], count: int) -> dict[str, Any]:
    """The energy message's values: ``count`` rows of each of ``ENERGY_FIELDS``."""
    out: dict[str, Any] = {"count": count}
    for field in ENERGY_FIELDS:
        if field in TEXT_OUTPUTS:
            text = text_of(cols[field])
            labels = [None if v is None or v != v else str(v) for v in text.labels]
            out[field] = [labels, text.codes.astype("<i4").tobytes()]
        else:
            out[field] = np.asarray(cols[field], dtype="<f8").tobytes()   # None -> NaN
    return out


def unpacked(values: dict[str, Any], field: str) -> np.ndarray:
    """One column of those values: float64, or objects (str and None) for text."""
    if field in TEXT_OUTPUTS:
        labels, codes = values[field]
        table = np.empty(len(labels), dtype=object)
        table[:] = labels
        out: np.ndarray = table[np.frombuffer(codes, dtype="<i4")]
        return out
    return np.frombuffer(values[field], dtype="<f8")
