"""benchmarks/scale.py runs at a small size (a smoke test: it asserts no duration, only that
every line of issue 18's table is printed with its floor and ratio)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # the scale benchmark, a Dask cluster included: not in the quick tier

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "scale.py"


def test_the_scale_benchmark_prints_every_line_at_a_small_size():
    """--rows 10000: results(), the store loop, the writer, load, report, both open-regions
    cases and the Dask case are each printed with a ratio; no row of the 10,000 is missing
    from the store, no task's row from the client's frame or the store."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--rows", "10000", "--repeat", "1", "--open-calls", "2000",
                          "--dask-tasks", "300", "--dask-task-ms", "0"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for label in ("results()", "store loop (per call)", "store writer", "load", "report",
                  "open generators (50,000)", "open coroutines (20,000)", "dask cluster time",
                  "dask cluster CPU"):
        assert any(line.strip().startswith(label) and "ratio" in line for line in out.stdout.splitlines()), label
    assert "dask: 300 tasks of 0 ms, 300 in the client's frame, 300 in the store" in out.stdout
    if "PostgreSQL: skipped" not in out.stdout:      # a server could be started: its two lines
        for label in ("pg write", "pg load"):
            assert any(line.strip().startswith(label) and "ratio" in line for line in out.stdout.splitlines()), label
