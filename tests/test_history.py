"""A store's history across commits (frugal.history): commit order, refs, values per commit,
with real git repositories (a branch, a merge, a shallow clone) and real stores; and the
pytest plugin feeding it (``--frugal-store``)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import frugal
from frugal.frames.columns import log_columns
from frugal.history.commits import LISTED, commit_order, per_commit, per_commit_with, resolve
from frugal.store.read import load, load_runs
from frugal.store.run_info import new_run
from frugal.store.sqlite import Store

T0 = 1_780_000_000 * 10**9          # a base time for the runs, ns since the epoch (2026)
ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.devnull}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
                          *args], check=True, capture_output=True, text=True, env=ENV, timeout=60)
    return out.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """main: A - B - C - M, where M merges feature (A - F) with --no-ff: main's first-parent
    line is A, B, C, M; F lies on a side branch."""
    path = tmp_path_factory.mktemp("repo")
    git(path, "init", "-q")
    ids = {"A": commit(path, "A")}
    git(path, "checkout", "-q", "-b", "feature")
    ids["F"] = commit(path, "F")
    git(path, "checkout", "-q", "main")
    ids["B"] = commit(path, "B")
    ids["C"] = commit(path, "C")
    git(path, "merge", "-q", "--no-ff", "feature", "-m", "M")
    ids["M"] = git(path, "rev-parse", "HEAD")
    return path, ids


def rows(values: dict[str, list[float]], metric: str = "cpu_s", errors: int = 0) -> dict:
    """Real measured rows, one per value, named by the dict's keys, with ``metric`` set to the
    values given (and ``errors`` more rows of the first name that failed)."""
    frugal.clear()
    for name, vals in values.items():
        for _ in vals:
            with frugal.measure(name):
                pass
    for _ in range(errors):
        with pytest.raises(KeyError), frugal.measure(next(iter(values))):
            raise KeyError("x")
    cols = log_columns()
    frugal.clear()
    given = [v for vals in values.values() for v in vals]
    cols[metric] = np.concatenate([np.array(given, dtype="f8"), np.full(errors, 99.0)])
    return cols


def write_run(path: Path, commit_id: str | None, branch: str | None, at_s: float,
              values: dict[str, list[float]] | None = None, errors: int = 0) -> str:
    """One run of the store at ``at_s`` seconds after T0, with that commit and branch."""
    run = new_run("test", git=(commit_id, branch))
    run["started_at"] = T0 + int(at_s * 1e9)
    Store(path).append(run, rows(values or {"work": [1.0]}, errors=errors))
    return str(run["run_id"])


# first runs: A at 1 s, F at 4, B at 5, M at 6, C at 7: time order A F B M C; main's line keeps A B C M
TIMES = {"A": 1, "F": 4, "B": 5, "M": 6, "C": 7}
BRANCH = {"A": "main", "F": "feature", "B": "main", "C": "main", "M": "main"}


@pytest.fixture(scope="module")
def store(repo: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, ids = repo
    path = tmp_path_factory.mktemp("store") / "frugal.db"
    for label, at in TIMES.items():
        write_run(path, ids[label], BRANCH[label], at)
    write_run(path, ids["A"], "main", 9)        # A measured again later: its first run still counts
    write_run(path, None, None, 3)               # a run outside any repository
    return path


def labels(order: list[str], ids: dict[str, str]) -> list[str]:
    back = {v: k for k, v in ids.items()}
    return [back.get(c, c) for c in order]


def test_commits_follow_the_first_parent_line_and_others_go_by_first_run(repo, store) -> None:
    """On main's first-parent line the line's order wins over the runs' times; the side branch's
    commit is placed by the time of its first run; the run without a commit is counted."""
    path, ids = repo
    runs = load_runs(store)
    order = commit_order(runs, path)
    assert labels(order, ids) == ["A", "F", "B", "C", "M"]     # by time alone: A F B M C
    assert (order.on_line, order.without_commit, order.head) == (4, 1, ids["M"])
    by_feature = commit_order(runs, path, head="feature")      # feature's line: A, F
    assert labels(by_feature, ids) == ["A", "F", "B", "M", "C"] and by_feature.on_line == 2
    assert by_feature.head == ids["F"]


def test_without_a_repository_commits_go_by_first_run_then_id(repo, store, tmp_path, monkeypatch) -> None:
    """Outside any work tree, or with a repository that knows none of them, the time of each
    commit's first run orders the commits, ties broken by commit id."""
    _, ids = repo
    monkeypatch.chdir(tmp_path)
    assert labels(commit_order(load_runs(store)), ids) == ["A", "F", "B", "M", "C"]
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    commit(other, "unrelated")
    order = commit_order(load_runs(store), other)
    assert labels(order, ids) == ["A", "F", "B", "M", "C"] and order.on_line == 0 and order.head is None
    tied = tmp_path / "tied.db"
    for name in ("ffff" * 10, "0000" * 10, "aaaa" * 10):
        write_run(tied, name, "main", 2)
    assert list(commit_order(tied)) == ["0000" * 10, "aaaa" * 10, "ffff" * 10]
    with pytest.raises(ValueError, match="repo='.*nowhere' is not a folder"):
        commit_order(tied, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="is not a git repository"):
        commit_order(tied, tmp_path)


