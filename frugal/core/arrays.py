"""Many arrays of one length as the rows of one allocation.

The kernel backs a large allocation with huge pages; separate arrays of a few MB each are
faulted in 4 KB at a time at their edges (about 500 faults for an 8 MB column). At 10^6 rows,
those faults were a third of the time ``frugal.results()`` took. numpy is imported by the
modules that read results, never on the measured call.
"""
from __future__ import annotations

import numpy as np


def rows(count: int, n: int, dtype: str = "f8") -> list[np.ndarray]:
    """``count`` uninitialised arrays of ``n`` items each, the rows of one block of memory.
    They stay writable views of that block: it is freed when the last of them is."""
    return list(np.empty((count, n), dtype=dtype))
