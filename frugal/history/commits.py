"""The commits of a store's runs in order, the commit a ref names, and each name's values per commit:
what looking across commits (regressions, ``frugal check``) stands on.

The order (``commit_order``): with a git repository at hand that knows the commits, those on
the first-parent line of HEAD (or of ``head``) come in that line's order, oldest first; every
other measured commit (a side branch, a pull request, one the repository lacks, as a shallow
clone does) is placed by the time of its first run, just before the first commit of the line
whose first run came later. Without a repository every commit goes by the time of its first
run, ties by commit id. Runs without a commit are left out and counted.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

GIT_TIMEOUT_S = 10.0        # the longest one git command may take; past it, commits go by time
MIN_PREFIX = 4              # hex characters a commit prefix needs
LISTED = 20                 # commits (and branches) an unknown-ref message lists
_HEX = re.compile(r"[0-9a-fA-F]+")
# Variables that would make git read another repository than the one named, or reach a remote.
_GIT_ENV_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES")


class CommitOrder(list[str]):
    """The measured commits, oldest first (a list of full commit ids), and how they were ordered.

    ``without_commit``: runs left out because they have no commit; ``on_line``: commits placed
    by git's first-parent line (the rest went by the time of their first run); ``head``: the
    commit whose line ordered them, or None when no repository did.
    """

    def __init__(self, commits: list[str], *, without_commit: int, on_line: int, head: str | None) -> None:
        super().__init__(commits)
        self.without_commit = without_commit
        self.on_line = on_line
        self.head = head


def _frame(data: Any, argument: str, loader: str) -> pd.DataFrame:
    """``data`` as a DataFrame: a frame as it is, a store path read with ``loader`` (``load_runs``
    or ``load``)."""
    import pandas as pd

    if isinstance(data, (str, os.PathLike)):
        from frugal.store import read

        data = getattr(read, loader)(data)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{argument} must be a pandas DataFrame (from frugal.store.{loader}()) or a store path, "
                        f"got {type(data).__name__}")
    if "git_commit" not in data.columns:
        raise ValueError(f"{argument} has no git_commit column: give a frame from frugal.store.load_runs() "
                         "or frugal.load()")
    return data


def _time_column(frame: pd.DataFrame, argument: str) -> str:
    # a frame of measurements (frugal.load) has its run's start beside each row's own
    for column in ("run_started_at", "started_at"):
        if column in frame.columns:
            return column
    raise ValueError(f"{argument} has no started_at column: give a frame from frugal.store.load_runs() or frugal.load()")


def _with_commit(frame: pd.DataFrame) -> tuple[Any, int]:
    """The mask of rows that have a commit, and how many runs have none (rows when no ``run_id``)."""
    commits = frame["git_commit"].astype("string")
    known = (commits.notna() & (commits.str.len() > 0)).to_numpy(dtype=bool, na_value=False)
    missing = frame.loc[~known]
    count = missing["run_id"].nunique() if "run_id" in frame.columns else len(missing)
    return known, int(count)


def _first_runs(frame: pd.DataFrame, argument: str) -> tuple[dict[str, Any], int]:
    """Each commit's first run time (a pandas Timestamp), and how many runs have no commit."""
    known, without = _with_commit(frame)
    column = _time_column(frame, argument)
    rows = frame.loc[known]
    first = rows.groupby(rows["git_commit"].astype(str), sort=False)[column].min()
    return dict(first.items()), without


def _by_time(first: dict[str, Any]) -> list[str]:
    import pandas as pd

    def key(commit: str) -> tuple[bool, Any, str]:
        when = first[commit]
        return (pd.isna(when), when if not pd.isna(when) else 0, commit)   # a run without a time goes last

    return sorted(first, key=key)


