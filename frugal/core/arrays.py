"""Many arrays of one length as the rows of one allocation.

The kernel backs a large allocation with huge pages; separate arrays of a few MB each are
faulted in 4 KB at a time at their edges (about 500 faults for an 8 MB column). At 10^6 rows,
those faults were a third of the time ``frugal.results()`` took. Fewer, larger blocks also
let the C library keep freed memory for the next call: glibc hands a block over its
threshold back to the kernel when it is freed, raises the threshold to that block's size,
and keeps up to twice that size free for reuse; five blocks of 0.5 MB (10^4 rows) were
faulted in afresh on every call (655 faults), one block of 2 MB is faulted once. numpy is
imported by the modules that read results, never on the measured call.
"""
from __future__ import annotations

import numpy as np


def rows(count: int, n: int, dtype: str = "f8", spare: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """``count`` uninitialised arrays of ``n`` items each, the rows of one block of memory.
    They stay writable views of that block: it is freed when the last of them is.

    ``spare``: rows of ``n`` float64 set aside in an earlier block (``block``); the arrays are
    taken from it (viewed as ``dtype``, of 8 bytes an item) while it holds enough, else made."""
    if (spare is not None and len(spare) >= count and count and len(spare[0]) == n
            and np.dtype(dtype).itemsize == 8 and not np.dtype(dtype).hasobject):
        taken = spare[:count]
        del spare[:count]
        return [row.view(dtype) for row in taken]
    return list(np.empty((count, n), dtype=dtype))


def block(count: int, extra: int, n: int, spare: list[np.ndarray] | None) -> list[np.ndarray]:
    """``count`` rows of ``n`` float64 of one block, and ``extra`` more of the same block
    appended to ``spare`` (for the arrays made later from these; none when ``spare`` is None)."""
    made = rows(count + (extra if spare is not None else 0), n)
    if spare is not None:
        spare.extend(made[count:])
    return made[:count]
