"""The pytest plugin, run through pytest's own ``pytester`` (in-process pytest runs)."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

import frugal
from frugal.core import rows as _records
from frugal.analysis.thresholds import Threshold, parse_threshold
from frugal.pytest_plugin.baseline import floors, judge
from frugal.pytest_plugin.marks import BUDGETS, Limit, parse_marks

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


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with a ``busy(seconds)`` helper that burns CPU time."""
    pytester.makepyfile(busywork=BUSY)
    pytester.syspathinsert()
    return pytester


def test_inactive_without_option_or_marker(suite: pytest.Pytester) -> None:
    """Without --frugal and without a marker the plugin measures, prints and writes nothing."""
    suite.makepyfile("from busywork import busy\ndef test_a():\n    busy(0.01)\n")
    rows_before = _records.LOG.count()
    result = suite.runpytest()
    result.assert_outcomes(passed=1)
    # pytest itself lists installed plugins; nothing else may mention frugal
    assert not [x for x in result.stdout.lines if "frugal" in x and not x.startswith("plugins:")]
    assert _records.LOG.count() == rows_before
    assert not (suite.path / ".frugal").exists()
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    assert all(r.user_properties == [] for r in reports)


@pytest.mark.slow
def test_frugal_prints_top_n_table(suite: pytest.Pytester) -> None:
    """--frugal prints the heaviest tests first, limited to --frugal-top rows, with a totals line."""
    suite.makepyfile("""
        from busywork import busy
        def test_light(): pass
        def test_heavy(): busy(0.2)
        def test_medium(): busy(0.05)
    """)
    result = suite.runpytest("--frugal", "--frugal-top", "2")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "frugal: measuring the call phase of every test" in out
    result.stdout.fnmatch_lines([
        "*frugal footprint: top 2 of 3 tests by *",
        "*energy*carbon*CPU*wall*mem added*test",
        "*test_frugal_prints_top_n_table.py::test_heavy",
        "*test_frugal_prints_top_n_table.py::test_medium",
        "total of 3 tests: *",
    ])
    assert "::test_light" not in out


def test_budget_over_fails_with_used_and_budget(suite: pytest.Pytester) -> None:
    """A test over its CPU and memory budgets fails and says what it used and what it was allowed."""
    suite.makepyfile("""
        import pytest
        from busywork import busy

        @pytest.mark.frugal(max_cpu_s=0.01, max_peak_added_bytes="10 MB")
        def test_greedy():
            block = b"x" * 40_000_000
            busy(0.1)
            assert len(block)
    """)
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*frugal: test_budget_over_fails_with_used_and_budget.py::test_greedy went over its budget",
        "*max_cpu_s: used * ms, budget 10 ms",
        "*max_peak_added_bytes: used * MiB, budget 9.54 MiB",
    ])
    held = re.search(r"max_peak_added_bytes: used ([0-9.]+) MiB", result.stdout.str())
    assert held is not None and 30 <= float(held.group(1)) <= 60  # the 40 MB (38 MiB) block, not pytest's own


@pytest.mark.slow
def test_budget_within_passes_and_setup_is_not_charged(suite: pytest.Pytester) -> None:
    """Budgets hold the call phase only: CPU burnt in a fixture's setup and teardown is not charged."""
    suite.makepyfile("""
        import pytest
        from busywork import busy

        @pytest.fixture
        def expensive():
            busy(0.2)
            yield
            busy(0.2)

        @pytest.mark.frugal(max_cpu_s=0.1, max_wall_s=5, max_peak_added_bytes="1 GB")
        def test_frugal(expensive):
            sum(range(1000))
    """)
    result = suite.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_energy_and_carbon_budgets_fail_with_used_and_budget(suite: pytest.Pytester) -> None:
    """Energy and carbon budgets (measured or modelled values) fail a test that spends more."""
    suite.makepyfile("""
        import pytest
        from busywork import busy

        @pytest.mark.frugal(max_energy_j=1e-9, max_carbon_g=1e-12)
        def test_spends():
            busy(0.1)
    """)
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*max_energy_j: used *, budget 1 nJ",
                                 "*max_carbon_g: used *, budget 1 pgCO2e"])


