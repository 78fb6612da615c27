"""The hot path: read the probes, run the region, read them again, append one row.

Nothing here imports pandas or allocates beyond the row. ``measure`` returns either a
wrapped function (decorator) or a ``Region`` (context manager, also usable as decorator).
What the hot path needs from the layers above it, it owns and is handed: the settings in
force as one immutable ``Active`` snapshot (``activate``, called by ``frugal.config``), what
to do after a fork (``on_fork``), and how to turn a row into a Measurement
(``set_result_reader``, set by the package).
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import math
import numbers
import os
import resource
import threading
import time
import warnings
from collections import namedtuple
from collections.abc import Callable

from frugal import _records, probes
from frugal._records import (
    CHILDREN, LOG, PEAK_KNOWN, RSS_KNOWN, S_CALLS, S_CPU, S_ERRORS, S_MAX, S_MIN, S_RSS, S_UNITS,
    S_WALL, SEQ_MASK, THREAD_SCOPE,
)
from frugal.errors import FrugalError
from frugal.measurement import Measurement
from frugal.probes.procfs import ProcfsMemoryProbe
from frugal.units import check_bool, check_choice, check_number, check_text

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, NamedTuple, TypeAlias

    from frugal._records import MeterReading

    class Active(NamedTuple):
        settings_id: int
        meter: Any

    # what ``start`` read, for ``stop``: token, parent, depth, open peak, rusage, children's
    # rusage, meter reading, t0, fork generation, and the settings in force (their id and meter)
    State: TypeAlias = tuple[Any, ...]
    # what one finished region left: its packed row, its units and its meter readings
    Record: TypeAlias = tuple[bytes, "float | None", "MeterReading | None"]
    ResultReader: TypeAlias = Callable[[bytes, "float | None", "MeterReading | None"], Measurement]
else:
    Active = namedtuple("Active", "settings_id meter")

_perf = time.perf_counter_ns
_getrusage = resource.getrusage
_SELF = resource.RUSAGE_SELF
_THREAD = getattr(resource, "RUSAGE_THREAD", None)
_CHILDREN = resource.RUSAGE_CHILDREN
_pack = _records.ROW.pack
_append = LOG.append
_extend = LOG.rows.extend
_next_seq = _records.next_seq
_write = os.write
_pread = os.pread

# (name_id, depth) of the innermost open region in this thread or task.
_current: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "frugal_current", default=None
)

# --- memory probe state -----------------------------------------------------------
_probe = probes.select()
_exact = _probe.name == "procfs"
_procfs = _probe if isinstance(_probe, ProcfsMemoryProbe) else None  # whose files the hot path reads
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4
_clear_fd = _procfs.clear_fd if _procfs is not None else -1
_statm_fd = _procfs.statm_fd if _procfs is not None else -1


def _hwm_kb() -> int:
    """``VmHWM``, read only where the probe is exact (procfs), which read it when it was made."""
    return _probe.mark_kb() or 0


_SLACK_KB = 512  # the kernel's per-CPU RSS counters drift by a few pages between readers


class _Open:
    """A region whose peak is being tracked: resets by others fold the mark into it."""

    __slots__ = ("peak", "rss0")
    peak: int
    rss0: int


_open: dict[_Open, None] = {}


def _retained_mark_kb() -> int:
    """The mark the kernel keeps in ``signal->maxrss`` (from before an exec), if it exceeds ours.

    ``ru_maxrss`` is the larger of that retained mark and the resettable ``VmHWM``. While
    ``ru_maxrss`` is at or below the retained mark it says nothing about the region, and
    the region reads ``VmHWM`` instead (slower, always right).
    """
    if not _exact:
        return 0
    _probe.reset()
    ru = _getrusage(_SELF).ru_maxrss
    hwm = _probe.mark_kb() or 0
    return ru if ru > hwm + _SLACK_KB else 0


_retained_kb = _retained_mark_kb()


_fork_gen = 0  # bumped in a forked child: regions the parent opened are the parent's


def _after_fork_in_child() -> None:
    global _clear_fd, _statm_fd, _retained_kb, _fork_gen
    _fork_gen += 1
    # The inherited records are the parent's (it keeps and stores them): the child's results
    # must not show them again, under the child's pid.
    LOG.forget()
    _probe.reopen()
    if _procfs is not None:
        _clear_fd, _statm_fd = _procfs.clear_fd, _procfs.statm_fd
    _open.clear()
    _retained_kb = _retained_mark_kb()
    for hook in _fork_hooks:
        hook()


_fork_hooks: list[Callable[[], None]] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def on_fork(hook: Callable[[], None]) -> None:
    """Call ``hook`` in a forked child, after the hot path has reset its own state."""
    _fork_hooks.append(hook)


def memory_probe() -> probes.MemoryProbe:
    """The memory probe the hot path reads (for reports of what was detected)."""
    return _probe


# --- the settings in force: one immutable snapshot, handed in by frugal.config ----------

Active.__doc__ = ("What a measured call needs of the settings: their index (``settings_id``), recorded with "
                  "each call, and the ``meter`` to read (``read() -> tuple``), or None (energy modelled).")
_active = Active(0, None)


def activate(settings_id: int, meter: Any) -> None:
    """Put a settings snapshot in force for the calls that start from now on."""
    global _active
    _active = Active(settings_id, meter)


def active() -> Active:
    """The settings snapshot in force now."""
    return _active


_result_reader: ResultReader | None = None


def set_result_reader(reader: ResultReader) -> None:
    """How ``Region.result`` turns its row into a Measurement (energy is derived above this layer)."""
    global _result_reader
    _result_reader = reader


def _statm_kb() -> int:
    return int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB


def _fold_open() -> None:
    """Another region is about to reset the shared mark: fold it into every open region."""
    mark = _getrusage(_SELF).ru_maxrss
    if mark <= _retained_kb:
        mark = _hwm_kb()
    for o in list(_open):
        if mark > o.peak:
            o.peak = mark


def _open_region(ru: Any) -> _Open:
    """Start tracking a region whose mark was just reset and read back in ``ru``."""
    o = _Open()
    start = ru.ru_maxrss
    # Right after the reset the mark is the resident set: no separate read needed,
    # unless the kernel's retained mark hides it.
    o.peak = o.rss0 = start if start > _retained_kb else _statm_kb()
    _open[o] = None
    return o


def _slow_mark(o: _Open, mark: int, rss: int) -> tuple[int, bool]:
    """The region's mark when ``ru_maxrss`` cannot be trusted alone: (mark_kb, rss0_known).

    Either the kernel's retained mark hides ours, or the region ended with less memory
    than it started with and no growth: a region that freed memory, or a retained mark
    that hid the start. ``VmHWM``, always fresh, tells which.
    """
    global _retained_kb
    if mark <= _retained_kb:
        return _hwm_kb(), True
    hwm = _hwm_kb()
    if hwm + _SLACK_KB < o.rss0:
        _retained_kb = max(_retained_kb, o.rss0)
        o.peak = hwm
        return hwm, False
    return mark, True


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
    try:
        number = float(value)
    except OverflowError:       # an int beyond a float's range: not a count frugal can keep
        number = math.inf
    if not math.isfinite(number) or number < 0:
        warnings.warn(f"frugal: units for {name!r} must be a finite number >= 0, got {number}; recorded as None",
                      RuntimeWarning, stacklevel=4)
        return None
    return number


class Spec:
    """What one measure(...) call asked for, validated once."""

    __slots__ = ("name", "name_id", "units", "who", "clock", "flags", "children", "summary", "peak")

    def __init__(self, name: str, units: Any, scope: str, children: bool, record: str) -> None:
        self.name = name
        self.name_id = LOG.name_id(name)
        self.units: float | Callable[..., Any] | None = units
        if scope == "thread":
            if _THREAD is None:
                raise ValueError("measure(scope='thread') needs RUSAGE_THREAD, which this platform lacks")
            self.who = _THREAD
            self.clock = time.thread_time_ns
        else:
            self.who = _SELF
            self.clock = time.process_time_ns
        self.children = children
        self.summary = record == "summary"
        self.peak = _exact and not self.summary
        flags = (THREAD_SCOPE if scope == "thread" else 0) | (CHILDREN if children else 0)
        if self.peak:
            flags |= PEAK_KNOWN | RSS_KNOWN
        self.flags = flags


def _validate(name: Any, units: Any, scope: Any, children: Any, record: Any) -> None:
    check_text("measure(name=...)", name, optional=True)
    if units is not None and not callable(units):
        if isinstance(units, bool) or not isinstance(units, numbers.Real):
            raise TypeError(f"measure(units=...) must be a number >= 0 or a callable, got {units!r}")
        check_number("measure(units=...)", units)
    check_choice("measure(scope=...)", scope, ("process", "thread"))
    check_bool("measure(children=...)", children)
    check_choice("measure(record=...)", record, ("calls", "summary"))


def qualified_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` of a function (its bare qualname in ``__main__``): a region's default name."""
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


