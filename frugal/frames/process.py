"""Measure a command as a whole process: the kernel's own accounting of the waited process.

CPU time and peak memory come from ``wait4`` (the command and the descendants it waited
for). Started from Python, a command would inherit Python's resident high-water mark in its
``ru_maxrss``; on Linux it is forked by a small shell and handed to this process before its
exec, so the peak is the command's own and its CPU time only its own (no launcher's). A run
may be given a timeout; SIGINT or SIGTERM sent to this process stops the command, then
frugal (``Stopped``). Energy and carbon are derived as for any measured region.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from frugal.core import span
from frugal.errors import FrugalError

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any, Iterable, Sequence

    from frugal.core.rows import MeterReading
    from frugal.frames.columns import Columns
    from frugal.machine.hardware import Machine

EXIT_NOT_FOUND = 127       # as a POSIX shell: command not found
EXIT_NOT_EXECUTABLE = 126  # as a POSIX shell: found but cannot be run
EXIT_TIMED_OUT = 124       # as timeout(1): the command ran past its time limit

@dataclass(frozen=True)
class ProcessRun:
    """One run of a command, as the kernel accounted for it when it was waited for.

    CPU times and peak memory come from ``wait4``: the command's own, plus those of the
    descendants it waited for (exact, no sampling). ``returncode`` follows ``subprocess``:
    negative for a signal.
    """

    argv: tuple[str, ...]
    pid: int
    started_ns: int          # UTC wall clock at start, ns since the epoch
    t0_ns: int               # perf_counter_ns at start
    wall_s: float
    user_s: float
    system_s: float
    peak_rss_bytes: int
    returncode: int
    meter: MeterReading | None   # (meter, start reading, end reading) when a meter is present
    timeout_s: float | None = None   # it ran past this limit and was killed (with its children)
    stopped_by: int | None = None    # the signal sent to frugal that stopped it (``Stopped``)

    @property
    def status(self) -> str:
        if self.timeout_s is not None:
            return "error"      # a failed run, as one that exits non-zero
        if self.stopped_by is not None:
            return "interrupted"
        return "ok" if self.returncode == 0 else "interrupted" if self.returncode < 0 else "error"

    @property
    def error(self) -> str | None:
        if self.timeout_s is not None:
            return f"timed out after {self.timeout_s:g} s"
        if self.returncode == 0 and self.stopped_by is None:
            return None
        ended = _signal_name(-self.returncode) if self.returncode < 0 else f"exit status {self.returncode}"
        if self.stopped_by is not None and self.returncode != -self.stopped_by:
            return f"{ended} ({_signal_name(self.stopped_by)} sent to frugal)"
        return ended

    @property
    def exit_status(self) -> int:
        """What a shell would report: the exit code, or 128 + the signal number; 124 for a run
        past its timeout (as timeout(1))."""
        if self.timeout_s is not None:
            return EXIT_TIMED_OUT
        return 128 - self.returncode if self.returncode < 0 else self.returncode


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM was sent to frugal's own process (not a terminal's Ctrl-C) while a
    command ran: the command was stopped and ``run`` is its run; frugal stops too, keeping what
    finished, as after Ctrl-C, and exits ``exit_status`` (128 + the signal's number)."""

    def __init__(self, signum: int, run: ProcessRun | None = None) -> None:
        super().__init__(f"stopped by {_signal_name(signum)}")
        self.signum, self.run = signum, run

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class CommandNotFound(Exception):
    def __init__(self, argv0: str, status: int, reason: str) -> None:
        super().__init__(f"{argv0}: {reason}")
        self.status = status