def test_async_test_is_measured_until_it_returns(suite: pytest.Pytester) -> None:
    """An async test run by a plugin (here a plain asyncio.run hook) is measured to its end."""
    suite.makeconftest("""
        import asyncio, inspect
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_pyfunc_call(pyfuncitem):
            if inspect.iscoroutinefunction(pyfuncitem.obj):
                args = {n: pyfuncitem.funcargs[n] for n in pyfuncitem._fixtureinfo.argnames}
                asyncio.run(pyfuncitem.obj(**args))
                return True
    """)
    suite.makepyfile("""
        import asyncio
        import pytest
        from busywork import busy

        @pytest.mark.frugal(max_cpu_s=0.02)
        async def test_async_greedy():
            await asyncio.sleep(0)
            busy(0.1)

        @pytest.mark.frugal(max_cpu_s=5)
        async def test_async_frugal():
            await asyncio.sleep(0)
    """)
    result = suite.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::test_async_greedy went over its budget", "*max_cpu_s: used 1* ms, budget 20 ms"])


def test_closest_marker_wins_per_key(suite: pytest.Pytester) -> None:
    """A function's marker overrides its class's marker key by key; other keys still apply."""
    suite.makepyfile("""
        import pytest
        from busywork import busy

        @pytest.mark.frugal(max_cpu_s=10, max_wall_s=0.001)
        class TestBudgets:
            @pytest.mark.frugal(max_wall_s=10)
            def test_loose(self):
                busy(0.02)

            @pytest.mark.frugal(max_cpu_s=0.001)
            def test_tight(self):
                busy(0.02)
    """)
    result = suite.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TestBudgets::test_tight went over its budget",
                                 "*max_cpu_s: used *, budget 1 ms",
                                 "*max_wall_s: used *, budget 1 ms"])


