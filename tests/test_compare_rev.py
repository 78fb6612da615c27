"""``frugal compare --rev``: a real git repository with two commits of a small script, each
checked out in a temporary worktree, the runs stored per commit for ``frugal check``, the
worktrees removed after an error and after a real Ctrl-C, and the usage errors that store nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from frugal.cli.parser import main
from frugal.store.read import load, load_runs

# each commit's script writes which commit it is, so a test sees where the command ran
SCRIPT = "import pathlib\npathlib.Path('ran-{tag}').write_text('{tag}')\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository, the working directory, with two commits of ``bench.py`` tagged v1 and v2."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "t")
    for tag in ("v1", "v2"):
        (path / "bench.py").write_text(SCRIPT.format(tag=tag))
        git(path, "add", "bench.py")
        git(path, "commit", "-q", "-m", tag)
        git(path, "tag", tag)
    for variable in ("FRUGAL_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA", "FRUGAL_STORE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(path)
    return path


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_each_revision_runs_in_its_worktree_and_is_stored_with_its_commit(repo: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    v1, v2 = git(repo, "rev-parse", "v1"), git(repo, "rev-parse", "v2")
    marks = tmp_path / "marks"
    marks.mkdir()
    # the script writes into the working directory: a copy of the revision's tree, then moved out
    cmd = f"{sys.executable} -c \"exec(open('bench.py').read()); import glob, shutil; " \
          f"[shutil.copy(f, r'{marks}') for f in glob.glob('ran-*')]\""
    assert main(["compare", "--rev", "v1", "--rev", "v2", "--runs", "5", "--warmup", "0", "--seed", "1",
                 "--store", str(store), "--", cmd]) == 0
    assert sorted(p.name for p in marks.iterdir()) == ["ran-v1", "ran-v2"]
    assert not (repo / "ran-v1").exists() and not (repo / "ran-v2").exists()   # not run in the repository itself
    assert len(worktrees(repo)) == 1
    runs = load_runs(store)
    assert sorted(runs["git_commit"]) == sorted([v1, v2])
    frame = load(store)
    assert set(frame["name"]) == {cmd}               # the command's name, not the revision's
    assert len(frame) == 10
    out = capsys.readouterr().out
    assert "v1 (baseline)" in out and "v2" in out


def test_check_sees_one_name_on_both_sides(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    assert main(["compare", "--rev", "v1", "--rev", "v2", "--runs", "5", "--warmup", "0", "--name", "bench",
                 "--store", str(store), "--", sys.executable, "bench.py"]) == 0
    assert set(load(store)["name"]) == {"bench"}
    capsys.readouterr()
    # a growth of 1000% is out of reach: the one name is compared on both sides and passes
    status = main(["check", str(store), "--base", "v1", "--head", "v2", "--fail", "wall_s:1000%", "--json"])
    assert status == 0
    got = json.loads(capsys.readouterr().out)
    assert got["added"] == [] and got["removed"] == [] and got["regressions"] == []
    assert got["unchanged"] + len(got["improvements"]) == 1 and got["untested"] == 0


def test_frugal_inside_the_command_files_its_rows_under_each_revision(repo: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """In CI, GITHUB_SHA names the pull request's head: a measured script run at the base
    revision must still file its own rows (FRUGAL_STORE) under the base's commit, detached;
    and only the measured runs', not the warm-ups'."""
    v1, v2 = git(repo, "rev-parse", "v1"), git(repo, "rev-parse", "v2")
    inner = tmp_path / "inner.db"
    monkeypatch.setenv("GITHUB_SHA", v2)
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature")
    monkeypatch.setenv("FRUGAL_STORE", str(inner))
    cmd = f"{sys.executable} -c \"import frugal\nwith frugal.measure('parse'): sum(range(1000))\""
    assert main(["compare", "--rev", "v1", "--rev", "v2", "--runs", "5", "--warmup", "2", "--seed", "2",
                 "--store", str(tmp_path / "outer.db"), "--", cmd]) == 0
    runs = load_runs(inner)
    assert len(runs) == 10        # the warm-up runs' own measurements are not kept
    assert sorted(runs["git_commit"].value_counts().items()) == sorted([(v1, 5), (v2, 5)])
    assert runs["git_branch"].isna().all()
    assert os.environ["GITHUB_SHA"] == v2 and os.environ["GITHUB_HEAD_REF"] == "feature"   # restored


def test_setup_runs_once_in_each_worktree_and_its_failure_is_a_usage_error(repo: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    log = tmp_path / "setup.log"
    assert main(["compare", "--rev", "v1", "--rev", "v2", "--runs", "5", "--warmup", "0", "--no-store",
                 "--setup", f"git rev-parse HEAD >> {log}", "--", sys.executable, "bench.py"]) == 0
    assert sorted(log.read_text().split()) == sorted([git(repo, "rev-parse", "v1"), git(repo, "rev-parse", "v2")])
    capsys.readouterr()
    assert main(["compare", "--rev", "v1", "--rev", "v2", "--store", str(store),
                 "--setup", "echo broken >&2; exit 3", "--", sys.executable, "bench.py"]) == 2
    err = capsys.readouterr().err
    assert "--setup" in err and "exit status 3" in err and "broken" in err
    assert not store.exists()
    assert len(worktrees(repo)) == 1


@pytest.mark.parametrize("revs, words", [
    (["v1", "nope"], "'nope' is not a commit"),
    (["v1", "v1^{commit}"], "same commit"),
    (["v2", "HEAD"], "same commit"),
    (["v1"], "at least twice"),
])
def test_bad_revisions_are_usage_errors_that_store_nothing(repo: Path, tmp_path: Path, revs: list[str], words: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    args = [a for rev in revs for a in ("--rev", rev)]
    assert main(["compare", *args, "--store", str(store), "--", sys.executable, "bench.py"]) == 2
    assert words in capsys.readouterr().err
    assert not store.exists()
    assert len(worktrees(repo)) == 1


def test_rev_outside_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))   # no repository above tmp_path either
    store = tmp_path / "s.db"
    assert main(["compare", "--rev", "a", "--rev", "b", "--store", str(store), "--", "true"]) == 2
    assert "needs a git repository" in capsys.readouterr().err
    assert not store.exists()


def test_setup_without_rev_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--setup", "true", "--no-store", "true", "true"]) == 2
    assert "--setup is for --rev" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_removes_the_worktrees(repo: Path, tmp_path: Path) -> None:
    """A real SIGINT to the process group of a real ``frugal compare`` (as a terminal's Ctrl-C)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "frugal", "compare", "--rev", "v1", "--rev", "v2",
                             "--store", str(tmp_path / "s.db"), "--", "sleep", "30"],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(worktrees(repo)) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the worktrees never appeared"
            time.sleep(0.05)
        paths = [Path(line.split(" ", 1)[1]) for line in worktrees(repo)[1:]]
        assert all(p.is_dir() for p in paths)
        time.sleep(0.5)                       # let a `sleep 30` start
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "interrupted" in err
    assert len(worktrees(repo)) == 1
    assert not any(p.exists() for p in paths)
    assert not paths[0].parent.exists()