def run_process(argv: Sequence[str], quiet: bool = False, stdout: int | None = None,
                stderr: int | None = None, stdin: int | None = None,
                timeout_s: float | None = None) -> ProcessRun:
    """Run ``argv`` (no shell) to its end and return what it cost, as the kernel counted it.

    ``quiet`` sends the command's output to /dev/null; ``stdout`` and ``stderr`` are file
    descriptors for its standard output and error (``stderr`` wins over ``quiet``), ``stdin``
    for its standard input (default: this process's). ``timeout_s``: past this many seconds
    the command is killed with every process it started (a failed run: "timed out after N s",
    exit status 124). A terminal's Ctrl-C reaches the command (same process group) and frugal
    waits for it to end, so an interrupted command is recorded as such (status
    "interrupted"); SIGINT or SIGTERM sent to this process itself is forwarded to the
    command, which is killed with its children if it has not ended ``GRACE_S`` later, and
    ``Stopped`` is raised with its run. Raises ``CommandNotFound`` (status 127 or 126, as a
    shell) when the command cannot be found or run. Wall time runs from the exec of the
    command (Linux) to the end of the wait; the meter, when present, is read around the whole
    launch.
    """
    from frugal.validate import check_number

    timeout_s = check_number("timeout_s", timeout_s, low_open=True, optional=True, unit=" seconds")
    path = resolve(argv[0])
    meter = span.active().meter
    devnull = os.open(os.devnull, os.O_WRONLY) if quiet else None
    out = devnull if quiet else stdout
    err = stderr if stderr is not None else devnull if quiet else None
    # SIGINT and SIGTERM are taken with their sender (sigtimedwait) while the command runs;
    # one that another thread takes reaches a Python handler instead, recorded in ``caught``
    caught: list[int] = []
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in _STOP}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAKE)
    subreaper = _launcher_usable() and _subreaper(True)
    try:
        m0 = meter.read() if meter is not None else None
        before_ns, before = time.time_ns(), time.perf_counter_ns()
        try:
            pid, since, t0, waiter = _start(path, list(argv), out, err, stdin, mask)
        except FrugalError:
            # SIGINT or SIGTERM to the process group ended the launcher too: a stop, not a failure
            stop = _stop_that_ended_the_start(caught)
            if stop is not None:
                raise Stopped(stop) from None
            raise
        timed_out, stopped_by = _wait(pid, since, waiter, timeout_s, caught)
        m1 = meter.read() if meter is not None else None
    finally:
        if subreaper:
            _subreaper(False)
        for s, handler in handlers.items():
            if handler is not None:     # None: set outside Python, cannot be put back
                signal.signal(s, handler)
        # after the handlers: a signal that came after the wait reaches the program's own
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if devnull is not None:
            os.close(devnull)
    # a stop signal another thread took after the wait's last look: its Python handler ran in
    # this thread later, before the handlers were put back (it was lost: frugal went on)
    if stopped_by is None:
        stopped_by = next((s for s in caught if s != signal.SIGINT or not _terminal_foreground()), None)
    if waiter.result is None:
        raise FrugalError(f"{argv[0]!r} ended before it could be waited for")
    _, status, usage = waiter.result
    run = ProcessRun(
        argv=tuple(argv), pid=pid, started_ns=before_ns + (t0 - before), t0_ns=t0,
        wall_s=(waiter.t1 - t0) / 1e9, user_s=usage.ru_utime, system_s=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
        returncode=os.waitstatus_to_exitcode(status),
        meter=(meter, m0, m1) if m0 is not None and m1 is not None else None,
        timeout_s=timeout_s if timed_out else None, stopped_by=stopped_by)
    if stopped_by is not None:
        raise Stopped(stopped_by, run)
    return run


def resolve(argv0: str) -> str:
    """The executable a shell would run for ``argv0``, or ``CommandNotFound`` (127/126)."""
    if os.sep in argv0:
        if not os.path.exists(argv0):
            raise CommandNotFound(argv0, EXIT_NOT_FOUND, "no such file")
        if os.path.isdir(argv0) or not os.access(argv0, os.X_OK):
            raise CommandNotFound(argv0, EXIT_NOT_EXECUTABLE, "permission denied (not an executable file)")
        return argv0
    found = _which(argv0)
    if found is None:
        raise CommandNotFound(argv0, EXIT_NOT_FOUND, "command not found")
    return found


