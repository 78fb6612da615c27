"""``frugal check`` (frugal.history.check): two commits of a real store compared name by name,
its exit statuses, its report's order and length, and the usage errors that write nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import frugal
from frugal.cli.parser import main
from frugal.frames.columns import log_columns
from frugal.history.check import MAX_CHARS, TITLE, check
from frugal.store.run_info import new_run
from frugal.store.sqlite import Store

T0 = 1_780_000_000 * 10**9          # a base time for the runs, ns since the epoch (2026)
BASE, HEAD = "a" * 40, "b" * 40      # commit ids (the store only records them; no repository needed)
RUNS = 10                            # values per name and side


def rows(values: dict[str, np.ndarray]) -> dict:
    """Real measured rows, one per value, named by the dict's keys: ``cpu_s`` set to the values
    and ``energy_j`` to ten times them (a 10 W CPU), so both metrics move together."""
    frugal.clear()
    for name, vals in values.items():
        for _ in vals:
            with frugal.measure(name):
                pass
    cols = log_columns()
    frugal.clear()
    given = np.concatenate([np.asarray(v, dtype="f8") for v in values.values()])
    cols["cpu_s"], cols["energy_j"] = given, given * 10
    return cols


def write_run(path: Path, commit_id: str, branch: str, at_s: float, values: dict[str, np.ndarray]) -> None:
    run = new_run("test", git=(commit_id, branch))
    run["started_at"] = T0 + int(at_s * 1e9)
    Store(path).append(run, rows(values))


def noisy(rng: np.random.Generator, centre: float, n: int = RUNS) -> np.ndarray:
    """``n`` CPU times around ``centre`` seconds, 2% spread (a quiet machine)."""
    return centre * (1 + 0.02 * rng.standard_normal(n))


def make_store(path: Path, seed: int, growth: dict[str, float], base_only: tuple[str, ...] = (),
               head_only: tuple[str, ...] = ()) -> Path:
    """A store with a run of BASE (branch main) and one of HEAD (branch feature): every name of
    ``growth`` on both sides, its head values ``1 + growth`` times the base's."""
    rng = np.random.default_rng(seed)
    base = {name: noisy(rng, 0.1) for name in [*growth, *base_only]}
    head = {name: noisy(rng, 0.1 * (1 + growth.get(name, 0.0))) for name in [*growth, *head_only]}
    write_run(path, BASE, "main", 1, base)
    write_run(path, HEAD, "feature", 2, head)
    return path


@pytest.fixture(autouse=True)
def _outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # commits go by the time of their first run, whatever repository the tests run in
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_a_30_percent_cpu_regression_exits_1_and_is_listed_first(tmp_path, capsys) -> None:
    store = make_store(tmp_path / "s.db", 1, {"slow": 0.30, "same": 0.0, "faster": -0.30, "bit": 0.05},
                       base_only=("gone",), head_only=("new",))
    md = tmp_path / "report.md"
    status = main(["check", str(store), "--base", "main", "--head", "feature", "--markdown", str(md)])
    out = capsys.readouterr().out
    assert status == 1
    assert out.splitlines()[2].startswith("regression: slow energy_j")
    report = md.read_text()
    assert report.startswith(TITLE)
    parts = [report.index(s) for s in ("### Regressions", "| slow |", "### Improvements", "| faster |",
                                       "### Added", "`new`", "### Removed", "`gone`", "name(s) unchanged")]
    assert parts == sorted(parts)
    assert "| bit |" not in report.split("### Improvements")[0]   # 5% under a 10% threshold, significant or not
    assert "2 name(s) unchanged" in report                          # same, bit


def test_regressions_come_worst_first_with_every_threshold(tmp_path) -> None:
    store = make_store(tmp_path / "s.db", 2, {"a": 0.3, "b": 0.8, "c": 0.5})
    result = check(store, BASE[:8], HEAD, ["energy_j:10%", "cpu_s:20%"])
    # ratio over the allowed ratio: b 1.8/1.1, 1.8/1.2; c 1.5/1.1, 1.5/1.2; a 1.3/1.1, 1.3/1.2
    assert [(c.name, c.metric) for c in result.regressions] == [
        ("b", "energy_j"), ("b", "cpu_s"), ("c", "energy_j"), ("c", "cpu_s"), ("a", "energy_j"), ("a", "cpu_s")]
    assert result.failed and result.unchanged == 0


