"""How the dashboard scales with the number of distinct names (issue 30, defect 5).

    python benchmarks/dashboard_names.py [--rows 500000] [--names 10000]
    python benchmarks/dashboard_names.py --quick     # 50,000 rows over 1,000 names

Builds a seeded store of ``--rows`` measurements over ``--names`` distinct names, in one
run, written through ``frugal.store.Store.append`` as frugal writes them (column dicts of
real measured calls, tiled and varied), and the same rows under one name as the floor.
For each: ``frugal dashboard STORE -o PAGE`` in a fresh process, its wall seconds and
peak resident memory (the child's ``ru_maxrss``), beside the targets (30 s, 1.5 GB for
500,000 rows over 10,000 names), and the page's size.
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
from frugal.frames.columns import Text, log_columns

SCALED = ("wall_s", "cpu_s", "cpu_user_s", "cpu_system_s", "energy_j", "energy_cpu_j", "energy_ram_j",
          "energy_gpu_j", "carbon_g", "embodied_g", "wall_min_s", "wall_max_s")
TARGET_S, TARGET_BYTES = 30.0, 1.5e9
CHUNK = 100_000     # rows per append: one run, several transactions


def _template() -> dict:
    """Column dicts of 64 real measured calls."""
    data = list(range(2000, 0, -1))
    f = frugal.measure(name="template")(lambda: sorted(data))
    frugal.clear()
    for _ in range(64):
        f()
    cols = log_columns()
    frugal.clear()
    return cols


def write_store(path: Path, rows: int, names: int, seed: int = 0) -> float:
    """A store of ``rows`` measurements over ``names`` names (round robin); returns the seconds taken."""
    template = _template()
    rng = np.random.default_rng(seed)
    labels = [f"service.handler_{i:05d}" for i in range(names)]
    # each name its own typical cost (lognormal over two decades), so that "costliest" ranks them
    scale = rng.lognormal(0.0, 1.0, names)
    s = store.Store(path)
    run = store.new_run(program="dashboard_names")
    t0 = time.perf_counter()
    start = int(np.datetime64("2026-01-01T00:00:00", "ns").astype("i8"))
    for first in range(0, rows, CHUNK):
        n = min(CHUNK, rows - first)
        pick = rng.integers(0, len(template["name"]), n)
        cols = {k: v[pick] for k, v in template.items()}
        code = (np.arange(first, first + n) % names).astype("i8")
        cols["name"] = Text(code, labels)
        for field in SCALED:
            cols[field] = np.asarray(cols[field], dtype="f8") * scale[code] * rng.lognormal(0.0, 0.1, n)
        cols["started_at"] = (start + np.arange(first, first + n, dtype="i8") * 1000).astype("datetime64[ns]")
        s.append(run, cols)
    return time.perf_counter() - t0


def dashboard(path: Path, page: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of ``frugal dashboard STORE -o PAGE`` in a fresh process:
    the child's own ``ru_maxrss`` (``os.wait4``, as ``RUSAGE_CHILDREN`` gives it for one child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "frugal", "dashboard", str(path), "-o", str(page)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(err.decode(errors="replace"))
    return wall, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="50,000 rows over 1,000 names")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.names = 50_000, 1_000
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, frugal {frugal.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for names in (args.names, 1):
            path = Path(tmp) / f"store-{names}.db"
            took = write_store(path, args.rows, names)
            page = Path(tmp) / f"page-{names}.html"
            wall, peak = dashboard(path, page)
            target = " (floor: one name)" if names == 1 else \
                f" (target for 500,000 rows over 10,000 names: <= {TARGET_S:.0f} s, <= {TARGET_BYTES / 1e9:.1f} GB)"
            print(f"  {args.rows:>9,} rows over {names:>6,} names (written in {took:5.1f} s): frugal dashboard "
                  f"{wall:6.1f} s, peak RSS {peak / 1e9:5.2f} GB, page {page.stat().st_size / 2**20:5.2f} MiB{target}")


if __name__ == "__main__":
    main()
