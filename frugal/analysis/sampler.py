"""The sampling thread behind ``frugal.profile()``: every thread's Python stack and its own CPU clock.

One sampler thread serves every open profile of the process (nested or concurrent ones too).
At each tick it reads ``sys._current_frames()`` and, for each Python thread, the thread's own
CPU clock; each open profile (a ``Subscription``) charges the CPU that thread used since the
profile last saw it to the stack the thread is in now. A thread that sleeps or waits accrues
no CPU, so it is charged nothing however often it is seen.

The per-thread clock, on Linux, is the kernel's CPU clock of one thread addressed by its kernel
id: the clock id that glibc's ``pthread_getcpuclockid`` computes (``(~tid << 3) | 6``), read with
``clock_gettime`` in about 0.4 µs, with nanosecond resolution. Addressing it by the kernel id
rather than through a ``pthread_t`` makes a thread that has ended read as an error (EINVAL),
never as freed memory or another thread's time. Elsewhere, psutil's per-thread user and system
times (coarser: the platform's accounting tick). The sampler is a bare ``_thread`` thread: it
is not in ``threading.enumerate()`` and never keeps the process alive. Standard library only.
"""
from __future__ import annotations

import _thread
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import CodeType, FrameType

from frugal.core import own

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep   # frugal/, not analysis/

# (name, module, file, first line) of a code object seen on a stack
FrameInfo = tuple[str, str, str, int]
# root first, flattened: (frame key, line, frame key, line, ...)
Stack = tuple[int, ...]
Clock = Callable[[Iterable[int]], dict[int, int]]


def _linux_clock(tids: Iterable[int]) -> dict[int, int]:
    """CPU ns of each thread (kernel ids) that still runs; an ended one is left out."""
    out = {}
    read = time.clock_gettime_ns
    for tid in tids:
        try:
            out[tid] = read(((~tid) << 3) | 6)
        except OSError:       # the thread has ended (EINVAL): its last slice is not seen
            pass
    return out


def psutil_clock() -> Clock:
    """Per-thread CPU from psutil (user + system, at the platform's accounting resolution)."""
    import psutil

    process = psutil.Process()

    def read(tids: Iterable[int]) -> dict[int, int]:
        wanted = set(tids)
        return {t.id: int(round((t.user_time + t.system_time) * 1e9))
                for t in process.threads() if t.id in wanted}
    return read


def default_clock() -> Clock:
    return _linux_clock if sys.platform.startswith("linux") else psutil_clock()


class Subscription:
    """What one open profile collects: CPU ns and samples per (thread, stack).

    ``root``: where the stacks of thread ``root_ident`` (the one that opened the profile) start:
    frames older than it are dropped. A frame (a ``with`` block's): when that thread is not
    under it (a coroutine's frame while other tasks run), its stack is kept whole. A code
    object (a test function's, for the pytest plugin; the outermost frame running it): when
    that thread is not under it, its CPU goes to one ``<outside NAME>`` frame.
    """

    def __init__(self, interval: float, root: FrameType | CodeType | None = None,
                 root_ident: int | None = None) -> None:
        self.interval = interval
        self.root = root
        self.root_ident = root_ident
        self.stacks: dict[tuple[int, Stack], list[int]] = {}   # (tid, stack) -> [samples, cpu ns]
        self.last: dict[int, int] = {}                         # tid -> CPU clock when last seen
        self.names: dict[int, str] = {}                        # tid -> thread name
        self.previous: dict[int, Stack] = {}                   # tid -> stack when last seen
        self.frugal_ns = 0        # the sampler's CPU, and threads that run only frugal's code
        self.samples = 0          # ticks taken while this profile was open
        self.process_ns = 0       # the process's CPU clock at the last tick
        self.tick_ns = 0          # CPU charged to threads in the current tick
        self.recovered_ns = 0     # CPU of threads that ended between two ticks, found by difference
        self.frames: list[FrameInfo] = []
        self.failure: BaseException | None = None

    def charge(self, tid: int, name: str, stack: Stack, cpu: int, tail: bool = False,
               own: bool = False) -> None:
        """Charge the thread's CPU since it was last seen to ``stack``; ``tail``: the thread is
        ending the profile, standing in frugal's exit code, so its last slice goes to the
        stack it was last seen in; ``own``: the sampler's CPU, which the region leaves out
        (``frugal.core.own``), so it is charged to no row."""
        last = self.last.get(tid, 0)     # unseen at the start: born inside the profile
        delta = cpu - last if cpu >= last else cpu   # a lower clock: a new thread on a reused id
        self.last[tid] = cpu
        self.tick_ns += delta
        if own:
            return
        if tail:
            stack = self.previous.get(tid, stack)
            if not stack:          # never seen anywhere else: where it went is unknown
                return             # (it stays in the region's CPU: <unattributed>)
        else:
            self.previous[tid] = stack
        if not stack:
            self.frugal_ns += delta
            return
        self.names[tid] = name
        key = (tid, stack)
        agg = self.stacks.get(key)
        if agg is None:
            self.stacks[key] = [1, delta]
        else:
            agg[0] += 1
            agg[1] += delta

    def settle(self, process_ns: int, seen: set[int]) -> None:
        """End a tick: threads seen before but not now have ended, and the CPU they used since
        their last tick is no longer readable. It is what the process used in the tick beyond
        the threads charged (native threads' CPU too, when any), and goes to the stacks the
        ended threads were last seen in."""
        residual = process_ns - self.process_ns - self.tick_ns
        self.process_ns, self.tick_ns = process_ns, 0
        gone = [tid for tid in self.last if tid not in seen]
        if not gone:
            return
        part = max(0, residual) // len(gone)
        for tid in gone:
            del self.last[tid]
            stack = self.previous.pop(tid, ())
            agg = self.stacks.get((tid, stack)) if stack else None
            if agg is None or part <= 0:
                continue
            agg[1] += part
            self.recovered_ns += part