def test_identical_sides_exit_0(tmp_path, capsys) -> None:
    rng = np.random.default_rng(3)
    values = {f"n{i}": noisy(rng, 0.1) for i in range(20)}
    store = tmp_path / "s.db"
    write_run(store, BASE, "main", 1, values)
    write_run(store, HEAD, "feature", 2, values)
    assert main(["check", str(store), "--base", BASE, "--head", HEAD]) == 0
    result = check(store, BASE, HEAD)
    assert not result.regressions and not result.improvements and result.unchanged == 20


@pytest.mark.slow
def test_a_regression_under_the_threshold_exits_0_over_seeded_stores(tmp_path) -> None:
    """5% growth under a 10% threshold: never a failure, over 20 seeded stores (each 5 names)."""
    failed = 0
    for seed in range(20):
        store = make_store(tmp_path / f"s{seed}.db", 100 + seed, {f"n{i}": 0.05 for i in range(5)})
        failed += check(store, BASE, HEAD).failed
    assert failed == 0
    assert main(["check", str(store), "--base", BASE, "--head", HEAD]) == 0     # the last store, as a command
    # a 30% growth always fails, and 12% past a 10% threshold does too: significant and past it
    store = make_store(tmp_path / "big.db", 7, {"n": 0.30})
    assert check(store, BASE, HEAD, ["cpu_s:5%"]).failed
    store = make_store(tmp_path / "past.db", 8, {"n": 0.12})
    assert check(store, BASE, HEAD, ["cpu_s:10%"]).failed


@pytest.mark.slow
def test_the_report_for_1000_names_stays_under_the_limit(tmp_path) -> None:
    growth = {f"tests/test_module_{i:04d}.py::test_case_with_a_long_name[{i}]": 0.5 for i in range(1000)}
    store = make_store(tmp_path / "s.db", 4, growth)
    result = check(store, BASE, HEAD)
    report = result.markdown()
    print(f"\nreport for 1,000 names: {len(report):,} characters ({len(result.regressions)} regressions)")
    assert len(result.regressions) == 1000
    assert len(report) <= MAX_CHARS
    assert "row(s) left out" in report and report.rstrip().endswith("unchanged.")
    left = int(report.split("*")[-2].split()[0].replace(",", ""))
    assert left + report.count("\n| tests/") == 1000


def test_names_with_too_few_runs_are_counted_not_tested(tmp_path) -> None:
    rng = np.random.default_rng(9)
    store = tmp_path / "s.db"
    write_run(store, BASE, "main", 1, {"few": noisy(rng, 0.1, 3), "many": noisy(rng, 0.1)})
    write_run(store, HEAD, "feature", 2, {"few": noisy(rng, 0.3, 3), "many": noisy(rng, 0.1)})
    result = check(store, BASE, HEAD)
    assert not result.failed and (result.unchanged, result.untested) == (2, 1)
    assert "(1 with too few runs to test: 5 a side are needed)" in result.markdown()


def test_github_step_summary_is_appended_to(tmp_path, monkeypatch, capsys) -> None:
    store = make_store(tmp_path / "s.db", 5, {"slow": 0.30})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["check", str(store), "--base", BASE, "--head", HEAD, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] and data["regressions"][0]["name"] == "slow"
    text = summary.read_text()
    assert text.startswith("earlier step\n" + TITLE) and "| slow |" in text


@pytest.mark.parametrize("case", ["unknown", "same", "no_commits", "not_a_store", "bad_fail"])
def test_each_usage_error_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys, case) -> None:
    store = make_store(tmp_path / "s.db", 6, {"slow": 0.30})
    base, head, fail = "main", "feature", "energy_j:10%"
    if case == "unknown":
        head = "nosuchbranch"
    elif case == "same":
        head = BASE[:10]
    elif case == "no_commits":
        store = tmp_path / "bare.db"
        run = new_run("test", git=(None, None))
        Store(store).append(run, rows({"x": np.ones(5)}))
    elif case == "not_a_store":
        store = tmp_path / "nothing.db"
        store.write_text("hello")
    else:
        fail = "energy_j:ten"
    summary, md = tmp_path / "summary.md", tmp_path / "out.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    status = main(["check", str(store), "--base", base, "--head", head, "--fail", fail, "--markdown", str(md)])
    err = capsys.readouterr().err
    assert status == 2 and not summary.exists() and not md.exists()
    assert err.startswith("frugal check: error:")
    if case == "unknown":
        assert "Known commits (2" in err and "Branches: feature, main" in err
    if case == "same":
        assert "same commit" in err


