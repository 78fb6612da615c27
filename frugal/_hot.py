"""The hot path: read the probes, run the region, read them again, append one row.

Nothing here imports pandas or allocates beyond the row. ``measure`` returns either a
wrapped function (decorator) or a ``Region`` (context manager, also usable as decorator).
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import math
import numbers
import os
import resource
import time
import warnings
from typing import Any, Callable

from frugal import _records, probes
from frugal._records import (
    CHILDREN, LOG, PEAK_KNOWN, RSS_KNOWN, S_CALLS, S_CPU, S_DEPTH, S_ERRORS, S_FLAGS,
    S_MAX, S_MIN, S_PARENT, S_RSS, S_SETTINGS, S_T0, S_UNITS, S_WALL, THREAD_SCOPE,
)

_perf = time.perf_counter_ns
_getrusage = resource.getrusage
_SELF = resource.RUSAGE_SELF
_THREAD = getattr(resource, "RUSAGE_THREAD", None)
_CHILDREN = resource.RUSAGE_CHILDREN
_pack = _records.pack
_rows = LOG.rows
_units_side = LOG.units
_meters_side = LOG.meters
_write = os.write
_pread = os.pread

# (name_id, depth) of the innermost open region in this thread or task.
_current: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "frugal_current", default=None
)

# --- memory probe state -----------------------------------------------------------
_probe = probes.select()
_exact = _probe.name == "procfs"
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4
_clear_fd = _probe.clear_fd if _exact else -1
_statm_fd = _probe.statm_fd if _exact else -1
_stale = False  # ru_maxrss holds an exited thread's mark above the current peak


class _Open:
    """A region whose peak is being tracked: resets by others fold the mark into it."""

    __slots__ = ("peak", "stale", "rss0")


_open: dict[_Open, None] = {}


def _after_fork_in_child() -> None:
    global _clear_fd, _statm_fd
    _probe.reopen()
    if _exact:
        _clear_fd, _statm_fd = _probe.clear_fd, _probe.statm_fd
    _open.clear()
    for hook in _fork_hooks:
        hook()


_fork_hooks: list[Callable[[], None]] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# --- settings snapshot and meters (filled by frugal.config / frugal.energy) -------
settings_id = 0          # index of the settings in force, recorded with each call
meter: Any = None        # object with .read() -> tuple, or None (model only)


def _mark_kb(stale: bool) -> int:
    if stale:
        return _probe.mark_kb()
    return _getrusage(_SELF).ru_maxrss


def _begin_peak(who: int) -> tuple[_Open, Any]:
    """Fold the current mark into open regions, reset it, and start a new tracked region."""
    global _stale
    if _open:
        mark = _mark_kb(_stale)
        for o in list(_open):
            if mark > o.peak:
                o.peak = mark
    _write(_clear_fd, b"5")
    ru = _getrusage(who)
    rss = int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB
    o = _Open()
    o.peak = o.rss0 = rss
    # Right after a reset the mark equals the resident set; a larger ru_maxrss is an
    # exited thread's old mark, and this region must read VmHWM instead.
    o.stale = _stale = ru.ru_maxrss > rss
    _open[o] = None
    return o, ru


def _end_peak(o: _Open, ru: Any) -> tuple[int, int]:
    """Return (peak_kb, rss_end_kb) for a tracked region and stop tracking it."""
    mark = _probe.mark_kb() if (o.stale or _stale) else ru.ru_maxrss
    rss = int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB
    _open.pop(o, None)
    peak = o.peak
    if mark > peak:
        peak = mark
    return peak, rss


def _status_of(exc: BaseException | None) -> tuple[int, int]:
    if exc is None:
        return 0, 0
    code = 1 if isinstance(exc, Exception) else 2
    return code, LOG.error_id(type(exc))


def _clean_units(value: Any, name: str) -> float | None:
    """Units are the user's number of functional units; bad ones are dropped with a warning."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        warnings.warn(f"frugal: units for {name!r} must be a number, got {type(value).__name__}; recorded as None",
                      RuntimeWarning, stacklevel=4)
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        warnings.warn(f"frugal: units for {name!r} must be a finite number >= 0, got {value}; recorded as None",
                      RuntimeWarning, stacklevel=4)
        return None
    return value


