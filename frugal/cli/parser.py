"""The ``frugal`` command line: the parser, ``main()`` and its exit statuses.

``frugal run -- CMD``, ``frugal compare 'CMD A' 'CMD B'``, ``frugal profile``, ``frugal dashboard``,
``frugal export``, ``frugal merge``, ``frugal check``, ``frugal info`` and ``frugal demo``, one module each. User mistakes end in one line
on stderr and a non-zero exit status, never a traceback (``FRUGAL_DEBUG=1`` shows it for a bug report).
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from frugal._version import __version__
from frugal.cli.common import UserError
from frugal.errors import FrugalError
from frugal.frames.process import Stopped

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Sequence

EXIT_USAGE = 2
# in the order --help lists them; each is the module frugal.cli.NAME, imported only when its
# command is asked for or every command is listed (``frugal run`` need not import the others)
COMMANDS = ("run", "compare", "profile", "dashboard", "export", "merge", "check", "info", "demo")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and a pointer to --help), not the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see '{self.prog} --help')")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``frugal``: each command adds its own subparser, with ``func`` to run it.
    ``only``: the one command whose subparser is added (what ``frugal ONLY ...`` parses the
    same with it alone), else all of them."""
    parser = _Parser(prog="frugal", description="Measure what code costs: time, CPU, memory, energy, carbon.")
    parser.add_argument("--version", action="version", version=f"frugal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"frugal.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frugal`` console script; returns the exit status."""
    if argv is None:        # this process's own command line: it ends with the command
        _freeze()
    args_given = sys.argv[1:] if argv is None else list(argv)
    # a command's arguments are parsed by its subparser alone: the other commands' modules
    # (and what they import) are not needed; anything else (--help, a typo) gets them all
    parser = build_parser(args_given[0] if args_given and args_given[0] in COMMANDS else None)
    command = "frugal"
    try:
        args = parser.parse_args(args_given)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        command = f"frugal {args.command}"
        # SIGTERM (a CI runner's, a supervisor's) stops frugal as Ctrl-C does: what finished is
        # kept, temporary worktrees removed; while a command runs, run_process forwards it
        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            status: int = args.func(args)   # each command returns its exit status
        finally:
            signal.signal(signal.SIGTERM, previous)
        if argv is None:
            _freeze()
        return status
    except UserError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FrugalError, ValueError) as exc:
        if os.environ.get("FRUGAL_DEBUG"):
            raise
        print(f"{command}: error: {exc}", file=sys.stderr)
        # a value given on the command line that cannot be used is a usage error, as argparse's
        return 1 if isinstance(exc, FrugalError) else EXIT_USAGE
    except Stopped as exc:
        print(f"\n{command}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError as exc:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader of our output went away (| head): not an error of ours
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        # another pipe broke (a command's, frugal's own): an error, said, never silent
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("FRUGAL_DEBUG"):
            raise
        print(f"{command}: internal error: {type(exc).__name__}: {exc} "
              "(FRUGAL_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70


def _freeze() -> None:
    """Keep the objects made so far (the imports' modules, classes, functions: alive to the end
    of a command line's process anyway) out of the garbage collector's passes: once the
    command starts, once it is done. The collections while it runs and the interpreter's last
    ones at exit then skip them (about 9 ms of ``frugal run -- true``, 5 ms of ``--help``).
    Objects are still freed when their last reference goes; ``atexit`` handlers run as before."""
    import gc

    gc.freeze()


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


if __name__ == "__main__":
    raise SystemExit(main())