def test_the_command_is_listed_and_needs_base_and_head(tmp_path, capsys) -> None:
    store = make_store(tmp_path / "s.db", 8, {"x": 0.0})
    assert main(["check", str(store), "--head", HEAD]) == 2
    assert "--base" in capsys.readouterr().err
    out = subprocess.run([sys.executable, "-m", "frugal", "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "check" in out


def interleaved_store(path: Path, seed: int, growth: float, shift_head_s: float = 0.0, calls: int = 1) -> Path:
    """Base and head run in rounds, each round at its own machine speed (a shared runner's
    phases: 20% spread between rounds, 1% within one); head values ``1 + growth`` times the
    base's. ``calls`` = 1: each side one run of a value per round (as ``frugal compare --rev``
    stores them); more: each side one run per round (a process) of ``calls`` values.
    ``shift_head_s`` moves the head's runs later, out of the rounds."""
    rng = np.random.default_rng(seed)
    speed = np.repeat(np.exp(0.2 * rng.standard_normal(RUNS)), calls)
    start = np.datetime64(T0, "ns")
    at = (np.arange(RUNS)[:, None] + np.arange(calls)[None, :] * 0.01).ravel()   # s: round k, then its calls
    for commit, branch, factor, offset in ((BASE, "main", 1.0, 0.0), (HEAD, "feature", 1 + growth, 0.5 + shift_head_s)):
        values = 0.1 * factor * speed * (1 + 0.01 * rng.standard_normal(RUNS * calls))
        for part in ([np.arange(RUNS * calls)] if calls == 1 else np.arange(RUNS * calls).reshape(RUNS, calls)):
            cols = rows({"bench": values[part]})
            cols["started_at"] = start + ((at[part] + offset) * 1e9).astype("timedelta64[ns]")
            run = new_run("test", git=(commit, branch))
            run["started_at"] = T0 + int((at[part][0] + offset) * 1e9)
            Store(path).append(run, cols)
    return path


def test_runs_in_rounds_are_compared_round_by_round(tmp_path) -> None:
    """A 15% growth under a 20% spread of machine speed between rounds: seen when the rounds
    pair the runs (both sides of a round see one speed), not when the same values ran apart."""
    store = interleaved_store(tmp_path / "rounds.db", 5, 0.15)
    result = check(store, BASE, HEAD, ["cpu_s:10%"])
    assert result.paired == {("bench", "cpu_s")}
    assert [c.name for c in result.regressions] == ["bench"]
    apart = interleaved_store(tmp_path / "apart.db", 5, 0.15, shift_head_s=100.0)
    result = check(apart, BASE, HEAD, ["cpu_s:10%"])
    assert result.paired == set() and result.regressions == []
    # a measured script: each round one process a side, of 8 calls; its rounds are runs
    scripts = interleaved_store(tmp_path / "scripts.db", 5, 0.15, calls=8)
    result = check(scripts, BASE, HEAD, ["cpu_s:10%"])
    assert result.paired == {("bench", "cpu_s")}
    assert [c.name for c in result.regressions] == ["bench"] and result.regressions[0].ratio.n == (80, 80)


@pytest.mark.slow
def test_rounds_of_equal_sides_raise_no_alarm_and_15_percent_is_found_over_seeded_stores(tmp_path) -> None:
    alarms = sum(check(interleaved_store(tmp_path / f"e{seed}.db", 200 + seed, 0.0, calls=1 + seed % 2 * 7), BASE,
                       HEAD, ["cpu_s:10%"]).failed for seed in range(40))
    found = sum(check(interleaved_store(tmp_path / f"g{seed}.db", 300 + seed, 0.15), BASE, HEAD,
                      ["cpu_s:10%"]).failed for seed in range(40))
    assert alarms == 0
    assert found >= 38
