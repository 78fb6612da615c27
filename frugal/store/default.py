"""The process's default store: one writer thread per process, switched by the ``store``
setting, flushed on ``frugal.flush()``, before ``frugal.clear()``, around a fork and at exit."""
from __future__ import annotations

import _thread
import atexit
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from frugal.core import own, span
from frugal.core.rows import LOG
from frugal.store.run_info import new_run
from frugal.store.location import open_store
from frugal.store.postgres import PgStore
from frugal.store.sqlite import Store
from frugal.store.writer import EXIT_TIMEOUT_S, Writer

if TYPE_CHECKING:
    from frugal.store.location import AnyStore

_writer: Writer | None = None
_ever = False      # a default store was set in this process at some point
_switch = threading.Lock()      # one store switch at a time (never taken by the writer thread)
_mp_child = False   # a multiprocessing child: SIGTERM (Pool.terminate, Pool.__exit__) is flushed


def set_default_store(path: str | os.PathLike[str] | AnyStore | None) -> None:
    """Store every measurement of this process in ``path`` (a SQLite file, or a
    ``postgresql://`` URL: ``frugal.store.postgres``), or stop (None).

    The first store set in a process receives every measurement still in the log (since
    the last ``frugal.clear()``). A store set in place of another receives every measurement
    the old one had not stored: the old one is flushed first, and the new one takes over at
    the exact row where it stopped. A store set after ``store=None`` receives the
    measurements made from then on. Raises ``FrugalError`` at once when ``path`` exists and
    is not a frugal store (it is left untouched), ``ValueError`` for a URL of another scheme.
    ``path`` may also be a store itself (``current_store()``: a server's URL keeps its password there).
    Writing happens on a background thread.
    """
    global _writer, _ever
    if path is None:
        store = None
    else:
        # fail now, in the caller, not in a thread
        store = (path if isinstance(path, (Store, PgStore)) else open_store(path)).open()
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
        if store.unreachable is not None:
            # said once, here: the writer keeps the rows and tries again, silent until it succeeds
            writer.failures.add("StoreUnreachable")     # the writer's key for this failure (its type's name)
            warnings.warn(f"frugal: could not write to the store yet ({store.unreachable}); measurements stay in "
                          "frugal.results() and are stored once it answers", RuntimeWarning, stacklevel=3)
        _writer, _ever = writer, True
        writer.start()
    if _mp_child:
        _flush_on_sigterm()


def default_store() -> Path | str | None:
    """The path measurements are being stored in (a server's URL with its password redacted), or None."""
    return None if _writer is None else _writer.store.path


def current_store() -> AnyStore | None:
    """The store measurements are being stored in (a ``Store`` or ``PgStore``), or None."""
    return None if _writer is None else _writer.store


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


# SIGTERM in a multiprocessing child. Python runs a signal handler on the main thread only, and
# only once that thread gets back to bytecode: a worker idle in a queue's get() may block in
# sem_wait for ever when the signal lands just before the wait or on another thread. So a bare
# watcher thread also learns of it through the wakeup fd (written by the C handler, whichever
# thread takes the signal), and one bare thread flushes, whoever starts it first.
_term = {"watch_r": -1, "watch_w": -1, "main": 0}
_flushing = _thread.allocate_lock()      # held once the flush thread has been started
_flushed = _thread.allocate_lock()       # released when the flush is over


