"""The %frugal / %%frugal magics and HTML display, in a real IPython InteractiveShell."""
from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets.config import Config  # noqa: E402

import frugal  # noqa: E402
from frugal.ipython import Footprint  # noqa: E402

USAGE_LINE = "Usage, on top of a cell:  %%frugal [-n NAME] [-r REPEAT] [-o]"


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    """The process's InteractiveShell with ``%load_ext frugal`` done (history kept in memory)."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config, colors="nocolor")
    shell.run_line_magic("load_ext", "frugal")
    return shell


def _rows(name: str):
    frame = frugal.results()
    return frame[frame["name"] == name]


def test_load_ext_registers_line_and_cell_magic(shell: InteractiveShell) -> None:
    """%load_ext frugal registers %frugal as both a line and a cell magic."""
    magics = shell.magics_manager.magics
    assert "frugal" in magics["line"] and "frugal" in magics["cell"]


def test_cell_magic_runs_in_user_namespace_and_prints_table(shell: InteractiveShell, capsys) -> None:
    """%%frugal -r 3 runs the cell three times in the user's namespace and prints a text table."""
    result = shell.run_cell("%%frugal -n ipy-cell-build -r 3\nitems = sorted(range(50_000), key=lambda a: -a)\n")
    assert result.success, result.error_in_exec
    assert shell.user_ns["items"][0] == 49_999
    out = capsys.readouterr().out
    assert "frugal: ipy-cell-build, 3 runs" in out
    for label in ("median", "wall time", "CPU time", "memory added (peak above start)", "energy", "carbon, embodied"):
        assert label in out
    rows = _rows("ipy-cell-build")
    assert len(rows) == 3 and set(rows["status"]) == {"ok"}


def test_cell_default_name_is_the_input_number(shell: InteractiveShell, capsys) -> None:
    """A cell measured without -n is named after its input prompt, In[N]."""
    count = shell.execution_count
    assert shell.run_cell("%%frugal\nsquares = [i * i for i in range(1000)]\n").success
    assert f"frugal: In[{count}], 1 run" in capsys.readouterr().out
    assert len(_rows(f"In[{count}]")) >= 1


def test_line_magic_returns_footprint_with_o(shell: InteractiveShell) -> None:
    """%frugal -o returns a Footprint of each run; the statement's assignments stay in the namespace."""
    assert shell.run_cell("fp = %frugal -o -r 2 -n ipy-line total = sum(range(10**5))").success
    fp = shell.user_ns["fp"]
    assert isinstance(fp, Footprint)
    assert len(fp.measurements) == 2 and len(fp.held) == 2
    assert all(m.name == "ipy-line" and m.cpu_s >= 0 for m in fp.measurements)
    assert shell.user_ns["total"] == sum(range(10**5))
    assert list(fp.frame()["name"]) == ["ipy-line", "ipy-line"]


def test_line_magic_default_name_is_the_statement(shell: InteractiveShell, capsys) -> None:
    """%frugal without -n names the region after the statement it measured."""
    assert shell.run_cell("%frugal max(range(12345))").success
    assert "frugal: max(range(12345)), 1 run" in capsys.readouterr().out


def test_html_in_notebook_text_in_terminal(shell: InteractiveShell) -> None:
    """A Footprint and a Measurement give HTML to a notebook's formatter and text to a terminal's."""
    fp = shell.run_line_magic("frugal", "-o -n ipy<html> sum(range(1000))")
    data, _ = shell.display_formatter.format(fp)
    assert "<table class='frugal-footprint'>" in data["text/html"]
    assert "ipy&lt;html&gt;" in data["text/html"]
    assert data["text/plain"].startswith("frugal: ipy<html>, 1 run")
    data, _ = shell.display_formatter.format(fp.measurements[0])
    html = data["text/html"]
    assert "<table class='frugal-measurement'>" in html
    assert "<th style='text-align:left'>cpu_s</th>" in html and "ipy&lt;html&gt;" in html


