"""Two commits of a store compared name by name (what ``frugal check`` runs in CI): the runs of the
base commit against those of the head commit, with frugal's one ratio, and the report of it.
"""
from __future__ import annotations

import dataclasses
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frugal import stats
from frugal.analysis.ratios import Ratio, against_baseline
from frugal.analysis.thresholds import METRICS, Threshold, parse_threshold
from frugal.analysis.verdicts import ALPHA, level_text
from frugal.units import format_change, format_count, format_quantity, format_ratio

DEFAULT_FAIL = "energy_j:10%"     # the threshold when none is given
MAX_CHARS = 60_000                 # a report's length at most (GitHub's step summary takes 1 MiB; a page stays readable)
TITLE = "## frugal check"         # the report's first line, always the same (an existing report may be replaced)


@dataclass(frozen=True)
class Change:
    """One name's metric, head against base: the medians (in the metric's unit), the ``Ratio``
    (head / base, its interval at the family's level, ``n`` = (head, base) values), and the
    ``threshold`` it was held to (None for an improvement, which is tested against 1)."""

    name: str
    metric: str
    base_median: float
    head_median: float
    ratio: Ratio
    threshold: Threshold | None

    def cells(self) -> list[str]:
        """Name, metric, base and head medians, change, interval and runs, as text."""
        unit = METRICS[self.metric]
        r = self.ratio
        return [self.name, self.metric, format_quantity(self.base_median, unit), format_quantity(self.head_median, unit),
                format_change(r.ratio, 1), f"{format_ratio(r.ci_low)}-{format_ratio(r.ci_high)}x",
                f"{r.n[1]} / {r.n[0]}"]