class _Spec:
    """What one measure(...) call asked for, validated once."""

    __slots__ = ("name", "name_id", "units", "who", "flags", "children", "summary", "peak")

    def __init__(self, name: str, units: Any, scope: str, children: bool, record: str) -> None:
        self.name = name
        self.name_id = LOG.name_id(name)
        self.units = units
        if scope == "thread":
            if _THREAD is None:
                raise ValueError("measure(scope='thread') needs RUSAGE_THREAD, which this platform lacks")
            self.who = _THREAD
        else:
            self.who = _SELF
        self.children = children
        self.summary = record == "summary"
        self.peak = _exact and not self.summary
        flags = (THREAD_SCOPE if scope == "thread" else 0) | (CHILDREN if children else 0)
        if self.peak:
            flags |= PEAK_KNOWN | RSS_KNOWN
        self.flags = flags


def _validate(name: Any, units: Any, scope: Any, children: Any, record: Any) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"measure(name=...) must be a str, got {type(name).__name__}")
    if name is not None and not name:
        raise ValueError("measure(name=...) must not be empty")
    if units is not None and not callable(units) and (
        isinstance(units, bool) or not isinstance(units, numbers.Real) or not units >= 0
    ):
        raise TypeError(f"measure(units=...) must be a number >= 0 or a callable, got {units!r}")
    if scope not in ("process", "thread"):
        raise ValueError(f"measure(scope=...) must be 'process' or 'thread', got {scope!r}")
    if not isinstance(children, bool):
        raise TypeError(f"measure(children=...) must be a bool, got {type(children).__name__}")
    if record not in ("calls", "summary"):
        raise ValueError(f"measure(record=...) must be 'calls' or 'summary', got {record!r}")


def _qualname(func: Callable) -> str:
    module = getattr(func, "__module__", None)
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    if module and module not in ("__main__", "builtins"):
        return f"{module}.{qual}"
    return qual


# --- start / stop of one region ---------------------------------------------------

_failures: set[str] = set()


def _measurement_failed(where: str, exc: BaseException) -> None:
    """The measured program goes on; the failure is said once per kind, never swallowed silently."""
    key = f"{where}:{type(exc).__name__}"
    if key not in _failures:
        _failures.add(key)
        warnings.warn(f"frugal: could not {where} a measurement ({type(exc).__name__}: {exc}); "
                      "the measured code ran unchanged", RuntimeWarning, stacklevel=3)


def _start(spec: _Spec) -> tuple | None:
    """Read the probes at region start; the state is what ``_stop`` needs (None on failure)."""
    try:
        parent = _current.get()
        if parent is None:
            parent_id = depth = 0
        else:
            parent_id, depth = parent[0] + 1, parent[1] + 1
        token = _current.set((spec.name_id, depth))
        if spec.summary:
            cpu0 = _thread_ns() if spec.who != _SELF else _process_ns()
            return token, parent_id, depth, None, cpu0, None, _perf()
        if spec.peak:
            o, ru = _begin_peak(spec.who)
        else:
            o, ru = None, _getrusage(spec.who)
        ch = _getrusage(_CHILDREN) if spec.children else None
        m = meter.read() if meter is not None else None
        return token, parent_id, depth, o, ru, (ch, m), _perf()
    except Exception as exc:
        _measurement_failed("start", exc)
        return None


