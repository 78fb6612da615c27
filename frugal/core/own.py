"""frugal's own CPU: what its work (a store flush, a profiler tick, the libraries it imports to read
results) costs, measured on the clocks of the threads doing it, so that a process-scope region can
leave it out (``frugal.core.span``) and ``frugal.environment()`` can say how much it was.

``STATE`` is ``(done_ns, busy)``: the CPU of frugal's finished work, and the work in progress as
``(clock id, clock at its start, kind)`` entries. It is replaced whole under a lock, never changed
in place, so the hot path reads it once, with no lock, and sees one consistent moment; reading the
clocks of work in progress (a system call each) happens only while some is in progress.
"""
from __future__ import annotations

import os
import sys
import threading
import time

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    Entry: TypeAlias = tuple[int, int, str]

STATE: tuple[int, tuple[Entry, ...]] = (0, ())
_by_kind: dict[str, int] = {}
_lock = threading.Lock()
_read = time.clock_gettime_ns
_LINUX = sys.platform.startswith("linux")
_QUIET_POLL_S = 0.005       # how often a library's new threads are looked at after its import
_QUIET_MAX_S = 1.0          # the longest frugal waits for them to go idle (OpenBLAS spins ~0.1 s;
                            # 0.4 s with OPENBLAS_THREAD_TIMEOUT=30, its longest)


# The signals a program handles (asynchronous, sent to the process): blocked in frugal's threads.
_PROGRAM_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGWINCH")


def start_thread(start: Callable[[], object]) -> None:
    """Start one of frugal's own threads (``start()`` starts it) with the signals a program
    handles blocked in it, as the thread inherits them from this one: the kernel then gives a
    signal sent to the process to a thread of the program's. A pool worker idle in a queue's
    ``get()`` never ran its SIGTERM handler when the kernel gave the signal to frugal's store
    thread instead (Python runs handlers on the main thread only, once it is back in bytecode)."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        start()
        return
    blocked = {getattr(signal, name) for name in _PROGRAM_SIGNALS if hasattr(signal, name)}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _clock_of(tid: int) -> int:
    """The kernel's CPU clock of thread ``tid`` (what glibc's ``pthread_getcpuclockid`` gives; an
    ended thread reads as EINVAL, never as another thread's time: see ``frugal.analysis.sampler``)."""
    return ((~tid) << 3) | 6


def now_ns(state: tuple[int, tuple[Entry, ...]]) -> int:
    """frugal's CPU so far (ns) at ``state``, with its work in progress read now."""
    done, busy = state
    for clock, t0, _ in busy:
        try:
            done += _read(clock) - t0
        except OSError:         # the thread ended meanwhile: its work is counted by ``end`` or lost
            pass
    return done


def begin(kind: str, tids: tuple[int, ...] = (), from_zero: bool = False) -> tuple[Entry, ...]:
    """Start counting frugal's work of ``kind`` on this thread (or on the kernel threads ``tids``;
    ``from_zero``: their whole CPU so far counts too). Returns what ``end`` needs; work already
    counted on a thread (nested) is not counted twice."""
    global STATE
    if not tids:
        if not _LINUX:
            return ((-1, time.thread_time_ns(), kind),)   # counted at its end only (same thread)
        tids = (threading.get_native_id(),)
    with _lock:
        done, busy = STATE
        mine = {e[0] for e in busy}
        entries = []
        for tid in tids:
            clock = _clock_of(tid)
            if clock in mine:
                continue
            try:
                entries.append((clock, 0 if from_zero else _read(clock), kind))
            except OSError:
                continue        # ended already
        if entries:
            STATE = (done, busy + tuple(entries))
        return tuple(entries)


def end(entries: tuple[Entry, ...]) -> int | None:
    """Stop counting the work ``begin`` started, and add it to frugal's CPU. Returns the clock the
    first entry ended at (None: nothing was counted)."""
    global STATE
    if not entries:
        return None
    first = None
    with _lock:
        done, busy = STATE
        for clock, t0, kind in entries:
            try:
                t1 = time.thread_time_ns() if clock == -1 else _read(clock)
            except OSError:     # the thread ended: its last slice is no longer readable
                t1 = t0
            first = t1 if first is None else first
            done += t1 - t0
            _by_kind[kind] = _by_kind.get(kind, 0) + t1 - t0
        STATE = (done, tuple(e for e in busy if e not in entries))
    return first


def add(kind: str, ns: int) -> None:
    """Add ``ns`` of CPU that frugal's work of ``kind`` used already (read on its thread's clock)."""
    global STATE
    if ns <= 0:
        return
    with _lock:
        done, busy = STATE
        STATE = (done + ns, busy)
        _by_kind[kind] = _by_kind.get(kind, 0) + ns


def by_kind() -> dict[str, float]:
    """frugal's own CPU in this process so far, in seconds, by kind of work, and its ``total``."""
    with _lock:
        out = {k: v / 1e9 for k, v in sorted(_by_kind.items())}
        state = STATE
    busy = now_ns(state) - state[0]
    if busy:
        out["in progress"] = busy / 1e9
    out["total"] = sum(out.values())
    return out


def _tids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def import_quietly(module: str) -> None:
    """Import ``module`` for frugal's own use; when frugal is the first to import it, wait until the
    threads it started (OpenBLAS's, for numpy) go idle, and count their CPU as frugal's.

    OpenBLAS's threads start with the library and spin for about 0.1 s before they sleep: without
    this, the user's next region (a 0.2 s sleep) was charged the tail of that spin. Their number and
    settings are left as they are (the user's own numpy runs as without frugal); the wait costs wall
    time once per process, never CPU of a region, and is bounded by ``_QUIET_MAX_S``.
    """
    if module in sys.modules:
        return
    if not _LINUX:              # no per-thread clocks to read: imported as it is
        __import__(module)
        return
    before = _tids()
    mine = begin("imports")
    try:
        __import__(module)
        # threads it started: native ones (a user's Python thread born meanwhile is not frugal's)
        python = {t.native_id for t in threading.enumerate()}
        new = tuple(_tids() - before - python)
        if not new:
            return
        theirs = begin("imports", new, from_zero=True)  # born in this import: all their CPU is frugal's
        try:
            _wait_idle(new)
        finally:
            end(theirs)
    finally:
        end(mine)


def _wait_idle(tids: tuple[int, ...]) -> None:
    """Return once none of the threads ``tids`` is running or runnable (state ``R``: OpenBLAS spins
    with ``sched_yield``, so a spinning thread stays runnable even when it gets no CPU on a busy
    machine), or after ``_QUIET_MAX_S``."""
    deadline = time.monotonic() + _QUIET_MAX_S
    while any(_runnable(tid) for tid in tids) and time.monotonic() < deadline:
        time.sleep(_QUIET_POLL_S)


def _runnable(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            stat = f.read()
    except OSError:             # ended
        return False
    return stat[stat.rindex(b")") + 2:][:1] == b"R"


def _after_fork_in_child() -> None:
    # work in progress was the parent's threads': the child has only the thread that forked
    global STATE, _lock
    _lock = threading.Lock()
    STATE = (STATE[0], ())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
