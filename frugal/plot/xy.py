"""Charts on two quantitative axes: the time-energy Pareto front, scaling laws, trends over runs."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from frugal import stats
from frugal.analysis.indicators import indicators
from frugal.frames.frame import floats
from frugal.plot._data import given_table, group_column, need, per_call, successful, unpack
from frugal.plot._style import (ADDITIVE, OKABE_ITO, axis_label, finite_or_raise, fmt, literal_text,
                                metric_info, new_figure, palette, provenance, set_titles)
from frugal.units import scale_for

_SOURCE_COLUMN = {"energy_per_unit_j": "energy_j", "carbon_per_unit_g": "carbon_g",
                  "time_per_unit_s": "wall_s", "peak_added_per_unit_bytes": "peak_added_bytes"}


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (both minimised), by increasing x."""
    order = [i for i in np.lexsort((y, x)) if np.isfinite(x[i]) and np.isfinite(y[i])]
    front, best = [], np.inf
    for i in order:
        if y[i] < best:
            front.append(i)
            best = y[i]
    return np.array(front, dtype=int)


@literal_text
def pareto(frame_or_cmp: Any, by: str | None = None, x: str = "time_per_unit_s",
           y: str = "energy_per_unit_j", size: str = "peak_added_per_unit_bytes", *, table: Any = None) -> Figure:
    """Time against energy per unit, one bubble per group, bubble area for memory added per
    unit, and the Pareto front: the groups that no other beats on both axes.

    ``x``, ``y`` and ``size`` name columns of ``frugal.indicators`` (e.g. ``cpu_per_unit_s``).
    Axes switch to log scale when a range spans more than a factor 100. ``table``:
    ``frugal.indicators`` of this frame, when already computed.
    """
    frame, cmp = unpack(frame_or_cmp, "pareto(frame_or_cmp=...)")
    by = group_column(frame, by)
    table = given_table(table, by, "pareto") if table is not None else \
        indicators(frame, by=by, baseline=getattr(cmp, "baseline", None) if cmp is not None else None)
    for arg, col in (("x", x), ("y", y), ("size", size)):
        if col not in table.columns or table[col].dtype.kind not in "fiu":
            raise ValueError(f"pareto({arg}=...): {col!r} is not a numeric indicator column")
    xs, ys = table[x].to_numpy(dtype="f8"), table[y].to_numpy(dtype="f8")
    finite_or_raise(ys, _SOURCE_COLUMN.get(y, y), "pareto")
    finite_or_raise(xs, _SOURCE_COLUMN.get(x, x), "pareto")
    mem = table[size].to_numpy(dtype="f8")
    groups = [str(g) for g in table.index]
    per = "unit" if (table["unit"] == "unit").all() else ("call" if (table["unit"] == "call").all() else "unit or call")
    (xl, xu, _), (yl, yu, _), (sl, su, _) = metric_info(x), metric_info(y), metric_info(size)
    mfactor, munit = scale_for(mem, su)
    largest = np.nanmax(mem) if np.isfinite(mem).any() else np.nan
    fig, (ax,) = new_figure(caption=(
        provenance(frame, y) + f" Bubble area is proportional to {sl.lower()} (largest: "
        f"{fmt(largest * mfactor)} {munit}/{per}; hollow when unknown). The line is the Pareto front: "
        f"the {by}s no other {by} beats on both axes."))
    xfactor, xunit = scale_for(xs, xu)
    yfactor, yunit = scale_for(ys, yu)
    areas = 60 + 900 * np.divide(mem, largest, out=np.zeros_like(mem), where=np.isfinite(mem) & (largest > 0))
    front = pareto_front(xs, ys)
    for i, (group, color) in enumerate(zip(groups, palette(len(groups)))):
        hollow = not np.isfinite(mem[i])
        ax.scatter([xs[i] * xfactor], [ys[i] * yfactor], s=[areas[i]], alpha=0.8,
                   facecolors="none" if hollow else color, edgecolors="black" if i in front else color,
                   linewidths=1.5 if i in front else 0.8, label=group, zorder=3)
        ax.annotate(group, (xs[i] * xfactor, ys[i] * yfactor), xytext=(6, 6), textcoords="offset points",
                    fontsize=8)
    if len(front):
        # the staircase from the top of the plotted range down through the front to its right end
        fx = np.r_[xs[front[0]], xs[front], np.nanmax(xs)] * xfactor
        fy = np.r_[np.nanmax(ys), ys[front], ys[front[-1]]] * yfactor
        ax.plot(fx, fy, drawstyle="steps-post", color="black", linewidth=1.0, linestyle="--",
                label="Pareto front", zorder=2, gid="pareto-front")
    for axis, values, setter in ((ax.xaxis, xs, ax.set_xscale), (ax.yaxis, ys, ax.set_yscale)):
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) > 1 and positive.max() / positive.min() > 100:
            setter("log")
    ax.set_xlabel(axis_label(xl, xunit, per, log=ax.get_xscale() == "log"))
    ax.set_ylabel(axis_label(yl, yunit, per, log=ax.get_yscale() == "log"))
    ax.set_title(f"{yl} against {xl.lower()} (lower left is more frugal)")
    ax.margins(0.15)
    ax.legend(fontsize=8, frameon=False, markerscale=0.5)
    ax.grid(alpha=0.3)
    return fig


