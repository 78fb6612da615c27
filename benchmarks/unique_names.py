"""Unique names per call with a store set: a flush must cost in proportion to its rows, not to
the names interned so far (issue 30, defect 6).

Runs ``--calls`` calls (default 2,000,000) of ``with frugal.measure(f"req-{i}")`` with a store
in a temporary folder, and prints the seconds of each block of ``--block`` calls (default
500,000), the ratio of the last block to the first beside the target (at most 1.5), and the
growth of the process's resident memory (and per distinct name). The floor, measured first in
the same run: one block of calls under one constant name. Every row is checked in the store at
the end. No figure is asserted.

    .venv/bin/python benchmarks/unique_names.py [--calls 2000000] [--block 500000]
"""
from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import tempfile
import time
import warnings
from pathlib import Path

import frugal
from frugal import store

TARGET = 1.5


def rss_bytes() -> int:
    """The process's resident memory now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def block(first: int, count: int, unique: bool) -> float:
    """Seconds for ``count`` measured calls, each named ``req-<i>`` (or all ``req``)."""
    measure = frugal.measure
    t0 = time.perf_counter()
    if unique:
        for i in range(first, first + count):
            with measure(f"req-{i}"):
                pass
    else:
        for i in range(first, first + count):
            with measure("req"):
                pass
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000_000, help="measured calls with unique names")
    parser.add_argument("--block", type=int, default=500_000, help="calls per timed block")
    args = parser.parse_args()
    if args.calls < args.block or args.block < 1:
        parser.error("--calls must be at least --block, and --block at least 1")
    warnings.simplefilter("ignore", RuntimeWarning)   # the many-names warning is expected here
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "names.db"
        frugal.configure(store=db)
        floor = block(0, args.block, unique=False)
        frugal.flush()
        frugal.clear()
        gc.collect()
        rss0 = rss_bytes()
        times = []
        for first in range(0, args.calls - args.block + 1, args.block):
            times.append(block(first, args.block, unique=True))
            print(f"  calls {first:>9,} .. {first + args.block - 1:>9,}: {times[-1]:6.2f} s", flush=True)
        frugal.flush()
        rss1 = rss_bytes()
        frugal.configure(store=None)
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COALESCE(SUM(rows), 0) FROM chunks").fetchone()[0]
    calls = len(times) * args.block
    ratio = times[-1] / times[0]
    print(f"floor, one name        : {floor:6.2f} s per {args.block:,} calls")
    print(f"unique names, last/first block: {ratio:.2f}x (target <= {TARGET}) "
          f"{'OK' if ratio <= TARGET else 'MISSED'}")
    print(f"unique names, first block / floor: {times[0] / floor:.2f}x")
    growth = rss1 - rss0
    print(f"RSS growth over {calls:,} unique names: {growth / 2**20:,.0f} MiB "
          f"({growth / calls:,.0f} bytes per name)")
    print(f"rows stored: {stored - args.block:,} of {calls:,}")


if __name__ == "__main__":
    main()
