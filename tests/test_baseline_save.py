"""``--frugal-save`` merges into an existing baseline: a session run with ``-k``, ``-x`` or a
failing test, and two sessions saving at once, lose no test saved before."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import os

def test_a():
    sum(range(1000))

def test_b():
    sum(range(2000))

def test_c():
    assert os.environ.get("BREAK_C") != "1"
"""


def saved(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / ".frugal" / "baselines" / "main.json").read_text())["tests"]


def test_a_partial_or_failing_session_keeps_what_was_saved(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_three=TESTS)
    pytester.runpytest("-p", "no:randomly", "--frugal-save", "main", "--frugal-runs", "1").assert_outcomes(passed=3)
    first = saved(pytester)
    assert len(first) == 3
    # -k: one test run and saved again, the two others kept as they were
    result = pytester.runpytest("-p", "no:randomly", "--frugal-save", "main", "--frugal-runs", "1", "-k", "test_a")
    result.stdout.fnmatch_lines(["frugal: saved 1 passed test to the baseline *; 2 tests kept as saved before*"])
    after = saved(pytester)
    assert set(after) == set(first) and after["test_three.py::test_b"] == first["test_three.py::test_b"]
    assert after["test_three.py::test_a"] != first["test_three.py::test_a"]
    # a failing test first, then -x: its earlier footprint stays, and the message names it
    monkeypatch.setenv("BREAK_C", "1")
    result = pytester.runpytest("-p", "no:randomly", "--frugal-save", "main", "--frugal-runs", "1", "-x",
                                "test_three.py::test_c", "test_three.py::test_a")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*3 tests kept as saved before*; not saved, as they did not pass: "
                                 "test_three.py::test_c*"])
    assert saved(pytester)["test_three.py::test_c"] == first["test_three.py::test_c"]


@pytest.mark.slow
def test_two_sessions_saving_at_once_lose_no_test(pytester: pytest.Pytester) -> None:
    """Two real pytest processes save disjoint tests into one baseline at the same moment,
    20 times: every test of both is there each time (the last writer used to win)."""
    names = [f"test_{i}" for i in range(12)]
    pytester.makepyfile(test_many="".join(f"def {n}():\n    sum(range(300))\n\n" for n in names))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    path = pytester.path / ".frugal" / "baselines" / "main.json"
    for _ in range(20):
        path.unlink(missing_ok=True)
        # no:hypothesispytest: Hypothesis's plugin imports Hypothesis (over a second) in every process
        procs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:hypothesispytest",
                                   "-p", "no:cacheprovider",
                                   "--frugal-save", "main", "--frugal-runs", "1", *(f"test_many.py::{n}" for n in half)],
                                  cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for half in (names[:6], names[6:])]
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out.decode()
        assert sorted(saved(pytester)) == sorted(f"test_many.py::{n}" for n in names)
