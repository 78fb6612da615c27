"""How well ``frugal.stats.change_points`` finds a step in a series of per-commit values.

    python benchmarks/regressions.py [--series 1000] [--seed 2026] [--penalty C] [--min-size M]
                                     [--commits 500] [--names 50] [--no-ruptures]

Over ``--series`` seeded series each (issue 28):
(a) 200 commits with lognormal noise of CV 5% and one +10% step at a random commit in
    [20, 180]: the share where a step is reported (target >= 99%) and where the first one
    reported is within ±3 commits of the true one (target >= 95%);
(b) the same series without a step: the share where any step is reported (target <= 1%);
(c) on the series of (a) and (b): the share where ``ruptures``' PELT (``model="l2"``,
    ``jump=1``, the same minimum size and penalty, on the log values) gives the same change
    points (target >= 95%), and in how many of the others ruptures' answer has the higher cost
    (its pruning is not exact with a minimum segment size).
(d) a real store of ``--commits`` runs (one per commit) x ``--names`` names, ``CALLS`` calls of
    each name a run, energy lognormal of CV 5% with a +10% step at a random commit for one name in
    ten: the time of ``frugal.regressions`` on the store's path (reading it included), best of
    3 (target <= 2 s for 500 x 50), and how many of the steps it reports at their commit.
``--penalty`` and ``--min-size`` replace the defaults (``stats.PENALTY``, ``stats.MIN_SEGMENT``),
to see how the figures move with them. Figures go in benchmarks/README.md ("Change points").
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import frugal
from frugal import stats

COMMITS = 200
CV = 0.05
STEP = 1.10
FIRST, LAST = 20, 180
WITHIN = 3
CALLS = 3                   # calls of each name per run in (d)
TARGET_S = 2.0              # (d): frugal.regressions on 500 commits x 50 names


def series(rng: np.random.Generator, step_at: int | None) -> np.ndarray:
    """``COMMITS`` lognormal values of CV 5% (σ of the log = √ln(1 + CV²)), times ``STEP`` from ``step_at`` on."""
    x = rng.lognormal(0.0, math.sqrt(math.log1p(CV**2)), COMMITS)
    if step_at is not None:
        x[step_at:] *= STEP
    return x


def ruptures_points(x: np.ndarray, min_size: int, penalty: float) -> list[int]:
    """ruptures' PELT on ln x with the penalty of ``stats.change_point_penalty``, as start indices."""
    import ruptures

    pen = stats.change_point_penalty(x, penalty)
    return [int(b) for b in ruptures.Pelt(model="l2", min_size=min_size, jump=1).fit(np.log(x)).predict(pen=pen)[:-1]]


def cost(x: np.ndarray, starts: list[int], pen: float) -> float:
    """The objective both minimise: Σ over segments of ln x of (squared deviations from the mean + pen)."""
    bounds = [0, *starts, len(x)]
    return sum(float(((y - y.mean()) ** 2).sum()) + pen for y in np.split(np.log(x), bounds[1:-1]))