@pytest.mark.parametrize(("cell", "message"), [
    ("%frugal -x 1 sum(range(3))", "option -x not recognized"),
    ("%frugal -r zero sum(range(3))", "-r 'zero' is not an integer"),
    ("%frugal -r 0 sum(range(3))", "REPEAT must be >= 1"),
    ("%frugal", "%frugal needs a statement"),
    ("%%frugal stray words\nx = 1\n", "takes no statement on its own line"),
    ("%%frugal\n\n", "needs a cell with code"),
])
def test_bad_options_print_usage(shell: InteractiveShell, capsys, cell: str, message: str) -> None:
    """A magic with bad options runs nothing and prints what is wrong and its usage."""
    result = shell.run_cell(cell)
    assert not result.success
    err = capsys.readouterr().err
    assert message in err and USAGE_LINE in err


def test_error_in_cell_is_recorded_and_raised(shell: InteractiveShell, capsys) -> None:
    """An exception in a measured cell is recorded with status 'error' and shown as a traceback."""
    result = shell.run_cell("%%frugal -n ipy-failing\nvalue = 1\nvalue / 0\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    rows = _rows("ipy-failing")
    assert list(rows["status"]) == ["error"] and list(rows["error"]) == ["ZeroDivisionError"]
    assert "----> 2 value / 0" in capsys.readouterr().out  # the traceback quotes the cell's own line


# --- %%frugal_profile ---------------------------------------------------------------------

from pathlib import Path  # noqa: E402

from IPython.core.error import UsageError  # noqa: E402

from frugal.ipython import ProfileView  # noqa: E402
from frugal.analysis.profiler import Profile  # noqa: E402

PROFILE_CELL = """
import time
def crunch(seconds):
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        pass
crunch(0.15)
answer = 42
"""


def test_profile_magic_profiles_the_cell_in_the_user_namespace(shell: InteractiveShell, tmp_path: Path) -> None:
    """%%frugal_profile -o returns the Profile; the cell ran in the user's namespace; -f writes the page."""
    page = tmp_path / "cell.html"
    result = shell.run_cell(f"%%frugal_profile -o -i 2 -f {page}\n{PROFILE_CELL}")
    assert result.success, result.error_in_exec
    prof = result.result
    assert isinstance(prof, Profile) and shell.user_ns["answer"] == 42
    table = prof.results()
    crunch = table[table["function"] == "crunch"].iloc[0]
    assert crunch["total_cpu_s"] == pytest.approx(0.15, abs=0.03)
    assert prof.interval == 0.002 and prof.name.startswith("In[")
    assert not table["file"].str.contains("IPython|frugal/", regex=True).any()   # stacks start at the cell
    assert "crunch" in page.read_text()


@pytest.mark.slow
def test_profile_magic_shows_the_table_and_the_flame_graph(shell: InteractiveShell, capsys) -> None:
    """Without -o: the top table as text in a terminal; the view's HTML holds the SVG flame graph."""
    result = shell.run_cell(f"%%frugal_profile -t 3\n{PROFILE_CELL}")
    assert result.success, result.error_in_exec
    out = capsys.readouterr().out
    assert "frugal profile: In[" in out and "crunch" in out and "self energy" in out
    with frugal.profile() as prof:
        shell.run_cell(PROFILE_CELL)
    view = ProfileView(prof, 5)
    html = view._repr_html_()
    assert '<svg class="flame"' in html and "<script" not in html and "crunch" in html


@pytest.mark.parametrize("line, message", [
    ("-i 0", "MS must be 0.1 to 1000"),
    ("-t 0", "TOP must be >= 1"),
    ("-t many", "-t 'many' is not an integer"),
    ("print(1)", "takes no statement"),
])
def test_profile_magic_usage_errors(shell: InteractiveShell, line: str, message: str) -> None:
    """Bad options are a UsageError that shows the usage."""
    magic = shell.find_cell_magic("frugal_profile")
    with pytest.raises(UsageError, match=message):
        magic(line, "x = 1\n")
    with pytest.raises(UsageError, match="Usage, on top of a cell:  %%frugal_profile"):
        magic(line, "x = 1\n")