@literal_text
def scaling(sc: Any, metric: str = "cpu_s") -> Figure:
    """How ``metric`` grows with the input size, on log-log axes, with the fitted power law.

    ``sc`` is a ``frugal.Scaling`` (its ``exponent(metric)`` gives the exponent, its 95% CI,
    R² and coefficient; its ``predict(metric, size)`` the line) or a frame with a ``size``
    column and the columns of ``frugal.results()`` (then ``frugal.stats.fit_power_law`` fits
    it). Points are runs (per call), diamonds the median at each size.
    """
    frame, owner = unpack(sc, "scaling(sc=...)")
    need(frame, "size", metric)
    sizes, values = floats(frame["size"]), per_call(frame, metric)
    keep = successful(frame) & np.isfinite(sizes) & np.isfinite(values) & (sizes > 0) & (values > 0)
    finite_or_raise(np.where(keep, values, np.nan), metric, "scaling")
    if owner is not None and callable(getattr(owner, "exponent", None)):
        fit = owner.exponent(metric)
    else:
        fit = stats.fit_power_law(sizes[keep], values[keep])
    grid = np.geomspace(sizes[keep].min(), sizes[keep].max(), 60)
    if owner is not None and callable(getattr(owner, "predict", None)):
        line = np.asarray(owner.predict(metric, grid), dtype="f8")
    else:
        line = fit.coefficient * grid ** fit.exponent

    label, unit, _ = metric_info(metric)
    per_run = " per call" if metric in ADDITIVE else ""
    factor, shown = scale_for(values[keep], unit)
    fig, (ax,) = new_figure(caption=provenance(frame, metric) + " Points: successful runs; diamonds: median per size; "
                            "line: power law fitted on log-log axes, exponent with its 95% CI.")
    ax.scatter(sizes[keep], values[keep] * factor, s=14, color=OKABE_ITO[4], alpha=0.6, label="runs", zorder=2)
    levels = np.unique(sizes[keep])
    meds = np.array([np.median(values[keep][sizes[keep] == s]) for s in levels])
    ax.scatter(levels, meds * factor, s=46, marker="D", color=OKABE_ITO[0], edgecolors="black",
               linewidths=0.6, label="median per size", zorder=3)
    ax.plot(grid, line * factor, color=OKABE_ITO[3], linewidth=1.6, zorder=1, gid="scaling-fit",
            label=(f"fit: size^{fit.exponent:.2f} (95% CI {fit.ci_low:.2f}-{fit.ci_high:.2f}), "
                   f"R² {fit.r2:.3f}"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(axis_label("Input size", "size given to make_input", log=True))
    ax.set_ylabel(axis_label(label + per_run, shown, log=True))
    ax.set_title(f"{label}{per_run} against input size: exponent {fit.exponent:.2f}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3, which="both")
    return fig


MAX_POINTS = 240     # points per line of a trend; beyond, consecutive points are binned (median, 10-90% band)


@literal_text
def trend(frame: Any, metric: str = "energy_j", by: str = "name", x: str = "started_at",
          marks: Mapping[str, str] | None = None) -> Figure:
    """``metric`` over time or over commits, one line per ``by`` group.

    ``x`` a date column (``started_at``; ``run_started_at`` of a stored frame gives one point
    per run) draws a time axis; a text column (``git_commit`` of a stored frame, or any
    column such as ``commit``) one tick per value, in the order of its first run. A point is
    the median per call (summary rows divided by their calls) of the successful rows that
    share its ``x``. A line of more than ``MAX_POINTS`` points is binned: consecutive points
    become one, their median, with a band from the 10th to the 90th percentile. In SVG
    (``to_svg``) every point carries a hover title: its commit, date, value and how many
    measurements it holds.

    ``marks``: for a text ``x`` (commits), values of ``x`` to mark with a vertical rule and a
    small label, ``{value: label}`` (the dashboard marks the commits where a step begins,
    ``frugal.regressions``); a value absent from the chart is not drawn.
    """
    frame, _ = unpack(frame, "trend(frame=...)")
    need(frame, metric, by, x)
    values = np.where(successful(frame), per_call(frame, metric), np.nan)
    finite_or_raise(values, metric, "trend")
    label, unit, _ = metric_info(metric)
    per_run = " per call" if metric in ADDITIVE else ""
    timeline = pd.api.types.is_datetime64_any_dtype(frame[x])
    if marks and timeline:
        raise ValueError(f"trend(marks=...): marks need a text x such as git_commit, and {x!r} is a date column")
    points = trend_points(frame, values, by, x, timeline)
    factor, shown = scale_for(points["v"].to_numpy(), unit)
    lines = {g: _binned(sub, MAX_POINTS) for g, sub in points.groupby("g", sort=False)}
    binned = any(len(p) < n for p, n in zip(lines.values(), points.groupby("g", sort=False).size()))
    fig, (ax,) = new_figure(caption=provenance(frame, metric) + (
        " One point per value of " + x + ": the median of its successful measurements"
        + (", in run order." if not timeline else ".")
        + (f" Lines of more than {MAX_POINTS} points are binned: the median of the points in a bin, "
           "the band their 10th to 90th percentile." if binned else "")))
    order = {c: i for i, c in enumerate(points.drop_duplicates("x").sort_values("t", kind="stable")["x"])}
    for k, ((group, line), color) in enumerate(zip(lines.items(), palette(len(lines)))):
        xs = line["x"].to_numpy() if timeline else line["x"].map(order).to_numpy(dtype="f8")
        if (line["n_points"] > 1).any():
            ax.fill_between(xs, line["low"] * factor, line["high"] * factor, color=color, alpha=0.2, linewidth=0)
        ax.plot(xs, line["v"] * factor, marker="o", markersize=4, linewidth=1.2, color=color, label=group,
                gid=f"trend-{k}")
        set_titles(fig, f"trend-{k}", [_point_title(group, row, x, timeline, factor, shown + per_run)
                                         for row in line.itertuples()])
    if timeline:
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]  # matplotlib.dates is not annotated
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]  # same
        ax.set_xlabel(axis_label("Run start", "UTC"))
    else:
        categories = list(order)
        ticks = np.unique(np.linspace(0, len(categories) - 1, min(len(categories), 8)).round().astype(int))
        ax.set_xticks(ticks, [str(categories[i])[:7] for i in ticks], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel(f"{x} (in run order)")
    ax.set_ylabel(axis_label(label + per_run, shown))
    ax.set_ylim(bottom=0)
    for value, text in (marks or {}).items():
        if value in order:      # a rule at the mark's tick, its label along it, top down, in axes height
            ax.axvline(order[value], color="0.35", linestyle="--", linewidth=0.9, zorder=0)
            ax.annotate(text, xy=(order[value], 0.98), xycoords=("data", "axes fraction"), rotation=90,
                        fontsize=7, color="0.25", ha="right", va="top",
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_title(f"{label}{per_run} over {'time' if timeline else x}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def trend_points(frame: pd.DataFrame, values: np.ndarray, by: str, x: str, timeline: bool) -> pd.DataFrame:
    """One row per (group, x value): ``v`` the median of ``values``, ``n`` how many were known,
    ``t`` the first start (ns), ``commit`` the first git commit when the frame has one; in time order."""
    when = frame["started_at"] if "started_at" in frame.columns else frame[x] if timeline else None
    data = pd.DataFrame({
        "g": frame[by].astype("string").fillna("(none)").to_numpy(),
        "x": pd.to_datetime(frame[x], utc=True).dt.tz_localize(None).to_numpy() if timeline
        else frame[x].astype("string").fillna("(none)").to_numpy(),
        "t": pd.to_datetime(when, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("i8")
        if when is not None else np.arange(len(frame)),
        "v": values,
    })
    data["commit"] = frame["git_commit"].astype("string").to_numpy() if "git_commit" in frame.columns \
        and x != "git_commit" else None
    grouped = data.groupby(["g", "x"], sort=False, dropna=False)
    points = grouped.agg(v=("v", "median"), n=("v", "count"), t=("t", "min"), commit=("commit", "first"))
    points = points[points["n"] > 0].reset_index()
    return points.sort_values(["t"], kind="stable").reset_index(drop=True)


def _binned(points: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most ``limit`` points: consecutive points binned into one (their median, a 10-90% band)."""
    out = points.assign(low=points["v"], high=points["v"], n_points=1, x_last=points["x"], t_last=points["t"])
    if len(points) <= limit:
        return out
    bins = np.arange(len(points)) * limit // len(points)
    grouped = out.groupby(bins, sort=True)
    return pd.DataFrame({
        "x": grouped["x"].first(), "x_last": grouped["x"].last(), "t": grouped["t"].first(),
        "t_last": grouped["t"].last(), "commit": grouped["commit"].first(),
        "v": grouped["v"].median(), "low": grouped["v"].quantile(0.1), "high": grouped["v"].quantile(0.9),
        "n": grouped["n"].sum(), "n_points": grouped["v"].size(),
    }).reset_index(drop=True)


def _when(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[m]")).replace("T", " ") + " UTC"


def _point_title(group: str, row: Any, x: str, timeline: bool, factor: float, unit: str) -> str:
    """The hover title of one trend point: which run or commit, when, and its value."""
    many = row.n_points > 1
    if timeline:
        where = _when(row.t) + (f" to {_when(row.t_last)}" if many else "")
    else:
        where = f"{x} {str(row.x)[:12]}" + (f" to {str(row.x_last)[:12]}" if many else "") + \
                f", {_when(row.t)}" + (f" to {_when(row.t_last)}" if many else "")
    if many:
        return (f"{group}: {where} ({row.n_points} points, {row.n} measurements): median {fmt(row.v * factor)} "
                f"{unit}, 10-90% {fmt(row.low * factor)}-{fmt(row.high * factor)} {unit}")
    commit = f", commit {str(row.commit)[:12]}" if isinstance(row.commit, str) else ""
    return f"{group}: {where}{commit}: {fmt(row.v * factor)} {unit}, median of {row.n} measurements"
