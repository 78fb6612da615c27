"""``frugal compare 'CMD A' 'CMD B'``: interleaved runs, medians with CIs, ratios and verdicts."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from typing import TYPE_CHECKING, Any, Sequence

from frugal.cli.common import (StderrTail, UserError, add_machine, add_store, add_timeout, apply_machine, count,
                               objects, positive_int, store_path, store_runs,
                               store_shown)
from frugal.frames.process import CommandNotFound, ProcessRun, process_columns, resolve, run_process
from frugal.pages.text import markdown, records, text_report
from frugal.text import shown

if TYPE_CHECKING:
    import pandas as pd

    from frugal.cli.revisions import Revision


def add_parser(sub: Any) -> None:
    """``frugal compare``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("compare", help="compare commands: interleaved runs, CIs, ratios, verdicts",
                       description="Run each command --runs times, interleaved in a random order, after "
                                   "--warmup unmeasured runs; print medians with 95% bootstrap CIs, ratios "
                                   "of medians to the baseline with bootstrap intervals corrected for the number "
                                   "of ratios, and verdicts that follow them. Commands are split like "
                                   "a shell would split them but not run by one: use sh -c '...' for pipes. "
                                   "Exits 1 when a run failed (failed runs are left out of the statistics). "
                                   "With --rev given twice or more: frugal compare --rev BASE --rev HEAD "
                                   "[--setup CMD] -- CMD runs the one command CMD in a temporary git worktree "
                                   "of each revision, and stores each revision's runs with its commit under "
                                   "the command's name, for frugal check --base BASE --head HEAD.")
    p.add_argument("commands", nargs="+", metavar="CMD", help="a command, quoted")
    p.add_argument("--runs", type=positive_int, default=10, metavar="N", help="measured runs per command (default 10)")
    p.add_argument("--warmup", type=count, default=1, metavar="K",
                   help="unmeasured runs first (default 1), FRUGAL_STORE unset for them")
    p.add_argument("--rev", action="append", metavar="REV",
                   help="a git revision to check out and run the command in (repeatable; the first is the baseline)")
    p.add_argument("--setup", metavar="CMD", help="with --rev: a shell command run once in each worktree first")
    p.add_argument("-n", "--name", action="append", metavar="NAME", help="name of a command, in order (repeatable)")
    p.add_argument("--baseline", metavar="NAME", help="what the others are compared with (default: the first)")
    p.add_argument("--seed", type=count, metavar="S", help="seed of the run order and the bootstrap")
    add_timeout(p)
    p.add_argument("--show-output", action="store_true", help="let the commands print (default: discarded)")
    p.add_argument("--input", metavar="FILE",
                   help="every run reads FILE from its start as its standard input (default: /dev/null, "
                        "so that no run reads what another has consumed)")
    p.add_argument("--export-json", metavar="FILE", help="write the summary, ratios and every run as JSON")
    p.add_argument("--export-csv", metavar="FILE", help="write the summary table as CSV")
    p.add_argument("--export-markdown", metavar="FILE", help="write the table and verdicts as Markdown")
    p.add_argument("--force", action="store_true", help="replace an export file even if frugal did not write it")
    add_machine(p)
    add_store(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def _frame_of(cols: dict[str, Any]) -> pd.DataFrame:
    from frugal.frames.frame import frame_from_columns

    return frame_from_columns(cols)


def _compare_names(args: argparse.Namespace) -> list[str]:
    names = list(args.name or [])
    if len(names) > len(args.commands):
        raise UserError(f"{len(names)} --name for {len(args.commands)} commands")
    names += args.commands[len(names):]
    if len(set(names)) != len(names):
        raise UserError("two commands have the same name: give each a distinct --name")
    return names


def _split(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UserError(f"cannot split the command {command!r}: {exc}") from None
    if not argv:
        raise UserError("an empty command was given")
    return argv


def run(args: argparse.Namespace) -> int:
    """Run the commands interleaved, print or export the comparison; 1 when a run failed.
    With ``--rev``: the one command in a temporary worktree of each revision."""
    if not args.rev:
        if args.setup is not None:
            raise UserError("--setup is for --rev: give --rev BASE --rev HEAD")
        return _run(args, [None] * len(args.commands))
    from frugal.cli.revisions import checked_out

    # after --, the command's own argv; one argument alone is split like a shell would
    argv = _split(args.commands[0]) if len(args.commands) == 1 else list(args.commands)
    if len(args.name or []) > 1:
        raise UserError("with --rev, --name names the one command: give it at most once")
    text = args.commands[0] if len(args.commands) == 1 else shlex.join(argv)   # the command as the user wrote it
    args.command_name = (args.name or [text])[0]
    args.commands, args.name = [text] * len(args.rev), list(args.rev)   # two naming one commit: refused at checkout
    with checked_out(args.rev, args.setup) as revisions:
        return _run(args, revisions)


def _run(args: argparse.Namespace, revisions: Sequence[Revision | None]) -> int:
    from frugal.analysis.compare import Comparison
    from frugal.analysis.runner import check_seed, run_plan
    from frugal.cli.revisions import inside

    if len(args.commands) < 2:
        raise UserError("compare needs at least two commands, e.g. frugal compare 'sleep 0.1' 'sleep 0.2'")
    apply_machine(args)
    argvs = []
    for command, rev in zip(args.commands, revisions):
        argv = _split(command)
        try:
            with inside(rev):   # ./script resolves in the revision's tree
                resolve(argv[0])
        except CommandNotFound as exc:
            raise UserError(str(exc)) from None
        argvs.append(argv)
    names = _compare_names(args)
    baseline = args.baseline or names[0]
    if baseline not in names:
        raise UserError(f"--baseline {baseline!r} is not one of the commands' names {names}")
    path = None if args.no_store else store_path(args.store)
    if path is not None:
        from frugal.store.location import open_store

        open_store(path).open()
    _check_exports(args)    # refuse an export onto the store (or another file) before running anything
    if args.input is not None:      # absolute: a --rev run starts in its worktree
        args.input = os.path.abspath(args.input)
        if not os.path.isfile(args.input) or not os.access(args.input, os.R_OK):
            raise UserError(f"--input {args.input}: not a readable file (every run reads it from its start)")
    seed = check_seed(args.seed)
    quiet = not args.show_output
    errors: dict[str, list[str]] = {name: [] for name in names}

    def measured(i: int) -> tuple[ProcessRun, str | None]:
        with inside(revisions[i]):
            r, error = _run_or_fail(argvs[i], quiet, args.input, args.timeout)
        if error is not None:
            errors[names[i]].append(error)
        if r.returncode == -signal.SIGINT:
            raise KeyboardInterrupt
        return r, error

    def warm(i: int) -> None:
        with inside(revisions[i], warmup=True):
            r, _ = _run_or_fail(argvs[i], quiet, args.input, args.timeout)
        if r.returncode == -signal.SIGINT:      # Ctrl-C during a warm-up run stops too
            raise KeyboardInterrupt

    total = len(argvs) * (args.warmup + args.runs)
    plan = run_plan(range(len(argvs)), measured, warm, repeat=args.runs, warmup=args.warmup, seed=seed,
                    progress=None if total > 1 else False, label="frugal compare",
                    describe=lambda i: names[i], keep_interrupted=True)
    runs = plan.rows()
    stopped = 128 + (plan.stopped_by or signal.SIGINT)
    # stopped before the baseline finished a run: nothing to compare the others with
    unmeasured = baseline not in {names[r[0]] for r in runs}
    if plan.interrupted:    # Ctrl-C (SIGINT, SIGTERM): what finished is kept, shown and stored, then exit 130 (143)
        kept = ("nothing was measured, nothing is stored" if not runs else "those are stored, not compared: "
                f"the baseline {baseline!r} finished no run" if unmeasured else "those are shown and stored")
        print(f"\nfrugal compare: interrupted after {len(runs)} of {len(argvs) * args.runs} measured runs; {kept}",
              file=sys.stderr)
        if not runs:
            return stopped
    cols = process_columns([r[3][0] for r in runs], [names[r[0]] for r in runs])
    cols["error"] = objects([r[3][1] for r in runs])   # exit status and the end of stderr, stored
    if path is not None and args.rev:
        _store_revisions(path, runs, revisions, args.command_name)
    elif path is not None:
        store_runs(path, cols, program="frugal compare")
    if plan.interrupted and unmeasured:
        if path is not None:
            print(f"stored in {store_shown(path)}", file=sys.stderr)
        return stopped
    frame = _frame_of(cols)
    import pandas as pd

    frame.insert(0, "variant", pd.array([names[r[0]] for r in runs], dtype="string"))
    frame.insert(1, "run", [r[1] for r in runs])
    frame.insert(2, "order", [r[2] for r in runs])
    cmp = Comparison(frame, baseline, seed=seed, errors=errors)
    summary, ratios = cmp.summary(), cmp.ratios()
    failures = {name: {"status": f.status, "failed_runs": f.failed, "runs": f.runs, "errors": list(f.errors)}
                for name, f in cmp.failures.items()}
    result = {"commands": dict(zip(names, args.commands)), "baseline": baseline, "runs_per_command": args.runs,
              "warmup": args.warmup, "seed": seed, "summary": records(pd.DataFrame(summary)),
              "ratios": records(pd.DataFrame(ratios)), "failures": failures, "warnings": list(cmp.warnings),
              "store": None if path is None else store_shown(path)}
    if args.export_json:
        _write(args, "export_json", json.dumps({**result, "runs": records(frame)}, indent=2))
    if args.export_csv:
        _write(args, "export_csv", pd.DataFrame(summary).to_csv(index=False))
    if args.export_markdown:
        _write(args, "export_markdown", markdown(summary, ratios, cmp.warnings, baseline))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(text_report(summary, ratios, cmp.warnings, baseline))
        if path is not None:
            print(f"\nstored in {store_shown(path)}", file=sys.stderr)
    for name, failure in cmp.failures.items():
        print(f"frugal compare: {shown(failure.sentence(repr(name)))}", file=sys.stderr)
    if plan.interrupted:
        return stopped
    return 1 if cmp.failures else 0


def _store_revisions(path: Any, runs: list[Any], revisions: Sequence[Revision | None], name: str) -> None:
    """One run of the store per revision, with its commit (no branch: it was checked out
    detached), its rows named ``name``, the command's own name, so that ``frugal check``
    compares the same name across the commits."""
    for i, rev in enumerate(revisions):
        assert rev is not None
        mine = [r for r in runs if r[0] == i]
        if not mine:        # interrupted before this revision's first run
            continue
        cols = process_columns([r[3][0] for r in mine], name)
        cols["error"] = objects([r[3][1] for r in mine])
        store_runs(path, cols, program="frugal compare", git=(rev.commit, None))


def _run_or_fail(argv: list[str], quiet: bool, given: str | None = None,
                 timeout_s: float | None = None) -> tuple[ProcessRun, str | None]:
    """Run a command: (its run, None) or, when it failed, (its run, its exit status and the last
    lines of its stderr). ``quiet``: its output is dropped, else shown as it comes. Its standard
    input: the file ``given``, opened anew (every run reads it whole), else /dev/null. Past
    ``timeout_s`` it is killed (a failed run)."""
    stdin = os.open(given if given is not None else os.devnull, os.O_RDONLY)
    try:
        with StderrTail(show=not quiet) as tail:
            r = run_process(argv, quiet=quiet, stderr=tail.fd, stdin=stdin, timeout_s=timeout_s)
    except CommandNotFound as exc:
        raise UserError(str(exc)) from None
    finally:
        os.close(stdin)
    return r, None if r.returncode == 0 else tail.failure(r)


_EXPORTS = {"export_json": "json", "export_csv": "csv", "export_markdown": "markdown"}


def _check_exports(args: argparse.Namespace) -> None:
    from frugal.files import check_output

    for attribute, kind in _EXPORTS.items():
        path = getattr(args, attribute)
        if path:
            check_output(path, kind, overwrite=args.force, argument=f"--{attribute.replace('_', '-')}")


def _write(args: argparse.Namespace, attribute: str, text: str) -> None:
    """An export, written atomically; never onto a store or a file of another kind without --force."""
    from frugal.files import write_output

    write_output(getattr(args, attribute), text, _EXPORTS[attribute], overwrite=args.force,
                 argument=f"--{attribute.replace('_', '-')}")
