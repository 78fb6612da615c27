"""The steps in each name's history across commits: where a metric's per-commit medians change
level (``frugal.stats.change_points``), by how much (a ratio of medians with a bootstrap interval)
and whether that is a regression or an improvement."""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal import stats
from frugal.history.commits import _frame, _first_runs, _with_commit, per_commit

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("name", "metric", "before", "after", "ratio", "ci_low", "ci_high", "significant", "direction",
           "before_date", "after_date", "n_before", "n_after")
"""The columns of ``regressions``' frame, in order."""

CONFIDENCE = 0.95
"""The level of each step's ratio interval."""

SEED = 2026
"""The default seed of the bootstrap: the same store gives the same intervals."""


def regressions(data: Any, metric: str = "energy_j", *, by: str = "name", min_change: float = 0.05,
                repo: str | os.PathLike[str] | None = None, seed: int = SEED) -> pd.DataFrame:
    """One row per step in a name's history across commits, regressions first, worst first.

    ``data``: a store path or a frame from ``frugal.load``; ``metric``: a numeric column
    (``energy_j`` in J, ``cpu_s`` in s, ...); ``by``: the column naming a series (its values fill
    the ``name`` column); ``repo``: the git repository that orders the commits
    (``frugal.history.commits.commit_order``; default the working directory).

    Per name: the medians of its values at each commit (``per_commit``: successful single calls),
    in commit order, and ``change_points`` on that series. A step at commit k separates the
    segment before (commits of the previous change point up to k - 1) from the one after (k up
    to the next change point): ``before`` is the last commit of the first, ``after`` the first
    of the second, ``before_date``/``after_date`` the start of each one's first run (UTC).
    ``ratio`` = median(values of the segment after) / median(values of the segment before),
    unitless, over every call of the segments' commits (``n_after``, ``n_before`` of them);
    ``ci_low``, ``ci_high``: its percentile-bootstrap interval at ``CONFIDENCE``
    (``frugal.stats.bootstrap_ratio_ci``, seeded by ``seed`` and the step: reproducible);
    ``significant``: the interval excludes 1; ``direction``: ``"regression"`` when ratio > 1,
    else ``"improvement"``. Steps with |ratio - 1| < ``min_change`` are dropped. A name whose
    medians are not all above 0 has no ratio to speak of (the change points are found on logs)
    and gives no row. Order: regressions by ratio, largest first, then improvements by ratio,
    smallest first. No step: an empty frame with the same columns.

    A ValueError names the argument: an unknown or non-numeric ``metric`` or ``by``,
    ``min_change`` below 0 or not a finite number, ``data`` whose runs have no git commit.
    """
    import pandas as pd

    if not isinstance(min_change, (int, float)) or isinstance(min_change, bool) or not math.isfinite(min_change) \
            or min_change < 0:
        raise ValueError(f"min_change must be a finite number of at least 0 (a share: 0.05 is 5%), got {min_change!r}")
    frame = _frame(data, "data", "load")
    if not _with_commit(frame)[0].any():
        raise ValueError("data has no run with a git commit: regressions are found across commits, so measure "
                         "inside a git repository (or set FRUGAL_GIT_COMMIT)")
    series = per_commit(frame, metric, by=by, repo=repo)
    first, _ = _first_runs(frame, "data")
    rows: list[dict[str, Any]] = []
    for position, (name, commits) in enumerate(sorted(series.items())):
        medians = np.array([np.median(values) for _, values in commits])
        if not (medians > 0).all():
            continue
        starts = stats.change_points(medians)
        bounds = [0, *starts, len(commits)]
        for i, at in enumerate(starts):
            before = np.concatenate([v for _, v in commits[bounds[i]:at]])
            after = np.concatenate([v for _, v in commits[at:bounds[i + 2]]])
            ratio = stats.median_ratio(after, before)
            if not math.isfinite(ratio) or abs(ratio - 1) < min_change:
                continue
            low, high = stats.bootstrap_ratio_ci(after, before, CONFIDENCE, seed=[seed, position, i])
            b, a = commits[at - 1][0], commits[at][0]
            rows.append({"name": name, "metric": metric, "before": b, "after": a, "ratio": ratio,
                         "ci_low": low, "ci_high": high, "significant": bool(low > 1 or high < 1),
                         "direction": "regression" if ratio > 1 else "improvement",
                         "before_date": first.get(b), "after_date": first.get(a),
                         "n_before": len(before), "n_after": len(after)})
    # regressions (ratio > 1) first, the largest first; then improvements, the largest first
    rows.sort(key=lambda r: (r["direction"] != "regression", -r["ratio"] if r["ratio"] > 1 else r["ratio"]))
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out.astype({"ratio": "float64", "ci_low": "float64", "ci_high": "float64", "significant": "bool",
                       "n_before": "int64", "n_after": "int64"})
