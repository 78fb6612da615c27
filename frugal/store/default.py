"""The process's default store: one writer thread per process, switched by the ``store``
setting, flushed on ``frugal.flush()``, before ``frugal.clear()``, around a fork and at exit."""
from __future__ import annotations

import _thread
import atexit
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from frugal.core import span
from frugal.core.rows import LOG
from frugal.store.run_info import new_run
from frugal.store.sqlite import Store
from frugal.store.writer import EXIT_TIMEOUT_S, Writer

_writer: Writer | None = None
_ever = False      # a default store was set in this process at some point
_switch = threading.Lock()      # one store switch at a time (never taken by the writer thread)
_mp_child = False   # a multiprocessing child: SIGTERM (Pool.terminate, Pool.__exit__) is flushed


def set_default_store(path: str | os.PathLike[str] | None) -> None:
    """Store every measurement of this process in ``path`` (a SQLite file), or stop (None).

    The first store set in a process receives every measurement still in the log (since
    the last ``frugal.clear()``). A store set in place of another receives every measurement
    the old one had not stored: the old one is flushed first, and the new one takes over at
    the exact row where it stopped. A store set after ``store=None`` receives the
    measurements made from then on. Raises ``FrugalError`` at once when ``path`` exists and
    is not a frugal store (it is left untouched). Writing happens on a background thread.
    """
    global _writer, _ever
    store = Store(path).open() if path is not None else None  # fail now, in the caller, not in a thread
    with _switch:
        old = _writer
        if old is not None:
            cursor, base = old.retire("they go to the new store" if store is not None else
                                      "they are not stored (the store was turned off) but stay in frugal.results()")
        elif _ever:
            cursor, base = LOG.end(), {k: list(v) for k, v in list(LOG.summary.items())}
        else:
            cursor, base = LOG.base, {}
        if store is None:
            _writer = None
            return
        writer = Writer(store, new_run(), cursor, base)
        _writer, _ever = writer, True
        writer.start()
    if _mp_child:
        _flush_on_sigterm()


def default_store() -> Path | None:
    """The path measurements are being stored in, or None."""
    return None if _writer is None else _writer.store.path


def flush() -> int:
    """Write every measurement not yet stored to the default store now; returns how many.

    Includes ``record="summary"`` aggregates (the calls since their last flush). Returns 0
    when no store is set. A store that fails warns and returns 0; results stay in memory.
    """
    writer = _writer
    return 0 if writer is None else writer.flush(summary=True)


def _on_clear(end: int, summary: dict[tuple[int, int], list[Any]]) -> None:
    writer = _writer
    if writer is not None:
        writer.before_clear(end, summary)


def _before_fork() -> None:
    # No flush may be half-way through at fork: the child would inherit SQLite's state mid-write.
    # A fork therefore waits for a flush in progress (milliseconds; longer only while another
    # process holds the store's write lock).
    writer = _writer
    if writer is not None:
        writer.lock.acquire()
        _held.append(writer)


def _after_fork_in_parent() -> None:
    while _held:
        _held.pop().lock.release()


_held: list[Writer] = []


def _on_fork() -> None:
    global _writer, _switch
    _held.clear()                       # the child's copies of those locks are dropped with them
    _switch = threading.Lock()
    if _writer is not None:
        _writer = _writer.forked()
        _writer.start()


def _at_exit() -> None:
    """Store what is left, within ``EXIT_TIMEOUT_S``: measuring threads still running (daemon
    threads) are not waited for, and what they measure from now on is not stored."""
    writer = _writer
    if writer is not None:
        writer.stop()
        writer.flush(summary=True, last="they are lost with this process", timeout=EXIT_TIMEOUT_S)


def _after_multiprocessing_fork(_: Any) -> None:
    # multiprocessing's children leave through os._exit, which skips atexit: flush in its finaliser;
    # Pool.terminate() (and so Pool.__exit__) ends them with SIGTERM, which skips that too.
    global _mp_child
    import multiprocessing.util as mp_util

    mp_util.Finalize(None, _at_exit, exitpriority=100)
    _mp_child = True
    if _writer is not None:
        _flush_on_sigterm()


def _flush_on_sigterm() -> None:
    """Flush at SIGTERM, then die of it: only where SIGTERM still has its default action (a
    handler of the user's, inherited or set since, is never replaced), and only from the main
    thread (where Python lets a handler be set)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM kills at once, as it would have.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The flush runs on a bare thread (threading's own locks may be held here too): this handler
    # runs on the main thread between two bytecodes, which may hold a lock the flush needs (the
    # writer's, inside frugal.flush() or clear(); the settings'; an import's). Wait for it while
    # that cannot be the reason it waits; past that, let the main thread go on and release it.
    # Either way the flush thread ends the process within about EXIT_TIMEOUT_S plus one write.
    done = _thread.allocate_lock()
    done.acquire()
    _thread.start_new_thread(_flush_then_die, (done,))
    writer = _writer
    held_here = writer is not None and bool(getattr(writer.lock, "_is_owned", lambda: False)())
    if not held_here:
        done.acquire(timeout=2 * EXIT_TIMEOUT_S)


def _flush_then_die(done: Any) -> None:
    try:
        _at_exit()
    finally:
        try:
            # Dies of SIGTERM (SIG_DFL again), so the exit status says what it would have said.
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            done.release()      # only reached if a handler was set meanwhile: the main thread goes on


def _register_hooks() -> None:
    LOG.on_clear(_on_clear)
    span.on_fork(_on_fork)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent)
    atexit.register(_at_exit)
    try:
        import multiprocessing.util as mp_util
    except ImportError:
        return
    mp_util.register_after_fork(_at_exit, _after_multiprocessing_fork)
    from multiprocessing.process import parent_process

    if parent_process() is not None:
        # imported after the child started (inside the task): its after-fork hooks have run
        _after_multiprocessing_fork(None)


_register_hooks()


