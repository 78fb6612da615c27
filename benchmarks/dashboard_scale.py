"""How the dashboard scales: stores of many runs, and frames of many rows.

    python benchmarks/dashboard_scale.py [--runs 1000 5000] [--rows 100000 1000000]
    python benchmarks/dashboard_scale.py --quick        # a smoke test: 100 runs, 10^4 and 10^5 rows

1. Stores of N runs (``--runs``), written through ``frugal.store.Store.append`` as frugal
   itself writes them: each run a comparison of three sorts, ten calls each, measured for
   real once and then varied (drift and noise), a new git commit every three runs, one hour
   apart; every tenth run also measures 20 more names. For each store: the time of
   ``frugal dashboard STORE -o PAGE`` as a user runs it (a fresh process: imports, load and
   render), the load and the render inside one process, and the page's size.
2. ``frugal.report()`` of frames of 10^5 and 10^6 rows (``--rows``): real calls of four
   measured no-op functions (``frugal.results()``), and the growth of the report's time
   from the smaller to the larger frame (the target is at most 3x for 10x the rows).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import frugal
from frugal import store
from frugal.frames.columns import log_columns

SORTS = ("sorted", "heapq", "insertion_sort")
EXTRA = tuple(f"stage_{i:02d}" for i in range(20))
HOUR_NS = 3600 * 10**9
SCALED = ("wall_s", "cpu_s", "cpu_user_s", "cpu_system_s", "energy_j", "energy_cpu_j", "energy_ram_j",
          "energy_gpu_j", "carbon_g", "embodied_g", "wall_min_s", "wall_max_s")


def _templates() -> tuple[dict, dict]:
    """Column dicts of real measured calls: three sorts x 10, and the same plus 20 stages."""
    data = list(range(300, 0, -1))
    funcs = {n: frugal.measure(name=n)(lambda k=i: sorted(data * (k + 1))) for i, n in enumerate(SORTS)}
    stages = {n: frugal.measure(name=n)(lambda: sum(data)) for n in EXTRA}
    frugal.clear()
    for _ in range(10):
        for f in funcs.values():
            f()
    small = log_columns()
    for f in stages.values():
        f()
    large = log_columns()
    frugal.clear()
    return small, large


def write_store(path: Path, runs: int, seed: int = 0) -> float:
    """A store of ``runs`` runs; returns the seconds it took to write."""
    small, large = _templates()
    rng = np.random.default_rng(seed)
    s = store.Store(path)
    t0 = time.perf_counter()
    start = int(np.datetime64("2026-01-01T00:00:00", "ns").astype("i8"))
    commit = ""
    for r in range(runs):
        if r % 3 == 0:
            commit = rng.bytes(20).hex()
        cols = dict(large if r % 10 == 9 else small)
        drift = 1.0 + 0.3 * np.sin(r / 200) + (0.15 if r > runs // 2 else 0.0)
        for field in SCALED:
            values = np.asarray(cols[field], dtype="f8")
            cols[field] = values * drift * rng.lognormal(0.0, 0.05, len(values))
        begin = np.asarray(cols["started_at"], dtype="datetime64[ns]").astype("i8")
        cols["started_at"] = (begin - begin.min() + start + r * HOUR_NS).astype("datetime64[ns]")
        run = store.new_run(program="frugal compare" if r % 10 != 9 else "pipeline", git=(commit, "main"))
        run["started_at"] = start + r * HOUR_NS
        s.append(run, cols)
    return time.perf_counter() - t0


def dashboard_of_store(runs: int, tmp: Path) -> None:
    path = tmp / f"store-{runs}.db"
    took = write_store(path, runs)
    page = tmp / f"dashboard-{runs}.html"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "frugal", "dashboard", str(path), "-o", str(page)],
                          capture_output=True, text=True)
    cli = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    size = page.stat().st_size
    t0 = time.perf_counter()
    frame = frugal.load(path)
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    frugal.report(frame, tmp / "again.html", store=path)
    rendered = time.perf_counter() - t0
    print(f"  {runs:>6,} runs, {len(frame):>9,} rows (written in {took:5.1f} s): frugal dashboard {cli:6.2f} s "
          f"(in one process: load {loaded:5.2f} s, report {rendered:5.2f} s); page {size / 2**20:5.2f} MiB")


def frame_of_calls(n: int) -> object:
    """frugal.results() of ``n`` real calls of four measured no-op functions, round robin."""
    funcs = [frugal.measure(name=f"noop_{i}")(lambda: None) for i in range(4)]
    frugal.clear()
    for i in range(n):
        funcs[i & 3]()
    frame = frugal.results()
    frugal.clear()
    return frame


def report_of_rows(sizes: list[int], tmp: Path) -> None:
    times = {}
    for n in sizes:
        frame = frame_of_calls(n)
        t0 = time.perf_counter()
        frugal.report(frame, tmp / f"rows-{n}.html")
        times[n] = time.perf_counter() - t0
        size = (tmp / f"rows-{n}.html").stat().st_size
        print(f"  {n:>9,} rows: report {times[n]:6.2f} s, page {size / 2**20:5.2f} MiB")
    for a, b in zip(sizes, sizes[1:]):
        print(f"  growth from {a:,} to {b:,} rows ({b / a:.0f}x the rows): {times[b] / times[a]:.2f}x the time "
              "(target <= 3x for 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="100 runs, 10^4 and 10^5 rows")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.rows = [100], [10_000, 100_000]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, frugal {frugal.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.runs:
            print("Dashboard of a store (frugal dashboard STORE -o PAGE):")
            for runs in args.runs:
                dashboard_of_store(runs, Path(tmp))
        if args.rows:
            print("frugal.report() of a frame of measured calls:")
            report_of_rows(args.rows, Path(tmp))


if __name__ == "__main__":
    main()