def start(spec: Spec, nest: bool = True) -> State | None:
    """Read the probes at region start; the state is what ``stop`` needs (None on failure).

    ``nest=False`` for generators: their region spans the caller's code between yields,
    so it must not become the caller's parent (nor stay so if never closed).
    """
    token = o = None
    settings_id, meter = _active
    try:
        if spec.summary:  # a summarised region is nobody's parent: it stays cheap
            t0 = _perf()
            return None, 0, 0, None, spec.clock(), None, None, t0, _fork_gen, settings_id, meter
        parent = _current.get()
        if parent is None:
            parent_id = depth = 0
        else:
            parent_id, depth = parent[0] + 1, parent[1] + 1
        token = _current.set((spec.name_id, depth)) if nest else None
        # The wall clock brackets the CPU readings, so cpu_s <= wall_s on one thread.
        if spec.peak:
            if _open:
                _fold_open()
            _write(_clear_fd, b"5")
            t0 = _perf()
            ru = _getrusage(spec.who)
            o = _open_region(ru)
        else:
            t0 = _perf()
            ru = _getrusage(spec.who)
        ch = _getrusage(_CHILDREN) if spec.children else None
        m = meter.read() if meter is not None else None
        return token, parent_id, depth, o, ru, ch, m, t0, _fork_gen, settings_id, meter
    except Exception as exc:
        # Leave nothing half started: no parent for later regions, no open peak.
        if token is not None:
            _current.reset(token)
        if o is not None:
            _open.pop(o, None)
        _measurement_failed("start", exc)
        return None


