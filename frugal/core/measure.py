"""The hot path's public face: ``measure`` (decorator or context manager) and ``Region``.

A wrapped function reads the probes (``frugal.core.span.start``), calls the function, reads them
again (``stop``) and leaves one row in the log. Wrappers keep the whole protocol of what they
wrap: return values and exceptions unchanged, ``send``/``throw``/``close`` of generators,
``asend``/``athrow``/``aclose`` of async generators, and ``inspect``'s predicates and
signature. A coroutine (or async generator) is driven one step at a time, so its CPU is the
sum of its own steps on the thread clock: coroutines gathered on one loop are each charged
their own work; its wall time runs from its first step to its end.
"""
from __future__ import annotations

import functools
import math
import numbers
import threading
import types
import warnings
from collections.abc import Callable

from frugal.core import own as _own
from frugal.core import span as _span
from frugal.core.span import Spec, _current, _perf, _summarise, _thread_ns, start, stop
from frugal.errors import FrugalError, raised_by_signal_handler
from frugal.validate import check_bool, check_choice, check_number, check_text

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Any

    from frugal.core.span import Record, State
    from frugal.measurement import Measurement

_get_ident = threading.get_ident


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


def _units_for(spec: Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    """Evaluate the units callable on the call's arguments, outside the measured region."""
    units = spec.units
    if not callable(units):
        return units
    try:
        value = units(*args, **kwargs)
    except Exception as exc:
        if raised_by_signal_handler(exc):
            raise
        warnings.warn(f"frugal: units callable for {spec.name!r} raised {type(exc).__name__}: {exc}; "
                      "recorded units=None", RuntimeWarning, stacklevel=3)
        return None
    return _clean_units(value, spec.name)


# --- coroutines, one step at a time ---------------------------------------------------------

@types.coroutine
def _steps(it: Any, acc: list[int]) -> Generator[Any, Any, Any]:
    """Drive an awaitable's iterator as ``await`` would (PEP 380), adding the thread CPU of each
    of its steps (each resumption until its next suspension) to ``acc[0]``, in ns."""
    send, throw = it.send, it.throw
    value: Any = None
    thrown: BaseException | None = None
    while True:
        c0 = _thread_ns()
        try:
            out = send(value) if thrown is None else throw(thrown)
        except StopIteration as end:
            acc[0] += _thread_ns() - c0
            return end.value
        except BaseException:
            acc[0] += _thread_ns() - c0
            raise
        acc[0] += _thread_ns() - c0
        thrown = None
        try:
            value = yield out
        except GeneratorExit:
            it.close()
            raise
        except BaseException as exc:  # thrown in (a cancellation...): passed on to the awaitable
            value, thrown = None, exc


# --- the wrappers ---------------------------------------------------------------------------

def _decorate(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    import inspect      # here, not at ``import frugal``: it imports ast, dis, tokenize... (~5 ms)

    if inspect.iscoroutinefunction(func):
        wrapper = _coroutine_wrapper(func, spec)
    elif inspect.isasyncgenfunction(func):
        wrapper = _asyncgen_wrapper(func, spec)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator_wrapper(func, spec)
    elif spec.summary:
        wrapper = _summary_wrapper(func, spec)
    else:
        wrapper = _call_wrapper(func, spec)
    setattr(wrapper, "__frugal_name__", spec.name)  # an attribute no function type declares
    return wrapper


def _call_wrapper(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None

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
    return call_wrapper


def _summary_wrapper(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None
    clock, summarise = spec.clock, _summarise

    @functools.wraps(func)
    def summary_wrapper(*args: Any, **kwargs: Any) -> Any:
        u = _units_for(spec, args, kwargs) if has_units else None
        t0 = _perf()
        c0 = clock()
        own0: Any = _own.STATE  # frugal's own CPU, left out of a process-scope call (span.start)
        if own0[1]:
            own0 = _own.now_ns(own0)
        try:
            result = func(*args, **kwargs)
        except BaseException:
            summarise(spec, t0, clock() - c0, True, u, _span._active.settings_id, own0)
            raise
        summarise(spec, t0, clock() - c0, False, u, _span._active.settings_id, own0)
        return result
    return summary_wrapper


def _generator_wrapper(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None

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
    return gen_wrapper


def _coroutine_wrapper(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None
    spec = Spec(spec.name, spec.units, "task", spec.children, "summary" if spec.summary else "calls", task=True)

    @functools.wraps(func)
    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        u = _units_for(spec, args, kwargs) if has_units else None
        acc = [0]
        state = start(spec)
        try:
            result = await _steps(func(*args, **kwargs).__await__(), acc)
        except BaseException as exc:
            stop(spec, state, exc, u, cpu_ns=acc[0])
            raise
        stop(spec, state, None, u, cpu_ns=acc[0])
        return result
    return async_wrapper


def _asyncgen_wrapper(func: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    has_units = spec.units is not None
    spec = Spec(spec.name, spec.units, "task", spec.children, "summary" if spec.summary else "calls", task=True)

    @functools.wraps(func)
    async def asyncgen_wrapper(*args: Any, **kwargs: Any) -> Any:
        u = _units_for(spec, args, kwargs) if has_units else None
        agen = func(*args, **kwargs)
        acc = [0]
        state = start(spec, False)
        try:
            try:
                item = await _steps(agen.__anext__().__await__(), acc)
            except StopAsyncIteration:
                stop(spec, state, None, u, cpu_ns=acc[0])
                return
            while True:
                # Every value and exception that reaches this yield goes to agen as the caller
                # sent it, GeneratorExit (from aclose) included: agen decides, as it would alone,
                # whether it ends (then so does this wrapper) or yields again.
                try:
                    sent = yield item
                except BaseException as thrown:
                    step = agen.athrow(thrown)
                else:
                    step = agen.asend(sent)
                try:
                    item = await _steps(step.__await__(), acc)
                except StopAsyncIteration:
                    break
        except GeneratorExit:
            stop(spec, state, None, u, cpu_ns=acc[0])  # closed early: a normal end
            raise
        except BaseException as exc:
            stop(spec, state, exc, u, cpu_ns=acc[0])
            raise
        stop(spec, state, None, u, cpu_ns=acc[0])
    return asyncgen_wrapper


# --- the context manager ---------------------------------------------------------------------

class Region:
    """A named region: ``with frugal.measure("load") as m:`` then ``m.result``.

    Also an ``async with`` context manager, and a decorator: ``frugal.measure(name=...)``
    without a function returns a Region, which decorates the function it is called on.
    ``m.units`` may be set inside the block once the amount of work is known. One Region
    may be entered by several threads or tasks at once, and recursively: each block is
    measured on its own (``m.result`` is the last block that ended).
    """

    __slots__ = ("_args", "_spec", "_states", "_record", "units")

    def __init__(self, name: str | None, units: Any, scope: str, children: bool, record: str) -> None:
        self._args = (units, scope, children, record)
        self._spec = None if name is None else Spec(name, units, scope, children, record)
        self._states: list[tuple[int, State | None]] = []    # (thread id, state) of open blocks
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
        self._states.append((_get_ident(), start(self._spec_for_block())))
        return self

    def _own_state(self) -> State | None:
        """The state of the block this thread or task is leaving: the one whose region is the
        innermost open in this context, else this thread's latest."""
        states = list(self._states)
        current = _current.get()
        mine = [entry for entry in states if entry[0] == _get_ident()]
        chosen = next((e for e in reversed(mine) if e[1] is not None and e[1][1] is current), None)
        if chosen is None:
            chosen = mine[-1] if mine else states[-1] if states else None
        if chosen is None:
            return None
        self._states.remove(chosen)
        return chosen[1]

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        spec = self._spec_for_block()
        units = _clean_units(self.units, spec.name)
        record = stop(spec, self._own_state(), exc, units)
        if record is not None:
            self._record = record

    async def __aenter__(self) -> Region:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    @property
    def result(self) -> Measurement:
        """The ``Measurement`` of the last completed block."""
        if any(entry[0] == _get_ident() for entry in self._states):
            raise FrugalError(f"m.result for region {self.name!r} is read inside its own block: "
                              "it exists once the block has ended")
        if self._record is None:
            if self._spec is not None and self._spec.summary:
                raise FrugalError(f"region {self.name!r} records a summary (record='summary'): "
                                  "read it with frugal.results()")
            raise FrugalError(f"region {self.name!r} has not been measured yet: use it in a with block first")
        # Energy is derived a layer above the hot path: imported here, on the first result read,
        # numpy quietly (its threads' start-up spin is not charged to the next region).
        _own.import_quietly("numpy")
        from frugal.frames.columns import measurement_from_row

        return measurement_from_row(*self._record)

    def __repr__(self) -> str:
        return f"<frugal.Region {self.name!r}>"


def measure(func: Callable[..., Any] | str | None = None, /, *, name: str | None = None, units: Any = None,
            scope: str = "process", children: bool = False, record: str = "calls") -> Any:
    """Measure a function (bare or configured decorator) or a block (context manager).

    ``units``: functional units of work, a number or a callable that receives the call's
    arguments (evaluated before the call, outside the measured time). ``scope``: whose CPU
    time, the whole ``"process"`` or the calling ``"thread"`` (coroutines and async
    generators are always charged their own steps: scope ``"task"``). ``children``: add
    the CPU of child processes waited for during the region. ``record``: ``"calls"`` keeps
    one row per call; ``"summary"`` keeps count, total, min and max per name, for hot functions.
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


__all__ = ["Region", "measure", "qualified_name"]
