"""The one run loop: repeated, interleaved, measured runs, shared by ``compare``, ``scaling``
and ``frugal compare`` (commands), with the clocks' resolutions that say when a run is too short.

``run_plan`` runs each key's warm-ups, then ``repeat`` rounds that each visit every key once
in a seeded random order (blocked randomisation: a machine that slows down or heats up
weighs on every key alike, and no key's runs bunch together). A run is anything that
returns a ``Measurement``; ``run_once`` makes one from a measured region and a function.
"""
from __future__ import annotations

import functools
import gc
import inspect
import math
import os
import random
import resource
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import pandas as pd

from frugal.core.measure import Region
from frugal.errors import FrugalError
from frugal.frames.frame import frame_from_columns
from frugal.frames.process import Stopped
from frugal.measurement import FIELDS, Measurement
from frugal.progress import Progress
from frugal.validate import check_bool, check_int

CLOCK_STEPS = 1000    # a run shorter than this many clock steps is "shorter than the clock resolves"
WALL_FLOOR_S = 1e-6   # the jitter of frugal's own probe reads: the wall clock's effective step

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


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


def shortest_resolved() -> dict[str, float]:
    """The shortest wall and CPU times (s) that the clocks resolve to 0.1%: ``CLOCK_STEPS`` steps."""
    return {"wall_s": CLOCK_STEPS * wall_clock_resolution(), "cpu_s": CLOCK_STEPS * cpu_clock_resolution()}


# --- arguments -----------------------------------------------------------------------

def check_seed(seed: Any) -> int:
    """A seed for the run order and the bootstrap: the one given, else a fresh random one."""
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    return check_int("seed", seed, 0)


def check_runnable(name: str, fn: object) -> Callable[..., Any]:
    """A plain callable to run and measure (an async function must be wrapped by the caller)."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise ValueError(f"{name} is an async function: pass a plain callable that runs it, "
                         "e.g. lambda: asyncio.run(f())")
    return fn


# --- one run -------------------------------------------------------------------------

ERROR_TEXT = 200      # characters of an exception's message kept with its type


def error_text(exc: BaseException) -> str:
    """``KeyError: 'x'``: an exception's type and the start of its message, on one line."""
    message = " ".join(str(exc).split())
    if len(message) > ERROR_TEXT:
        message = message[:ERROR_TEXT - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def call_through(fn: Callable[[], Any]) -> None:
    """Call ``fn``; when it returns an iterator (a generator, ``map``, ``iter(...)``: work not
    done yet), consume it to its end, so that the work is done where it is measured, as
    ``@measure`` measures a generator over its iteration."""
    result = fn()
    if isinstance(result, Iterator):
        deque(result, maxlen=0)


def run_once(region: Region, fn: Callable[[], Any], errors: list[str] | None = None) -> Measurement:
    """One measured run of ``fn`` (``call_through``: a returned iterator is consumed); an
    exception is recorded in the Measurement (status, error: its type) and, with ``errors``,
    its type and message are appended there."""
    try:
        with region:
            call_through(fn)
    except Exception as exc:
        # the region recorded it (status "error", error = the type); keep the message too
        if errors is not None:
            errors.append(error_text(exc))
    try:
        return region.result
    except FrugalError:
        # the probes themselves failed (frugal warned): keep the run, say it was not measured
        nan = math.nan
        return Measurement(name=region.name or "", started_at=datetime.now(timezone.utc), wall_s=nan,
                           cpu_user_s=nan, cpu_system_s=nan, cpu_s=nan, cpu_util=None,
                           peak_rss_bytes=None, rss_delta_bytes=None, status="error",
                           error="FrugalError (not measured)", pid=os.getpid())


def attempt(fn: Callable[[], Any]) -> Exception | None:
    """Run ``fn`` unmeasured (a warm-up, ``call_through``); the ``Exception`` it raised, or None."""
    try:
        call_through(fn)
    except Exception as exc:
        return exc
    return None


# --- the loop ------------------------------------------------------------------------

@dataclass
class Runs(Generic[K, R]):
    """What ``run_plan`` measured: per key, (position in the run order, run) pairs, and notes
    on the warm-ups that failed. A run is a Measurement (or a ``frugal.frames.process.ProcessRun``)."""

    done: dict[K, list[tuple[int, R]]]
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False     # Ctrl-C stopped the plan (``keep_interrupted``): ``done`` is what finished
    stopped_by: int | None = None  # the signal that stopped it: SIGINT for Ctrl-C, that of ``Stopped``

    def rows(self) -> list[tuple[K, int, int, R]]:
        """(key, run number within the key, position in the order, run), key by key."""
        return [(key, run, position, m) for key, pairs in self.done.items()
                for run, (position, m) in enumerate(pairs)]


def run_plan(keys: Sequence[K], run: Callable[[K], R], warm: Callable[[K], Exception | None], *,
             repeat: int, warmup: int, seed: int, interleave: bool = True, progress: bool | None = None,
             label: str = "frugal", describe: Callable[[K], str] = str,
             keep_interrupted: bool = False) -> Runs[K, R]:
    """Run every key ``warmup`` times unmeasured, then ``repeat`` measured rounds.

    ``run(key)`` makes one measured run and returns it (recording, not raising, what the
    measured code raised); ``warm(key)`` makes one unmeasured run and returns the
    exception the code raised, or None (``attempt``): such failures are counted in ``notes``.
    Whatever ``run`` or ``warm`` raise themselves stops the loop (a broken input maker,
    ``KeyboardInterrupt``, ``Stopped``). Each round visits every key once, in an order drawn from ``seed``
    (``interleave=False``: all runs of the first key, then the next). ``progress``: a bar on
    stderr, by default when stderr is a terminal. ``keep_interrupted``: a ``KeyboardInterrupt``
    ends the plan instead of propagating, and the runs that finished are returned
    (``Runs.interrupted``).
    """
    check_bool("interleave", interleave)
    check_bool("progress", progress, optional=True)
    keys = list(keys)
    rng = random.Random(seed)
    if interleave:
        order = [key for _ in range(repeat) for key in rng.sample(keys, len(keys))]
    else:
        order = [key for key in keys for _ in range(repeat)]
    bar = Progress(len(keys) * warmup + len(order), label, progress, keep=True)
    failures: Counter[tuple[str, str]] = Counter()
    done: dict[K, list[tuple[int, R]]] = {key: [] for key in keys}
    stopped_by = None
    try:
        for key in keys:
            for _ in range(warmup):
                exc = warm(key)
                if exc is not None:
                    failures[describe(key), type(exc).__name__] += 1
                bar.step(f"warm-up {describe(key)}")
        gc.collect()  # garbage left by the warm-ups is not any measured run's cost
        for position, key in enumerate(order):
            done[key].append((position, run(key)))
            bar.step(describe(key))
    except KeyboardInterrupt as exc:
        if not keep_interrupted:
            raise
        stopped_by = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    finally:
        bar.close()
    notes = [f"{n} of {warmup} warm-up runs of {name} raised {err}" for (name, err), n in failures.items()]
    return Runs(done, notes, stopped_by is not None, stopped_by)


def runs_frame(keys: Mapping[str, Any], runs: Sequence[Measurement]) -> pd.DataFrame:
    """Key columns first, then every Measurement field, one row per run."""
    cols: dict[str, Any] = {f: [getattr(m, f) for m in runs] for f in FIELDS}
    cols["started_at"] = [m.started_at.astimezone(timezone.utc).replace(tzinfo=None) for m in runs]
    frame = frame_from_columns(cols)
    for position, (name, values) in enumerate(keys.items()):
        frame.insert(position, name, values)
    return frame

