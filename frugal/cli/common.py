"""What several commands of ``frugal`` share: the usage error, the store, the command after
``--``, the machine options, whole-number arguments and the pump that keeps a command's stderr."""
from __future__ import annotations

import argparse
import math
import os
import signal
import threading

from frugal.frames.process import ProcessRun
from frugal.validate import check_int

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Sequence

DEFAULT_STORE = "frugal.db"


class UserError(Exception):
    """A mistake in what was asked: one line on stderr, exit status 2."""


# --- the store of the command line --------------------------------------------------------

def store_path(arg: str | None) -> Path | str:
    """``--store``, else ``FRUGAL_STORE``, else ./frugal.db: a file path, or a ``postgresql://``
    URL as a str (another scheme is a usage error: a URL is never taken for a file path)."""
    from frugal.files import store_location

    try:
        return store_location(arg or os.environ.get("FRUGAL_STORE") or DEFAULT_STORE, "--store")
    except ValueError as exc:
        raise UserError(str(exc)) from None


def store_shown(path: Path | str) -> str:
    """The store as printed: a URL with its password redacted."""
    from frugal.validate import redact

    return redact(str(path))


def store_runs(path: Path | str, cols: dict[str, Any], program: str,
               git: tuple[str | None, str | None] | None = None) -> None:
    """Append the runs of a command (a column dict) to the store at ``path``, as one run of
    the store whose (commit, branch) is ``git`` (default: ``git_info()``)."""
    from frugal.store.location import open_store
    from frugal.store.run_info import new_run, settings_json

    run = new_run(program=program, git=git)
    run["settings"] = settings_json()

    open_store(path).append(run, cols)


def add_store(p: argparse.ArgumentParser) -> None:
    """``--store`` and ``--no-store``, of the commands that store their runs."""
    p.add_argument("--store", metavar="PATH", help=f"store to append to: a SQLite file or a postgresql:// URL (default: $FRUGAL_STORE, else ./{DEFAULT_STORE})")
    p.add_argument("--no-store", action="store_true", help="do not store the runs")


def after_dashes(cmd: Sequence[str]) -> list[str]:
    """The command given after ``--`` (argparse's REMAINDER keeps the ``--`` it starts with)."""
    cmd = list(cmd)
    return cmd[1:] if cmd and cmd[0] == "--" else cmd


def objects(values: Sequence[Any]) -> Any:
    """A numpy array of Python objects (a column of a column dict)."""
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


# --- arguments ------------------------------------------------------------------------------

def _whole(minimum: int) -> Any:
    """An argparse type: a whole number >= ``minimum`` (checked as every argument is)."""
    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), minimum)
        except ValueError as exc:
            detail = "expected a whole number" if "int()" in str(exc) else f"expected a number >= {minimum}"
            raise argparse.ArgumentTypeError(f"{detail}, got {text!r}") from None
    parse.__name__ = "whole number"
    return parse


positive_int, count = _whole(1), _whole(0)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def add_timeout(p: argparse.ArgumentParser) -> None:
    """``--timeout``, of the commands that run a command."""
    p.add_argument("--timeout", type=seconds, metavar="SECONDS",
                   help="kill a run (with every process it started) past this many seconds: a failed run, "
                        "'timed out after SECONDS s'")


def add_machine(p: argparse.ArgumentParser) -> None:
    """The options that say which machine ran the commands (``apply_machine`` uses them)."""
    p.add_argument("--cpu-model", metavar="MODEL", help="the (host) CPU model, e.g. 'AMD EPYC 7763' "
                   "(default: $FRUGAL_CPU_MODEL, else the brand string)")
    p.add_argument("--host-threads", type=positive_int, metavar="N", help="hardware threads of the host "
                   "(default: $FRUGAL_HOST_THREADS, else from the model, the instance or the machine)")
    p.add_argument("--instance-type", metavar="TYPE", help="cloud instance type, e.g. m6i.large "
                   "(default: $FRUGAL_INSTANCE_TYPE, else read from DMI where the platform shows it)")


def apply_machine(args: argparse.Namespace) -> None:
    """Put --cpu-model, --host-threads and --instance-type in force (a bad value is a usage error)."""
    from frugal.core.settings import configure

    given = {"cpu_model": args.cpu_model, "host_threads": args.host_threads, "instance_type": args.instance_type}
    changes = {k: v for k, v in given.items() if v is not None}
    if changes:
        try:
            configure(**changes)
        except (TypeError, ValueError) as exc:
            raise UserError(str(exc)) from None


# --- a command's stderr ---------------------------------------------------------------------

STDERR_LINES = 3       # lines of a failed command's stderr kept with its exit status
STDERR_BYTES = 4096    # of which at most this many bytes
_DRAIN_S = 0.5         # how long to wait for the rest of stderr after the command ended


class StderrTail:
    """A command's stderr read through a pipe: passed on to frugal's own stderr (``show``) or
    dropped, its last ``STDERR_BYTES`` kept, so that a failed run is explained in its own words.

    ``with StderrTail(show) as tail: run_process(argv, stderr=tail.fd)``, then ``tail.failure(run)``.
    """

    def __init__(self, show: bool) -> None:
        self.show = show
        self.fd = -1
        self._tail = b""
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StderrTail:
        read, self.fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, args=(read,), name="frugal-stderr", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
        assert self._thread is not None     # set by __enter__
        # a background process the command left behind may hold the pipe open: do not wait for it
        self._thread.join(_DRAIN_S)

    def _pump(self, read: int) -> None:
        # the signals that run_process takes with their sender are not for this thread
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD})
        try:
            while chunk := os.read(read, 65536):
                self._tail = (self._tail + chunk)[-STDERR_BYTES:]
                while self.show and chunk:
                    try:
                        chunk = chunk[os.write(2, chunk):]
                    except OSError:
                        self.show = False   # our own stderr is gone: keep draining, never block the command
        finally:
            os.close(read)

    def failure(self, r: ProcessRun) -> str:
        """``exit status 3: last line of stderr / ...`` (at most STDERR_LINES lines, on one line)."""
        lines = [line.strip() for line in self._tail.decode("utf-8", "replace").splitlines() if line.strip()]
        tail = " / ".join(lines[-STDERR_LINES:])
        return f"{r.error}: {tail}" if tail else str(r.error)
