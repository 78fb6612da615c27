"""The dashboard's first section for a store, "Changes across commits": every step that
``frugal.regressions`` finds in each name's history of energy, CPU time and wall time,
regressions first, and the marks that the trend charts draw at those steps."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from frugal.frames.frame import floats
from frugal.history.regressions import CONFIDENCE, regressions
from frugal.pages import html as P
from frugal.pages.html import e
from frugal.units import counted, format_change, format_count

METRICS = (("energy_j", "energy"), ("cpu_s", "CPU time"), ("wall_s", "wall time"))
"""The metrics searched for steps, with the words the page uses for them."""

MIN_CHANGE = 0.05     # steps smaller than 5% are not listed (frugal.regressions' default)
STEPS_LISTED = 100    # the table lists this many steps at most (regressions first); the rest are counted


@dataclass
class Changes:
    """The section's HTML and, per name, ``{commit: label}`` for the trend charts' marks."""

    html: str
    marks: dict[str, dict[str, str]] = field(default_factory=dict)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, pd.Timestamp) else "date unknown"


def _steps(frame: pd.DataFrame, by: str) -> tuple[pd.DataFrame, list[str]]:
    """Every metric's steps in one frame, regressions first (largest first), then improvements
    (largest first); and a note for each metric that could not be searched."""
    found, notes = [], []
    for metric, word in METRICS:
        if metric not in frame.columns or not pd.notna(pd.Series(floats(frame[metric]))).any():
            continue
        try:
            found.append(regressions(frame, metric, by=by, min_change=MIN_CHANGE))
        except ValueError as exc:      # e.g. a column that is not numeric: said on the page, the rest shown
            notes.append(f"No {word} steps: {exc}")
    rows = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) else None
    if rows is None:
        return pd.DataFrame(), notes
    regression = rows["direction"] == "regression"
    # the order of frugal.regressions, across metrics: the largest change first on each side
    rows = rows.assign(_worse=~regression, _size=rows["ratio"].where(~regression, -rows["ratio"]))
    return rows.sort_values(["_worse", "_size"], kind="stable").reset_index(drop=True), notes


def changes_section(frame: pd.DataFrame, by: str) -> Changes:
    """The "Changes across commits" section of a stored frame (with ``run_id`` and ``git_commit``).

    A step: a change of at least MIN_CHANGE in a name's per-commit medians of a metric of
    METRICS (``frugal.regressions``: change points on the medians in commit order; ratio =
    median after / median before over the calls of the two segments, with its bootstrap CI).
    Without commits in the store, the section says so and how to give one.
    """
    commits = frame["git_commit"].dropna().astype("string") if "git_commit" in frame.columns \
        else pd.Series([], dtype="string")
    n = int(commits.nunique())
    if n == 0:
        return Changes("<p>These runs have no git commit, so nothing can be compared across commits. Measure "
                       "inside a git repository, or give each run its commit: set FRUGAL_GIT_COMMIT (and "
                       "FRUGAL_GIT_BRANCH) in the environment of the measured program.</p>")
    if n == 1:
        one = f"All runs with a commit are of one commit ({str(commits.iloc[0])[:7]}): steps are found across two or more."
        return Changes(f"<p>{e(one)}</p>")
    rows, notes = _steps(frame, by)
    words = ", ".join(w for _, w in METRICS[:-1]) + f" or {METRICS[-1][1]}"
    rule = (f"A step: where a {by}'s per-commit median changes level by {MIN_CHANGE:.0%} or more (change points "
            f"on the medians in commit order, frugal.regressions); ratio = median after / median before, over "
            f"every call of the commits on each side, with its {CONFIDENCE:.0%} bootstrap interval.")
    parts = [f'<p class="missing">{e(n_)}</p>' for n_ in notes]
    if rows.empty:
        parts.insert(0, f"<p>{e(f'No step found in {words} over {format_count(n)} commits.')}</p>")
        parts.append(f'<p class="missing">{e(rule)}</p>')
        return Changes("".join(parts))
    worse = int((rows["direction"] == "regression").sum())
    head = (f"{counted(len(rows), 'step')} over {counted(n, 'commit')}: {counted(worse, 'regression')}, "
            f"{counted(len(rows) - worse, 'improvement')}.")
    body: list[list[str | tuple[str, str]]] = []
    for r in rows.head(STEPS_LISTED).itertuples():
        word = dict(METRICS)[r.metric]
        # two decimals for the ratio and its bounds alike: a step is 5% or more, so they tell steps apart
        ci = f" [{r.ci_low:.2f}, {r.ci_high:.2f}]" if math.isfinite(r.ci_low) and math.isfinite(r.ci_high) else ""
        verdict = r.direction + ("" if r.significant else " (interval includes 1)")
        body.append([("name", f'<span title="{e(str(r.name))}">{e(str(r.name))}</span>'), e(word), e(verdict),
                     e(f"{str(r.before)[:7]} ({_when(r.before_date)}) → {str(r.after)[:7]} ({_when(r.after_date)})"),
                     e(f"{format_change(r.ratio)}: {r.ratio:.2f}x{ci}")])
    parts = [f"<p>{e(head)}</p>", P.table([by, "Metric", "Change", "Commits: before → after (first run, UTC)",
                                          f"Ratio [{CONFIDENCE:.0%} CI]"], body)] + parts
    if len(rows) > STEPS_LISTED:
        parts.append(f"<p>{e(f'{format_count(len(rows) - STEPS_LISTED)} smaller steps not listed.')}</p>")
    parts.append(f'<p class="missing">{e(rule)} Trend charts below mark each step at its first commit.</p>')
    marks: dict[str, dict[str, str]] = {}
    for r in rows.itertuples():
        at = marks.setdefault(str(r.name), {})
        label = f"{dict(METRICS)[r.metric]} {format_change(r.ratio)}"
        at[str(r.after)] = f"{at[str(r.after)]}, {label}" if str(r.after) in at else label
    return Changes("".join(parts), marks)
