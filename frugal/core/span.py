"""Start and stop of one measured region: read the probes, later read them again, append one row.

Nothing here imports pandas or allocates beyond the row and one small node per region.
What this layer needs from above it, it owns and is handed: the settings in force as one
immutable ``Active`` snapshot (``activate``, called by ``frugal.core.settings``) and what to do after
a fork (``on_fork``).

Safe to interrupt. An exception that a signal handler raises while frugal is inside
``start`` or ``stop`` (``KeyboardInterrupt`` from Ctrl-C, or any other) propagates: frugal
catches only the failures of its own probes, never a ``BaseException`` it did not raise.
Whatever point it interrupts, nesting stays sound: each open region is a node held only by
its caller; the nesting context variable and the registry of regions whose peak is tracked
hold weak references to it, so a region whose caller was unwound by an exception before it
could call ``stop`` vanishes from both on its own.

Open regions cost O(1). Peak memory is one process-wide kernel mark; every reset first
records the mark it destroys in a monotonic stack (marks decreasing, reset indices
increasing), and a region's peak is the largest mark recorded after its own reset (a binary
search) or the mark at its end: no scan over the other open regions, however many
generators or coroutines are suspended.
"""
from __future__ import annotations

import bisect
import contextvars
import itertools
import os
import resource
import threading
import time
import warnings
import weakref
from collections import namedtuple
from collections.abc import Callable

from frugal.core import own as _own
from frugal.core import rows as _records
from frugal.machine import probes
from frugal.core.rows import (
    CHILDREN, LOG, NO_SPLIT, PEAK_KNOWN, RSS_KNOWN, S_CALLS, S_CPU, S_ERRORS, S_MAX, S_MIN, S_RSS,
    S_UNITS, S_WALL, SEQ_MASK, TASK_SCOPE, THREAD_SCOPE,
)
from frugal.machine.probes.procfs import ProcfsMemoryProbe

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, NamedTuple, TypeAlias

    from frugal.core.rows import MeterReading

    class Active(NamedTuple):
        settings_id: int
        meter: Any

    # what ``start`` read, for ``stop`` (see ``start``)
    State: TypeAlias = tuple[Any, ...]
    # what one finished region left: its packed row, its units and its meter readings
    Record: TypeAlias = tuple[bytes, "float | None", "MeterReading | None"]
else:
    Active = namedtuple("Active", "settings_id meter")

_perf = time.perf_counter_ns
_thread_ns = time.thread_time_ns
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
_NAN = float("nan")


# --- open regions: nodes, weak references to them, the nesting context variable ----------

class _Node:
    """One open region. Only its caller holds it; everything else refers to it weakly."""

    __slots__ = ("__weakref__",)


class _Ref(weakref.ref):  # type: ignore[type-arg]  # a reference to a _Node
    """A weak reference to an open region's node, with what its children need to know."""

    __slots__ = ("name_id", "depth", "parent")
    # Hashed by identity, in C: a weak reference's own hash needs its referent alive, and the
    # callback that removes a dead region from ``_open`` runs when it is not.
    __hash__ = object.__hash__
    name_id: int
    depth: int
    parent: _Ref | None


# The innermost open region in this thread or task (its node may be gone: see ``_parent``).
_current: contextvars.ContextVar[_Ref | None] = contextvars.ContextVar("frugal_current", default=None)

# References to the regions whose peak is tracked. A reference's callback, ``_open.discard``,
# removes a region whose caller vanished without calling ``stop``: a C function, which no
# signal handler can interrupt (an exception raised in a Python callback would be lost).
_open: set[_Ref] = set()
_unregister = _open.discard


def _parent() -> _Ref | None:
    """The innermost open region still held by its caller (interrupted ones are skipped)."""
    cur = _current.get()
    while cur is not None and cur() is None:
        cur = cur.parent
    return cur


_get_current = _current.get


# --- memory probe state -----------------------------------------------------------------

_probe = probes.select()
_exact = _probe.name == "procfs"
_procfs = _probe if isinstance(_probe, ProcfsMemoryProbe) else None  # whose files the hot path reads
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4
_clear_fd = _procfs.clear_fd if _procfs is not None else -1
_statm_fd = _procfs.statm_fd if _procfs is not None else -1
_SLACK_KB = 512  # the kernel's per-CPU RSS counters drift by a few pages between readers


def _hwm_kb() -> int:
    """``VmHWM``, read only where the probe is exact (procfs), which read it when it was made."""
    return _probe.mark_kb() or 0


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

# The marks that resets destroyed, as (reset index, kB): reset indices increasing, marks
# strictly decreasing, so the largest mark recorded after reset k is the first entry past k.
_marks: list[tuple[int, int]] = []
_next_reset = itertools.count(1).__next__
_AFTER = 1 << 62