def _which(name: str) -> str | None:
    """``shutil.which(name)`` on POSIX: the first executable file of that name in PATH. shutil
    itself (it imports bz2, lzma, fnmatch) was 6 ms of every ``frugal run``'s start-up."""
    if sys.platform == "win32":
        import shutil

        return shutil.which(name)
    for folder in os.get_exec_path():
        path = os.path.join(folder, name)
        if os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path):
            return path
    return None


# Started from Python, a command would inherit this process's memory: the kernel keeps, in a
# process's ru_maxrss, the resident high-water mark of the memory image it had before exec, and
# a child forked (or vforked) from Python carries Python's. So a small shell is started, which
# forks a subshell (a copy of the shell: about 1 MiB) in the foreground; the subshell says it is
# there on fd 9 and waits for "go" on fd 7. This process finds it (the shell's one child, from
# /proc), and, a child subreaper, kills the shell and so inherits the subshell, then says
# "go", and the subshell execs the command with its argv exactly as given: the command's pid
# costs only that fork and one exec, as Popen's child does, and the shell's start is charged to
# nobody. A foreground subshell keeps the signal dispositions it inherited (a background one
# would ignore SIGINT for good), and the shell is started with SIGINT, SIGQUIT, SIGPIPE and
# SIGXFSZ at their defaults (Python ignores SIGPIPE and SIGXFSZ), as subprocess does.
_LAUNCH = '(echo >&9; exec 9>&-; read go <&7 || exit 126; exec "$0" "$@" 7<&-)'
_DEFAULT_SIGNALS = tuple(getattr(signal, s) for s in ("SIGINT", "SIGQUIT", "SIGPIPE", "SIGXFSZ")
                         if hasattr(signal, s))
_launcher: bool | None = None           # whether this system can start commands through the launcher
_PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 2.0    # after forwarding SIGINT/SIGTERM, how long a command may take to end before it is killed
_WAKE_S = 0.1    # the longest sleep of the wait: a signal that another thread took is seen within it
_STOP = (signal.SIGINT, signal.SIGTERM)
_WAKE = {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD}
_SI_KERNEL = 0x80    # si_code of a signal the kernel sent: a terminal's Ctrl-C to its foreground group


def _subreaper(on: bool) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        status: int = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)
        return status == 0
    except (OSError, AttributeError):
        return False


def _launcher_usable() -> bool:
    """Whether this system can start commands through the launcher (Linux, /bin/sh, /proc)."""
    global _launcher
    if _launcher is None:
        _launcher = (sys.platform.startswith("linux") and os.access("/bin/sh", os.X_OK)
                     and os.path.exists("/proc/self/stat"))
    return _launcher


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above fd 9, so that dup2 to 7 and 9 in the child never collides."""
    import fcntl

    ends = []
    for fd in os.pipe():
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        ends.append(high)
    return ends[0], ends[1]


class _Waiter(threading.Thread):
    """Waits for the command (``wait4``) and reads the clock the moment it ends, then wakes the
    thread that started it (SIGCHLD sent to that thread alone: never taken by another thread)."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="frugal-wait", daemon=True)
        self.pid, self.wake = pid, threading.get_ident()
        self.result: tuple[int, int, Any] | None = None
        self.t1 = 0
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            self.result = os.wait4(self.pid, 0)
        except ChildProcessError:       # reaped by the launcher: it ended before it was ours
            self.result = None
        self.t1 = time.perf_counter_ns()
        self.ended.set()
        signal.pthread_kill(self.wake, signal.SIGCHLD)