def stop(spec: Spec, state: State | None, exc: BaseException | None, units: float | None,
         append: Callable[[bytes, int, float | None, MeterReading | None], None] | None = _append,
         ) -> Record | None:
    """Read the probes again and hand the row to ``append`` (the log's door; None: to nobody).

    Returns the record (None in summary mode, or when the measurement failed).
    """
    if state is None:
        return None
    o = None
    try:
        token, parent_id, depth, o, ru0, ch0, m0, t0, gen, settings_id, meter = state
        if gen != _fork_gen:  # opened before a fork: the parent process records it
            return None
        if spec.summary:
            _summarise(spec, t0, ru0, exc is not None, units, settings_id)
            return None
        ru1 = _getrusage(spec.who)
        t1 = _perf()
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # entered in one context (task), left in another
                pass
        if exc is None:
            status = err = 0
        else:
            status, err = _status_of(exc)
        user = ru1.ru_utime - ru0.ru_utime
        system = ru1.ru_stime - ru0.ru_stime
        if ch0 is not None:
            ch1 = _getrusage(_CHILDREN)
            user += ch1.ru_utime - ch0.ru_utime
            system += ch1.ru_stime - ch0.ru_stime
        flags = spec.flags | status
        if o is not None:
            mark = ru1.ru_maxrss
            rss1 = int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB
            _open.pop(o, None)
            if mark <= _retained_kb or (mark <= o.rss0 and rss1 + _SLACK_KB < o.rss0):
                mark, known = _slow_mark(o, mark, rss1)
                if not known:
                    flags &= ~RSS_KNOWN
            peak = o.peak if o.peak > mark else mark
            drss = rss1 - o.rss0
        else:
            peak = drss = 0
        meters = (meter, m0, meter.read()) if m0 is not None else None
        seq = _next_seq() & SEQ_MASK
        row = _pack(seq, spec.name_id, t0, t1 - t0, user, system, peak, drss,
                    parent_id, depth if depth < 255 else 255, flags, err, settings_id)
        if append is _append and units is None and meters is None:
            _extend(row)        # the log's door when a row has no side data: one C call
        elif append is not None:
            append(row, seq, units, meters)
        return row, units, meters
    except Exception as exc:
        if o is not None:
            _open.pop(o, None)
        _measurement_failed("finish", exc)
        return None


def _summarise(spec: Spec, t0: int, cpu0: int, failed: bool, units: float | None,
               settings_id: int) -> None:
    """Add one call to its name's aggregate for this thread (summary mode)."""
    cpu = spec.clock() - cpu0
    wall = _perf() - t0
    # One aggregate per (name, thread): only its own thread updates it, so no lock.
    key = (spec.name_id, _get_ident())
    agg = _summary.get(key)
    if agg is None:
        parent = _current.get()
        parent_id, depth = (0, 0) if parent is None else (parent[0] + 1, parent[1] + 1)
        agg = _summary[key] = [0, 0, 0, wall, wall, 0, t0, 0, spec.flags, parent_id, depth, None, settings_id]
    calls = agg[S_CALLS] = agg[S_CALLS] + 1
    if failed:
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


