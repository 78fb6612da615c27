"""The dashboard's view of a whole store: every run newest first, and the trend of each name.

Everything is aggregated in pandas before a line of HTML is written: one row per (run, name)
with its measurements, failures, totals and medians per call. The page stays small whatever
the store holds, by these rules (each also stated on the page):

- runs: the newest ``RUNS_LISTED`` runs one by one, each a collapsible section with its
  ``NAMES_PER_RUN`` costliest names (the others summed on one line); older runs summed per
  month;
- trends: a chart for each of the ``TREND_CHARTS`` costliest names measured in more than
  one run (or commit), each line at most ``plot.xy.MAX_POINTS`` points (more are binned with
  a 10-90% band); the next ``TREND_ROWS`` such names in a table, the rest counted.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from frugal.pages import html as P
from frugal.pages.html import e
from frugal.frames.columns import memory_column
from frugal.frames.frame import floats
from frugal.units import counted, format_count, format_quantity

RUNS_LISTED = 50      # newest runs shown one by one; older ones are summed per month
NAMES_PER_RUN = 15    # names shown in a run's section (the costliest); the others are summed
TREND_CHARTS = 12     # names with a trend chart (the costliest measured in several runs)
TREND_ROWS = 50       # further names with a trend, in a table
LABEL_CHARS = 60      # a longer name is shortened (start…end) inside a trend chart


def short_label(name: str, suffix: str = "") -> str:
    """``name`` as a chart shows it: whole up to LABEL_CHARS, else its start…end and ``suffix``
    (laying out a 100,000-character label takes matplotlib minutes, and no chart can show it)."""
    if len(name) <= LABEL_CHARS:
        return name
    return f"{name[:LABEL_CHARS - 20 - len(suffix)]}…{name[-19:]}{suffix}"


def cost_metric(frame: pd.DataFrame) -> str:
    """What "costliest" ranks by: energy when any is known, else wall time."""
    return "energy_j" if "energy_j" in frame.columns and np.isfinite(floats(frame["energy_j"])).any() else "wall_s"


def costliest(frame: pd.DataFrame, names: pd.Series, sort: bool = False) -> tuple[str, list[str]]:
    """What "costliest" ranks by (``cost_metric``) and the distinct ``names`` (one per row of
    ``frame``, missing ones left out) ranked by their total of it, costliest first. Equal totals
    keep the order in which the names first appear, or their sorted order with ``sort``."""
    metric = cost_metric(frame)
    cost = pd.Series(floats(frame[metric]), index=frame.index).groupby(names.to_numpy(), sort=sort).sum()
    return metric, [str(n) for n in cost.sort_values(ascending=False, kind="stable").index]


# --- aggregation --------------------------------------------------------------------------

def by_run_and_name(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """One row per (run, name), in pandas: ``rows``, ``failed``, ``calls``, totals of energy
    and wall time over the successful rows, medians per call of energy, wall time and memory
    (``memory_column``), the first start (ns) and the first failed row's error."""
    ok = (frame["status"].astype("string") == "ok").fillna(False).to_numpy(dtype=bool) \
        if "status" in frame.columns else np.ones(len(frame), dtype=bool)
    calls = floats(frame["calls"]) if "calls" in frame.columns else np.ones(len(frame))
    energy, wall = floats(frame["energy_j"]), floats(frame["wall_s"])
    memory = floats(frame[memory_column(frame)])
    run = frame["run_id"] if "run_id" in frame.columns else pd.Series("", index=frame.index)
    data = pd.DataFrame({
        "run": pd.factorize(run.astype("string").fillna(""))[0],
        "name": frame[by].astype("string").fillna("(none)").to_numpy(),
        "ok": ok, "calls": calls,
        "energy": np.where(ok, energy, np.nan), "wall": np.where(ok, wall, np.nan),
        "energy_call": np.where(ok, energy / calls, np.nan), "wall_call": np.where(ok, wall / calls, np.nan),
        "memory": np.where(ok, memory, np.nan),
        "t": pd.to_datetime(frame["started_at"], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("i8"),
    })
    grouped = data.groupby(["run", "name"], sort=False)
    out = grouped.agg(rows=("ok", "size"), ok_rows=("ok", "sum"), calls=("calls", "sum"),
                      energy=("energy", "sum"), wall=("wall", "sum"), energy_call=("energy_call", "median"),
                      wall_call=("wall_call", "median"), memory=("memory", "median"), t=("t", "min"))
    out["energy"] = out["energy"].where(grouped["energy"].count() > 0)    # all unknown: NaN, not 0
    out["failed"] = out["rows"] - out["ok_rows"]
    if "error" in frame.columns and not ok.all():
        failed = data.loc[~ok, ["run", "name"]].assign(error=frame["error"].astype("string").to_numpy()[~ok])
        out["error"] = failed.groupby(["run", "name"], sort=False)["error"].first()
    else:
        out["error"] = pd.NA
    return out.reset_index()


def run_facts(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (its code as in ``by_run_and_name``) with its metadata, newest first."""
    columns = [c for c in ("run_id", "run_started_at", "program", "host", "git_commit", "git_branch", "python",
                           "frugal_version") if c in frame.columns]
    run = frame["run_id"] if "run_id" in frame.columns else pd.Series("", index=frame.index)
    codes = pd.factorize(run.astype("string").fillna(""))[0]
    first = np.unique(codes, return_index=True)[1]
    facts = frame.iloc[first][columns].reset_index(drop=True)
    facts.insert(0, "run", np.arange(len(first)))
    if "run_started_at" not in facts.columns:
        facts["run_started_at"] = pd.to_datetime(frame["started_at"].iloc[first].to_numpy(), utc=True)
    facts["number"] = facts["run_started_at"].rank(method="first").astype(int)   # #1 is the oldest
    return facts.sort_values("run_started_at", ascending=False, kind="stable").reset_index(drop=True)


# --- runs, newest first -------------------------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else str(value)


def _names_table(rows: pd.DataFrame, memory_label: str) -> str:
    """A run's costliest names and one line for the rest."""
    rows = rows.sort_values(["energy", "wall"], ascending=False, kind="stable", na_position="last")
    top, rest = rows.iloc[:NAMES_PER_RUN], rows.iloc[NAMES_PER_RUN:]
    body: list[list[str | tuple[str, str]]] = []
    for r in top.itertuples():
        status = "ok" if not r.failed else f"{format_count(r.failed)} of {format_count(r.rows)} failed"
        body.append([("name", f'<span title="{e(r.name)}">{e(r.name)}</span>'), e(format_count(r.calls)), e(status),
                     e(format_quantity(r.energy_call, "J")), e(format_quantity(r.wall_call, "s")),
                     e(format_quantity(r.memory, "B")), e(format_quantity(r.energy, "J"))])
    if len(rest):
        body.append([("text", e(f"{format_count(len(rest))} more names")), e(format_count(rest["calls"].sum())),
                     e(f"{format_count(rest['failed'].sum())} failed" if rest["failed"].sum() else "ok"),
                     "", "", "", e(format_quantity(rest["energy"].sum(min_count=1), "J"))])
    head = ["Name", "Calls", "Status", "Energy/call", "Time/call", memory_label, "Energy"]
    failures = [f"{r.name}: {r.error}" for r in top.itertuples() if r.failed and isinstance(r.error, str)]
    return P.table(head, body) + (P.bullet_list(failures, "verdicts") if failures else "")


def runs_section(frame: pd.DataFrame, by: str) -> str:
    """Every run, newest first: the newest RUNS_LISTED each in a collapsible section, older
    ones summed per month. Empty when the frame holds no stored runs."""
    if "run_id" not in frame.columns or frame["run_id"].isna().all():
        return ""
    agg = by_run_and_name(frame, by)
    facts = run_facts(frame)
    memory = memory_column(frame)
    memory_label = "Memory added" if memory == "peak_added_bytes" else "Peak memory"
    per_run = agg.groupby("run", sort=False)
    names = per_run["name"].size()
    totals = per_run[["calls", "rows", "failed"]].sum()
    energy = per_run["energy"].sum(min_count=1)
    parts = [f"<p>{e(_runs_rule(len(facts)))}</p>"]
    for i, run in enumerate(facts.head(RUNS_LISTED).itertuples()):
        started = run.run_started_at.strftime("%Y-%m-%d %H:%M UTC")
        commit = _text(getattr(run, "git_commit", None))[:12]
        failed = int(totals.at[run.run, "failed"])
        summary = " · ".join(x for x in (
            f"#{run.number}", started, _text(getattr(run, "program", None)) or "(no program)",
            f"commit {commit}" if commit else "", f"{format_count(names[run.run])} name{'s' if names[run.run] != 1 else ''}",
            f"{format_count(totals.at[run.run, 'rows'])} measurements", format_quantity(energy[run.run], "J"),
            f"{format_count(failed)} failed" if failed else "") if x)
        detail = " · ".join(x for x in (_text(getattr(run, "host", None)), _text(getattr(run, "python", None)),
                                         f"frugal {_text(getattr(run, 'frugal_version', None))}",
                                         f"branch {_text(getattr(run, 'git_branch', None))}"
                                         if _text(getattr(run, "git_branch", None)) else "") if x)
        body = f'<p class="missing">{e(detail)}</p>' + _names_table(per_run.get_group(run.run), memory_label)
        parts.append(P.details(summary, body, opened=i == 0, failed=bool(failed)))
    if len(facts) > RUNS_LISTED:
        parts.append(_older_runs(facts.iloc[RUNS_LISTED:], agg))
    return "".join(parts)


def _runs_rule(n: int) -> str:
    shown = ("The one run, with" if n == 1 else f"Newest first: all {format_count(n)} runs one by one, each with"
             if n <= RUNS_LISTED else f"Newest first: the newest {RUNS_LISTED} of {format_count(n)} runs one by one, each with")
    return (f"{shown} its {NAMES_PER_RUN} costliest names (the others "
            "summed on one line)" + ("; older runs summed per month below." if n > RUNS_LISTED else ".")
            + " Per call: the median over the run's successful measurements; energy: their total.")


def _older_runs(facts: pd.DataFrame, agg: pd.DataFrame) -> str:
    """Runs beyond the newest RUNS_LISTED, summed per calendar month (UTC), newest first."""
    month = facts.set_index("run")["run_started_at"].dt.strftime("%Y-%m")
    older = agg[agg["run"].isin(month.index)].assign(month=lambda d: d["run"].map(month))
    grouped = older.groupby("month", sort=True)
    table = pd.DataFrame({"runs": grouped["run"].nunique(), "names": grouped["name"].nunique(),
                          "rows": grouped["rows"].sum(), "failed": grouped["failed"].sum(),
                          "energy": grouped["energy"].sum(min_count=1)}).iloc[::-1]
    rows = [[e(m), e(format_count(r.runs)), e(format_count(r.names)), e(format_count(r.rows)),
             e(format_count(r.failed)), e(format_quantity(r.energy, "J"))] for m, r in zip(table.index, table.itertuples())]
    body = P.table(["Month (UTC)", "Runs", "Names", "Measurements", "Failed", "Energy"], rows)
    return P.details(f"{counted(len(facts), 'older run')}, per month", body)


# --- trends -------------------------------------------------------------------------------

def trends_section(frame: pd.DataFrame, by: str, key: str, chart: Callable[..., str],
                   marks: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A trend chart for each of the TREND_CHARTS costliest names measured in more than one
    run (``key`` "run_id") or commit (``key`` "git_commit"), the next TREND_ROWS in a table.
    ``marks``: per name, ``{commit: label}`` for the steps its chart marks (``key`` "git_commit")."""
    from frugal import plot

    names = frame[by].astype("string").fillna("(none)")
    counts = frame[key].groupby(names.to_numpy(), sort=False).nunique()
    several = set(counts[counts >= 2].index)
    if not several:
        return ""
    metric, ranked = costliest(frame, names)
    ranked = [n for n in ranked if n in several]
    label = "commit" if key == "git_commit" else "run"
    x = "git_commit" if key == "git_commit" else ("run_started_at" if "run_started_at" in frame.columns else "started_at")
    what = "Energy" if metric == "energy_j" else "Wall time"
    code = names.to_numpy()
    charts = []
    for i, name in enumerate(ranked[:TREND_CHARTS]):
        rows = frame[code == name]
        if len(name) > LABEL_CHARS:     # the heading keeps the whole name; a chart cannot lay out a huge one
            rows = rows.assign(**{by: short_label(name)})
        mark = dict((marks or {}).get(name, {})) or None
        charts.append(chart(lambda rows=rows, mark=mark: plot.trend(rows, metric=metric, by=by, x=x, marks=mark),
                            f"t{i}", f"{name}: {what.lower()} per call across {label}s"))
    rule = (f"{format_count(len(ranked))} {by}s were measured in more than one {label}; "
            + (f"charts for the {min(TREND_CHARTS, len(ranked))} that cost the most ({what.lower()} in total). "
               if len(ranked) > 1 else "")
            + f"A point is a {label}: the median per call of its successful measurements; hover a point for its "
              f"{'commit and ' if key == 'git_commit' or 'git_commit' in frame.columns else ''}date. Lines of more "
              f"than {plot.xy.MAX_POINTS} points are binned (median, 10-90% band)."
            + (" A dashed rule marks a step found across commits (listed at the top)." if marks else ""))
    parts = [f"<p>{e(rule)}</p>", P.charts(charts)]
    rest = ranked[TREND_CHARTS:]
    if rest:
        parts.append(_trend_table(frame, by, key, metric, rest, code))
    return "".join(parts)


def _trend_table(frame: pd.DataFrame, by: str, key: str, metric: str, rest: list[str], code: np.ndarray) -> str:
    """Names beyond the charts: first and latest median per call, the next TREND_ROWS, the rest counted."""
    shown = rest[:TREND_ROWS]
    rows = frame[np.isin(code, shown)]
    ok = (rows["status"].astype("string") == "ok").fillna(False).to_numpy(dtype=bool) if "status" in rows else True
    values = np.where(ok, floats(rows[metric]) / (floats(rows["calls"]) if "calls" in rows else 1.0), np.nan)
    points = pd.DataFrame({"name": rows[by].astype("string").to_numpy(), "key": rows[key].astype("string").to_numpy(),
                           "t": rows["started_at"].to_numpy(), "v": values})
    per_point = points.groupby(["name", "key"], sort=False).agg(v=("v", "median"), t=("t", "min")).reset_index()
    per_point = per_point.sort_values("t", kind="stable")
    ends = per_point.groupby("name", sort=False).agg(n=("key", "size"), first=("v", "first"), last=("v", "last"),
                                                      since=("t", "first"), until=("t", "last"))
    unit = "J" if metric == "energy_j" else "s"
    body: list[list[str | tuple[str, str]]] = [[("name", e(n)), e(format_count(ends.at[n, "n"])), e(ends.at[n, "since"].strftime("%Y-%m-%d")),
             e(format_quantity(ends.at[n, "first"], unit)), e(ends.at[n, "until"].strftime("%Y-%m-%d")),
             e(format_quantity(ends.at[n, "last"], unit))] for n in shown if n in ends.index]
    label = "Commits" if key == "git_commit" else "Runs"
    note = f"; {format_count(len(rest) - len(shown))} more {by}s not listed" if len(rest) > len(shown) else ""
    return (f"<h3>More {by}s with a trend</h3><p>{e(f'The next {format_count(len(shown))} by cost, without a chart{note}.')}</p>"
            + P.table([by, label, "First", "Median/call", "Latest", "Median/call"], body))
