"""How ``compare`` and ``scaling`` make their runs: argument checks, the clocks' resolutions,
a progress bar, one measured run that outlives its function's exception, and the frame of runs.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import random
import resource
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd

from frugal.errors import FrugalError
from frugal.frame import frame_from_columns
from frugal.measurement import FIELDS, Measurement

CLOCK_STEPS = 1000    # a run shorter than this many clock steps is "shorter than the clock resolves"
WALL_FLOOR_S = 1e-6   # the jitter of frugal's own probe reads: the wall clock's effective step


# --- clocks ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def cpu_clock_resolution() -> float:
    """The smallest step of the CPU clock that ``measure`` reads (getrusage), in s, observed.

    Spins (at most 50 ms) until the process's user+system time has moved 50 times and keeps
    the smallest move. The kernel's reported unit is 1 µs; coarser on tick-based systems.
    """
    def now() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    steps: list[float] = []
    deadline = time.perf_counter() + 0.05
    last = now()
    while len(steps) < 50 and time.perf_counter() < deadline:
        t = now()
        if t != last:
            steps.append(round(t - last, 9))
            last = t
    return min(steps) if steps else 0.05


def wall_clock_resolution() -> float:
    """The wall clock's effective step in s: perf_counter's resolution, at least 1 µs
    (frugal's own probe reads at each end of a region jitter by about that much)."""
    return max(time.get_clock_info("perf_counter").resolution, WALL_FLOOR_S)


# --- argument checks -----------------------------------------------------------------

def _int_at_least(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _progress_flag(progress: Any) -> bool | None:
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be None, True or False, got {progress!r}")
    return progress


def _seed(seed: Any) -> int:
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    return _int_at_least("seed", seed, 0)


def _callable(what: str, fn: Any) -> Callable[[], Any]:
    if not callable(fn):
        raise ValueError(f"{what} must be callable, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise ValueError(f"{what} is an async function: pass a plain callable that runs it, "
                         "e.g. lambda: asyncio.run(f())")
    return fn


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    try:
        return float(value)
    except OverflowError:       # an int beyond a float's range
        raise ValueError(f"{name} must be a finite number > 0 (a float), got an int of "
                         f"{value.bit_length()} bits") from None


# --- running ---------------------------------------------------------------------------

def _run_once(region: Any, fn: Callable[[], Any]) -> Measurement:
    """One measured run; an exception is recorded in the Measurement (status, error)."""
    try:
        with region:
            fn()
    except Exception:
        pass  # the region recorded it: status "error", error = the exception's type name
    try:
        return region.result
    except FrugalError:
        # the probes themselves failed (frugal warned): keep the run, say it was not measured
        nan = math.nan
        return Measurement(name=region.name, started_at=datetime.now(timezone.utc), wall_s=nan,
                           cpu_user_s=nan, cpu_system_s=nan, cpu_s=nan, cpu_util=None,
                           peak_rss_bytes=None, rss_delta_bytes=None, status="error",
                           error="FrugalError (not measured)", pid=os.getpid())


def _frame(keys: dict[str, list], runs: list[Measurement]) -> pd.DataFrame:
    """Key columns first, then every Measurement field, one row per run."""
    cols: dict[str, Any] = {f: [getattr(m, f) for m in runs] for f in FIELDS}
    cols["started_at"] = [m.started_at.astimezone(timezone.utc).replace(tzinfo=None) for m in runs]
    frame = frame_from_columns(cols)
    for position, (name, values) in enumerate(keys.items()):
        frame.insert(position, name, values)
    return frame


def _warmup_notes(failures: Counter, warmup: int) -> list[str]:
    return [f"{n} of {warmup} warm-up runs of {name!r} raised {err}" for (name, err), n in failures.items()]