def _stop(spec: _Spec, state: tuple | None, exc: BaseException | None,
          units: float | None) -> bytes | None:
    """Read the probes again and append the row; returns the packed row (None in summary mode)."""
    t1 = _perf()
    if state is None:
        return None
    try:
        token, parent_id, depth, o, ru0, extra, t0 = state
        try:
            _current.reset(token)
        except ValueError:  # a generator finished in another context than it started
            pass
        status, err = _status_of(exc)
        if spec.summary:
            cpu1 = _thread_ns() if spec.who != _SELF else _process_ns()
            _summarise(spec, t0, t1 - t0, cpu1 - ru0, status, parent_id, depth, units)
            return None
        ru1 = _getrusage(spec.who)
        ch0, m0 = extra
        user = ru1.ru_utime - ru0.ru_utime
        system = ru1.ru_stime - ru0.ru_stime
        if ch0 is not None:
            ch1 = _getrusage(_CHILDREN)
            user += ch1.ru_utime - ch0.ru_utime
            system += ch1.ru_stime - ch0.ru_stime
        if o is not None:
            peak, rss1 = _end_peak(o, ru1)
            drss = rss1 - o.rss0
        else:
            peak = drss = 0
        if m0 is not None:
            _meters_side[t0] = (meter, m0, meter.read())
        if units is not None:
            _units_side[t0] = units
        row = _pack(spec.name_id, t0, t1 - t0, user, system, peak, drss,
                    parent_id, depth if depth < 255 else 255, spec.flags | status, err, settings_id)
        _rows.extend(row)
        return row
    except Exception as exc:
        if o is not None:
            _open.pop(o, None)
        _measurement_failed("finish", exc)
        return None


_thread_ns = time.thread_time_ns
_process_ns = time.process_time_ns


def _summarise(spec: _Spec, t0: int, wall: int, cpu: int, status: int,
               parent_id: int, depth: int, units: float | None) -> None:
    with LOG.lock:
        agg = LOG.summary.get(spec.name_id)
        if agg is None:
            agg = [0, 0, 0, wall, wall, 0, t0, 0, spec.flags, parent_id, depth, None, settings_id]
            LOG.summary[spec.name_id] = agg
        calls = agg[S_CALLS] = agg[S_CALLS] + 1
        if status:
            agg[S_ERRORS] += 1
        agg[S_WALL] += wall
        if wall < agg[S_MIN]:
            agg[S_MIN] = wall
        elif wall > agg[S_MAX]:
            agg[S_MAX] = wall
        agg[S_CPU] += cpu
        if units is not None:
            agg[S_UNITS] = (agg[S_UNITS] or 0.0) + units
    if calls & 255 == 1:  # sample the process mark now and then: memory held, for the RAM model
        rss = _getrusage(_SELF).ru_maxrss
        if rss > agg[S_RSS]:
            agg[S_RSS] = rss


# --- the public face ----------------------------------------------------------------

def _units_for(spec: _Spec, args: tuple, kwargs: dict) -> float | None:
    """Evaluate the units callable on the call's arguments, outside the measured region."""
    units = spec.units
    if not callable(units):
        return units
    try:
        value = units(*args, **kwargs)
    except Exception as exc:
        warnings.warn(f"frugal: units callable for {spec.name!r} raised {type(exc).__name__}: {exc}; "
                      "recorded units=None", RuntimeWarning, stacklevel=3)
        return None
    return _clean_units(value, spec.name)


def _decorate(func: Callable, spec: _Spec) -> Callable:
    start, stop = _start, _stop
    has_units = spec.units is not None

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            u = _units_for(spec, args, kwargs) if has_units else None
            state = start(spec)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                stop(spec, state, exc, u)
                raise
            stop(spec, state, None, u)
            return result
        wrapper = async_wrapper
    elif inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        async def asyncgen_wrapper(*args, **kwargs):
            u = _units_for(spec, args, kwargs) if has_units else None
            agen = func(*args, **kwargs)
            state = start(spec)
            try:
                sent = None
                while True:
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        break
                    try:
                        sent = yield item
                    except GeneratorExit:
                        await agen.aclose()
                        raise
                    except BaseException as thrown:
                        # pass it in; what the generator yields next is ours to yield
                        try:
                            item = await agen.athrow(thrown)
                        except StopAsyncIteration:
                            break
                        sent = yield item
            except GeneratorExit:
                stop(spec, state, None, u)  # closed early: a normal end
                raise
            except BaseException as exc:
                stop(spec, state, exc, u)
                raise
            stop(spec, state, None, u)
        wrapper = asyncgen_wrapper
    elif inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def gen_wrapper(*args, **kwargs):
            u = _units_for(spec, args, kwargs) if has_units else None
            gen = func(*args, **kwargs)
            state = start(spec)
            try:
                result = yield from gen
            except GeneratorExit:
                stop(spec, state, None, u)  # closed early: a normal end
                raise
            except BaseException as exc:
                stop(spec, state, exc, u)
                raise
            stop(spec, state, None, u)
            return result
        wrapper = gen_wrapper
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            u = _units_for(spec, args, kwargs) if has_units else None
            state = start(spec)
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                stop(spec, state, exc, u)
                raise
            stop(spec, state, None, u)
            return result
    wrapper.__frugal_name__ = spec.name  # type: ignore[attr-defined]
    return wrapper