def _start(path: str, argv: list[str], out: int | None, err: int | None, stdin: int | None,
           mask: Any) -> tuple[int, int | None, int, _Waiter]:
    """Start the command with the signal mask ``mask``; (pid, its start in clock ticks since boot
    (None without /proc), perf_counter_ns at its start, its waiter).

    Where the launcher cannot be used (not Linux), the command is started directly, and its
    peak memory is at least this process's resident set at the start.
    """
    if not _launcher_usable():
        import subprocess     # only here: Linux starts commands through the launcher

        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, executable=path, stdin=stdin, stdout=out, stderr=err)
        waiter = _Waiter(proc.pid)
        waiter.start()
        proc.returncode = 0     # waited for by the waiter, not by Popen
        return proc.pid, None, t0, waiter
    pid_r, pid_w = _high_pipe()
    go_r, go_w = _high_pipe()
    actions = []
    if stdin is not None:
        actions.append((os.POSIX_SPAWN_DUP2, stdin, 0))
    if out is not None:
        actions.append((os.POSIX_SPAWN_DUP2, out, 1))
    if err is not None:
        actions.append((os.POSIX_SPAWN_DUP2, err, 2))
    actions += [(os.POSIX_SPAWN_DUP2, go_r, 7), (os.POSIX_SPAWN_DUP2, pid_w, 9)]
    try:
        try:
            # argv as given: the shell finds it on PATH as resolve did, and argv[0] stays the user's
            shell = os.posix_spawn("/bin/sh", ["sh", "-c", _LAUNCH, *argv], os.environ, file_actions=actions,
                                   setsigmask=mask, setsigdef=_DEFAULT_SIGNALS)
        finally:
            os.close(pid_w)
            os.close(go_r)
        there = os.read(pid_r, 1) == b"\n"
        pid = _child_of(shell) if there else None
        os.kill(shell, signal.SIGKILL)      # its subshell is ours now (a child subreaper inherits it)
        os.waitpid(shell, 0)
        if pid is None:
            raise FrugalError(f"could not start {argv[0]!r} through /bin/sh")
        since = _processes_of([pid]).get(pid, ("", 0, 0))[2]
        waiter = _Waiter(pid)
        waiter.start()
        t0 = time.perf_counter_ns()
        try:
            os.write(go_w, b"go\n")
        except BrokenPipeError:     # the subshell died before the command (a stop signal to the group?)
            raise FrugalError(f"could not start {argv[0]!r}: its launcher ended before it") from None
    finally:
        os.close(pid_r)
        os.close(go_w)
    return pid, since, t0, waiter


def _stop_that_ended_the_start(caught: list[int]) -> int | None:
    """The SIGINT or SIGTERM that ended the launcher with it, or None: pending for this thread
    (blocked while a command starts), or taken by another thread and recorded in ``caught`` by
    the Python handler, which this thread runs a moment later: it is given 0.1 s to."""
    deadline = time.monotonic() + 0.1
    while not caught:
        for signum in _STOP:
            if signum in signal.sigpending() and signal.sigtimedwait([signum], 0) is not None:
                return signum
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)       # the handler of a signal another thread took runs here
    return caught[0]


def _child_of(parent: int) -> int | None:
    """The one child of ``parent`` (the launcher's subshell), or None."""
    try:
        with open(f"/proc/{parent}/task/{parent}/children", "rb") as f:
            children = f.read().split()
    except OSError:     # a kernel without CONFIG_PROC_CHILDREN: look at every process
        children = [str(p).encode() for p, (_, ppid, _) in _processes().items() if ppid == parent]
    return int(children[0]) if len(children) == 1 else None