def _git(repo: Path, *args: str) -> str | None:
    """git's output in ``repo``, or None when it fails or runs past ``GIT_TIMEOUT_S``.

    (``frugal.store.run_info`` has a git helper for the working directory, two seconds at most;
    here the repository is named and a long history may take longer to list.) Never the
    network: a partial clone must not fetch what it lacks (``GIT_NO_LAZY_FETCH``).
    """
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROPPED}
    env.update(GIT_NO_LAZY_FETCH="1", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                             timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def repository(repo: str | os.PathLike[str] | None) -> Path | None:
    """The git repository to order commits with: ``repo``, or the working directory when it lies
    inside one (else None). A ``repo`` given that is not a git repository is a ValueError."""
    if repo is None:
        here = Path.cwd()
        return here if _git(here, "rev-parse", "--git-dir") is not None else None
    if not isinstance(repo, (str, os.PathLike)):
        raise TypeError(f"repo must be a path, got {type(repo).__name__}")
    path = Path(repo)
    if not path.is_dir():
        raise ValueError(f"repo={str(repo)!r} is not a folder")
    if _git(path, "rev-parse", "--git-dir") is None:
        raise ValueError(f"repo={str(repo)!r} is not a git repository")
    return path


def _revision(repo: Path, rev: str) -> str | None:
    """The full commit id that ``rev`` names in ``repo`` (a commit, branch, tag, ``HEAD~2``), or None."""
    if not rev or rev.startswith("-"):      # never an option of git's
        return None
    out = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return (out.strip() or None) if out is not None else None


def commit_order(runs: Any, repo: str | os.PathLike[str] | None = None, *, head: str | None = None) -> CommitOrder:
    """The commits of a store's runs, oldest first.

    ``runs``: a frame from ``frugal.store.load_runs`` (or ``frugal.load``: columns
    ``git_commit`` and ``started_at``/``run_started_at``), or a store path. ``repo``: the git
    repository (default: the working directory, when inside one); ``head``: the revision whose
    first-parent line orders the commits (default ``HEAD``).

    The rule: commits on ``git rev-list --first-parent HEAD`` keep that line's order; every
    other commit (a side branch, a pull request, one the repository lacks: a shallow clone's
    missing history) is placed by the time of its first run, just before the first commit of
    the line (in the line's order) whose first run came after its own. Without a repository,
    when the repository does not know ``head``, or when git fails (or runs past
    ``GIT_TIMEOUT_S``), every commit goes by the time of its first run, ties by commit id.
    Runs without a commit are left out and counted (``CommitOrder.without_commit``).
    """
    frame = _frame(runs, "runs", "load_runs")
    if head is not None and not isinstance(head, str):
        raise TypeError(f"head must be a str (a commit or revision), got {type(head).__name__}")
    first, without = _first_runs(frame, "runs")
    timed = _by_time(first)
    where = repository(repo)
    tip = _revision(where, head or "HEAD") if where is not None and first else None
    listed = _git(where, "rev-list", "--first-parent", tip, "--") if where is not None and tip else None
    if listed is None:
        return CommitOrder(timed, without_commit=without, on_line=0, head=None)
    position = {c: i for i, c in enumerate(reversed(listed.split()))}
    on = sorted((c for c in first if c in position), key=position.__getitem__)
    off = [c for c in timed if c not in position]
    merged: list[str] = []
    i = 0
    for commit in on:
        # the other commits first run before this one of the line
        while i < len(off) and _before(first[off[i]], first[commit]):
            merged.append(off[i])
            i += 1
        merged.append(commit)
    merged += off[i:]
    return CommitOrder(merged, without_commit=without, on_line=len(on), head=tip if on else None)


def _before(a: Any, b: Any) -> bool:
    import pandas as pd

    return not pd.isna(a) and (pd.isna(b) or bool(a < b))


def resolve(ref: str, runs: Any, repo: str | os.PathLike[str] | None = None) -> str:
    """The measured commit (full id) that ``ref`` names.

    ``ref`` is, tried in this order: a measured commit; a run id (that run's commit); a branch
    (the last of its measured commits in ``commit_order``, by ``git_branch`` of the runs); a
    unique prefix of a measured commit, at least ``MIN_PREFIX`` hex characters; a revision
    the repository at hand names (``HEAD~1``, a tag), when that commit was measured.
    ``runs``: as for ``commit_order``. An unknown or ambiguous ref, or runs without any
    commit, is a ValueError that lists the commits (newest first, at most ``LISTED``) and
    branches known.
    """
    if not isinstance(ref, str):
        raise TypeError(f"ref must be a str (a commit, a prefix, a branch or a run id), got {type(ref).__name__}")
    frame = _frame(runs, "runs", "load_runs")
    order = commit_order(frame, repo)
    if not order:
        raise ValueError(f"no run in this store has a git commit ({order.without_commit} run(s) without one), "
                         f"so ref {ref!r} names nothing: measure inside a git repository, or set FRUGAL_GIT_COMMIT")
    known, _ = _with_commit(frame)
    rows = frame.loc[known]
    commits = rows["git_commit"].astype(str)
    if ref in set(order):
        return ref
    if "run_id" in rows.columns:
        hit = commits[(rows["run_id"].astype("string") == ref).to_numpy(dtype=bool, na_value=False)]
        if len(hit):
            return str(hit.iloc[0])
    if "git_branch" in rows.columns:
        on_branch = set(commits[(rows["git_branch"].astype("string") == ref).to_numpy(dtype=bool, na_value=False)])
        if on_branch:
            return [c for c in order if c in on_branch][-1]
    ambiguous: list[str] = []
    if len(ref) >= MIN_PREFIX and _HEX.fullmatch(ref):
        matches = [c for c in order if c.lower().startswith(ref.lower())]
        if len(matches) == 1:
            return matches[0]
        ambiguous = matches
    where = repository(repo)
    if not ambiguous and where is not None:
        named = _revision(where, ref)
        if named is not None and named in set(order):
            return named
    what = (f"ref {ref!r} is ambiguous: it begins {len(ambiguous)} measured commits" if ambiguous
            else f"ref {ref!r} is not a measured commit, a unique prefix of one, a branch or a run id of this store")
    raise ValueError(f"{what}.\n{known_refs(frame, order)}")


def known_refs(frame: pd.DataFrame, order: list[str]) -> str:
    """The commits a store knows, newest first (short id, branch, date of the first run; at most
    ``LISTED``, then a count of the rest), and its branches: what an error about a ref lists."""
    import pandas as pd

    known, _ = _with_commit(frame)
    rows = frame.loc[known]
    first, _ = _first_runs(frame, "runs")
    branches: dict[str, str] = {}
    if "git_branch" in rows.columns:
        pairs = zip(rows["git_commit"].astype(str), rows["git_branch"].astype("string").fillna(""))
        for commit, branch in pairs:
            if branch and commit not in branches:
                branches[commit] = str(branch)
    lines = [f"Known commits ({len(order)}, newest first):"]
    for commit in list(reversed(order))[:LISTED]:
        when = first[commit]
        date = "" if pd.isna(when) else f"{when:%Y-%m-%d %H:%M} UTC"
        lines.append(f"  {commit[:12]}  {branches.get(commit, '-'):<20} {date}".rstrip())
    if len(order) > LISTED:
        lines.append(f"  ... and {len(order) - LISTED} more")
    names = sorted(set(branches.values()))
    shown = ", ".join(names[:LISTED]) + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")
    lines.append(f"Branches: {shown or 'none recorded'}")
    return "\n".join(lines)


def per_commit(frame: Any, metric: str, by: str = "name",
               repo: str | os.PathLike[str] | None = None) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Each name's values of ``metric`` grouped by commit, in commit order: ``{name: [(commit,
    values), ...]}``, ``values`` a float64 numpy array (one per measured call, in the metric's
    unit), commits where the name has no value left out.

    ``frame``: measurements from ``frugal.load`` (or a store path); ``by``: the column that
    names a series. Only successful single calls count: rows whose ``status`` is not ``"ok"``
    and ``record="summary"`` aggregates (``calls`` > 1: totals over many calls) are left out,
    as are rows without a commit and non-finite values. The order is ``commit_order``'s.
    """
    return {name: [(commit, values) for commit, values, _ in series]
            for name, series in per_commit_with(frame, metric, (), by, repo).items()}


def per_commit_with(frame: Any, metric: str, alongside: Sequence[np.ndarray], by: str = "name",
                    repo: str | os.PathLike[str] | None = None) \
        -> dict[str, list[tuple[str, np.ndarray, list[np.ndarray]]]]:
    """``per_commit``, with beside each commit's values those of the same rows, in the same
    order, in each array of ``alongside`` (one value per row of the frame: a start time, a
    run's number), so that one grouping serves them all."""
    data = _frame(frame, "frame", "load")
    for argument, column in (("metric", metric), ("by", by)):
        if not isinstance(column, str) or column not in data.columns:
            raise ValueError(f"{argument}={column!r} is not a column of the frame")
    values = np.asarray(data[metric].to_numpy(dtype="float64", na_value=np.nan), dtype="float64") \
        if _numeric(data[metric]) else None
    if values is None:
        raise ValueError(f"metric={metric!r} is not a numeric column")
    if any(len(a) != len(data) for a in alongside):
        raise ValueError(f"alongside: each array must hold one value per row ({len(data)})")
    keep, _ = _with_commit(data)
    keep &= np.isfinite(values)
    if "status" in data.columns:
        keep &= (data["status"].astype("string") == "ok").to_numpy(dtype=bool, na_value=False)
    if "calls" in data.columns:
        keep &= ~(data["calls"].to_numpy(dtype="float64", na_value=np.nan) > 1)
    import pandas as pd

    rank = {c: i for i, c in enumerate(commit_order(data, repo))}
    rows = data.loc[keep]
    names, name_labels = pd.factorize(rows[by].astype(str), sort=True)
    commits, commit_labels = pd.factorize(rows["git_commit"].astype(str))
    ranks = np.array([rank[c] for c in commit_labels], dtype="i8")[commits]
    # one stable sort by (name, commit rank) keeps each commit's calls in their stored order
    order = np.lexsort((ranks, names))
    key = names[order].astype("i8") * (len(rank) + 1) + ranks[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1]) if len(key) else np.array([], dtype="i8")
    vals = values[keep][order]
    extra = [np.asarray(a)[keep][order] for a in alongside]
    by_rank, labels = list(rank), [str(label) for label in name_labels]
    first_names, first_ranks = names[order[starts]].tolist(), ranks[order[starts]].tolist()
    out: dict[str, list[tuple[str, np.ndarray, list[np.ndarray]]]] = {}
    for start, stop, name, at in zip(starts.tolist(), [*starts[1:].tolist(), len(key)], first_names, first_ranks):
        out.setdefault(labels[name], []).append((by_rank[at], vals[start:stop].copy(),
                                                 [e[start:stop].copy() for e in extra]))
    return out


def _numeric(column: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column))
