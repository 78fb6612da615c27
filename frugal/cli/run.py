"""``frugal run -- CMD``: measure a command as a whole process, print a table, store the runs."""
from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys

from frugal.cli.common import (StderrTail, UserError, add_machine, add_store, add_timeout, after_dashes,
                               apply_machine, positive_int, store_path, store_runs,
                               store_shown)
from frugal.frames.process import CommandNotFound, ProcessRun, Stopped, process_columns, run_process
from frugal.pages.text import LABEL, column_records, column_values
from frugal.progress import Progress
from frugal.text import shown, table
from frugal.units import MEMORY, MEMORY_FALLBACK, format_quantity, unit_of

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: Any) -> None:
    """``frugal run``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("run", help="measure a command as a whole process (with its children)",
                       description="Run a command, measure it as a whole process with the children it waits "
                                   "for (CPU time and peak memory from the kernel), derive energy and carbon, "
                                   "print a table, store the runs and exit with the command's exit status.")
    p.add_argument("--name", help="name of the measurement (default: the command line)")
    p.add_argument("--repeat", type=positive_int, default=1, metavar="N", help="run it N times (default 1)")
    add_timeout(p)
    add_machine(p)
    add_store(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout (the command's stdout goes to stderr)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the command ``--repeat`` times; exit with its exit status (the first failure's)."""
    cmd = after_dashes(args.cmd)
    if not cmd:
        raise UserError("no command given: frugal run [options] -- CMD ARGS...")
    apply_machine(args)
    name = args.name or shlex.join(cmd)
    path = None if args.no_store else store_path(args.store)
    if path is not None:
        from frugal.store.location import open_store

        open_store(path).open()       # refuse a foreign file before running anything
    runs: list[ProcessRun] = []
    errors: list[str | None] = []
    stopped: Stopped | None = None
    bar = Progress(args.repeat, "frugal run", None if args.repeat > 1 else False)
    try:
        for _ in range(args.repeat):
            try:
                with StderrTail(show=True) as tail:
                    r = run_process(cmd, stdout=2 if args.json else None, stderr=tail.fd, timeout_s=args.timeout)
            except CommandNotFound as exc:
                print(f"frugal run: {exc}", file=sys.stderr)
                return exc.status
            except Stopped as exc:      # SIGINT or SIGTERM sent to frugal: keep the stopped run, stop
                stopped = exc
                if exc.run is None:     # between two runs
                    break
                r = exc.run
            runs.append(r)
            errors.append(None if r.error is None else tail.failure(r))
            bar.step(f"exit {r.exit_status}")
            if r.returncode == -signal.SIGINT or stopped is not None:
                break                   # the user pressed Ctrl-C (or frugal was sent SIGINT, SIGTERM): stop repeating
    finally:
        bar.close()
    cols = process_columns(runs, name, plain=True)      # Python values: no numpy (~0.1 s) for one row
    cols["error"] = list(errors)        # the exit status and the end of stderr, stored with the run
    if path is not None:
        store_runs(path, cols, program="frugal run")
    status = stopped.exit_status if stopped is not None else next((r.exit_status for r in runs if r.exit_status != 0), 0)
    if args.json:
        import json

        print(json.dumps({"name": name, "command": cmd, "exit_status": status,
                          "store": None if path is None else store_shown(path), "runs": column_records(cols)}, indent=2))
        return status
    print(f"frugal run: {shown(name)}", file=sys.stderr)
    print(run_table(cols), file=sys.stderr)
    method = sorted({str(m) for m in column_values(cols, "energy_method") if m is not None})
    print(f"energy: {', '.join(method) or 'not derived'}; CPU time and memory: the kernel's accounting "
          f"of the command and the children it waited for (memory: its peak resident set)", file=sys.stderr)
    for i, error in enumerate(errors):
        if error is not None:
            print(f"frugal run: run {i + 1} of {len(runs)} failed: {shown(error)}", file=sys.stderr)
    if path is not None:
        print(f"stored in {store_shown(path)}", file=sys.stderr)
    return status


def run_table(cols: dict[str, Any]) -> str:
    """``frugal run``'s table: one line per run, then the medians of the successful runs
    (numpy columns or lists of Python values; numpy is not imported)."""
    added = [v for v in column_values(cols, MEMORY) if v is not None] if MEMORY in cols else []
    metrics = ["wall_s", "cpu_user_s", "cpu_system_s", MEMORY if added else MEMORY_FALLBACK,
               "energy_j", "carbon_g", "embodied_g"]
    values = {m: [math.nan if v is None else float(v) for v in column_values(cols, m)] for m in metrics}
    status = column_values(cols, "status")
    error = column_values(cols, "error")
    n = len(status)
    rows = [[str(i + 1), "ok" if status[i] == "ok" else str(error[i] or status[i]).split(":")[0]]
            + [format_quantity(values[m][i], unit_of(m)) for m in metrics] for i in range(n)]
    if n > 1:
        import statistics   # 3 ms of start-up: only for the median of several runs

        ok = [i for i in range(n) if status[i] == "ok"]
        known = {m: sorted(values[m][i] for i in ok if values[m][i] == values[m][i]) for m in metrics}  # NaN out
        medians = [statistics.median(known[m]) if any(map(math.isfinite, known[m])) else math.nan for m in metrics]
        rows.append(["median", f"{len(ok)} ok"] + [format_quantity(v, unit_of(m)) for m, v in zip(metrics, medians)])
    return table(["run", "status"] + [LABEL[m] for m in metrics], rows)
