"""The profiler in a notebook (%%frugal_profile in a real InteractiveShell) and in pytest (--frugal-profile)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import frugal
from frugal.profiler import Profile

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets.config import Config  # noqa: E402

from frugal.ipython import ProfileView  # noqa: E402

CELL = """
import time
def crunch(seconds):
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        pass
crunch(0.15)
answer = 42
"""


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config, colors="nocolor")
    shell.run_line_magic("load_ext", "frugal")
    return shell


def test_cell_magic_profiles_the_cell_in_the_user_namespace(shell: InteractiveShell, tmp_path: Path) -> None:
    """%%frugal_profile -o returns the Profile; the cell ran in the user's namespace; -f writes the page."""
    page = tmp_path / "cell.html"
    result = shell.run_cell(f"%%frugal_profile -o -i 2 -f {page}\n{CELL}")
    assert result.success, result.error_in_exec
    prof = result.result
    assert isinstance(prof, Profile) and shell.user_ns["answer"] == 42
    table = prof.results()
    crunch = table[table["function"] == "crunch"].iloc[0]
    assert crunch["total_cpu_s"] == pytest.approx(0.15, abs=0.03)
    assert prof.interval == 0.002 and prof.name.startswith("In[")
    assert not table["file"].str.contains("IPython|frugal/", regex=True).any()   # stacks start at the cell
    assert "crunch" in page.read_text()


def test_cell_magic_shows_the_table_and_the_flame_graph(shell: InteractiveShell, capsys) -> None:
    """Without -o: the top table as text in a terminal; the view's HTML holds the SVG flame graph."""
    result = shell.run_cell(f"%%frugal_profile -t 3\n{CELL}")
    assert result.success, result.error_in_exec
    out = capsys.readouterr().out
    assert "frugal profile: In[" in out and "crunch" in out and "self energy" in out
    with frugal.profile() as prof:
        shell.run_cell(CELL)
    view = ProfileView(prof, 5)
    html = view._repr_html_()
    assert '<svg class="flame"' in html and "<script" not in html and "crunch" in html


@pytest.mark.parametrize("line, message", [
    ("-i 0", "MS must be 0.1 to 1000"),
    ("-t 0", "TOP must be >= 1"),
    ("-t many", "invalid literal"),
    ("print(1)", "takes no statement"),
])
def test_cell_magic_usage_errors(shell: InteractiveShell, line: str, message: str) -> None:
    """Bad options are a UsageError that shows the usage."""
    magic = shell.find_cell_magic("frugal_profile")
    with pytest.raises(UsageError, match=message):
        magic(line, "x = 1\n")
    with pytest.raises(UsageError, match="Usage, on top of a cell:  %%frugal_profile"):
        magic(line, "x = 1\n")


BUSY = """
import time

def busy(seconds):
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass
"""


@pytest.fixture(autouse=True, scope="module")
def _derive_once() -> None:
    # pytester's in-process runs drop the modules they imported; numpy cannot be imported
    # twice in one process, so what deriving a Measurement needs is imported here first.
    with frugal.measure("tests.warm-up") as m:
        pass
    assert m.result.wall_s >= 0


def test_pytest_option_writes_one_flame_graph_per_test(pytester: pytest.Pytester) -> None:
    """--frugal-profile=DIR: a page per test (a failing one too), stacks from the test function."""
    pytester.makepyfile(busywork=BUSY)
    pytester.syspathinsert()
    pytester.makepyfile(test_some="""
        from busywork import busy

        def test_heavy():
            busy(0.2)

        def test_light():
            busy(0.05)

        def test_broken():
            busy(0.05)
            assert False
    """)
    result = pytester.runpytest_inprocess("--frugal-profile=graphs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    pages = sorted((pytester.path / "graphs").glob("*.html"))
    assert len(pages) == 3
    heavy = next(p for p in pages if "test_heavy" in p.name).read_text()
    assert "busywork.busy" in heavy and "test_heavy" in heavy
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", heavy)
    assert "test_some.test_heavy" in labels and "busywork.busy" in labels
    assert not [label for label in labels if "pluggy" in label or "_pytest" in label]
    result.stdout.fnmatch_lines(["*frugal profile*", "3 energy flame graph(s) in *graphs"])


def test_pytest_option_keeps_the_top_n(pytester: pytest.Pytester) -> None:
    """--frugal-profile-top 1 keeps only the test that spent the most energy."""
    pytester.makepyfile(busywork=BUSY)
    pytester.syspathinsert()
    pytester.makepyfile(test_some="""
        from busywork import busy

        def test_light():
            busy(0.02)

        def test_heavy():
            busy(0.3)
    """)
    result = pytester.runpytest_inprocess("--frugal-profile", "--frugal-profile-top", "1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    pages = list((pytester.path / ".frugal" / "profiles").glob("*.html"))
    assert [p.name.split("-")[0] for p in pages] == ["test_some.py_test_heavy"]
    bad = pytester.runpytest_inprocess("--frugal-profile", "--frugal-profile-top", "-1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