@pytest.mark.parametrize(("marker", "message"), [
    ("max_energy=5", "unknown budget key 'max_energy'"),
    ("max_peak_added_bytes='50 XB'", "max_peak_added_bytes='50 XB' is not a size"),
    ("max_cpu_s='fast'", "max_cpu_s must be a number"),
    ("max_wall_s=-1", "max_wall_s=-1 is out of range"),
    ("5", "takes budgets as keywords only"),
])
@pytest.mark.slow
def test_bad_marker_fails_collection(pytester: pytest.Pytester, marker: str, message: str) -> None:
    """A bad budget fails the collection, naming the marker, the test and the key."""
    pytester.makepyfile(test_bad=f"""
        import pytest

        @pytest.mark.frugal({marker})
        def test_a():
            pass

        def test_b():
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting test_bad.py*",
                                 f"@pytest.mark.frugal on test_bad.py::test_a: *{message}*"])


def test_markers_help_and_strict_markers(pytester: pytest.Pytester) -> None:
    """The marker is registered with help built from its budget function's signature."""
    result = pytester.runpytest("--markers")
    line = next(x for x in result.stdout.lines if x.startswith("@pytest.mark.frugal("))
    for key in BUDGETS:
        assert f"{key}=..." in line
    assert "fail the test when its call phase goes over a budget" in line
    pytester.makepyfile("import pytest\n@pytest.mark.frugal(max_cpu_s=5)\ndef test_a():\n    pass\n")
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


@pytest.mark.slow
def test_baseline_save_then_compare_fails_growth(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved baseline fails a test whose CPU time grew past the threshold and keeps a steady one."""
    suite.makepyfile(test_work="""
        import os
        from busywork import busy

        def test_grows():
            busy(float(os.environ["WORK_S"]))

        def test_steady():
            busy(0.1)
    """)
    monkeypatch.setenv("WORK_S", "0.02")
    umask = os.umask(0o022)
    try:
        first = suite.runpytest("--frugal-save", "main")
    finally:
        os.umask(umask)
    first.assert_outcomes(passed=2)
    path = suite.path / ".frugal" / "baselines" / "main.json"
    assert path.stat().st_mode & 0o777 == 0o644       # as the umask says: a baseline is committed and shared
    first.stdout.fnmatch_lines([f"frugal: saved 2 passed tests to the baseline {path}"])
    saved = json.loads(path.read_text())
    assert set(saved["tests"]) == {"test_work.py::test_grows", "test_work.py::test_steady"}
    assert saved["tests"]["test_work.py::test_steady"]["cpu_s"] > 0

    monkeypatch.setenv("WORK_S", "0.3")
    suite.makepyfile(test_new="def test_new():\n    pass\n")
    second = suite.runpytest("--frugal-compare", "main", "--frugal-compare-fail=cpu_s:100%")
    second.assert_outcomes(passed=2, failed=1)
    second.stdout.fnmatch_lines([
        "*test_work.py::test_grows grew past baseline 'main'",
        "*cpu_s grew +*% over baseline 'main' (* -> *), allowed 100%",
        "*cpu_s vs main*",
    ])
    new_row = next(x for x in second.stdout.lines if x.endswith("test_new.py::test_new"))
    assert " new " in new_row


@pytest.mark.parametrize(("args", "message"), [
    (["--frugal-compare", "nothing"], "no baseline at"),
    (["--frugal-compare-fail=cpu_s:10%"], "--frugal-compare-fail needs --frugal-compare NAME"),
    (["--frugal-save", "../escape"], "a baseline name is letters"),
    (["--frugal", "--frugal-top", "-1"], "--frugal-top=-1: must be >= 0"),
    (["--frugal-save", "main", "--frugal-runs", "0"], "--frugal-runs=0: must be >= 1"),
])
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    """A missing baseline or a malformed option stops the run with a usage error naming the option."""
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_fixture_measures_regions_with_budgets(suite: pytest.Pytester) -> None:
    """frugal_measure regions give a Measurement, nest under the measured test and enforce budgets."""
    suite.makepyfile("""
        from busywork import busy

        def test_region(frugal_measure, request):
            with frugal_measure("parse", max_cpu_s=10) as m:
                busy(0.02)
            assert m.result.name == "parse"
            assert m.result.cpu_s > 0
            assert m.result.parent == request.node.nodeid

        def test_region_over(frugal_measure):
            with frugal_measure("load", max_cpu_s=0.001):
                busy(0.02)
    """)
    result = suite.runpytest("--frugal")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*frugal: region 'load' of test_fixture_measures_regions_with_budgets.py::test_region_over went over its budget",
        "*max_cpu_s: used *, budget 1 ms",
        "*  [[]parse]",
    ])


def test_fixture_rejects_unknown_budget(suite: pytest.Pytester) -> None:
    """An unknown budget keyword to frugal_measure is a TypeError naming the region and the key."""
    suite.makepyfile("""
        def test_region(frugal_measure):
            with frugal_measure("parse", max_joules=1):
                pass
    """)
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TypeError: frugal_measure('parse'): unknown budget key 'max_joules'*"])


# --- the pure parts: budgets and thresholds -------------------------------------------

def test_unknown_energy_fails_the_budget_with_a_reason() -> None:
    """A budget on a value the run could not know fails and says so, rather than passing."""
    limit = Limit("max_energy_j", "energy_j", 5.0, "J")
    assert limit.breach({"energy_j": 7.1}) == "max_energy_j: used 7.1 J, budget 5 J"
    assert limit.breach({"energy_j": 4.0}) is None
    message = limit.breach({"energy_j": None, "energy_method": None})
    assert message is not None and "energy_j unknown" in message and "cannot be checked" in message


def test_parse_marks_merges_and_names_the_key() -> None:
    """Marks merge closest-last and an unknown key names the marker, the test and the key."""
    mark = pytest.mark.frugal
    limits = parse_marks("frugal", [mark(max_cpu_s=1, max_wall_s=2).mark, mark(max_cpu_s=0.5).mark], "t::x")
    assert {(x.key, x.limit) for x in limits} == {("max_cpu_s", 0.5), ("max_wall_s", 2.0)}
    with pytest.raises(TypeError, match=r"@pytest.mark.frugal on t::x: unknown budget key 'cpu'"):
        parse_marks("frugal", [mark(cpu=1).mark], "t::x")


@pytest.mark.parametrize(("text", "expected"), [
    ("energy_j:10%", Threshold("energy_j", 0.10, True)),
    ("cpu_s:0.05", Threshold("cpu_s", 0.05, False)),
    (" wall_s : 150% ", Threshold("wall_s", 1.5, True)),
    ("peak_added_bytes:20 MB", Threshold("peak_added_bytes", 20e6, False)),
])
def test_parse_threshold_good(text: str, expected: Threshold) -> None:
    """Thresholds are relative percentages or absolute amounts in the metric's unit."""
    assert parse_threshold(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("energy_j", "write METRIC:AMOUNT"),
    ("energy:10%", "unknown metric 'energy'"),
    ("energy_j:ten%", "is not a percentage"),
    ("cpu_s:fast", "is not a number of s"),
    ("cpu_s:-5%", "is out of range"),
    ("peak_added_bytes:5 XB", "is not a size"),
])
def test_parse_threshold_bad(text: str, message: str) -> None:
    """A malformed threshold is a ValueError naming the option and what is wrong."""
    with pytest.raises(ValueError, match="--frugal-compare-fail") as info:
        parse_threshold(text)
    assert message in str(info.value)


def _runs(values: list[float], metric: str = "energy_j") -> dict:
    return {metric: float(np.median(values)), "runs": {metric: list(values)}}


def test_gate_fails_only_a_significant_growth_past_the_threshold() -> None:
    """Growth past the threshold with every run above it fails; the same median growth within
    the noise, a growth within the threshold, or a zero baseline do not."""
    rel = Threshold("energy_j", 0.10, True)
    base = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01]
    grown = judge([rel], _runs([1.5, 1.52, 1.49, 1.51, 1.5, 1.48, 1.53]), _runs(base), "main")
    assert len(grown.breaches) == 1 and not grown.not_gated
    assert grown.breaches[0].startswith("energy_j grew +50.0% over baseline 'main' (1 J -> 1.5 J, medians of 7 and 7 "
                                        "runs; the ratio's 95% CI ")
    assert grown.breaches[0].endswith("lies above 1.1x), allowed 10%")
    noisy = judge([rel], _runs([1.5, 0.6, 2.4, 0.9, 1.6, 1.2, 3.0]), _runs([1.0, 0.5, 1.9, 0.8, 1.4, 1.1, 2.2]), "main")
    assert noisy.breaches == [] and noisy.change["energy_j"] > 0.1
    within = judge([rel], _runs([1.05, 1.06, 1.04, 1.05, 1.05]), _runs(base), "main")
    assert within.breaches == []
    assert judge([rel], _runs([3.0] * 5), _runs([0.0] * 5), "main").breaches == []


