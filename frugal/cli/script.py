"""A Python script run in this process as ``python SCRIPT.py ARGS`` would run it (``frugal profile``).

The script's code runs in a fresh ``__main__`` module (``if __name__ == "__main__":`` holds,
pickling finds its classes), with ``sys.argv`` set to the script and its arguments and the
script's folder first on ``sys.path``. Its exit status is Python's: 0 when it ends, the code
of ``SystemExit``, 1 after an uncaught exception (the traceback printed as Python prints it,
without frugal's frames), 130 after Ctrl-C. Threads it leaves running (not daemon ones) are
waited for, as the interpreter would before exiting.
"""
from __future__ import annotations

import builtins
import os
import re
import sys
import threading
import traceback
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?w?(\.exe)?$")
_SHEBANG = re.compile(rb"^#![^\n]*python")


class NotAScript(ValueError):
    """The command is not ``python SCRIPT.py ARGS`` or ``SCRIPT.py ARGS``."""


def script_of(cmd: list[str]) -> tuple[str, list[str]]:
    """(script, its arguments) of ``python SCRIPT.py ARGS`` or ``SCRIPT.py ARGS``."""
    if not cmd:
        raise NotAScript("no script given: frugal profile [options] -- python SCRIPT.py ARGS...")
    first = cmd[0]
    if _PYTHON.match(os.path.basename(first)):
        if len(cmd) < 2:
            raise NotAScript(f"{first} without a script: give python SCRIPT.py ARGS...")
        if cmd[1].startswith("-"):
            raise NotAScript(f"python options such as {cmd[1]} are not supported: frugal profile runs "
                             "a script, python SCRIPT.py ARGS...")
        script, args = cmd[1], cmd[2:]
    else:
        script, args = first, cmd[1:]
    if not os.path.isfile(script):
        if script is first and not script.endswith((".py", ".pyw")):
            raise NotAScript(f"{script!r} is not a Python script: frugal profile runs Python code in its own "
                             "process (python SCRIPT.py ARGS...); measure other commands with frugal run -- CMD")
        raise NotAScript(f"no such script: {script}")
    if not script.endswith((".py", ".pyw")):
        with open(script, "rb") as f:
            head = f.read(256)
        if not _SHEBANG.match(head):
            raise NotAScript(f"{script!r} is not a Python script (no .py name, no python #! line): frugal "
                             "profile runs Python code; measure other commands with frugal run -- CMD")
    return script, list(args)


def exit_status(code: Any) -> int:
    """The process exit status Python gives ``SystemExit(code)`` (a message prints, then 1)."""
    if code is None:
        return 0
    if isinstance(code, int):          # True and False too, as for python
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_script(script: str, args: list[str], region: Callable[[], AbstractContextManager[Any]]) -> int:
    """Run ``script`` with ``args`` inside ``region()`` (a context manager); its exit status."""
    path = os.path.abspath(script)
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, script, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        traceback.print_exception(type(exc), exc, None)
        return 1
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __builtins__=builtins, __cached__=None, __loader__=None,
                         __package__=None, __spec__=None)
    saved = sys.argv, sys.modules["__main__"], sys.path[0] if sys.path else None
    sys.argv = [script, *args]
    sys.modules["__main__"] = main
    if sys.path:
        sys.path[0] = os.path.dirname(path)
    else:
        sys.path.append(os.path.dirname(path))
    status = 0
    try:
        with region():
            try:
                exec(code, main.__dict__)
            except SystemExit as exc:       # a normal end for the region too
                status = exit_status(exc.code)
            _wait_for_threads()
    except KeyboardInterrupt as exc:
        _print_error(exc)
        return 130
    except BaseException as exc:
        _print_error(exc)
        return 1
    finally:
        sys.argv, sys.modules["__main__"] = saved[0], saved[1]
        if saved[2] is not None and sys.path:
            sys.path[0] = saved[2]
    return status


def _wait_for_threads() -> None:
    """Join the threads the script left running, as the interpreter does before it exits."""
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon and t.is_alive():
            t.join()


def _print_error(exc: BaseException) -> None:
    """The traceback Python would print, from the script's first frame on."""
    tb = exc.__traceback__
    here = os.path.abspath(__file__)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == here:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)
