"""Measure a command as a whole process: the kernel's own accounting of the waited process.

CPU time and peak memory come from ``wait4`` (the command and the descendants it waited
for). Started from Python, a command would inherit Python's resident high-water mark in its
``ru_maxrss``; on Linux it is started by a small shell that this process inherits instead, so
the peak is the command's own. Energy and carbon are derived as for any measured region.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from frugal.core import span
from frugal.errors import FrugalError

if TYPE_CHECKING:
    from frugal.core.rows import MeterReading
    from frugal.frames.columns import Columns

EXIT_NOT_FOUND = 127       # as a POSIX shell: command not found
EXIT_NOT_EXECUTABLE = 126  # as a POSIX shell: found but cannot be run

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

    @property
    def status(self) -> str:
        return "ok" if self.returncode == 0 else "interrupted" if self.returncode < 0 else "error"

    @property
    def error(self) -> str | None:
        if self.returncode == 0:
            return None
        if self.returncode < 0:
            return _signal_name(-self.returncode)
        return f"exit status {self.returncode}"

    @property
    def exit_status(self) -> int:
        """What a shell would report: the exit code, or 128 + the signal number."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode


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
                stderr: int | None = None, stdin: int | None = None) -> ProcessRun:
    """Run ``argv`` (no shell) to its end and return what it cost, as the kernel counted it.

    ``quiet`` sends the command's output to /dev/null; ``stdout`` and ``stderr`` are file
    descriptors for its standard output and error (``stderr`` wins over ``quiet``), ``stdin``
    for its standard input (default: this process's). While it runs, Ctrl-C reaches the command (same process group) and
    frugal waits for it to end, so an interrupted command is recorded as such (status
    "interrupted"). Raises ``CommandNotFound`` (status 127 or 126, as a shell) when the
    command cannot be found or run. Wall time runs from the exec of the command (Linux) to
    the end of the wait; the meter, when present, is read around the whole launch.
    """
    path = resolve(argv[0])
    meter = span.active().meter
    devnull = os.open(os.devnull, os.O_WRONLY) if quiet else None
    out = devnull if quiet else stdout
    err = stderr if stderr is not None else devnull if quiet else None
    previous = signal.signal(signal.SIGINT, _ignore_while_waiting)
    try:
        m0 = meter.read() if meter is not None else None
        before_ns, before = time.time_ns(), time.perf_counter_ns()
        pid, status, usage, t0 = _spawn_and_wait(path, list(argv), out, err, stdin)
        t1 = time.perf_counter_ns()
        started_ns = before_ns + (t0 - before)
        m1 = meter.read() if meter is not None else None
    finally:
        signal.signal(signal.SIGINT, previous)
        if devnull is not None:
            os.close(devnull)
    return ProcessRun(
        argv=tuple(argv), pid=pid, started_ns=started_ns, t0_ns=t0, wall_s=(t1 - t0) / 1e9,
        user_s=usage.ru_utime, system_s=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
        returncode=os.waitstatus_to_exitcode(status),
        meter=(meter, m0, m1) if m0 is not None and m1 is not None else None)


def resolve(argv0: str) -> str:
    """The executable a shell would run for ``argv0``, or ``CommandNotFound`` (127/126)."""
    import shutil

    if os.sep in argv0:
        if not os.path.exists(argv0):
            raise CommandNotFound(argv0, EXIT_NOT_FOUND, "no such file")
        if os.path.isdir(argv0) or not os.access(argv0, os.X_OK):
            raise CommandNotFound(argv0, EXIT_NOT_EXECUTABLE, "permission denied (not an executable file)")
        return argv0
    found = shutil.which(argv0)
    if found is None:
        raise CommandNotFound(argv0, EXIT_NOT_FOUND, "command not found")
    return found


# Started by a small shell, the command does not inherit this Python process's memory:
# the kernel keeps, in a process's ru_maxrss, the resident high-water mark of the memory
# image it had before exec, and a child forked (or vforked) from Python carries Python's.
# The shell forks a subshell (a copy of the shell: about 1 MiB), prints its pid on fd 9 and
# exits; this process, a child subreaper, inherits the subshell, then says "go" on fd 7, and
# the subshell execs the command: it cannot end before it is ours to wait for. A background
# subshell ignores SIGINT and SIGQUIT for good, so env(1) gives them back to the command:
# Ctrl-C reaches it as it would reach any command run in the foreground. env reads every
# operand holding "=" as an assignment (even after --), so it runs /bin/sh, never the command:
# that sh execs the command with its argv exactly as given ("./opt=3/bench" included).
_LAUNCH = ('exec 8<&0; (exec 9>&-; read go <&7 || exit 126; exec 7<&-; '
           'exec "$0" --default-signal=INT,QUIT -- /bin/sh -c \'exec "$0" "$@"\' "$@" <&8 8<&-) & '
           'echo $! >&9; exit 0')
