"""frugal.regressions: the steps of each name's per-commit medians, on real stores written run by
run with a commit each (and a real git repository ordering them)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.history.regressions import COLUMNS, regressions
from frugal.store.read import load
from test_history import commit, git, write_run

COMMITS = 30
STEP_AT = 18                     # the first commit measured at the new level
CALLS = 5                        # calls of each name per commit


def commit_id(i: int) -> str:
    """A made-up full commit id (no repository knows it: the commits go by their first run)."""
    return f"{i + 1:040x}"


def history(path: Path, steps: dict[str, float], *, seed: int = 1, ids: list[str] | None = None) -> list[str]:
    """A store of ``COMMITS`` runs, one per commit, a second apart: each name of ``steps`` with
    ``CALLS`` values (lognormal, CV 3%) a run, times its step from commit ``STEP_AT`` on."""
    rng = np.random.default_rng(seed)
    ids = ids or [commit_id(i) for i in range(COMMITS)]
    for i, c in enumerate(ids):
        values = {name: (rng.lognormal(0.0, 0.03, CALLS) * (step if i >= STEP_AT else 1.0)).tolist()
                  for name, step in steps.items()}
        write_run(path, c, "main", i, values)
    return ids


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work outside any git repository, so that the commits go by the time of their first run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


def test_a_step_of_twenty_percent_is_found_at_its_commit(elsewhere: Path) -> None:
    db = elsewhere / "frugal.db"
    ids = history(db, {"parse": 1.2, "flat": 1.0})
    found = regressions(db, "cpu_s")
    assert list(found.columns) == list(COLUMNS)
    assert len(found) == 1, found
    row = found.iloc[0]
    assert (row["name"], row["metric"], row["direction"]) == ("parse", "cpu_s", "regression")
    assert (row["before"], row["after"]) == (ids[STEP_AT - 1], ids[STEP_AT])
    assert row["ci_low"] <= 1.2 <= row["ci_high"] and row["ci_low"] > 1 and bool(row["significant"])
    assert abs(row["ratio"] - 1.2) < 0.03
    assert (row["n_before"], row["n_after"]) == (STEP_AT * CALLS, (COMMITS - STEP_AT) * CALLS)
    runs = load(db).groupby("git_commit")["run_started_at"].min()
    assert (row["before_date"], row["after_date"]) == (runs[ids[STEP_AT - 1]], runs[ids[STEP_AT]])
    # the same answer from a frame, through the public name, and the same interval again (seeded)
    again = frugal.regressions(load(db), "cpu_s")
    pd.testing.assert_frame_equal(again, found)


def test_a_flat_history_gives_an_empty_frame_with_the_columns(elsewhere: Path) -> None:
    db = elsewhere / "frugal.db"
    history(db, {"parse": 1.0, "load": 1.0})
    found = regressions(db, "cpu_s")
    assert found.empty and list(found.columns) == list(COLUMNS)


def test_improvements_are_labelled_and_come_after_regressions_worst_first(elsewhere: Path) -> None:
    db = elsewhere / "frugal.db"
    history(db, {"faster": 0.7, "slower": 1.15, "much_slower": 1.5})
    found = regressions(db, "cpu_s")
    assert found["name"].tolist() == ["much_slower", "slower", "faster"]
    assert found["direction"].tolist() == ["regression", "regression", "improvement"]
    faster = found.iloc[2]
    assert faster["ratio"] < 1 and faster["ci_high"] < 1 and faster["ci_low"] <= 0.7 <= faster["ci_high"]


def test_min_change_drops_the_small_steps(elsewhere: Path) -> None:
    db = elsewhere / "frugal.db"
    history(db, {"small": 1.08, "large": 1.3})
    assert regressions(db, "cpu_s")["name"].tolist() == ["large", "small"]
    assert regressions(db, "cpu_s", min_change=0.1)["name"].tolist() == ["large"]
    assert regressions(db, "cpu_s", min_change=0.5).empty
    assert regressions(db, "cpu_s", min_change=0)["name"].tolist() == ["large", "small"]


def test_the_repository_orders_the_commits(tmp_path: Path) -> None:
    """Runs written newest commit first: only git's line puts the step where it was made."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    ids = [commit(repo, f"c{i}") for i in range(COMMITS)]
    db = tmp_path / "frugal.db"
    rng = np.random.default_rng(3)
    for at, i in enumerate(reversed(range(COMMITS))):
        write_run(db, ids[i], "main", at, {"parse": (rng.lognormal(0.0, 0.03, CALLS) * (1.25 if i >= STEP_AT else 1))
                                           .tolist()})
    found = regressions(db, "cpu_s", repo=repo)
    assert len(found) == 1 and (found.iloc[0]["before"], found.iloc[0]["after"]) == (ids[STEP_AT - 1], ids[STEP_AT])
    assert found.iloc[0]["direction"] == "regression"


def test_bad_input_names_the_argument(elsewhere: Path) -> None:
    db = elsewhere / "frugal.db"
    history(db, {"parse": 1.0})
    with pytest.raises(ValueError, match="metric='joules' is not a column"):
        regressions(db, "joules")
    with pytest.raises(ValueError, match="by='label' is not a column"):
        regressions(db, "cpu_s", by="label")
    for bad in (-0.1, math.nan, "5%"):
        with pytest.raises(ValueError, match="min_change must be"):
            regressions(db, "cpu_s", min_change=bad)  # type: ignore[arg-type]
    bare = elsewhere / "bare.db"
    write_run(bare, None, None, 1, {"parse": [1.0, 2.0]})
    with pytest.raises(ValueError, match="data has no run with a git commit"):
        regressions(bare, "cpu_s")
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        regressions(3, "cpu_s")
