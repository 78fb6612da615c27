"""The ``frugal`` command line: measure commands, compare them, publish a dashboard, run the demo.

``frugal run -- CMD``, ``frugal compare 'CMD A' 'CMD B'``, ``frugal dashboard``, ``frugal info``
and ``frugal demo``. User mistakes end in one line on stderr and a non-zero exit status,
never a traceback (``FRUGAL_DEBUG=1`` shows it for a bug report).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from frugal._version import __version__
from frugal.errors import FrugalError
from frugal.frames.process import CommandNotFound, ProcessRun, process_columns, resolve, run_process
from frugal.progress import Progress
from frugal.units import format_ci, format_quantity, unit_of
from frugal.validate import check_int

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_STORE = "frugal.db"
EXIT_USAGE = 2


class UserError(Exception):
    """A mistake in what was asked: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and a pointer to --help), not the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see '{self.prog} --help')")


def _frame_of(cols: dict[str, Any]) -> pd.DataFrame:
    from frugal.frames.frame import frame_from_columns

    return frame_from_columns(cols)


# --- showing numbers ----------------------------------------------------------------------

_LABEL = {"wall_s": "wall", "cpu_s": "CPU", "cpu_user_s": "user", "cpu_system_s": "system",
          "peak_rss_bytes": "peak mem", "peak_added_bytes": "mem added", "energy_j": "energy",
          "carbon_g": "carbon", "embodied_g": "embodied"}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def shown(text: str) -> str:
    """``text`` for a terminal or a Markdown line: control characters (newline, tab, escape
    sequences that could drive the terminal) and lone surrogates (undecodable bytes of a
    command line) written as Python escapes, all else unchanged."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table, columns aligned, first column left and the rest right."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _json_value(value: Any) -> Any:
    if type(value).__name__ == "datetime64":      # numpy's: ISO 8601 in UTC, to the nanosecond
        return f"{value.astype('datetime64[ns]')}+00:00"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "NAType":
        return None
    return value


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready dicts (NaN and NA become null, times ISO 8601)."""
    return [{str(k): _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def column_records(cols: dict[str, Any]) -> list[dict[str, Any]]:
    """A column dict (``frugal.frames.columns``) as JSON-ready dicts with Measurement's fields, as
    ``records`` gives them for a frame, without pandas."""
    from frugal.measurement import FIELDS

    fields = [f for f in FIELDS if f in cols]
    columns = {f: _column(cols, f) for f in fields}
    return [{f: columns[f][i] for f in fields} for i in range(len(cols["name"]))]


# --- the store of the command line --------------------------------------------------------

def store_path(arg: str | None) -> Path:
    """``--store``, else ``FRUGAL_STORE``, else ./frugal.db."""
    return Path(arg or os.environ.get("FRUGAL_STORE") or DEFAULT_STORE)


def _store_runs(path: Path, cols: dict[str, Any], program: str) -> None:
    from frugal import store

    run = store.new_run(program=program)
    run["settings"] = store.settings_json()
    store.Store(path).append(run, cols)


# --- frugal run ---------------------------------------------------------------------------

def _command(args: argparse.Namespace) -> list[str]:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UserError("no command given: frugal run [options] -- CMD ARGS...")
    return cmd


def cmd_run(args: argparse.Namespace) -> int:
    cmd = _command(args)
    _apply_machine(args)
    name = args.name or shlex.join(cmd)
    path = None if args.no_store else store_path(args.store)
    if path is not None:
        from frugal import store

        store.Store(path).open()       # refuse a foreign file before running anything
    runs: list[ProcessRun] = []
    errors: list[str | None] = []
    bar = Progress(args.repeat, "frugal run", None if args.repeat > 1 else False)
    try:
        for _ in range(args.repeat):
            try:
                with StderrTail(show=True) as tail:
                    r = run_process(cmd, stdout=2 if args.json else None, stderr=tail.fd)
            except CommandNotFound as exc:
                print(f"frugal run: {exc}", file=sys.stderr)
                return exc.status
            runs.append(r)
            errors.append(None if r.returncode == 0 else tail.failure(r))
            bar.step(f"exit {r.exit_status}")
            if r.returncode == -signal.SIGINT:
                break                   # the user pressed Ctrl-C: stop repeating
    finally:
        bar.close()
    cols = process_columns(runs, name)
    cols["error"] = _objects(errors)     # the exit status and the end of stderr, stored with the run
    if path is not None:
        _store_runs(path, cols, program="frugal run")
    status = next((r.exit_status for r in runs if r.exit_status != 0), 0)
    if args.json:
        print(json.dumps({"name": name, "command": cmd, "exit_status": status,
                          "store": None if path is None else str(path), "runs": column_records(cols)}, indent=2))
        return status
    print(f"frugal run: {shown(name)}", file=sys.stderr)
    print(run_table(cols), file=sys.stderr)
    method = sorted({str(m) for m in _column(cols, "energy_method") if m is not None})
    print(f"energy: {', '.join(method) or 'not derived'}; CPU time and memory: the kernel's accounting "
          f"of the command and the children it waited for (memory: its peak resident set)", file=sys.stderr)
    for i, error in enumerate(errors):
        if error is not None:
            print(f"frugal run: run {i + 1} of {len(runs)} failed: {shown(error)}", file=sys.stderr)
    if path is not None:
        print(f"stored in {path}", file=sys.stderr)
    return status


def _objects(values: Sequence[Any]) -> Any:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _column(cols: dict[str, Any], field: str) -> list[Any]:
    """One column of a column dict as Python values (numpy scalars unwrapped)."""
    column = cols[field]
    return [_json_value(column[i]) for i in range(len(column))]


def _memory_field(cols: Any) -> str:
    """The memory shown: what the region added (``peak_added_bytes``); a column dict with no
    value of it (written before frugal recorded it) shows the peak resident set instead."""
    from frugal.frames.columns import memory_column

    return memory_column(cols)


def run_table(cols: dict[str, Any]) -> str:
    """``frugal run``'s table: one line per run, then the medians of the successful runs."""
    import numpy as np

    metrics = ["wall_s", "cpu_user_s", "cpu_system_s", _memory_field(cols), "energy_j", "carbon_g", "embodied_g"]
    values = {m: np.asarray(cols[m], dtype="f8") for m in metrics}
    status = _column(cols, "status")
    error = _column(cols, "error")
    n = len(status)
    rows = [[str(i + 1), "ok" if status[i] == "ok" else str(error[i] or status[i]).split(":")[0]]
            + [format_quantity(values[m][i], unit_of(m)) for m in metrics] for i in range(n)]
    if n > 1:
        ok = np.array([s == "ok" for s in status])
        medians = [float(np.nanmedian(values[m][ok])) if ok.any() and np.isfinite(values[m][ok]).any()
                   else math.nan for m in metrics]
        rows.append(["median", f"{int(ok.sum())} ok"] + [format_quantity(v, unit_of(m)) for m, v in zip(metrics, medians)])
    return table(["run", "status"] + [_LABEL[m] for m in metrics], rows)


# --- frugal compare -----------------------------------------------------------------------

def _compare_names(args: argparse.Namespace) -> list[str]:
    names = list(args.name or [])
    if len(names) > len(args.commands):
        raise UserError(f"{len(names)} --name for {len(args.commands)} commands")
    names += args.commands[len(names):]
    if len(set(names)) != len(names):
        raise UserError("two commands have the same name: give each a distinct --name")
    return names


def cmd_compare(args: argparse.Namespace) -> int:
    from frugal.analysis.compare import Comparison
    from frugal.analysis.runner import check_seed, run_plan

    if len(args.commands) < 2:
        raise UserError("compare needs at least two commands, e.g. frugal compare 'sleep 0.1' 'sleep 0.2'")
    _apply_machine(args)
    argvs = []
    for command in args.commands:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise UserError(f"cannot split the command {command!r}: {exc}") from None
        if not argv:
            raise UserError("an empty command was given")
        try:
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
        from frugal import store

        store.Store(path).open()
    _check_exports(args)    # refuse an export onto the store (or another file) before running anything
    seed = check_seed(args.seed)
    quiet = not args.show_output
    errors: dict[str, list[str]] = {name: [] for name in names}

    def run(i: int) -> tuple[ProcessRun, str | None]:
        r, error = _run_or_fail(argvs[i], quiet)
        if error is not None:
            errors[names[i]].append(error)
        if r.returncode == -signal.SIGINT:
            raise KeyboardInterrupt
        return r, error

    def warm(i: int) -> None:
        _run_or_fail(argvs[i], quiet)

    total = len(argvs) * (args.warmup + args.runs)
    runs = run_plan(range(len(argvs)), run, warm, repeat=args.runs, warmup=args.warmup, seed=seed,
                    progress=None if total > 1 else False, label="frugal compare",
                    describe=lambda i: names[i]).rows()
    cols = process_columns([r[3][0] for r in runs], [names[r[0]] for r in runs])
    cols["error"] = _objects([r[3][1] for r in runs])   # exit status and the end of stderr, stored
    if path is not None:
        _store_runs(path, cols, program="frugal compare")
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
              "store": None if path is None else str(path)}
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
            print(f"\nstored in {path}", file=sys.stderr)
    for name, failure in cmp.failures.items():
        print(f"frugal compare: {shown(failure.sentence(repr(name)))}", file=sys.stderr)
    return 1 if cmp.failures else 0


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


def _run_or_fail(argv: list[str], quiet: bool) -> tuple[ProcessRun, str | None]:
    """Run a command: (its run, None) or, when it failed, (its run, its exit status and the last
    lines of its stderr). ``quiet``: its output is dropped, else shown as it comes."""
    try:
        with StderrTail(show=not quiet) as tail:
            r = run_process(argv, quiet=quiet, stderr=tail.fd)
    except CommandNotFound as exc:
        raise UserError(str(exc)) from None
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


_SHOWN = ("wall_s", "cpu_s", "peak_added_bytes", "energy_j", "carbon_g", "embodied_g")


def _shown_metrics(summary: Any) -> list[str]:
    """The columns of the comparison tables: memory is what the summary compared (memory
    added, or the peak of runs stored before frugal recorded it)."""
    compared = set(summary["metric"]) if len(summary) else set()
    return [m if m != "peak_added_bytes" or m in compared or "peak_rss_bytes" not in compared
            else "peak_rss_bytes" for m in _SHOWN]


def _runs_cell(summary: Any, variant: str) -> str:
    """``10``, ``7 of 10 ok`` or ``failed (10)``: a command's successful runs."""
    rows = summary[summary["variant"] == variant]
    if not len(rows):
        return "n/a"
    r = rows.iloc[0]
    total = int(r["n"]) + int(r.get("failed", 0))
    if r.get("status", "ok") == "failed":
        return f"failed ({total})"
    return f"{int(r['n'])} of {total} ok" if r.get("failed", 0) else str(total)


def _summary_cells(summary: Any, variant: str) -> list[str]:
    cells = []
    for metric in _shown_metrics(summary):
        row = summary[(summary["variant"] == variant) & (summary["metric"] == metric)]
        if not len(row):
            cells.append("n/a")
            continue
        r = row.iloc[0]
        cells.append(format_ci(r["median"], r["ci_low"], r["ci_high"], unit_of(metric)))
    return cells


def text_report(summary: Any, ratios: Any, warnings: Sequence[str], baseline: str) -> str:
    """What ``frugal compare`` prints: runs and medians with 95% CIs, then one verdict per line
    (the ratio of medians, its interval corrected for the number of ratios; failed commands
    named with their errors)."""
    variants = list(dict.fromkeys(summary["variant"]))
    rows = [[shown(v) + (" (baseline)" if v == baseline else ""), _runs_cell(summary, v)]
            + _summary_cells(summary, v) for v in variants]
    out = ["median [95% CI] per run", table(["command", "runs"] + [_LABEL[m] for m in _shown_metrics(summary)], rows), ""]
    out += [f"- {shown(v)}" for v in dict.fromkeys(ratios["verdict"])]
    if warnings:
        out += ["", "warnings:"] + [f"- {shown(w)}" for w in warnings]
    return "\n".join(out)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")


def markdown(summary: Any, ratios: Any, warnings: Sequence[str], baseline: str) -> str:
    """The comparison as a Markdown table and a list of verdicts (for a pull request)."""
    def cell(text: str) -> str:
        # Markdown's punctuation escaped: a name can neither break the table nor become HTML or a link.
        return _MD_SPECIAL.sub(r"\\\1", shown(text))

    def code(text: str) -> str:
        # a code span fenced by more backticks than the name holds in a row (CommonMark)
        text = shown(text).replace("|", "\\|")
        fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{fence}{pad}{text}{pad}{fence}"

    variants = list(dict.fromkeys(summary["variant"]))
    head = ["Command", "Runs"] + [_LABEL[m] for m in _shown_metrics(summary)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(_SHOWN) + 1)]
    for v in variants:
        name = code(v) + (" (baseline)" if v == baseline else "")
        lines.append("| " + " | ".join([name, _runs_cell(summary, v)] + _summary_cells(summary, v)) + " |")
    lines += ["", "Medians per run with 95% bootstrap confidence intervals. Ratios are ratios of medians; their "
              "intervals are widened for the number of ratios compared (Benjamini-Hochberg).", ""]
    lines += [f"- {cell(v)}" for v in dict.fromkeys(ratios["verdict"])]
    if warnings:
        lines += ["", "Warnings:", ""] + [f"- {cell(w)}" for w in warnings]
    return "\n".join(lines) + "\n"