def mark(value: float, target: float, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    return f"(target {'>=' if at_least else '<='} {target:.0%}: {'met' if met else 'NOT met'})"


def scale_store(path: Path, rng: np.random.Generator, commits: int, names: int) -> tuple[list[str], dict[str, int]]:
    """(d)'s store at ``path``: one run per commit (made-up ids, a second apart), ``CALLS`` measured
    calls of each name a run with ``energy_j`` replaced by seeded values. Returns the commits, oldest
    first, and the planted steps: {name: index of the first commit after the step}."""
    from frugal.frames.columns import log_columns
    from frugal.store.run_info import new_run
    from frugal.store.sqlite import Store

    frugal.clear()
    labels = [f"bench.name_{k:02d}" for k in range(names)]
    for label in labels:            # real rows, measured once and stored again with new values
        for _ in range(CALLS):
            with frugal.measure(label):
                pass
    cols = log_columns()
    frugal.clear()
    ids = [f"{i + 1:040x}" for i in range(commits)]
    steps = {label: int(rng.integers(FIRST * commits // COMMITS, LAST * commits // COMMITS + 1))
             for label in labels[::10]}
    at = np.array([steps.get(label, commits) for label in labels for _ in range(CALLS)])
    sigma = math.sqrt(math.log1p(CV**2))
    store = Store(path)
    t0 = 1_780_000_000 * 10**9
    for i, commit in enumerate(ids):
        run = new_run("regressions-benchmark", git=(commit, "main"))
        run["started_at"] = t0 + i * 10**9
        store.append(run, {**cols, "energy_j": rng.lognormal(0.0, sigma, len(at)) * np.where(i >= at, STEP, 1.0)})
    return ids, steps


def scale(rng: np.random.Generator, commits: int, names: int) -> None:
    """(d): the time of ``frugal.regressions`` on a store of ``commits`` x ``names``, best of 3."""
    with tempfile.TemporaryDirectory() as folder:
        here = os.getcwd()
        os.chdir(folder)            # outside any repository: the commits go by their first run
        try:
            path = Path(folder) / "frugal.db"
            ids, planted = scale_store(path, rng, commits, names)
            best = math.inf
            for _ in range(3):
                t0 = time.perf_counter()
                found = frugal.regressions(path)
                best = min(best, time.perf_counter() - t0)
        finally:
            os.chdir(here)
    index = {c: i for i, c in enumerate(ids)}
    hits = sum(str(row.name) in planted and abs(index[str(row.after)] - planted[str(row.name)]) <= WITHIN
               for row in found.itertuples())
    full = commits >= 500 and names >= 50
    met = ("met" if best <= TARGET_S else "NOT met") if full else "not this size"
    print(f"(d) frugal.regressions on {commits} commits x {names} names ({CALLS} calls each a run): {best:.2f} s, "
          f"best of 3 (target <= {TARGET_S:g} s for 500 x 50: {met}); {len(found)} step(s) reported, "
          f"{hits} of the {len(planted)} planted +{STEP - 1:.0%} steps within ±{WITHIN} commits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--penalty", type=float, default=stats.PENALTY)
    parser.add_argument("--min-size", type=int, default=stats.MIN_SEGMENT)
    parser.add_argument("--no-ruptures", action="store_true", help="skip (c)")
    parser.add_argument("--commits", type=int, default=500, help="(d): commits of the store")
    parser.add_argument("--names", type=int, default=50, help="(d): names of the store")
    args = parser.parse_args()
    if args.series < 1:
        parser.error("--series must be at least 1")
    if args.commits < 2 * COMMITS // 10 or args.names < 1:
        parser.error(f"--commits must be at least {2 * COMMITS // 10} and --names at least 1")
    rng = np.random.default_rng(args.seed)
    n = args.series
    print(f"Python {sys.version.split()[0]}, frugal {frugal.__version__}, {n} series of {COMMITS} commits each, "
          f"CV {CV:.0%}, penalty c = {args.penalty:g}, min_size = {args.min_size}")
    found = placed = alarms = agree = costlier = 0
    within2 = 0
    seconds = 0.0
    for _ in range(n):
        true = int(rng.integers(FIRST, LAST + 1))
        for step_at in (true, None):
            x = series(rng, step_at)
            t0 = time.perf_counter()
            points = stats.change_points(x, min_size=args.min_size, penalty=args.penalty)
            seconds += time.perf_counter() - t0
            if step_at is None:
                alarms += bool(points)
            elif points:
                found += 1
                placed += abs(points[0] - true) <= WITHIN
                within2 += abs(points[0] - true) <= 2
            if not args.no_ruptures:
                theirs = ruptures_points(x, args.min_size, args.penalty)
                agree += points == theirs
                pen = stats.change_point_penalty(x, args.penalty)
                costlier += points != theirs and cost(x, theirs, pen) > cost(x, points, pen)
    print(f"(a) +10% step reported: {found / n:.1%} {mark(found / n, 0.99, True)}")
    print(f"(a) first step within ±{WITHIN} commits of the true one: {placed / n:.1%} {mark(placed / n, 0.95, True)}"
          f"; within ±2: {within2 / n:.1%}")
    print(f"(b) no step, any step reported: {alarms / n:.1%} {mark(alarms / n, 0.01, False)}")
    if not args.no_ruptures:
        share = agree / (2 * n)
        print(f"(c) same change points as ruptures' PELT ({2 * n} series of (a) and (b)): {share:.1%} "
              f"{mark(share, 0.95, True)}; where they differ, ruptures' segmentation costs more in "
              f"{costlier} of {2 * n - agree}")
    print(f"change_points: {seconds / (2 * n) * 1e3:.2f} ms a series of {COMMITS} (mean)")
    scale(rng, args.commits, args.names)


if __name__ == "__main__":
    main()