def test_a_shallow_clone_orders_what_it_has_and_times_the_rest(repo, store, tmp_path) -> None:
    """A clone of depth 2 knows main's line only from C on: C and M keep git's order (M's first
    run came before C's), the commits it lacks go by the time of their first run."""
    path, ids = repo
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", path.resolve().as_uri(), str(shallow)], check=True,
                   capture_output=True, env=ENV, timeout=60)
    assert git(shallow, "rev-parse", "--is-shallow-repository") == "true"
    order = commit_order(load_runs(store), shallow)
    assert labels(order, ids) == ["A", "F", "B", "C", "M"] and order.on_line == 2
    one = tmp_path / "one"
    subprocess.run(["git", "clone", "-q", "--depth", "1", path.resolve().as_uri(), str(one)], check=True,
                   capture_output=True, env=ENV, timeout=60)
    order = commit_order(load_runs(store), one)
    assert labels(order, ids) == ["A", "F", "B", "M", "C"] and order.on_line == 1


def test_a_ref_is_a_commit_a_prefix_a_branch_a_run_or_a_revision(repo, store) -> None:
    """Each kind of ref names its commit; a branch names its latest measured commit in commit
    order (M, though C's run came later)."""
    path, ids = repo
    runs = load_runs(store)
    run_of_b = runs.loc[runs["git_commit"] == ids["B"], "run_id"].iloc[0]
    assert resolve(ids["C"], runs, path) == ids["C"]
    assert resolve(ids["F"][:7].upper(), runs, path) == ids["F"]
    assert resolve("main", runs, path) == ids["M"]
    assert resolve("feature", runs, path) == ids["F"]
    assert resolve(run_of_b, runs, path) == ids["B"]
    assert resolve("HEAD~1", runs, path) == ids["C"]            # git's own revision, C was measured


def test_an_unknown_or_ambiguous_ref_lists_what_the_store_knows(tmp_path, monkeypatch) -> None:
    """The message lists the commits newest first, at most LISTED with a count of the rest,
    each with its branch and date, then the branches; a store without commits says so."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "many.db"
    made = [f"{i:04x}" + "ab" * 18 for i in range(LISTED + 5)]
    for i, sha in enumerate(made):
        write_run(path, sha, "main" if i % 2 else "topic", i)
    ambiguous = tmp_path / "ambiguous.db"
    write_run(ambiguous, "abcd1" + "0" * 35, "main", 1)
    write_run(ambiguous, "abcd2" + "0" * 35, "main", 2)
    with pytest.raises(ValueError) as info:
        resolve("no-such-ref", path)
    text = str(info.value)
    assert "'no-such-ref' is not a measured commit" in text
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ") and "more" not in line]
    assert listed == [sha[:12] for sha in reversed(made)][:LISTED]
    assert "... and 5 more" in text and "Branches: main, topic" in text
    assert f"{made[-1][:12]}  topic " in text and f"{made[-2][:12]}  main " in text and "2026-05-28" in text
    with pytest.raises(ValueError, match="'abcd' is ambiguous: it begins 2 measured commits"):
        resolve("abcd", ambiguous)
    with pytest.raises(ValueError, match="is not a measured commit"):
        resolve("abc", ambiguous)                         # under MIN_PREFIX: not a prefix
    assert resolve("abcd2", ambiguous) == "abcd2" + "0" * 35
    bare = tmp_path / "bare.db"
    write_run(bare, None, None, 1)
    with pytest.raises(ValueError, match=r"no run in this store has a git commit \(1 run"):
        resolve("main", bare)
    with pytest.raises(TypeError, match="ref must be a str"):
        resolve(3, path)  # type: ignore[arg-type]


def test_per_commit_groups_each_names_values_in_commit_order(repo, tmp_path) -> None:
    """Each name's successful calls, per commit, in commit order; failed calls, runs without a
    commit and commits where a name was not measured are left out."""
    path, ids = repo
    db = tmp_path / "values.db"
    write_run(db, ids["C"], "main", 1, {"parse": [3.0, 3.5], "load": [9.0]})
    write_run(db, ids["A"], "main", 2, {"parse": [1.0, 1.5, 1.25]}, errors=2)
    write_run(db, ids["B"], "main", 3, {"load": [7.0]})
    write_run(db, None, None, 4, {"parse": [50.0]})
    series = per_commit(load(db), "cpu_s", repo=path)
    assert sorted(series) == ["load", "parse"]
    assert [(labels([c], ids)[0], v.tolist()) for c, v in series["parse"]] == [("A", [1.0, 1.5, 1.25]),
                                                                               ("C", [3.0, 3.5])]
    assert [(labels([c], ids)[0], v.tolist()) for c, v in series["load"]] == [("B", [7.0]), ("C", [9.0])]
    assert all(v.dtype == np.float64 for _, v in series["parse"])
    with pytest.raises(ValueError, match="metric='joules' is not a column"):
        per_commit(db, "joules")
    with pytest.raises(ValueError, match="metric='name' is not a numeric column"):
        per_commit(db, "name")
    with pytest.raises(ValueError, match="by='label' is not a column"):
        per_commit(db, "cpu_s", by="label")
    # per_commit_with: the same grouping, and each value's row in an array beside it
    frame = load(db)
    beside = per_commit_with(frame, "cpu_s", (frame["cpu_s"].to_numpy() * 2,), repo=path)
    assert {n: [(c, v.tolist(), [a.tolist() for a in x]) for c, v, x in s] for n, s in beside.items()} == \
        {n: [(c, v.tolist(), [(v * 2).tolist()]) for c, v in s] for n, s in series.items()}
    with pytest.raises(ValueError, match="alongside: each array must hold one value per row"):
        per_commit_with(frame, "cpu_s", (np.zeros(2),))


@pytest.mark.slow
def test_runs_measured_at_each_checked_out_commit_come_back_in_git_order(tmp_path) -> None:
    """Real processes, each started in the repository checked out at one commit, store their
    commit as git detects it; checked out newest first, they are still ordered oldest first."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    made = [commit(repo, f"c{i}") for i in range(3)]
    db = tmp_path / "frugal.db"
    code = textwrap.dedent(f"""
        import frugal
        frugal.configure(store={str(db)!r})
        with frugal.measure("step"):
            sum(range(1000))
    """)
    for sha in reversed(made):
        git(repo, "checkout", "-q", sha)
        proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    runs = load_runs(db)
    assert runs["git_commit"].tolist() == list(reversed(made))
    assert list(commit_order(runs, repo)) == list(reversed(made))   # HEAD is c0 now: c1, c2 go by time
    assert list(commit_order(runs, repo, head="main")) == made
    git(repo, "checkout", "-q", "main")
    assert list(commit_order(runs, repo)) == made
    assert [c for c, _ in per_commit(db, "cpu_s", repo=repo)["step"]] == made


