"""IPython and Jupyter: ``%frugal`` and ``%%frugal`` show what a statement or a cell cost.

``%load_ext frugal``, then ``%%frugal [-n NAME] [-r REPEAT] [-o]`` on top of a cell, or
``%frugal [-n NAME] [-r REPEAT] [-o] STATEMENT`` on a line, as ``%timeit`` does. Each run
is a ``frugal.measure`` region, so it also lands in ``frugal.results()``. The table shows
as HTML in a notebook and as text in a terminal.
"""
from __future__ import annotations

import html
import statistics
from typing import Any, Callable, Sequence

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, needs_local_scope

from frugal.core.measure import measure
from frugal.measurement import Measurement
from frugal.text import table
from frugal.units import format_quantity

USAGE = """\
Usage, on top of a cell:  %%frugal [-n NAME] [-r REPEAT] [-o]
       on one line:       %frugal [-n NAME] [-r REPEAT] [-o] STATEMENT

  -n NAME    name of the measured region (default: In[N] for a cell, the statement for a line)
  -r REPEAT  run the code REPEAT times (an integer >= 1, default 1); the table shows the
             median and the range
  -o         return the Footprint (its .measurements, .frame()) instead of showing it"""

# (label, how to read it from a run, unit: "s", "J", "g" or "B")
_ROWS: tuple[tuple[str, Callable[[Measurement], float | None], str], ...] = (
    ("wall time", lambda m: m.wall_s, "s"),
    ("CPU time", lambda m: m.cpu_s, "s"),
    ("memory added (peak above start)", lambda m: m.peak_added_bytes, "B"),
    ("process peak memory", lambda m: m.peak_rss_bytes, "B"),
    ("energy", lambda m: m.energy_j, "J"),
    ("carbon, operational", lambda m: m.carbon_g, "gCO2e"),
    ("carbon, embodied", lambda m: m.embodied_g, "gCO2e"),
)


class Footprint:
    """What the runs of one ``%frugal``/``%%frugal`` cost: medians and ranges over the runs.

    ``measurements`` holds one ``frugal.Measurement`` per run; ``held`` the memory each run
    added (its ``peak_added_bytes``: the resident peak above the resident memory at its start).
    Time, CPU and memory are measured; energy and carbon measured by a meter or modelled
    (``energy_method`` of each measurement says which).
    """

    def __init__(self, name: str, measurements: Sequence[Measurement]) -> None:
        self.name = name
        self.measurements = list(measurements)
        self.held = [m.peak_added_bytes for m in self.measurements]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(label, median, min, max) per quantity, formatted with units; ``n/a`` when unknown."""
        out: list[tuple[str, str, str, str]] = []
        for label, read, unit in _ROWS:
            values = [read(m) for m in self.measurements]
            known = [v for v in values if v is not None and v == v]
            if len(known) < len(values) or not known:
                out.append((label, "n/a", "", ""))
                continue
            median, low, high = (format_quantity(v, unit)
                                 for v in (statistics.median(known), min(known), max(known)))
            out.append((label, median, low, high))
        return out

    def source(self) -> str:
        """Where energy and carbon came from, one line."""
        first = self.measurements[0]
        method = first.energy_method or "unknown (no meter and no model)"
        text = f"energy: {method}"
        if first.intensity_g_per_kwh is not None:
            text += f"; grid intensity {format_quantity(first.intensity_g_per_kwh, 'gCO2e/kWh')}"
            if first.intensity_source:
                text += f" ({first.intensity_source})"
        return text

    def title(self) -> str:
        runs = len(self.measurements)
        return f"frugal: {self.name}, {runs} run{'s' if runs > 1 else ''}"

    def frame(self) -> Any:
        """The runs as a pandas DataFrame, one row per run, Measurement's fields as columns."""
        import dataclasses

        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(m) for m in self.measurements])

    def __repr__(self) -> str:
        many = len(self.measurements) > 1
        rows = self.rows()
        head = ("", "median", "min", "max") if many else None
        body = [r if many else r[:2] for r in rows]
        return "\n".join([self.title(), table(head, body, rule=False, indent="  "), self.source()])

    def _repr_html_(self) -> str:
        many = len(self.measurements) > 1
        esc = html.escape
        head = "<tr><th></th><th>median</th><th>min</th><th>max</th></tr>" if many else ""
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(r[0])}</th>"
            + "".join(f"<td style='text-align:right'>{esc(c)}</td>" for c in (r[1:] if many else r[1:2]))
            + "</tr>"
            for r in self.rows()
        )
        return (f"<table class='frugal-footprint'><caption style='text-align:left'>{esc(self.title())}</caption>"
                f"{head}{body}</table><p style='font-size:smaller'>{esc(self.source())}</p>")


def _compile_cell(shell: Any, text: str) -> Any:
    """The code object of a cell or statement, IPython's syntax transformed, under a cached
    file name so that tracebacks show the code's own lines."""
    transformed = shell.transform_cell(text)
    filename = shell.compile.cache(transformed, shell.execution_count, raw_code=text)
    return shell.compile(transformed, filename, "exec")