def _record_mark(k: int) -> None:
    """Reset ``k`` is about to destroy the shared mark: keep it for the regions open across it."""
    mark = _getrusage(_SELF).ru_maxrss
    if mark <= _retained_kb:
        mark = _hwm_kb()
    marks = _marks
    while marks and marks[-1][1] <= mark:
        marks.pop()
    marks.append((k, mark))


def _mark_since(k: int) -> int:
    """The largest mark recorded by a reset after reset ``k`` (0 if none)."""
    j = bisect.bisect_right(_marks, (k, _AFTER))
    after = _marks[j:j + 1]
    return after[0][1] if after else 0


def _statm_kb() -> int:
    return int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB


# --- fork ---------------------------------------------------------------------------------

_fork_gen = 0  # bumped in a forked child: regions the parent opened are the parent's
_fork_hooks: list[Callable[[], None]] = []


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
    _marks.clear()
    _retained_kb = _retained_mark_kb()
    for hook in _fork_hooks:
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def on_fork(hook: Callable[[], None]) -> None:
    """Call ``hook`` in a forked child, after the hot path has reset its own state."""
    _fork_hooks.append(hook)


def memory_probe() -> probes.MemoryProbe:
    """The memory probe the hot path reads (for reports of what was detected)."""
    return _probe


# --- the settings in force: one immutable snapshot, handed in by frugal.core.settings ----------

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




# --- what one measure(...) asked for ------------------------------------------------------

class Spec:
    """What one measure(...) call asked for, validated once.

    ``task``: a coroutine or async generator, whose CPU is the sum of its own steps on the
    thread clock (the step driver adds them up and hands the total to ``stop``).
    """

    __slots__ = ("name", "name_id", "units", "who", "thread", "task", "process", "clock", "flags",
                 "children", "summary", "peak")

    def __init__(self, name: str, units: Any, scope: str, children: bool, record: str,
                 task: bool = False) -> None:
        self.name = name
        self.name_id = LOG.name_id(name)
        self.units: float | Callable[..., Any] | None = units
        self.thread = scope == "thread" and not task
        self.task = task
        self.process = not self.thread and not task     # charged the process's CPU, less frugal's own
        if self.thread:
            if _THREAD is None:
                raise ValueError("measure(scope='thread') needs RUSAGE_THREAD, which this platform lacks")
            self.who = _THREAD
            self.clock = _thread_ns
        else:
            self.who = _SELF
            self.clock = _thread_ns if task else time.process_time_ns
        self.children = children
        self.summary = record == "summary"
        self.peak = _exact and not self.summary
        flags = (THREAD_SCOPE if self.thread else 0) | (CHILDREN if children else 0)
        if task:
            flags |= TASK_SCOPE | NO_SPLIT
        if self.peak:
            flags |= PEAK_KNOWN | RSS_KNOWN
        self.flags = flags


# --- failures of frugal's own probes ------------------------------------------------------

_failures: set[str] = set()


def _own_failure(exc: BaseException, meter: Any = None) -> bool:
    """True for a failure of frugal's own probes (its modules and the meter in force, alone in the
    traceback); False for what must propagate unchanged: any BaseException that is not an
    Exception, and anything raised by code outside them, as a signal handler that happened to
    interrupt frugal. Cheap: the traceback is a few frames, walked once."""
    if not isinstance(exc, Exception):
        return False
    meter_module = type(meter).__module__ if meter is not None else None
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if not (module.startswith("frugal.") or module == meter_module):
            return False
        tb = tb.tb_next
    return True


def measurement_failed(where: str, exc: BaseException) -> None:
    """The measured program goes on; the failure is said once per kind, never swallowed silently."""
    key = f"{where}:{type(exc).__name__}"
    if key not in _failures:
        _failures.add(key)
        warnings.warn(f"frugal: could not {where} a measurement ({type(exc).__name__}: {exc}); "
                      "the measured code ran unchanged", RuntimeWarning, stacklevel=3)


# --- start / stop of one region ---------------------------------------------------------