class Region:
    """A named region: ``with frugal.measure("load") as m:`` then ``m.result``.

    Also an ``async with`` context manager, and a decorator: ``frugal.measure(name=...)``
    without a function returns a Region, which decorates the function it is called on.
    ``m.units`` may be set inside the block once the amount of work is known.
    """

    __slots__ = ("_args", "_spec", "_states", "_row", "_units_side", "units")

    def __init__(self, name: str | None, units: Any, scope: str, children: bool, record: str) -> None:
        self._args = (units, scope, children, record)
        self._spec = None if name is None else _Spec(name, units, scope, children, record)
        self._states: list = []
        self._row: bytes | None = None
        self.units = None if callable(units) else units

    @property
    def name(self) -> str | None:
        return None if self._spec is None else self._spec.name

    def __call__(self, func: Callable) -> Callable:
        return measure(func, name=self.name, units=self._args[0], scope=self._args[1],
                       children=self._args[2], record=self._args[3])

    def __enter__(self) -> "Region":
        if self._spec is None:
            raise TypeError("frugal.measure() used as a context manager needs a name: "
                            "with frugal.measure('load') as m: ...")
        if callable(self._spec.units):
            raise TypeError("measure(units=...) must be a number in a with block; "
                            "set m.units inside the block instead")
        self._states.append(_start(self._spec))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        units = _clean_units(self.units, self._spec.name)
        self._row = _stop(self._spec, self._states.pop(), exc, units)
        self._units_side = units
        return None

    async def __aenter__(self) -> "Region":
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        return self.__exit__(exc_type, exc, tb)

    @property
    def result(self):
        """The ``Measurement`` of the last completed block."""
        from frugal.errors import FrugalError

        if self._states:
            raise FrugalError(f"m.result for region {self.name!r} is read inside its own block: "
                              "it exists once the block has ended")
        if self._row is None:
            if self._spec is not None and self._spec.summary:
                raise FrugalError(f"region {self.name!r} records a summary (record='summary'): "
                                  "read it with frugal.results()")
            raise FrugalError(f"region {self.name!r} has not been measured yet: use it in a with block first")
        from frugal._derive import measurement_from_row

        return measurement_from_row(self._row, self._units_side)

    def __repr__(self) -> str:
        return f"<frugal.Region {self.name!r}>"


def measure(func: Callable | str | None = None, /, *, name: str | None = None, units: Any = None,
            scope: str = "process", children: bool = False, record: str = "calls") -> Any:
    """Measure a function (bare or configured decorator) or a block (context manager).

    ``units``: functional units of work, a number or a callable that receives the call's
    arguments (evaluated before the call, outside the measured time). ``scope``: whose CPU
    time, the whole ``"process"`` or the calling ``"thread"``. ``children``: add the CPU of
    child processes waited for during the region. ``record``: ``"calls"`` keeps one row per
    call; ``"summary"`` keeps count, total, min and max per name, for hot functions.
    """
    if isinstance(func, str):
        if name is not None:
            raise TypeError("measure() got a name both as its first argument and as name=")
        name, func = func, None
    _validate(name, units, scope, children, record)
    if func is None:
        return Region(name, units, scope, children, record)
    if isinstance(func, (staticmethod, classmethod)):
        inner = measure(func.__func__, name=name, units=units, scope=scope, children=children, record=record)
        return type(func)(inner)
    if isinstance(func, type):
        raise TypeError(f"measure() decorates functions, not the class {func.__qualname__}: "
                        "decorate its methods instead")
    if not callable(func):
        raise TypeError(f"measure() needs a callable or a region name, got {type(func).__name__}")
    spec = _Spec(name or _qualname(func), units, scope, children, record)
    return _decorate(func, spec)