# --- frugal dashboard, info, demo ---------------------------------------------------------

def cmd_dashboard(args: argparse.Namespace) -> int:
    from frugal import store
    from frugal.pages.dashboard import report

    path = store_path(args.store)
    from frugal.files import check_output

    check_output(args.output, "html", overwrite=args.force, argument="--output")
    frame = store.load(path, name=args.name or None, since=args.since)
    if len(frame) == 0:
        raise UserError(f"{path} holds no measurements" + (" matching the filters" if args.name or args.since else ""))
    out = report(frame, args.output, title=args.title, baseline=args.baseline, store=path, overwrite=args.force)
    if args.json:
        print(json.dumps({"dashboard": str(out), "store": str(path), "measurements": len(frame)}))
    else:
        print(f"dashboard: {out} ({len(frame)} measurements from {path})")
    return 0


_INFO_SECTIONS = (
    ("Hardware", ("host", "platform", "cpu_brand", "cpu_model", "cpu_model_source", "logical_cpus", "cpu_packages",
                  "virtual", "virtual_source", "instance_type", "instance_type_source", "host_threads",
                  "host_threads_source", "memory_probe")),
    ("Meters", ("energy", "energy_method", "meters", "gpu")),
    ("Energy model", ("cpu_tdp_w", "cpu_w_per_logical_cpu", "cpu_power_source", "ram_w_per_gb", "pue")),
    ("Grid carbon intensity", ("country", "region", "time_zone", "intensity_g_per_kwh", "intensity_source")),
    ("Embodied carbon", ("embodied_preset", "embodied_total_g", "lifetime_years", "embodied_source")),
    ("Data sources", ("data",)),
    ("frugal", ("frugal_version", "python", "store", "settings_id", "git_commit", "git_branch")),
)