def start(spec: Spec, nest: bool = True) -> State | None:
    """Read the probes at region start; the state is what ``stop`` needs (None on failure).

    ``nest=False`` for generators: their region spans the caller's code between yields,
    so it must not become the caller's parent (nor stay so if never closed).
    State: (node, ref, token, parent_id, depth, reset index, rss0_kb, t0, cpu0, children0,
    meter reading, fork generation, settings_id, meter, frugal's own CPU: ``own.STATE``, or
    the ns it gave when work was in progress).
    """
    settings_id, meter = _active
    if spec.summary:  # a summarised region is nobody's parent: it stays cheap
        t0 = _perf()
        c0 = spec.clock()
        own0: Any = _own.STATE     # frugal's own CPU: left out of a process-scope region (see stop)
        if own0[1]:
            own0 = _own.now_ns(own0)
        return None, None, None, 0, 0, 0, 0, t0, c0, None, None, _fork_gen, settings_id, meter, own0
    node = _Node()
    ref = token = None
    try:
        cur = _get_current()
        if cur is not None and cur() is None:   # its caller was interrupted: skip it
            cur = _parent()
        if cur is None:
            parent_id = depth = 0
        else:
            parent_id, depth = cur.name_id + 1, cur.depth + 1
        if spec.peak:
            ref = _Ref(node, _unregister)
        elif nest:
            ref = _Ref(node)
        if ref is not None:
            ref.name_id, ref.depth, ref.parent = spec.name_id, depth, cur
        if nest:
            token = _current.set(ref)
        k = rss0 = 0
        if spec.peak:
            k = _next_reset()
            if _open:
                _record_mark(k)
            elif _marks:
                _marks.clear()      # no open region will ask for them
            _write(_clear_fd, b"5")
            assert ref is not None
            _open.add(ref)
        t0 = _perf()
        if spec.task:
            cpu0: Any = None
            ru = _getrusage(_SELF) if spec.peak else None
        elif spec.thread:
            cpu0 = (_thread_ns(), _getrusage(spec.who))
            ru = cpu0[1]
        else:
            cpu0 = ru = _getrusage(_SELF)
        if spec.peak:
            assert ru is not None
            # Right after the reset the mark is the resident set: no separate read needed,
            # unless the kernel's retained mark hides it.
            rss0 = ru.ru_maxrss if ru.ru_maxrss > _retained_kb else _statm_kb()
        ch = _getrusage(_CHILDREN) if spec.children else None
        m = meter.read() if meter is not None else None
        own0 = _own.STATE     # frugal's own CPU: left out of a process-scope region (see stop)
        if own0[1]:
            own0 = _own.now_ns(own0)     # work in progress: its ns now
        return node, ref, token, parent_id, depth, k, rss0, t0, cpu0, ch, m, _fork_gen, settings_id, meter, own0
    except BaseException as exc:
        # Leave nothing half started: no parent for later regions, no tracked peak.
        if token is not None:
            _current.reset(token)
        if ref is not None:
            _open.discard(ref)
        if not _own_failure(exc, meter):
            raise
        measurement_failed("start", exc)
        return None


def stop(spec: Spec, state: State | None, exc: BaseException | None, units: float | None,
         append: Callable[[bytes, int, float | None, MeterReading | None], None] | None = _append,
         cpu_ns: int | None = None) -> Record | None:
    """Read the probes again and hand the row to ``append`` (the log's door; None: to nobody).

    ``cpu_ns``: the CPU of a task region (the sum of its steps, from the step driver).
    Returns the record (None in summary mode, or when the measurement failed).
    """
    if state is None:
        return None
    _, ref, token, parent_id, depth, k, rss0, t0, cpu0, ch0, m0, gen, settings_id, meter, own0 = state
    try:
        if gen != _fork_gen:  # opened before a fork: the parent process records it
            return None
        if spec.summary:
            cpu = (spec.clock() - cpu0) if cpu_ns is None else cpu_ns
            _summarise(spec, t0, cpu, exc is not None, units, settings_id, own0)
            return None
        flags = spec.flags
        if spec.task:
            ru1 = _getrusage(_SELF) if spec.peak else None
            t1 = _perf()
            user, system = (cpu_ns or 0) / 1e9, _NAN
        elif spec.thread:
            ru1 = _getrusage(spec.who)
            c1 = _thread_ns()
            t1 = _perf()
            user, system, split = _thread_split(cpu0, ru1, c1)
            if not split:
                flags |= NO_SPLIT
        else:
            ru1 = _getrusage(_SELF)
            own = _own.STATE
            t1 = _perf()
            user = ru1.ru_utime - cpu0.ru_utime
            system = ru1.ru_stime - cpu0.ru_stime
            if own[1] or own is not own0:   # frugal worked meanwhile (a flush, a profiler tick)
                user, system = _leave_out(user, system, _own_since(own0, own) / 1e9)
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # entered in one context (task), left in another
                pass
        if exc is not None:
            flags |= 1 if isinstance(exc, Exception) else 2
            err = LOG.error_id(type(exc))
        else:
            err = 0
        if ch0 is not None:
            ch1 = _getrusage(_CHILDREN)
            user += ch1.ru_utime - ch0.ru_utime
            system += ch1.ru_stime - ch0.ru_stime
        if spec.peak:
            assert ru1 is not None
            _open.discard(ref)
            mark = ru1.ru_maxrss
            rss1 = int(_pread(_statm_fd, 128, 0).split(None, 2)[1]) * _PAGE_KB
            if mark > _retained_kb and (mark > rss0 or rss1 + _SLACK_KB >= rss0):
                if _marks:      # other regions reset the mark while this one was open
                    folded = _mark_since(k)
                    if folded > mark:
                        mark = folded
                peak, drss = mark, rss1 - rss0
            else:
                peak, rss0, drss, known = _peak(k, rss0, mark, rss1)
                if not known:
                    flags &= ~RSS_KNOWN
        else:
            peak = rss0 = drss = 0
        meters = (meter, m0, meter.read()) if m0 is not None else None
        seq = _next_seq() & SEQ_MASK
        row = _pack(seq, spec.name_id, t0, t1 - t0, user, system, peak, rss0, drss,
                    parent_id, depth if depth < 255 else 255, flags, err, settings_id)
        if append is _append and units is None and meters is None:
            _extend(row)        # the log's door when a row has no side data: one C call
        elif append is not None:
            append(row, seq, units, meters)
        return row, units, meters
    except BaseException as failure:
        if token is not None:
            try:
                _current.reset(token)
            except (ValueError, RuntimeError):   # another context's token, or reset already
                pass
        if ref is not None:
            _open.discard(ref)
        if not _own_failure(failure, meter):
            raise
        measurement_failed("finish", failure)
        return None