@pytest.mark.slow
def test_pytest_frugal_store_keeps_each_measured_call_with_its_commit(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """In a git repository, at two commits: --frugal-store stores one row per measured test call
    (the failed test's too; each repeated run of a baseline), named by node id, with the run's
    commit and branch; --frugal alone adds nothing; FRUGAL_STORE with --frugal-compare adds a third
    run; the history orders them."""
    pytester.makepyfile(test_suite="""
        import time
        def test_work():
            t0 = time.process_time()
            while time.process_time() - t0 < 0.01:
                pass
        def test_broken():
            assert False
    """)
    git(pytester.path, "init", "-q")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-qm", "first")
    first = git(pytester.path, "rev-parse", "HEAD")
    db = pytester.path / "history" / "frugal.db"
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--frugal-store", "history/frugal.db")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"frugal: stored the measured calls of 2 tests in {db} (git commit {first[:12]} on main)"])
    stored = load(db)
    assert sorted(stored["name"]) == ["test_suite.py::test_broken", "test_suite.py::test_work"]
    assert set(stored["git_commit"]) == {first} and set(stored["git_branch"]) == {"main"}
    assert stored.set_index("name").loc["test_suite.py::test_broken", "status"] == "error"

    git(pytester.path, "commit", "-qm", "second", "--allow-empty")
    second = git(pytester.path, "rev-parse", "HEAD")
    saved = pytester.runpytest_subprocess("-p", "no:randomly", "--frugal-store", str(db), "--frugal-save", "base",
                                       "--frugal-runs", "3", "-k", "work")
    saved.assert_outcomes(passed=1)
    pytester.runpytest_subprocess("-p", "no:randomly", "--frugal", "-k", "work").assert_outcomes(passed=1)  # no store
    monkeypatch.setenv("FRUGAL_STORE", str(db))
    compared = pytester.runpytest_subprocess("-p", "no:randomly", "--frugal-compare", "base", "--frugal-runs", "3",
                                          "--frugal-compare-fail=cpu_s:1000%", "-k", "work")
    compared.assert_outcomes(passed=1)
    compared.stdout.fnmatch_lines(["*cpu_s vs base*"])
    runs = load_runs(db)
    assert runs["git_commit"].tolist() == [first, second, second] and runs["measurements"].tolist() == [2, 3, 3]
    assert list(commit_order(runs, pytester.path)) == [first, second]
    series = per_commit(load(db), "cpu_s", repo=pytester.path)
    assert [(c, len(v)) for c, v in series["test_suite.py::test_work"]] == [(first, 1), (second, 6)]
    assert "test_suite.py::test_broken" not in series        # failed calls are stored, not compared