def _flush_on_sigterm() -> None:
    """Flush at SIGTERM, then die of it: only where SIGTERM still has its default action (a
    handler of the user's, inherited or set since, is never replaced), and only from the main
    thread (where Python lets a handler be set)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, _on_sigterm):
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    _term["main"] = threading.get_ident()
    if _term["watch_r"] >= 0:
        return
    r, w = os.pipe()
    os.set_blocking(w, False)
    if signal.set_wakeup_fd(w, warn_on_full_buffer=False) != -1:
        # someone's wakeup fd (asyncio's): theirs stays; the handler alone then (see Limits)
        signal.set_wakeup_fd(signal.set_wakeup_fd(-1))
        os.close(r)
        os.close(w)
        return
    _term["watch_r"], _term["watch_w"] = r, w
    own.start_thread(lambda: _thread.start_new_thread(_watch, (r,)))


def _watch(r: int) -> None:
    while True:
        try:
            data = os.read(r, 512)
        except OSError:
            return          # closed: a forked child stopped watching
        if not data:
            return
        if signal.SIGTERM in data:
            # unless a handler of the user's took SIGTERM since: then it is theirs alone
            if signal.getsignal(signal.SIGTERM) in (_on_sigterm, signal.SIG_DFL):
                _start_flush()
            return


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM kills at once, as it would have; and so does the flush thread's.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _start_flush()
    # This handler runs between two bytecodes of the main thread, which may hold a lock the
    # flush needs (the writer's, inside frugal.flush() or clear(); the settings'; an import's):
    # wait for the flush while that cannot be why it waits; past that, let the main thread go on
    # and release it. The flush thread ends the process either way.
    writer = _writer
    if ((writer is None or not getattr(writer.lock, "_is_owned", lambda: False)())
            and not _storing_or_importing(frame)):
        if _flushed.acquire(timeout=2 * EXIT_TIMEOUT_S):
            _flushed.release()
            # Stored: die of the SIGTERM now. This handler may run only at the flush thread's
            # first nudge (the signal taken by another thread while this one waited in a C
            # call), and that nudge found it still set: its second came 2 x EXIT_TIMEOUT_S later.
            signal.raise_signal(signal.SIGTERM)


def _storing_or_importing(frame: FrameType | None) -> bool:
    """Whether the interrupted thread is storing (frugal's exit flush, as multiprocessing's
    finaliser runs it) or importing: the flush thread would wait for what it holds (an import's
    lock, the settings'), and it for the flush thread (a pool's workers took 2 s to end)."""
    while frame is not None:
        code = frame.f_code
        if code in _STORING or code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _start_flush() -> None:
    if _flushing.acquire(blocking=False):
        _flushed.acquire()
        own.start_thread(lambda: _thread.start_new_thread(_flush_then_die, ()))


def _flush_then_die() -> None:
    try:
        _at_exit()
    finally:
        _flushed.release()
        # To the main thread: its blocking call returns (EINTR) and it runs _on_sigterm, which
        # sets SIG_DFL; once set, this kills the process, whose exit status says SIGTERM as before.
        signal.pthread_kill(_term["main"], signal.SIGTERM)
        time.sleep(2 * EXIT_TIMEOUT_S)
        signal.pthread_kill(_term["main"], signal.SIGTERM)
        # Still alive: the main thread is inside a C call that never returns to Python.
        time.sleep(EXIT_TIMEOUT_S)
        os.kill(os.getpid(), signal.SIGKILL)


def _stop_watching_in_child() -> None:
    # A forked child must not write its signals into its parent's pipe (the parent would take
    # the child's SIGTERM for its own): drop the wakeup fd; our handler alone stays.
    _term["main"] = threading.get_ident()      # the forking thread is the child's main thread
    r, w = _term["watch_r"], _term["watch_w"]
    if r < 0:
        return
    _term["watch_r"] = _term["watch_w"] = -1
    try:
        if signal.set_wakeup_fd(-1) != w:
            signal.set_wakeup_fd(signal.set_wakeup_fd(-1))  # not ours any more: put it back
    except ValueError:
        pass        # not the main thread: nothing can be changed here
    os.close(r)
    os.close(w)


def _register_hooks() -> None:
    LOG.on_clear(_on_clear)
    span.on_fork(_on_fork)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_stop_watching_in_child)
    atexit.register(_at_exit)
    try:
        import multiprocessing.util as mp_util
    except ImportError:
        return
    mp_util.register_after_fork(_at_exit, _after_multiprocessing_fork)
    from multiprocessing.process import parent_process

    # A spawn child runs no after-fork hook (frugal is imported while it starts, and its
    # original command line says what it is: sys.argv is the parent's by then); a child that
    # imports frugal once started (inside a task) has run them already.
    if parent_process() is not None or "--multiprocessing-fork" in sys.orig_argv:
        _after_multiprocessing_fork(None)


_STORING = frozenset((_at_exit.__code__, Writer.flush.__code__))
_register_hooks()