def _own_since(own0: Any, own: tuple[int, Any]) -> int:
    """frugal's own CPU (ns) since ``own0``: the state a region read at its start, or the CPU
    it computed there when work was in progress."""
    before = own0 if isinstance(own0, int) else own0[0]
    return max(0, _own.now_ns(own) - before)


def _leave_out(user: float, system: float, own_s: float) -> tuple[float, float]:
    """(user s, system s) of a process-scope region less frugal's own CPU ``own_s``, taken from
    both in proportion (the threads' clocks give no split), never below zero."""
    total = user + system
    if own_s <= 0 or total <= 0:
        return user, system
    keep = max(0.0, total - own_s) / total
    return user * keep, system * keep


def _thread_split(cpu0: Any, ru1: Any, c1: int) -> tuple[float, float, bool]:
    """(user s, system s, split known) of a thread region: the total from the thread's CPU clock
    (ns, exact, read inside the wall-clock bracket, so never above wall time); the split from
    the kernel's per-thread accounting, which is tick-sampled: unknown for a region too short
    to be sampled (then the total stands in ``user`` and ``system`` is NaN)."""
    c0, ru0 = cpu0
    total = (c1 - c0) / 1e9
    du = ru1.ru_utime - ru0.ru_utime
    ds = ru1.ru_stime - ru0.ru_stime
    if du < 0 or ds < 0 or du + ds <= 0:
        return total, _NAN, False
    user = total * du / (du + ds)
    return user, total - user, True


def _peak(k: int, rss0: int, mark: int, rss1: int) -> tuple[int, int, int, bool]:
    """(peak kB, rss0 kB, rss delta kB, rss known) of a region that reset the mark at ``k``,
    when ``ru_maxrss`` (``mark``) cannot be trusted alone (``stop`` handles the common case)."""
    global _retained_kb
    if mark <= _retained_kb:
        mark = _hwm_kb()            # the kernel's retained mark hides ours: read VmHWM
    elif mark <= rss0 and rss1 + _SLACK_KB < rss0:
        # Less memory at the end than at the start, and no growth seen: a region that freed
        # memory, or a retained mark that hid the start. VmHWM, always fresh, tells which.
        hwm = _hwm_kb()
        if hwm + _SLACK_KB < rss0:
            _retained_kb = max(_retained_kb, rss0)
            return hwm, 0, 0, False
    folded = _mark_since(k)
    peak = folded if folded > mark else mark
    return peak, rss0, rss1 - rss0, True


def _summarise(spec: Spec, t0: int, cpu: int, failed: bool, units: float | None,
               settings_id: int, own0: Any = None) -> None:
    """Add one call to its name's aggregate for this thread (summary mode); ``own0``: frugal's
    own CPU at the call's start (as in ``start``), left out of a process-scope call's ``cpu``."""
    wall = _perf() - t0
    own = _own.STATE
    if (own[1] or own is not own0) and own0 is not None and spec.process:
        cpu = max(0, cpu - _own_since(own0, own))
    # One aggregate per (name, thread): only its own thread updates it, so no lock.
    key = (spec.name_id, _get_ident())
    summary = LOG.summary
    agg = summary.get(key)
    if agg is None:
        parent = _parent()
        parent_id, depth = (0, 0) if parent is None else (parent.name_id + 1, parent.depth + 1)
        agg = summary[key] = [0, 0, 0, wall, wall, 0, t0, 0, spec.flags, parent_id, depth, None, settings_id]
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


_get_ident = threading.get_ident
