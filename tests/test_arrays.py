"""The memory of ``frugal.results()`` (``frugal/core/arrays.py``): its numeric columns are the
rows of one allocation, which the C library keeps for the next call instead of asking the
kernel for fresh pages every time."""
from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.core import arrays


def _root(values: np.ndarray) -> np.ndarray:
    while isinstance(values.base, np.ndarray):
        values = values.base
    return values


def test_the_numeric_columns_of_results_are_rows_of_one_block():
    """Every 8-byte column of results() (floats, integers, nullable integers, the start time)
    is a view of one allocation."""
    frugal.clear()
    f = frugal.measure(name="noop")(lambda: None)
    for _ in range(1000):
        f()
    df = frugal.results()
    frugal.clear()
    roots = set()
    # a column with the values of an earlier one (wall_min_s, wall_max_s: wall_s, one call
    # each) is that column, inserted again: pandas 2 without copy-on-write copies it
    cow = int(pd.__version__.split(".")[0]) >= 3 or pd.options.mode.copy_on_write is True
    for name in df.columns:
        if not cow and name in ("wall_min_s", "wall_max_s"):
            continue
        array = df[name].array
        values = getattr(array, "_data", None) if str(df[name].dtype) == "Int64" else getattr(array, "_ndarray", None)
        if isinstance(values, np.ndarray) and values.dtype.itemsize == 8 and values.dtype != object:
            roots.add(id(_root(values)))
    assert len(roots) == 1


def test_rows_are_taken_from_spare_rows_of_the_right_length_only():
    """Spare rows serve as many arrays as they hold, of their length and 8 bytes an item;
    anything else is made anew and leaves them."""
    spare: list[np.ndarray] = []
    assert len(arrays.block(2, 3, 10, spare)) == 2 and len(spare) == 3
    ints = arrays.rows(2, 10, "i8", spare)
    assert [a.dtype for a in ints] == [np.dtype("i8")] * 2 and len(spare) == 1
    assert len(arrays.rows(2, 10, spare=spare)) == 2 and len(spare) == 1       # not enough left
    assert len(arrays.rows(1, 11, spare=spare)[0]) == 11 and len(spare) == 1  # another length
    assert arrays.rows(1, 10, "O", spare)[0][0] is None and len(spare) == 1    # objects: never
    assert len(arrays.rows(1, 10, spare=spare)) == 1 and spare == []


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's reuse of freed memory")
def test_a_repeated_results_call_is_not_given_fresh_pages():
    """Once results() of 10^4 rows has been called and its frame freed, the next calls reuse
    that memory: they fault in few pages (about 655 each when the frame was five blocks)."""
    code = textwrap.dedent("""
        import gc, resource, statistics
        import frugal
        f = frugal.measure(name="noop")(lambda: None)
        for _ in range(10_000):
            f()
        faults = []
        for _ in range(7):
            gc.collect()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            df = frugal.results()
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
            del df
        print(statistics.median(faults[2:]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 100