@dataclass
class CheckResult:
    """What ``check`` found: ``regressions`` (grew significantly, and past their threshold; worst
    first: largest ratio over its allowed ratio), ``improvements`` (shrank significantly,
    largest drop first), names only on one side (``added``: head only; ``removed``: base
    only), the ``unchanged`` names (measured on both sides, neither), of which ``untested``
    had fewer than ``MIN_RUNS`` values on a side or a zero median; ``paired``: the (name,
    metric) whose runs ran in rounds (``in_rounds``), compared round by round."""

    base: str
    head: str
    thresholds: tuple[Threshold, ...]
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    untested: int = 0
    level: float = math.nan
    paired: set[tuple[str, str]] = field(default_factory=set)

    @property
    def failed(self) -> bool:
        """True when a metric grew significantly by more than its threshold."""
        return bool(self.regressions)

    def _heading(self) -> list[str]:
        fails = ", ".join(str(t) for t in self.thresholds)
        level = level_text(self.level) if math.isfinite(self.level) else "bootstrap"
        rounds = f" Runs in rounds, resampled round by round: {len(self.paired)}." if self.paired else ""
        return [f"base {self.base[:12]} -> head {self.head[:12]}; fails on {fails}: when the ratio of medians "
                f"is past the threshold and its {level} interval excludes 1 (decided across all names and "
                f"metrics).{rounds}",
                f"**{len(self.regressions)} regression(s)**, {len(self.improvements)} improvement(s), "
                f"{len(self.added)} added, {len(self.removed)} removed, {self.unchanged} unchanged."]

    def markdown(self, max_chars: int = MAX_CHARS) -> str:
        """The report as Markdown, at most ``max_chars`` characters: regressions (worst first),
        improvements, added and removed names, one line counting the unchanged; rows past the
        limit are cut, and a line says how many."""
        head = [TITLE, "", *self._heading(), ""]
        columns = "| name | metric | base | head | change | interval | runs (base / head) |"
        sections: list[tuple[str, list[str]]] = []
        for title, changes in (("Regressions", self.regressions), ("Improvements", self.improvements)):
            if changes:
                rows = ["| " + " | ".join(_cell(c) for c in change.cells()) + " |" for change in changes]
                sections.append((f"### {title}\n\n{columns}\n|---|---|---:|---:|---:|---:|---:|", rows))
        for title, names in (("Added (head only)", self.added), ("Removed (base only)", self.removed)):
            if names:
                # a list item, not a table cell: only a line break would break it
                sections.append((f"### {title}\n", [f"- `{n}`".replace("\n", " ") for n in names]))
        tail = [f"{self.unchanged} name(s) unchanged"
                + (f" ({self.untested} with too few runs to test: {stats.MIN_RUNS} a side are needed)."
                   if self.untested else ".")]
        total = sum(len(rows) for _, rows in sections)
        # room for the cut line, whatever the count it names
        budget = max_chars - len("\n".join(head + tail)) - 200
        out, kept = list(head), 0
        for title, rows in sections:
            if budget < len(title) + 2:
                break
            out += [title]
            budget -= len(title) + 1
            for row in rows:
                if budget < len(row) + 1:
                    break
                out.append(row)
                budget -= len(row) + 1
                kept += 1
            out.append("")
            budget -= 1
        if kept < total:
            out += [f"*{format_count(total - kept)} row(s) left out to keep this report under "
                    f"{format_count(max_chars)} characters.*", ""]
        return "\n".join(out + tail) + "\n"

    def text(self) -> str:
        """The report as plain text, every row (for a terminal or a log)."""
        lines = [f"frugal check: {self._heading()[0]}", self._heading()[1].replace("**", "")]
        for title, changes in (("regression", self.regressions), ("improvement", self.improvements)):
            for c in changes:
                name, metric, old, new, change, ci, runs = c.cells()
                lines.append(f"{title}: {name} {metric} {old} -> {new} ({change}, interval {ci}, runs {runs})")
        lines += [f"added: {n}" for n in self.added] + [f"removed: {n}" for n in self.removed]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: commits, thresholds, each change, names added and removed, counts."""
        def change(c: Change) -> dict[str, Any]:
            r = c.ratio
            return {"name": c.name, "metric": c.metric, "base_median": c.base_median, "head_median": c.head_median,
                    "ratio": r.ratio, "ci_low": r.ci_low, "ci_high": r.ci_high, "n_base": r.n[1], "n_head": r.n[0],
                    "threshold": None if c.threshold is None else str(c.threshold)}
        return {"base": self.base, "head": self.head, "failed": self.failed,
                "ci_level": self.level if math.isfinite(self.level) else None,
                "thresholds": [str(t) for t in self.thresholds],
                "regressions": [change(c) for c in self.regressions],
                "improvements": [change(c) for c in self.improvements],
                "added": self.added, "removed": self.removed, "unchanged": self.unchanged, "untested": self.untested}


def _cell(text: str) -> str:
    # a name may hold what Markdown reads as a column break or a line break
    return text.replace("|", "\\|").replace("\n", " ")


def thresholds_of(fail: Sequence[str | Threshold] | None, option: str = "--fail") -> tuple[Threshold, ...]:
    """``fail`` as thresholds (``parse_threshold`` for text); ``DEFAULT_FAIL`` when None or empty."""
    given = list(fail) if fail else [DEFAULT_FAIL]
    out = []
    for t in given:
        if isinstance(t, Threshold):
            out.append(t)
        elif isinstance(t, str):
            out.append(parse_threshold(t, option))
        else:
            raise TypeError(f"{option} must be text such as {DEFAULT_FAIL!r} or a Threshold, got {type(t).__name__}")
    return tuple(out)


def commits_of(store: str | os.PathLike[str], base: str, head: str,
               repo: str | os.PathLike[str] | None = None) -> tuple[str, str, Any]:
    """The full commits that ``base`` and ``head`` name (``resolve``) and the store's runs.
    ValueError (listing the known commits and branches) for an unknown ref or a store without
    commits, and when both name the same commit."""
    from frugal.history.commits import resolve
    from frugal.store.read import load_runs

    for argument, ref in (("base", base), ("head", head)):
        if not isinstance(ref, str) or not ref:
            raise ValueError(f"{argument} must be a commit, a prefix, a branch or a run id, got {ref!r}")
    runs = load_runs(store)
    base_id, head_id = resolve(base, runs, repo), resolve(head, runs, repo)
    if base_id == head_id:
        raise ValueError(f"base {base!r} and head {head!r} name the same commit {base_id[:12]}: nothing to compare")
    return base_id, head_id, runs


def in_rounds(head: tuple[np.ndarray, np.ndarray], base: tuple[np.ndarray, np.ndarray]) -> \
        tuple[np.ndarray, np.ndarray] | None:
    """When the two sides ran interleaved in rounds, as ``frugal compare --rev`` runs them, the
    indices of each side's values, one row per round; else None. ``head``, ``base``: each
    value's start time and run (ns, and a number per run id).

    A side's unit is a run when it has several (a measured script: each process one run of
    calls), else a value (``compare --rev`` stores a revision's runs as one run). Rounds: the
    units of each side sorted by start, as many on both sides (``MIN_RUNS`` or more) and of
    one size, the k-th of each ending before either (k+1)-th begins. Both sides of a round
    share the machine's state at that moment (a shared runner's slow phases last seconds)."""
    ordered = []
    for t, run in (head, base):
        if len(t) == 0:
            return None
        unit = run if len(np.unique(run)) > 1 else np.arange(len(run))
        _, index, sizes = np.unique(unit, return_inverse=True, return_counts=True)
        if (sizes != sizes[0]).any():
            return None            # units of different sizes: no rounds to draw whole
        by_unit = np.argsort(index, kind="stable").reshape(len(sizes), sizes[0])
        ordered.append(by_unit[np.argsort(t[by_unit].min(axis=1), kind="stable")])
    (h, b), (th, tb) = ordered, (head[0], base[0])
    if h.shape != b.shape or len(h) < stats.MIN_RUNS:
        return None
    ends, starts = np.maximum(th[h].max(axis=1), tb[b].max(axis=1)), np.minimum(th[h].min(axis=1), tb[b].min(axis=1))
    return (h, b) if (ends[:-1] < starts[1:]).all() else None


def check(store: str | os.PathLike[str], base: str, head: str, fail: Sequence[str | Threshold] | None = None, *,
          repo: str | os.PathLike[str] | None = None, seed: int = 0, alpha: float = ALPHA) -> CheckResult:
    """Compare the runs of commit ``base`` with those of ``head``, name by name.

    For each name measured on both sides and each threshold of ``fail`` (``energy_j:10%`` by
    default), the ratio of medians r = median(head) / median(base) of the name's successful
    single calls (``per_commit_with``), with its bootstrap interval, decided by ``against_baseline``
    over the family of every name x metric (Benjamini-Hochberg at ``alpha``). A regression:
    r changed significantly (its interval excludes 1) and r exceeds the threshold's allowed
    ratio (1 + 10%, or 1 + amount / median(base)), the rule of asv (significant and past a
    factor): the threshold is the smallest change that matters, the interval says it is not
    noise. (Asking the interval itself to clear the threshold would miss a 15% growth
    against a 10% threshold unless each side had some 150 runs at the 10% spread of a shared
    runner.) An improvement: r changed significantly and is below 1. Where the two sides ran in
    rounds (``in_rounds``: ``frugal compare --rev``), r is the median of the rounds' ratios (a
    round's head median / its base median), bootstrapped over rounds: a slow phase of the runner
    that both sides of a round share cancels in its ratio. Fewer than ``MIN_RUNS`` values on a side, or a zero median, is not tested. ``seed`` seeds the bootstrap (with each name and
    metric), so a check repeats exactly.
    """
    from frugal.history.commits import per_commit_with
    from frugal.store.read import load

    thresholds = thresholds_of(fail)
    base_id, head_id, runs = commits_of(store, base, head, repo)
    run_ids = runs.loc[runs["git_commit"].isin([base_id, head_id]), "run_id"].astype(str).tolist()
    frame = load(store, run=run_ids)
    metrics = sorted({t.metric for t in thresholds})
    # metric -> name -> commit -> the values, and beside them each value's start (ns) and run
    # (a number), to see whether the two commits ran in rounds
    sides: dict[str, dict[str, dict[str, tuple[np.ndarray, list[np.ndarray]]]]] = {m: {} for m in metrics}
    seen: dict[str, set[str]] = {base_id: set(), head_id: set()}
    started = frame["started_at"].astype("int64").to_numpy(dtype="float64")
    run_number = frame["run_id"].astype("category").cat.codes.to_numpy(dtype="float64")
    for metric in metrics:
        if metric not in frame.columns:
            raise ValueError(f"--fail names {metric!r}, which this store does not record")
        for name, series in per_commit_with(frame, metric, (started, run_number), repo=repo).items():
            sides[metric][name] = {commit: (values, beside) for commit, values, beside in series}
            for commit, _, _ in series:
                seen[commit].add(name)
    result = CheckResult(base_id, head_id, thresholds)
    result.added = sorted(seen[head_id] - seen[base_id])
    result.removed = sorted(seen[base_id] - seen[head_id])
    both = sorted(seen[base_id] & seen[head_id])

    moved: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    grouped: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}   # by round (rows), where in rounds
    untested: set[str] = set()
    none = (np.empty(0), [np.empty(0), np.empty(0)])     # a name without a value of this metric on a side
    for name in both:
        for metric in metrics:
            got = sides[metric].get(name, {})
            (x, (x_at, x_run)), (y, (y_at, y_run)) = got.get(head_id, none), got.get(base_id, none)
            if min(len(x), len(y)) < stats.MIN_RUNS or not float(np.median(y)) > 0:
                untested.add(name)
                continue
            moved[name, metric] = (x, y)
            rounds = in_rounds((x_at, x_run), (y_at, y_run))
            if rounds is not None:
                grouped[name, metric] = (x[rounds[0]], y[rounds[1]])
                result.paired.add((name, metric))
    n_boot = stats.replicates_for(len(moved), alpha)

    # in rounds: each round's ratio (its head median / its base median) against 1, so that the
    # ratio is the median of the rounds' ratios and the bootstrap draws whole rounds
    tested = dict(moved)
    for key, (gx, gy) in grouped.items():
        tested[key] = (np.median(gx, axis=1) / np.median(gy, axis=1), np.ones(len(gx)))

    def medians(key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        # seeded by the name and metric: a check repeats exactly
        name, metric = key
        seeds = [seed, zlib.crc32(f"{name}|{metric}".encode("utf-8", "backslashreplace"))]
        x, y = tested[key]
        if key in grouped:
            return stats.resample_medians(x, n_boot, seeds + [0]), np.ones(n_boot)
        return stats.resample_medians(x, n_boot, seeds + [0]), stats.resample_medians(y, n_boot, seeds + [1])

    decided = against_baseline(tested, medians, alpha)
    for key in grouped:     # the runs behind the rounds' ratios
        decided[key] = dataclasses.replace(decided[key], n=(len(moved[key][0]), len(moved[key][1])))
    levels = [r.ci_level for r in decided.values() if math.isfinite(r.ci_level)]
    result.level = min(levels) if levels else math.nan
    flagged: set[str] = set()
    past: dict[tuple[str, Threshold], float] = {}      # how far past its allowed ratio, for the order
    for (name, metric), r in decided.items():
        if not r.significant:
            continue
        x, y = moved[name, metric]
        old, new = float(np.median(y)), float(np.median(x))
        if r.ratio < 1:
            result.improvements.append(Change(name, metric, old, new, r, None))
            flagged.add(name)
        for t in thresholds:
            if t.metric == metric and r.ratio > t.limit(old):
                result.regressions.append(Change(name, metric, old, new, r, t))
                past[name, t] = r.ratio / t.limit(old)
                flagged.add(name)
    # worst first: furthest past what the threshold allows; then the largest drops
    result.regressions.sort(key=lambda c: (-past[c.name, c.threshold] if c.threshold else 0.0, c.name))
    result.improvements.sort(key=lambda c: (c.ratio.ratio, c.name))
    result.unchanged = len(set(both) - flagged)
    result.untested = len(untested - flagged)
    return result
