"""Charts on two quantitative axes: the time-energy Pareto front, scaling laws, trends over runs."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from frugal import stats
from frugal.frugality import indicators
from frugal.plot._data import floats, group_column, need, per_call, successful, unpack
from frugal.plot._style import (ADDITIVE, OKABE_ITO, axis_label, finite_or_raise, fmt, literal_text,
                                metric_info, new_figure, palette, provenance)
from frugal.units import scale_for

_SOURCE_COLUMN = {"energy_per_unit_j": "energy_j", "carbon_per_unit_g": "carbon_g",
                  "time_per_unit_s": "wall_s", "peak_rss_per_unit_bytes": "peak_rss_bytes"}


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
           y: str = "energy_per_unit_j", size: str = "peak_rss_per_unit_bytes") -> Figure:
    """Time against energy per unit, one bubble per group, bubble area for peak memory per
    unit, and the Pareto front: the groups that no other beats on both axes.

    ``x``, ``y`` and ``size`` name columns of ``frugal.indicators`` (e.g. ``cpu_per_unit_s``).
    Axes switch to log scale when a range spans more than a factor 100.
    """
    frame, cmp = unpack(frame_or_cmp, "pareto(frame_or_cmp=...)")
    by = group_column(frame, by)
    table = indicators(frame, by=by, baseline=getattr(cmp, "baseline", None) if cmp is not None else None)
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
    areas = np.where(np.isfinite(mem) & (largest > 0), 60 + 900 * mem / largest, 60)
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


@literal_text
def trend(frame: Any, metric: str = "energy_j", by: str = "name", x: str = "started_at") -> Figure:
    """``metric`` over stored runs (``x="started_at"``, a time axis) or over commits (``x`` a
    column such as ``commit``: one point per value, the median of its runs, in run order).

    One line per ``by`` group; values per call (summary rows divided by their calls).
    """
    frame, _ = unpack(frame, "trend(frame=...)")
    need(frame, metric, by, x)
    values = per_call(frame, metric)
    finite_or_raise(values, metric, "trend")
    label, unit, _ = metric_info(metric)
    per_run = " per call" if metric in ADDITIVE else ""
    factor, shown = scale_for(values, unit)
    timeline = pd.api.types.is_datetime64_any_dtype(frame[x])
    fig, (ax,) = new_figure(caption=provenance(frame, metric) + (
        " One point per run." if timeline else f" One point per {x}: the median of its runs, in run order."))
    data = pd.DataFrame({"g": frame[by].astype("string").fillna("(none)").to_numpy(), "v": values * factor})
    if timeline:
        data["x"] = pd.to_datetime(frame[x], utc=True).dt.tz_localize(None).to_numpy()
    else:
        data["x"] = frame[x].astype("string").fillna("(none)").to_numpy()
        when = frame["started_at"] if "started_at" in frame.columns else pd.Series(range(len(frame)))
        order = pd.DataFrame({"x": data["x"], "t": when.to_numpy()}).groupby("x", sort=False)["t"].min()
        categories = list(order.sort_values(kind="stable").index)
        position = {c: i for i, c in enumerate(categories)}
    for (group, sub), color in zip(data.groupby("g", sort=False), palette(data["g"].nunique())):
        if timeline:
            sub = sub.sort_values("x")
            ax.plot(sub["x"], sub["v"], marker="o", markersize=4, linewidth=1.2, color=color, label=group)
        else:
            med = sub.groupby("x", sort=False)["v"].median()
            pos = np.array([position[c] for c in med.index])
            order_idx = np.argsort(pos)
            ax.plot(pos[order_idx], med.to_numpy()[order_idx], marker="o", markersize=4, linewidth=1.2,
                    color=color, label=group)
    if timeline:
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]  # matplotlib.dates is not annotated
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]  # same
        ax.set_xlabel(axis_label("Run start", "UTC"))
    else:
        ax.set_xticks(range(len(categories)), [c[:10] for c in categories], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel(f"{x} (in run order)")
    ax.set_ylabel(axis_label(label + per_run, shown))
    ax.set_ylim(bottom=0)
    ax.set_title(f"{label}{per_run} over {'time' if timeline else x}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig
