"""Does `frugal compare --rev A --rev B` then `frugal check --fail cpu_s:10%` pass when B costs
what A costs, and fail when B does 15% more CPU work?

    python benchmarks/compare_rev.py [--repeat 20] [--runs 60] [--work 0.3]

A temporary git repository holds a small benchmark script (a pure-Python loop of about
``--work`` CPU seconds) at three commits: A; B0, which changes only a comment; B15, whose loop
does 15% more iterations. Each repetition stores into a fresh store `frugal compare --rev A
--rev B --runs N --seed i -- python bench.py` (real processes, real worktrees), then runs
`frugal check STORE --base A --head B --fail cpu_s:10%`, and counts its exit status: 0 a pass,
1 a failure. Printed: passes of B0 out of the repetitions (the aim: all) and failures of B15
(the aim: all but at most one in 20).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FRUGAL = [sys.executable, "-m", "frugal"]
SCRIPT = """# a benchmark: a pure-Python loop
n = {n}
x = 0
for i in range(n):
    x += i * i
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(repo: Path, n: int) -> tuple[str, str, str]:
    """The commits A, B0 (a comment changed) and B15 (15% more iterations)."""
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "user.name", "bench")
    commits = []
    for text in (SCRIPT.format(n=n), SCRIPT.format(n=n).replace("a benchmark", "the benchmark"),
                 SCRIPT.format(n=round(n * 1.15))):
        (repo / "bench.py").write_text(text)
        git(repo, "add", "bench.py")
        git(repo, "commit", "-q", "-m", "bench")
        commits.append(git(repo, "rev-parse", "HEAD"))
    return commits[0], commits[1], commits[2]


def one(repo: Path, base: str, head: str, seed: int, runs: int) -> tuple[int, float]:
    """The exit status of `frugal check` after `frugal compare --rev base --rev head`, and the
    ratio it judged: the median of the rounds' CPU time ratios (head / base)."""
    from frugal.store.read import load, load_runs

    store = repo.parent / f"s{seed}-{head[:7]}.db"
    subprocess.run([*FRUGAL, "compare", "--rev", base, "--rev", head, "--runs", str(runs), "--seed", str(seed),
                    "--store", str(store), "--", sys.executable, "bench.py"],
                   cwd=repo, check=True, capture_output=True)
    out = subprocess.run([*FRUGAL, "check", str(store), "--base", base, "--head", head, "--fail", "cpu_s:10%"],
                         cwd=repo, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"frugal check failed: {out.stderr}")
    commit = load_runs(store).set_index("run_id")["git_commit"]
    rows = load(store)
    rows = rows[rows["run_id"].astype(str).map(commit).isin([head, base])]
    side = {c: rows[rows["run_id"].astype(str).map(commit) == c].sort_values("started_at")["cpu_s"].to_numpy()
            for c in (head, base)}
    return out.returncode, float(np.median(side[head] / side[base]))    # each round's ratio: what check judges


def _case(repo: Path, base: str, head: str, repeat: int, runs: int, status: int, what: str) -> None:
    results = [one(repo, base, head, seed, runs) for seed in range(repeat)]
    hits = sum(code == status for code, _ in results)
    ratios = np.array([r for _, r in results])
    print(f"{what}: {hits} of {repeat} (median of the rounds' CPU ratios: median {np.median(ratios):.3f}, "
          f"range {ratios.min():.3f}-{ratios.max():.3f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="repetitions of each case (default 20)")
    parser.add_argument("--runs", type=int, default=60, help="measured runs per revision (default 60)")
    parser.add_argument("--work", type=float, default=0.3, help="CPU seconds of A's loop, roughly (default 0.3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", SCRIPT.format(n=10**6)], check=True)
        per_iteration = (time.perf_counter() - t0) / 10**6      # an upper bound: startup included
        a, b0, b15 = make_repo(repo, max(10**4, round(args.work / per_iteration)))
        start = time.perf_counter()
        _case(repo, a, b0, args.repeat, args.runs, 0, "B equals A (a comment changed): frugal check passed")
        _case(repo, a, b15, args.repeat, args.runs, 1, "B does 15% more CPU work: frugal check failed")
        print(f"({args.runs} runs per revision; {time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