def cmd_info(args: argparse.Namespace) -> int:
    from frugal import store
    from frugal.energy.environment import environment

    environment()  # a bad FRUGAL_* setting is this command's error, said in one line
    info = json.loads(store.settings_json())
    if not isinstance(info, dict):
        info = {"environment": info}
    run = store.new_run(program="frugal info")
    for key in ("host", "platform", "python", "frugal_version", "git_commit", "git_branch"):
        info.setdefault(key, run[key])
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    placed = {k for _, keys in _INFO_SECTIONS for k in keys}
    sections = [(title, [k for k in keys if k in info]) for title, keys in _INFO_SECTIONS]
    sections.append(("Other", [k for k in info if k not in placed]))
    out = []
    for title, keys in sections:
        lines = [line for k in keys for line in _flatten(info[k], k)]
        if lines:
            out += [title] + [f"  {line}" for line in lines] + [""]
    print("\n".join(out).rstrip())
    return 0


def _flatten(value: Any, key: str) -> list[str]:
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _flatten(v, f"{key}.{k}")]
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return [f"{key}: {'n/a' if value is None else value}"]


def cmd_demo(args: argparse.Namespace) -> int:
    from frugal.demo import run_demo

    result = run_demo(Path(args.out), repeat=args.repeat, size=args.size)
    if args.json:
        import pandas as pd

        cmp = result["comparison"]
        print(json.dumps({"store": str(result["store"]), "dashboard": str(result["dashboard"]),
                          "baseline": cmp.baseline, "runs_per_variant": args.repeat, "size": args.size,
                          "summary": records(pd.DataFrame(cmp.summary())),
                          "ratios": records(pd.DataFrame(cmp.ratios())), "warnings": list(cmp.warnings)}, indent=2))
        return 0
    print(result["text"])
    print(f"\nresults stored in:  {result['store']}")
    print(f"dashboard written:  {result['dashboard']}")
    print(f"open it: file://{Path(result['dashboard']).resolve()}")
    return 0