_launcher: tuple[str, str] | None | bool = False     # (sh, env) once checked; None: not usable here
_PR_SET_CHILD_SUBREAPER = 36


def _subreaper(on: bool) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        status: int = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)
        return status == 0
    except (OSError, AttributeError):
        return False


def _launcher_paths() -> tuple[str, str] | None:
    """(/bin/sh, env) when this system can start commands through the launcher, else None."""
    global _launcher
    if _launcher is False:
        import shutil

        env = shutil.which("env")
        ok = (sys.platform.startswith("linux") and os.access("/bin/sh", os.X_OK) and env is not None
              and subprocess.run([env, "--default-signal=INT,QUIT", "--", "true"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0)
        _launcher = ("/bin/sh", env) if ok and env is not None else None
    return _launcher  # type: ignore[return-value]


def _spawn_and_wait(path: str, argv: list[str], out: int | None, err: int | None,
                    stdin: int | None = None) -> tuple[int, int, Any, int]:
    """Start the command, wait for it; returns (pid, wait status, rusage, perf_counter_ns at its start).

    Where the launcher cannot be used (no GNU env, not Linux), the command is started
    directly, and its peak memory is at least this process's resident set at the start.
    """
    paths = _launcher_paths()
    if paths is not None and _subreaper(True):
        try:
            return _via_shell(paths[0], paths[1], argv, out, err, stdin)
        finally:
            _subreaper(False)
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(argv, executable=path, stdin=stdin, stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)      # retried by Python after a signal (PEP 475)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.pid, status, usage, t0


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above fd 9, so that dup2 to 7 and 9 in the child never collides."""
    import fcntl

    ends = []
    for fd in os.pipe():
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        ends.append(high)
    return ends[0], ends[1]


def _via_shell(shell: str, env: str, argv: list[str], out: int | None, err: int | None,
               stdin: int | None = None) -> tuple[int, int, Any, int]:
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
            launcher = os.posix_spawn(shell, ["sh", "-c", _LAUNCH, env, *argv], os.environ,
                                      file_actions=actions)
        finally:
            os.close(pid_w)
            os.close(go_r)
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(pid_r, 64)
            if not chunk:
                break
            data += chunk
        os.waitpid(launcher, 0)
        try:
            pid = int(data)
        except ValueError:
            raise FrugalError(f"could not start {argv[0]!r} through {shell}") from None
        t0 = time.perf_counter_ns()
        os.write(go_w, b"go\n")
    finally:
        os.close(pid_r)
        os.close(go_w)
    _, status, usage = os.wait4(pid, 0)
    return pid, status, usage, t0


def _ignore_while_waiting(signum: int, frame: Any) -> None:
    """Ctrl-C while a command runs: the command gets it too; frugal waits for its end."""


def process_columns(runs: Sequence[ProcessRun], name: str | Sequence[str]) -> Columns:
    """The column dict of ``frugal.frames.columns`` for whole-process runs, energy and carbon derived
    with the settings in force (measured by a meter where present, modelled otherwise)."""
    import numpy as np

    from frugal.frames.columns import add_energy

    n = len(runs)
    names = [name] * n if isinstance(name, str) else list(name)
    wall = np.array([r.wall_s for r in runs], dtype="f8")
    user = np.array([r.user_s for r in runs], dtype="f8")
    system = np.array([r.system_s for r in runs], dtype="f8")
    cpu = user + system
    peak = np.array([r.peak_rss_bytes for r in runs], dtype="f8")
    cols: dict[str, Any] = {
        "name": np.array(names, dtype=object),
        "started_at": np.array([r.started_ns for r in runs], dtype="i8").astype("datetime64[ns]"),
        "wall_s": wall, "cpu_user_s": user, "cpu_system_s": system, "cpu_s": cpu,
        "cpu_util": np.divide(cpu, wall, out=np.full(n, np.nan), where=wall > 0),
        "peak_rss_bytes": peak,
        # what a process adds above its start is not measured, its peak resident set is: memory
        # is shown and compared as that peak ("peak mem"), never as "mem added"
        "rss_delta_bytes": np.full(n, np.nan),
        "rss_start_bytes": np.full(n, np.nan),
        "peak_added_bytes": np.full(n, np.nan),
        "units": np.full(n, np.nan),
        "status": np.array([r.status for r in runs], dtype=object),
        "error": np.array([r.error for r in runs], dtype=object),
        "parent": np.full(n, None, dtype=object),
        "depth": np.zeros(n, dtype="i8"),
        "scope": np.full(n, "process", dtype=object),
        "children": np.ones(n, dtype=bool),
        "calls": np.ones(n, dtype="i8"),
        "wall_min_s": wall, "wall_max_s": wall,
        "pid": np.array([r.pid for r in runs], dtype="i8"),
        "_seq": np.arange(n, dtype="i8"),
        "_settings_id": np.full(n, span.active().settings_id, dtype="i8"),
    }
    meters = {i: r.meter for i, r in enumerate(runs) if r.meter is not None}
    return add_energy(cols, meters)