def test_gate_says_what_it_cannot_judge() -> None:
    """Under 1 ms of CPU a test is too short to gate; under 5 runs too few; an unknown metric
    cannot be checked (and fails); an absolute threshold is judged against the baseline's median."""
    rel = Threshold("cpu_s", 0.10, True)
    short = judge([rel], _runs([3e-4] * 5, "cpu_s"), _runs([1e-4] * 5, "cpu_s"), "main")
    # the floor is 1000 steps of the CPU clock as observed: 1 ms on a quiet machine, more on a loaded one
    assert floors()["cpu_s"] >= 1e-3
    floor = rel.show(floors()["cpu_s"])
    assert short.breaches == [] and short.not_gated[0].startswith(f"cpu_s: too short to gate (median 100 µs, under the {floor}")
    few = judge([rel], _runs([0.3] * 3, "cpu_s"), _runs([0.1] * 5, "cpu_s"), "main")
    assert few.breaches == [] and "too few runs to gate (n=3 vs 5" in few.not_gated[0]
    unknown = judge([rel], {"cpu_s": None}, _runs([0.1] * 5, "cpu_s"), "main")
    assert unknown.breaches == ["cpu_s unknown in this run, so cpu_s:10% cannot be checked"]
    ab = Threshold("peak_added_bytes", 10e6, False)
    grown = judge([ab], _runs([25e6, 25.1e6, 24.9e6, 25e6, 25e6], "peak_added_bytes"),
                  _runs([10e6, 10.1e6, 9.9e6, 10e6, 10e6], "peak_added_bytes"), "b")
    assert grown.breaches[0].startswith("peak_added_bytes grew +150.0% over baseline 'b' (9.54 MiB -> 23.8 MiB")
    assert grown.breaches[0].endswith("allowed 9.54 MiB")