class Sampler:
    """The process's one sampling thread and the profiles it serves (``SAMPLER``)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._stop: threading.Event | None = None
        self._done: threading.Event | None = None
        self._ident = -1       # the sampler thread's ident and kernel id while it runs
        self._tid = -1
        self._keys: dict[CodeType, int] = {}
        self._outside_keys: dict[CodeType, int] = {}
        self._frames: list[FrameInfo] = []

    @property
    def running(self) -> bool:
        return self._stop is not None

    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = default_clock()
        return self._clock

    # --- open and close ---------------------------------------------------------------
    def subscribe(self, sub: Subscription) -> None:
        """Start charging ``sub`` from now on (starts the thread for the first profile)."""
        with self._lock:
            if self._stop is None:
                self._start()
            tids = {t.native_id for t in threading.enumerate() if t.native_id is not None}
            tids.add(self._tid)
            sub.process_ns = time.process_time_ns()
            sub.last = self.clock()(tids)          # what every thread had used before
            sub.frames = self._frames
            self._subs.append(sub)

    def unsubscribe(self, sub: Subscription) -> bool:
        """Charge ``sub`` what ran since its last tick and stop serving it (False: not served
        here, e.g. opened before a fork)."""
        done = None
        with self._lock:
            if sub not in self._subs:
                return False
            counted = own.begin("profiler")     # frugal's work: left out of the regions open
            try:
                self._sample([sub], final=True)
            finally:
                own.end(counted)
                self._subs.remove(sub)
                if not self._subs and self._stop is not None:
                    self._stop.set()
                    done, self._stop, self._done = self._done, None, None
                    self._keys, self._outside_keys = {}, {}   # the next profile starts a fresh table
                    self._frames = []
        if done is not None:
            done.wait(1.0)               # the thread exits at once: it only waits on its event
        return True

    def _start(self) -> None:
        stop, ready, done = threading.Event(), threading.Event(), threading.Event()
        self._stop, self._done = stop, done
        own.start_thread(lambda: _thread.start_new_thread(self._run, (stop, ready, done)))
        ready.wait()

    def _run(self, stop: threading.Event, ready: threading.Event, done: threading.Event) -> None:
        self._ident, self._tid = _thread.get_ident(), threading.get_native_id()
        ready.set()
        last: int | None = None
        try:
            while not stop.wait(self._interval()):
                # All of this thread's CPU is frugal's, left out of the regions open: each tick, and
                # each wake-up (counted as it wakes, from the clock the last tick ended at).
                counted = own.begin("profiler")
                if counted and last is not None:
                    own.add("profiler", counted[0][1] - last)
                try:
                    if not self._tick(stop):
                        break
                finally:
                    last = own.end(counted)
        finally:
            done.set()

    def _tick(self, stop: threading.Event) -> bool:
        """One tick for every open profile (False: the thread ends)."""
        with self._lock:
            if stop.is_set():
                return False
            subs = list(self._subs)
            try:
                self._sample(subs)
            except Exception as exc:      # said by each profile when it ends
                for sub in subs:
                    sub.failure = exc
                return False
        return True

    def _interval(self) -> float:
        subs = self._subs
        return min(s.interval for s in subs) if subs else 0.005

    # --- one tick -----------------------------------------------------------------------
    def _sample(self, subs: list[Subscription], final: bool = False) -> None:
        """Charge each of ``subs`` every thread's CPU since it last saw it, to its stack now."""
        frames = sys._current_frames()
        threads = {t.ident: t for t in threading.enumerate()}
        me = self._ident
        seen: list[tuple[int, str, FrameType, int]] = []
        for ident, frame in frames.items():
            if ident == me:
                continue
            t = threads.get(ident)
            if t is None or t.native_id is None:
                continue                  # not a threading thread: its CPU stays unattributed
            seen.append((ident, t.name, frame, t.native_id))
        tids = [s[3] for s in seen]
        tids.append(self._tid)
        process_ns = time.process_time_ns()
        cpu = self.clock()(tids)
        caller = _thread.get_ident() if final else None
        for ident, name, frame, tid in seen:
            now = cpu.get(tid)
            if now is None:
                continue                  # ended between the two reads
            cuts = [s for s in subs if s.root is not None and s.root_ident == ident]
            stack, marks = self._walk(frame, {id(s.root) for s in cuts})
            for sub in subs:
                mark = marks.get(id(sub.root)) if sub.root_ident == ident else None
                if mark is None and sub.root_ident == ident and isinstance(sub.root, CodeType):
                    kept: Stack = (self._outside(sub.root), 0)
                else:
                    kept = _root_first(stack, mark)
                sub.charge(tid, name, kept, now, ident == caller)
        if self._tid in cpu:
            for sub in subs:
                sub.charge(self._tid, "", (), cpu[self._tid], own=True)
        read = set(cpu)
        for sub in subs:
            sub.settle(process_ns, read)
            sub.samples += 1

    def _walk(self, frame: FrameType | None, roots: set[int]) -> tuple[list[int], dict[int, int]]:
        """The visible frames of a stack, leaf first, as (key, line, ...), and where each root
        sits in it (how many of its entries to keep; the outermost match of a code object)."""
        keys = self._keys
        out: list[int] = []
        marks: dict[int, int] = {}
        while frame is not None:
            code = frame.f_code
            key = keys.get(code)
            if key is None:
                key = self._intern(frame)
            if key >= 0:
                out.append(frame.f_lineno or 0)
                out.append(key)
            if roots:
                if id(frame) in roots:
                    marks[id(frame)] = len(out)
                elif id(code) in roots:
                    marks[id(code)] = len(out)
            frame = frame.f_back
        return out, marks

    def _outside(self, code: CodeType) -> int:
        """The key of a frame that stands for the CPU of a thread outside ``code``."""
        key = self._outside_keys.get(code)
        if key is None:
            key = self._outside_keys[code] = len(self._frames)
            self._frames.append((f"<outside {getattr(code, 'co_qualname', code.co_name)}>", "", "", 0))
        return key

    def _intern(self, frame: FrameType) -> int:
        code = frame.f_code
        if code.co_filename.startswith(PACKAGE_DIR):
            key = -1                      # frugal's own frames are hidden
        else:
            module = frame.f_globals.get("__name__")
            qual = getattr(code, "co_qualname", code.co_name)
            name = f"{module}.{qual}" if isinstance(module, str) and module not in ("__main__", "builtins") else qual
            key = len(self._frames)
            self._frames.append((name, module if isinstance(module, str) else "", code.co_filename,
                                 code.co_firstlineno))
        self._keys[code] = key
        return key


def _root_first(leaf_first: list[int], keep: int | None) -> Stack:
    """(key, line) pairs root first, the ``keep`` newest entries only when a root was found."""
    part = leaf_first if keep is None else leaf_first[:keep]
    # leaf_first holds (line, key) pairs reversed as a whole: reversing gives key, line, ...
    return tuple(reversed(part))


SAMPLER = Sampler()


def _after_fork_in_child() -> None:
    # the thread did not survive the fork: the child starts with no sampler and no profile
    global SAMPLER
    SAMPLER = Sampler()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def sampler() -> Sampler:
    """The process's sampler (a new one in a forked child)."""
    return SAMPLER