def _wait(pid: int, since: int | None, waiter: _Waiter, timeout_s: float | None,
          caught: list[int]) -> tuple[bool, int | None]:
    """Wait for the command to end; (whether it ran past ``timeout_s`` and was killed, the
    signal that stopped frugal meanwhile or None).

    SIGINT or SIGTERM sent to this process (not a terminal's Ctrl-C, which the command gets
    too and decides on) is forwarded to the command, which is killed with its children when
    it has not ended ``GRACE_S`` later (at once on a second one). ``caught``: signals that
    another thread took and a Python handler recorded (their origin unknown).
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    kill_at: float | None = None
    timed_out, stopped_by = False, None
    while not waiter.ended.is_set():
        now = time.monotonic()
        due = [d for d in (deadline, kill_at) if d is not None]
        if due and now >= min(due):
            timed_out = stopped_by is None
            deadline = kill_at = None
            _kill_tree(pid, since)
            continue
        info = signal.sigtimedwait(_WAKE, min([_WAKE_S, *(d - now for d in due)]))
        stops = [info.si_signo] if info is not None and info.si_signo in _STOP and info.si_code != _SI_KERNEL else []
        stops += [s for s in caught if s != signal.SIGINT or not _terminal_foreground()]
        caught.clear()
        for signum in stops:
            if stopped_by is not None:
                kill_at = now       # a second signal: no more grace
                continue
            stopped_by = signum     # frugal stops after this run, even one that has just ended
            if not waiter.ended.is_set():
                kill_at = now + GRACE_S
                with contextlib.suppress(ProcessLookupError):   # it ended meanwhile
                    os.kill(pid, signum)
    waiter.join()
    # A stop signal that came as the command ended is decided here, never left pending: once
    # the handlers and the mask are put back it would interrupt the program and lose this run.
    # A terminal's Ctrl-C (sent by the kernel) reached the command too, whose status says so.
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while (info := signal.sigtimedwait(_STOP, 0)) is not None:
            if info.si_code != _SI_KERNEL and stopped_by is None:
                stopped_by = info.si_signo
    for signum in caught:       # taken by another thread: the same rule as in the loop
        if stopped_by is None and (signum != signal.SIGINT or not _terminal_foreground()):
            stopped_by = signum
    caught.clear()
    if timed_out or stopped_by is not None:
        _kill_tree(pid, since)      # what it left behind, orphaned to this process
    with contextlib.suppress(BlockingIOError, InterruptedError):
        signal.sigtimedwait({signal.SIGCHLD}, 0)     # the waiter's wake-up, not for the program
    return timed_out, stopped_by


def _terminal_foreground() -> bool:
    """Whether this process is in its terminal's foreground group (a SIGINT of unknown origin
    may then be the terminal's Ctrl-C, which the command got too)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _processes() -> dict[int, tuple[str, int, int]]:
    """Every process: pid -> (state, parent pid, start time in clock ticks since boot), from /proc."""
    return _processes_of(int(name) for name in os.listdir("/proc") if name.isdigit())