# --- frugal profile -----------------------------------------------------------------------

def cmd_profile(args: argparse.Namespace) -> int:
    from frugal.cli.script import NotAScript, run_script, script_of
    from frugal.files import check_output
    from frugal.analysis.profiler import Profile

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    try:
        script, script_args = script_of(cmd)
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


# --- the parser ----------------------------------------------------------------------------

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


_positive_int, _count = _whole(1), _whole(0)


def _add_machine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cpu-model", metavar="MODEL", help="the (host) CPU model, e.g. 'AMD EPYC 7763' "
                   "(default: $FRUGAL_CPU_MODEL, else the brand string)")
    p.add_argument("--host-threads", type=_positive_int, metavar="N", help="hardware threads of the host "
                   "(default: $FRUGAL_HOST_THREADS, else from the model, the instance or the machine)")
    p.add_argument("--instance-type", metavar="TYPE", help="cloud instance type, e.g. m6i.large "
                   "(default: $FRUGAL_INSTANCE_TYPE, else read from DMI where the platform shows it)")


def _apply_machine(args: argparse.Namespace) -> None:
    """Put --cpu-model, --host-threads and --instance-type in force (a bad value is a usage error)."""
    from frugal.core.settings import configure

    given = {"cpu_model": args.cpu_model, "host_threads": args.host_threads, "instance_type": args.instance_type}
    changes = {k: v for k, v in given.items() if v is not None}
    if changes:
        try:
            configure(**changes)
        except (TypeError, ValueError) as exc:
            raise UserError(str(exc)) from None


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", help=f"SQLite store to append to (default: $FRUGAL_STORE, else ./{DEFAULT_STORE})")
    p.add_argument("--no-store", action="store_true", help="do not store the runs")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="frugal", description="Measure what code costs: time, CPU, memory, energy, carbon.")
    parser.add_argument("--version", action="version", version=f"frugal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="measure a command as a whole process (with its children)",
                       description="Run a command, measure it as a whole process with the children it waits "
                                   "for (CPU time and peak memory from the kernel), derive energy and carbon, "
                                   "print a table, store the runs and exit with the command's exit status.")
    p.add_argument("--name", help="name of the measurement (default: the command line)")
    p.add_argument("--repeat", type=_positive_int, default=1, metavar="N", help="run it N times (default 1)")
    _add_machine(p)
    _add_store(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout (the command's stdout goes to stderr)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="compare commands: interleaved runs, CIs, ratios, verdicts",
                       description="Run each command --runs times, interleaved in a random order, after "
                                   "--warmup unmeasured runs; print medians with 95% bootstrap CIs, ratios "
                                   "of medians to the baseline with bootstrap intervals corrected for the number "
                                   "of ratios, and verdicts that follow them. Commands are split like "
                                   "a shell would split them but not run by one: use sh -c '...' for pipes. "
                                   "Exits 1 when a run failed (failed runs are left out of the statistics).")
    p.add_argument("commands", nargs="+", metavar="CMD", help="a command, quoted")
    p.add_argument("--runs", type=_positive_int, default=10, metavar="N", help="measured runs per command (default 10)")
    p.add_argument("--warmup", type=_count, default=1, metavar="K", help="unmeasured runs first (default 1)")
    p.add_argument("-n", "--name", action="append", metavar="NAME", help="name of a command, in order (repeatable)")
    p.add_argument("--baseline", metavar="NAME", help="what the others are compared with (default: the first)")
    p.add_argument("--seed", type=_count, metavar="S", help="seed of the run order and the bootstrap")
    p.add_argument("--show-output", action="store_true", help="let the commands print (default: discarded)")
    p.add_argument("--export-json", metavar="FILE", help="write the summary, ratios and every run as JSON")
    p.add_argument("--export-csv", metavar="FILE", help="write the summary table as CSV")
    p.add_argument("--export-markdown", metavar="FILE", help="write the table and verdicts as Markdown")
    p.add_argument("--force", action="store_true", help="replace an export file even if frugal did not write it")
    _add_machine(p)
    _add_store(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=cmd_compare)

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
    p.add_argument("--top", type=_positive_int, default=10, metavar="N", help="functions shown (default 10)")
    p.add_argument("--force", action="store_true", help="overwrite an output file of another kind")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- python SCRIPT.py ARGS", help="the script to run")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("dashboard", help="write the single-file HTML dashboard of a store",
                       description="Write one self-contained HTML file (no request leaves it) from a store.")
    p.add_argument("store", nargs="?", help=f"the store (default: $FRUGAL_STORE, else ./{DEFAULT_STORE})")
    p.add_argument("-o", "--output", default="dashboard.html", metavar="FILE", help="where to write it (default dashboard.html)")
    p.add_argument("--title", help="title of the page")
    p.add_argument("--baseline", metavar="NAME", help="name the others are compared with")
    p.add_argument("--name", action="append", metavar="NAME", help="keep only this name (repeatable)")
    p.add_argument("--since", metavar="WHEN", help="keep measurements from this ISO 8601 date or time on")
    p.add_argument("--force", action="store_true", help="replace the output file even if it is not a dashboard")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("info", help="what frugal detected and which data and model it uses",
                       description="The environment: hardware, meters, energy model, grid intensity and sources.")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="compare sorting algorithms, store the results, write a dashboard",
                       description="Compare sorted(), a heap sort (heapq) and an insertion sort on the same "
                                   "small lists with frugal.compare; keep the results in an embedded SQLite "
                                   "file and write the dashboard next to it. Runs again append to the same "
                                   "store, and the dashboard then shows the trend.")
    p.add_argument("--out", default="frugal-demo", metavar="DIR", help="folder for frugal.db and dashboard.html (default ./frugal-demo)")
    p.add_argument("--repeat", type=_positive_int, default=20, metavar="N", help="measured runs per algorithm (default 20)")
    p.add_argument("--size", type=_positive_int, default=300, metavar="N", help="elements per list (default 300)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frugal`` console script; returns the exit status."""
    parser = build_parser()
    command = "frugal"
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        command = f"frugal {args.command}"
        status: int = args.func(args)   # each command returns its exit status
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
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # the reader of our output went away (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("FRUGAL_DEBUG"):
            raise
        print(f"{command}: internal error: {type(exc).__name__}: {exc} "
              "(FRUGAL_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