_summary = LOG.summary
_get_ident = threading.get_ident


# --- the public face ----------------------------------------------------------------

def _units_for(spec: Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
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


def _decorate(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None
    wrapper: Callable[..., Any]

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
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
        async def asyncgen_wrapper(*args: Any, **kwargs: Any) -> Any:
            u = _units_for(spec, args, kwargs) if has_units else None
            agen = func(*args, **kwargs)
            state = start(spec, False)
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
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            u = _units_for(spec, args, kwargs) if has_units else None
            gen = func(*args, **kwargs)
            state = start(spec, False)
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
    elif spec.summary:
        clock, summarise = spec.clock, _summarise

        @functools.wraps(func)
        def summary_wrapper(*args: Any, **kwargs: Any) -> Any:
            u = _units_for(spec, args, kwargs) if has_units else None
            t0 = _perf()
            c0 = clock()
            try:
                result = func(*args, **kwargs)
            except BaseException:
                summarise(spec, t0, c0, True, u, _active.settings_id)
                raise
            summarise(spec, t0, c0, False, u, _active.settings_id)
            return result
        wrapper = summary_wrapper
    else:
        @functools.wraps(func)
        def call_wrapper(*args: Any, **kwargs: Any) -> Any:
            u = _units_for(spec, args, kwargs) if has_units else None
            state = start(spec)
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                stop(spec, state, exc, u)
                raise
            stop(spec, state, None, u)
            return result
        wrapper = call_wrapper
    setattr(wrapper, "__frugal_name__", spec.name)  # an attribute no function type declares
    return wrapper


class Region:
    """A named region: ``with frugal.measure("load") as m:`` then ``m.result``.

    Also an ``async with`` context manager, and a decorator: ``frugal.measure(name=...)``
    without a function returns a Region, which decorates the function it is called on.
    ``m.units`` may be set inside the block once the amount of work is known.
    """

    __slots__ = ("_args", "_spec", "_states", "_record", "units")

    def __init__(self, name: str | None, units: Any, scope: str, children: bool, record: str) -> None:
        self._args = (units, scope, children, record)
        self._spec = None if name is None else Spec(name, units, scope, children, record)
        self._states: list[State | None] = []
        self._record: Record | None = None
        self.units = None if callable(units) else units

    @property
    def name(self) -> str | None:
        return None if self._spec is None else self._spec.name

    def __call__(self, func: Callable[..., Any]) -> Any:
        return measure(func, name=self.name, units=self._args[0], scope=self._args[1],
                       children=self._args[2], record=self._args[3])

    def _spec_for_block(self) -> Spec:
        if self._spec is None:
            raise TypeError("frugal.measure() used as a context manager needs a name: "
                            "with frugal.measure('load') as m: ...")
        if callable(self._spec.units):
            raise TypeError("measure(units=...) must be a number in a with block; "
                            "set m.units inside the block instead")
        return self._spec

    def __enter__(self) -> Region:
        self._states.append(start(self._spec_for_block()))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        spec = self._spec_for_block()
        units = _clean_units(self.units, spec.name)
        self._record = stop(spec, self._states.pop(), exc, units)

    async def __aenter__(self) -> Region:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    @property
    def result(self) -> Measurement:
        """The ``Measurement`` of the last completed block."""
        if self._states:
            raise FrugalError(f"m.result for region {self.name!r} is read inside its own block: "
                              "it exists once the block has ended")
        if self._record is None:
            if self._spec is not None and self._spec.summary:
                raise FrugalError(f"region {self.name!r} records a summary (record='summary'): "
                                  "read it with frugal.results()")
            raise FrugalError(f"region {self.name!r} has not been measured yet: use it in a with block first")
        if _result_reader is None:
            raise FrugalError("frugal was not imported as a package: no reader of results is set")
        return _result_reader(*self._record)

    def __repr__(self) -> str:
        return f"<frugal.Region {self.name!r}>"


def measure(func: Callable[..., Any] | str | None = None, /, *, name: str | None = None, units: Any = None,
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
    spec = Spec(name or qualified_name(func), units, scope, children, record)
    return _decorate(func, spec)
