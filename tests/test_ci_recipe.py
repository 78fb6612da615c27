"""The GitHub Actions recipe of examples/github-actions: its workflow parses and names scripts
that exist, and its shell steps, run as Actions would run them in a real git repository with two
commits, fail a pull request that makes a measured function 60% costlier and pass one that
changes only a comment, with the report in the step summary; after the merge, the push to main
warns of the regression without failing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from frugal.history.check import TITLE

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "github-actions"
WORKFLOW = RECIPE / "frugal.yml"
STEPS = ("measure.sh", "check.sh", "dashboard.sh")    # in the workflow's order

# The project's measured script: 8 calls of a pure-Python loop (about 10 ms each), each stored
# in $FRUGAL_STORE by frugal.measure.
MEASURED = '''import frugal

N = 150_000


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


for _ in range(8):
    with frugal.measure("work"):
        work(N)
'''


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; its stdout, stripped."""
    return subprocess.run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org",
                           "-c", "init.defaultBranch=main", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def actions_env(tmp: Path, **github: str) -> dict[str, str]:
    """The environment of a step: this checkout of frugal importable (PYTHONPATH, and the venv's
    ``frugal`` and ``python`` first on PATH), no FRUGAL_* or GITHUB_* inherited, then ``github``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRUGAL_", "GITHUB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env["FRUGAL_STORE"] = str(tmp / "frugal.db")            # the cached store, shared by both jobs
    env["FRUGAL_MEASURE"] = "measure.py"
    # the recipe's mechanics, not its sensitivity (benchmarks/compare_rev.py measures that): a
    # 60% growth against a 20% threshold, so that this machine's 12% run-to-run spread
    # neither hides the one nor makes the other of an unchanged script
    env["FRUGAL_FAIL"] = "energy_j:20%"
    env.update(github)
    return env


def run_job(clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The workflow's run steps in order, as ``bash script``; the check step's result (the job's
    verdict), after the dashboard step that runs whatever it returned."""
    results = {}
    for step in STEPS:
        results[step] = subprocess.run(["bash", str(RECIPE / step)], cwd=clone, env=env,
                                       capture_output=True, text=True, timeout=300)
        if step == "measure.sh":
            assert results[step].returncode == 0, results[step].stderr
    assert results["dashboard.sh"].returncode == 0, results["dashboard.sh"].stderr
    return results["check.sh"]


def repository(tmp: Path, change: str) -> tuple[Path, str, str]:
    """An origin repository with main's commit and a branch ``feature`` whose commit applies
    ``change`` to the measured script; a full clone of it (fetch-depth: 0), and the commits
    main and the pull request's merge commit (what actions/checkout checks out)."""
    origin = tmp / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    (origin / "measure.py").write_text(MEASURED)
    git(origin, "add", "measure.py")
    git(origin, "commit", "-qm", "main")
    git(origin, "checkout", "-qb", "feature")
    if change == "costlier":
        (origin / "measure.py").write_text(MEASURED.replace("N = 150_000", "N = 240_000"))   # +60% work
    else:
        (origin / "measure.py").write_text(MEASURED.replace("import frugal", "import frugal  # why: x"))
    git(origin, "commit", "-qam", change)
    git(origin, "checkout", "-q", "main")
    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(origin), str(clone))
    main_sha = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", "--detach", "origin/main")
    git(clone, "merge", "-q", "--no-ff", "--no-edit", "origin/feature")
    merge_sha = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", "main")
    return clone, main_sha, merge_sha


@pytest.mark.slow
@pytest.mark.parametrize(("change", "expected"), [("costlier", 1), ("comment", 0)])
def test_the_steps_fail_a_60_percent_regression_and_pass_a_comment(tmp_path: Path, change: str,
                                                                    expected: int) -> None:
    clone, main_sha, merge_sha = repository(tmp_path, change)

    # a push to main: measured and stored; its first commit has no measured parent to compare with
    push_summary = tmp_path / "push-summary.md"
    push = run_job(clone, actions_env(tmp_path, GITHUB_SHA=main_sha, GITHUB_REF_NAME="main",
                                      GITHUB_BASE_REF="", GITHUB_HEAD_REF="",
                                      GITHUB_STEP_SUMMARY=str(push_summary)))
    assert push.returncode == 0, push.stdout + push.stderr
    assert "has no run in" in push_summary.read_text()

    # the pull request: its merge commit checked out, compared with the merge base (main's commit)
    git(clone, "checkout", "-q", "--detach", merge_sha)
    pr_summary = tmp_path / "pr-summary.md"
    pr = run_job(clone, actions_env(tmp_path, GITHUB_SHA=merge_sha, GITHUB_REF_NAME="1/merge",
                                    GITHUB_BASE_REF="main", GITHUB_HEAD_REF="feature",
                                    GITHUB_STEP_SUMMARY=str(pr_summary)))
    assert pr.returncode == expected, pr.stdout + pr.stderr
    summary = pr_summary.read_text()
    assert summary.startswith(TITLE)
    assert summary == (clone / "report.md").read_text()       # the whole report, appended once
    assert main_sha[:7] in summary and merge_sha[:7] in summary
    if expected == 1:
        assert "### Regressions" in summary and "work" in summary.split("### Regressions")[1]
    else:
        assert "### Regressions" not in summary
    assert (clone / "dashboard.html").read_text().lstrip().lower().startswith("<!doctype html")

    # the pull request merged: a push of its merge commit to main, against its first parent in
    # the history (another job's runs): a regression there is a warning, never a failure
    if expected == 1:
        merged_summary = tmp_path / "merged-summary.md"
        merged = run_job(clone, actions_env(tmp_path, GITHUB_SHA=merge_sha, GITHUB_REF_NAME="main",
                                            GITHUB_BASE_REF="", GITHUB_HEAD_REF="",
                                            GITHUB_STEP_SUMMARY=str(merged_summary)))
        assert merged.returncode == 0, merged.stdout + merged.stderr
        assert "::warning::frugal: " in merged.stdout and "costlier than its parent" in merged.stdout
        assert "### Regressions" in merged_summary.read_text()


def test_the_workflow_parses_and_every_script_it_names_exists() -> None:
    text = WORKFLOW.read_text()
    named = {line.split("examples/github-actions/")[1].split()[0]
             for line in text.splitlines() if "examples/github-actions/" in line and "run:" in line}
    assert named == set(STEPS)
    assert all((RECIPE / s).is_file() for s in named)
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the workflow's syntax is not checked")
    flow = yaml.safe_load(text)
    steps = flow["jobs"]["frugal"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert [r.split("/")[-1] for r in runs if "examples/" in r] == list(STEPS)
    # YAML reads the key "on" as True (YAML 1.1), so look it up both ways
    triggers = flow.get("on", flow.get(True))
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    caches = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/")]
    assert [c["uses"].split("@")[0] for c in caches] == ["actions/cache/restore", "actions/cache/save"]
    assert "frugal-main-" in caches[0]["with"]["restore-keys"]
    assert "refs/heads/main" in caches[1]["if"]