def _processes_of(pids: Iterable[int]) -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, start time in clock ticks since boot) of those of ``pids`` alive."""
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:     # ended meanwhile
            continue
        found[pid] = (fields[0].decode(), int(fields[1]), int(fields[19]))
    return found


def _kill_tree(root: int, since: int | None) -> None:
    """SIGKILL the command ``root`` and every process it started, those orphaned to this process
    (a child subreaper: the children of this process that started at or after ``since``, the
    command's start in clock ticks) included, until none is left; the orphans are reaped
    (``root``'s own waiter reaps it). ``since`` None (no /proc): only ``root`` is killed."""
    if since is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(root, signal.SIGKILL)
        return
    me = os.getpid()
    procs = _processes()
    for _ in range(10_000):
        tree = {root} | {p for p, (_, ppid, start) in procs.items() if ppid == me and start >= since}
        grew = True
        while grew:
            more = {p for p, (_, ppid, _) in procs.items() if ppid in tree} - tree
            grew, tree = bool(more), tree | more
        alive = [p for p in tree if procs.get(p, ("X",))[0] not in "ZX"]
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        mine = [p for p in tree if p != root and p in procs and procs[p][1] == me]
        for p in mine:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, 0)
        if not alive and not mine:
            return
        procs = _processes()


class Instant(int):
    """A UTC time in ns since the epoch, ``started_at`` of a plain column dict: written to the
    store as a time, shown as numpy shows a ``datetime64[ns]`` (ISO 8601, to the nanosecond)."""

    __slots__ = ()

    def isoformat(self) -> str:
        seconds, ns = divmod(int(self), 1_000_000_000)
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{ns:09d}+00:00"


_NAN = float("nan")
_INTS = ("depth", "calls", "pid", "_seq", "_settings_id")
_OBJECTS = ("name", "status", "error", "parent", "scope")
_RAW_FIELDS = ("name", "started_at", "wall_s", "cpu_user_s", "cpu_system_s", "cpu_s", "cpu_util", "peak_rss_bytes",
               "rss_delta_bytes", "rss_start_bytes", "peak_added_bytes", "units", "status", "error", "parent",
               "depth", "scope", "children", "calls", "wall_min_s", "wall_max_s", "pid", "_seq", "_settings_id")


def process_columns(runs: Sequence[ProcessRun], name: str | Sequence[str], machine: Machine | None = None,
                    *, plain: bool = False) -> Columns:
    """The column dict of ``frugal.frames.columns`` for whole-process runs, energy and carbon derived
    with the settings in force (measured by a meter where present, modelled otherwise), on
    ``machine`` (this one by default; tests give others).

    Each run is derived on its own, without numpy (``frugal.energy.row.derive_row``), unless a
    meter measured it. ``plain``: the columns stay lists of Python values (floats, NaN for
    unknown; ``started_at`` as ``Instant``), so that ``frugal run`` never imports numpy; else
    numpy arrays (text outputs as ``Text``), as ``frugal.results()`` gives them."""
    from frugal.energy.row import OUTPUTS, TEXT_OUTPUTS, derive_row

    names = [name] * len(runs) if isinstance(name, str) else list(name)
    sid = span.active().settings_id
    meters = {i: r.meter for i, r in enumerate(runs) if r.meter is not None}
    rows = []
    for i, r in enumerate(runs):
        wall, user, system, peak = float(r.wall_s), float(r.user_s), float(r.system_s), float(r.peak_rss_bytes)
        cpu = user + system
        row: dict[str, Any] = {
            "name": names[i], "started_at": Instant(r.started_ns),
            "wall_s": wall, "cpu_user_s": user, "cpu_system_s": system, "cpu_s": cpu,
            "cpu_util": cpu / wall if wall > 0 else _NAN,
            "peak_rss_bytes": peak,
            # what a process adds above its start is not measured, its peak resident set is: memory
            # is shown and compared as that peak ("peak mem"), never as "mem added"
            "rss_delta_bytes": _NAN, "rss_start_bytes": _NAN, "peak_added_bytes": _NAN, "units": _NAN,
            "status": r.status, "error": r.error, "parent": None, "depth": 0, "scope": "process",
            "children": True, "calls": 1, "wall_min_s": wall, "wall_max_s": wall, "pid": r.pid,
            "_seq": i, "_settings_id": sid,
        }
        if not meters:
            row.update(derive_row(sid, wall, cpu, peak, _NAN, machine))
        rows.append(row)
    fields = list(rows[0]) if rows else [*_RAW_FIELDS, *OUTPUTS]
    cols: dict[str, Any] = {f: [row.get(f) for row in rows] for f in fields}
    if plain and not meters:
        return cols
    import numpy as np

    from frugal.frames.columns import add_energy, text_of

    out: dict[str, Any] = {}
    for field, values in cols.items():
        if field == "started_at":
            out[field] = np.array(values, dtype="i8").astype("datetime64[ns]")
        elif field in _INTS:
            out[field] = np.array(values, dtype="i8")
        elif field == "children":
            out[field] = np.array(values, dtype=bool)
        elif field in _OBJECTS:
            out[field] = np.empty(len(values), dtype=object)
            out[field][:] = values
        elif field in TEXT_OUTPUTS:
            out[field] = text_of(values)
        else:
            out[field] = np.array(values, dtype="f8")
    if meters:
        add_energy(out, meters, machine)
        if plain:       # a meter's readings went through numpy: its figures back as Python values
            cols.update({f: out[f].tolist() for f in OUTPUTS})
            return cols
    return out
