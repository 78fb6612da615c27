"""``frugal profile -- python SCRIPT.py``: energy and carbon per function of a Python script, a flame graph."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from frugal.cli.common import UserError, after_dashes, positive_int
from frugal.text import shown, table
from frugal.units import format_quantity


def add_parser(sub: Any) -> None:
    """``frugal profile``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("profile", help="profile a Python script: energy and carbon per function, a flame graph",
                       description="Run a Python script in this process (sys.argv and __main__ as the script "
                                   "expects) under frugal's sampling profiler; print the functions that spent "
                                   "the most energy, write a flame graph page and exit with the script's own "
                                   "exit status. Each thread's CPU time is read from its own CPU clock.")
    p.add_argument("-o", "--output", default="profile.html", metavar="FILE",
                   help="the flame graph page (default profile.html)")
    p.add_argument("--export-speedscope", metavar="FILE", help="also write speedscope's format (weights in J)")
    p.add_argument("--export-collapsed", metavar="FILE",
                   help="also write collapsed stacks for FlameGraph/inferno (weights in µJ)")
    p.add_argument("--interval", type=_milliseconds, default=5.0, metavar="MS",
                   help="milliseconds between samples (default 5)")
    p.add_argument("--top", type=positive_int, default=10, metavar="N", help="functions shown (default 10)")
    p.add_argument("--force", action="store_true", help="overwrite an output file of another kind")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- python SCRIPT.py ARGS", help="the script to run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Profile the script, print its costliest functions, write the outputs; the script's exit status."""
    from frugal.cli.script import NotAScript, run_script, script_of
    from frugal.files import check_output
    from frugal.analysis.profiler import Profile

    try:
        script, script_args = script_of(after_dashes(args.cmd))
        outputs = [(path, kind, what) for path, kind, what in (
            (args.output, "html", "--output"), (args.export_speedscope, "speedscope", "--export-speedscope"),
            (args.export_collapsed, "collapsed", "--export-collapsed")) if path]
        for path, kind, what in outputs:
            check_output(path, kind, overwrite=args.force, argument=what)   # before the script runs, not after
    except (NotAScript, ValueError) as exc:
        raise UserError(str(exc)) from None
    prof = Profile(interval=args.interval / 1000, name=os.path.basename(script))
    status = run_script(script, script_args, lambda: prof)
    sys.stdout.flush()
    top = prof.top(args.top)
    print(f"\nfrugal profile: {shown(script)}, exit status {status}; the functions that spent the most energy",
          file=sys.stderr)
    print(table(list(top.columns), [[shown(str(c)) for c in row] for row in top.itertuples(index=False)]),
          file=sys.stderr)
    m = prof.measurement
    print(f"region: {format_quantity(m.energy_j, 'J')} ({m.energy_method}), "
          f"{format_quantity(m.carbon_g, 'gCO2e')} operational + {format_quantity(m.embodied_g, 'gCO2e')} "
          f"embodied, {format_quantity(m.cpu_s, 's')} CPU in {format_quantity(m.wall_s, 's')}; "
          f"{prof.samples} sample{'' if prof.samples == 1 else 's'} every "
          f"{format_quantity(prof.interval, 's')}", file=sys.stderr)
    writers: dict[str, Any] = {"html": lambda p: prof.flamegraph(p, force=args.force),
               "speedscope": lambda p: prof.to_speedscope(p, force=args.force),
               "collapsed": lambda p: prof.to_collapsed(p, force=args.force)}
    for path, kind, what in outputs:
        try:
            writers[kind](path)
        except (OSError, ValueError) as exc:
            print(f"frugal profile: error: cannot write {path}: {exc}", file=sys.stderr)
            status = status or 1
            continue
        print(f"{'flame graph' if kind == 'html' else kind}: {path}", file=sys.stderr)
    return status


def _milliseconds(text: str) -> float:
    """An argparse type: milliseconds between samples, 0.1 to 1000."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, got {text!r}") from None
    if not 0.1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 0.1 to 1000 milliseconds, got {text!r}")
    return value