def test_unchanged_code_passes_five_compares_and_three_times_slower_fails(suite: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A baseline of 5 runs per test; five compare runs of unchanged code all pass the gate
    (cpu_s and energy_j at 100%); the test made four times slower fails; a test too short
    for the clocks is reported as not gated, not failed. (At 10%, a shared host that slowed
    every run of one compare by 42% in CPU time failed it, and at 50% a CI machine busy with
    other jobs did once: the gate saw a real change, of the machine. Its false-alarm rate at 10%
    is measured in benchmarks/verdict_rates.py.)"""
    suite.makepyfile(test_gate="""
        import os

        def work(n):
            return sum(i * i for i in range(n))

        def test_steady():
            work(60_000)

        def test_slows():
            work(60_000 * int(os.environ["SLOWER"]))

        def test_tiny():
            pass
    """)
    monkeypatch.setenv("SLOWER", "1")
    suite.runpytest("--frugal-save", "main").assert_outcomes(passed=3)
    saved = json.loads((suite.path / ".frugal" / "baselines" / "main.json").read_text())
    assert saved["format"] == 2 and saved["runs_per_test"] == 5
    assert len(saved["tests"]["test_gate.py::test_steady"]["runs"]["cpu_s"]) == 5
    gate = ("--frugal-compare", "main", "--frugal-compare-fail=cpu_s:100%,energy_j:100%")
    for _ in range(5):
        result = suite.runpytest(*gate)
        result.assert_outcomes(passed=3)
        floor = Threshold("cpu_s", 1.0, True).show(floors()["cpu_s"])     # 1 ms on a quiet machine
        result.stdout.fnmatch_lines([f"*test_gate.py::test_tiny: cpu_s: too short to gate (median *, under the {floor}*"])
    monkeypatch.setenv("SLOWER", "4")
    slower = suite.runpytest(*gate)
    slower.assert_outcomes(passed=2, failed=1)
    slower.stdout.fnmatch_lines(["*test_gate.py::test_slows grew past baseline 'main'",
                                 "*cpu_s grew +*% over baseline 'main' (* -> *, medians of 5 and 5 runs; the ratio's "
                                 "*% CI *x lies above 2x), allowed 100%"])


def test_a_test_that_cannot_run_twice_is_gated_on_what_ran(suite: pytest.Pytester) -> None:
    """A test that fails when run again with the same fixtures passes, and is said to be
    measured on its first run only."""
    suite.makepyfile(test_once="""
        def test_once(tmp_path):
            (tmp_path / "x").mkdir()
    """)
    result = suite.runpytest("--frugal-save", "main")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_once.py::test_once: run 2 of 5 failed (FileExistsError): the test does not "
                                 "run twice alike, so it is measured on 1 run(s)"])


@pytest.mark.slow
def test_bad_frugal_setting_stops_the_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid FRUGAL_* variable stops a measuring run at start, naming the variable."""
    pytester.makepyfile("def test_a():\n    pass\n")
    monkeypatch.setenv("FRUGAL_PUE", "abc")
    result = pytester.runpytest_subprocess("--frugal")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "FRUGAL_PUE='abc'" in result.stderr.str()


# --- --frugal-profile ---------------------------------------------------------------------

@pytest.mark.slow
def test_frugal_profile_writes_one_flame_graph_per_test(suite: pytest.Pytester) -> None:
    """--frugal-profile=DIR: a page per test (a failing one too), stacks from the test function."""
    pytester = suite
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
    result = pytester.runpytest_inprocess("--frugal-profile=graphs", "--frugal", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_some.py::test_heavy*"])      # --frugal's footprint table too
    pages = sorted((pytester.path / "graphs").glob("*.html"))
    assert len(pages) == 3
    heavy = next(p for p in pages if "test_heavy" in p.name).read_text()
    assert "busywork.busy" in heavy and "test_heavy" in heavy
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", heavy)
    assert "test_some.test_heavy" in labels and "busywork.busy" in labels
    assert not [label for label in labels if "pluggy" in label or "_pytest" in label]
    result.stdout.fnmatch_lines(["*frugal profile*", "3 energy flame graph(s) in *graphs"])


@pytest.mark.slow
def test_frugal_profile_top_keeps_the_costliest_tests(suite: pytest.Pytester) -> None:
    """--frugal-profile-top 1 keeps only the test that spent the most energy."""
    pytester = suite
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


# --- --frugal-store (storing with the run's commit: tests/test_history.py) --------------

def test_nothing_is_stored_without_a_store(suite: pytest.Pytester) -> None:
    """--frugal alone stores nothing: no store is set and no store file is written."""
    from frugal.files import is_store
    from frugal.store.default import default_store

    suite.makepyfile("def test_a():\n    pass\n")
    result = suite.runpytest("--frugal")
    result.assert_outcomes(passed=1)
    assert default_store() is None and "stored the measured calls" not in result.stdout.str()
    assert [p for p in suite.path.rglob("*") if p.is_file() and is_store(p)] == []


def test_frugal_store_refuses_a_file_that_is_not_a_store(suite: pytest.Pytester) -> None:
    """--frugal-store naming a foreign file is a usage error naming the option; the file is left as it was."""
    from frugal.store.default import default_store

    suite.makepyfile("def test_a():\n    pass\n")
    foreign = suite.path / "notes.db"
    foreign.write_text("not a store")
    result = suite.runpytest("--frugal-store", "notes.db")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--frugal-store=notes.db: " in result.stderr.str() and "not a frugal store; it was left untouched" in result.stderr.str()
    assert foreign.read_text() == "not a store" and default_store() is None