@magics_class
class FrugalMagics(Magics):
    """The ``%frugal`` line magic and ``%%frugal`` cell magic."""

    @needs_local_scope
    @line_cell_magic
    def frugal(self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Footprint | None:
        """Measure a statement (``%frugal``) or a cell (``%%frugal``): time, CPU, memory, energy, carbon.

        Usage, on top of a cell:  %%frugal [-n NAME] [-r REPEAT] [-o]
               on one line:       %frugal [-n NAME] [-r REPEAT] [-o] STATEMENT
        """
        name, repeat, give, code_text = self._parse(line, cell)
        shell = self.shell
        assert shell is not None  # a magic runs in the shell that registered it
        code = _compile_cell(shell, code_text)
        runs = []
        for _ in range(repeat):
            with measure(name) as region:
                exec(code, shell.user_ns, local_ns)
            runs.append(region.result)
        result = Footprint(name, runs)
        if give:
            return result
        from IPython.display import display

        display(result)  # type: ignore[no-untyped-call]  # IPython's display() has no annotations
        return None

    def _parse(self, line: str, cell: str | None) -> tuple[str, int, bool, str]:
        """(name, repeat, return it, code) from the magic's options; a UsageError shows USAGE."""
        try:
            opts, rest = self.parse_options(line, "n:r:o", posix=False, strict=False,
                                            preserve_non_opts=True)
        except UsageError as exc:
            raise UsageError(f"{exc}\n{USAGE}") from None
        try:
            repeat = int(opts.get("r", 1))
        except ValueError:
            raise UsageError(f"-r {opts['r']!r} is not an integer\n{USAGE}") from None
        if repeat < 1:
            raise UsageError(f"-r {repeat}: REPEAT must be >= 1\n{USAGE}")
        rest = rest.strip()
        if cell is None:
            if not rest:
                raise UsageError(f"%frugal needs a statement to measure\n{USAGE}")
            code, default = rest, (rest if len(rest) <= 60 else rest[:57] + "...")
        else:
            if rest:
                raise UsageError(f"%%frugal takes no statement on its own line, got {rest!r}\n{USAGE}")
            if not cell.strip():
                raise UsageError(f"%%frugal needs a cell with code to measure\n{USAGE}")
            assert self.shell is not None  # a magic runs in the shell that registered it
            code, default = cell, f"In[{self.shell.execution_count}]"
        name = str(opts.get("n", default)).strip().strip("'\"") or default
        return name, repeat, "o" in opts, code


# --- %%frugal_profile ------------------------------------------------------------------------

PROFILE_USAGE = """\
Usage, on top of a cell:  %%frugal_profile [-i MS] [-t TOP] [-f FILE] [-o]

  -i MS      milliseconds between samples (0.1 to 1000, default 5)
  -t TOP     functions in the table (an integer >= 1, default 10)
  -f FILE    also write the flame graph page to FILE
  -o         return the frugal.Profile (its .results(), .lines(), .flamegraph()) instead of showing it"""


class ProfileView:
    """What ``%%frugal_profile`` shows: the top functions, and in a notebook the flame graph."""

    def __init__(self, profile: Any, top: int) -> None:
        self.profile = profile
        self.top = top

    def __repr__(self) -> str:
        m = self.profile.measurement
        table = self.profile.top(self.top).to_string(index=False)
        return (f"frugal profile: {self.profile.name}, {format_quantity(m.energy_j, 'J')} ({m.energy_method}), "
                f"{format_quantity(m.cpu_s, 's')} CPU\n{table}")

    def _repr_html_(self) -> str:
        from frugal.pages.flamegraph import render

        return render(self.profile, fragment=True, top=self.top)


@magics_class
class FrugalProfileMagics(Magics):
    """The ``%%frugal_profile`` cell magic: ``frugal.profile()`` around a cell."""

    @needs_local_scope
    @cell_magic
    def frugal_profile(self, line: str, cell: str, local_ns: dict[str, Any] | None = None) -> Any:
        """Profile a cell: energy and carbon per function, the top table and the flame graph.

        Usage, on top of a cell:  %%frugal_profile [-i MS] [-t TOP] [-f FILE] [-o]
        """
        from frugal.analysis.profiler import Profile

        interval, top, path, give = self._parse_profile(line, cell)
        shell = self.shell
        assert shell is not None  # a magic runs in the shell that registered it
        code = _compile_cell(shell, cell)
        prof = Profile(interval=interval / 1000, name=f"In[{shell.execution_count}]")
        with prof:       # stacks start at the cell: this frame is frugal's, hidden
            exec(code, shell.user_ns, local_ns)
        if path is not None:
            prof.flamegraph(path)
        if give:
            return prof
        from IPython.display import display

        display(ProfileView(prof, top))  # type: ignore[no-untyped-call]  # IPython's display() has no annotations
        return None

    def _parse_profile(self, line: str, cell: str) -> tuple[float, int, str | None, bool]:
        try:
            opts, rest = self.parse_options(line, "i:t:f:o", posix=False, strict=False, preserve_non_opts=True)
        except UsageError as exc:
            raise UsageError(f"{exc}\n{PROFILE_USAGE}") from None
        if rest.strip():
            raise UsageError(f"%%frugal_profile takes no statement on its own line, got {rest.strip()!r}\n"
                             f"{PROFILE_USAGE}")
        if not cell.strip():
            raise UsageError(f"%%frugal_profile needs a cell with code to profile\n{PROFILE_USAGE}")
        try:
            interval = float(opts.get("i", 5))
        except ValueError:
            raise UsageError(f"-i {opts['i']!r} is not a number of milliseconds\n{PROFILE_USAGE}") from None
        try:
            top = int(opts.get("t", 10))
        except ValueError:
            raise UsageError(f"-t {opts['t']!r} is not an integer\n{PROFILE_USAGE}") from None
        if not 0.1 <= interval <= 1000:
            raise UsageError(f"-i {interval:g}: MS must be 0.1 to 1000\n{PROFILE_USAGE}")
        if top < 1:
            raise UsageError(f"-t {top}: TOP must be >= 1\n{PROFILE_USAGE}")
        path = str(opts["f"]).strip("'\"") if "f" in opts else None
        return interval, top, path, "o" in opts


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext frugal``: registers the ``%frugal``, ``%%frugal`` and ``%%frugal_profile`` magics."""
    ipython.register_magics(FrugalMagics)
    ipython.register_magics(FrugalProfileMagics)
