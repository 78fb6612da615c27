"""Bar charts: one metric per variant (compare), the frugality profile, the energy breakdown."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from frugal.analysis.indicators import GRADED, indicators, per_unit
from frugal.plot._data import comparison_medians, given_table, group_column, medians, need, unpack
from frugal.plot._style import (OKABE_ITO, axis_label, finite_or_raise, literal_text, metric_info,
                                new_figure, palette, provenance)
from frugal.units import format_ratio, scale_for


@literal_text
def compare(cmp_or_frame: Any, metric: str = "energy_j", by: str | None = None,
            baseline: str | None = None) -> Figure:
    """Bars of ``metric`` per variant: the median per run, 95% bootstrap CI whiskers, baseline marked.

    ``cmp_or_frame`` is a ``frugal.Comparison`` (its ``summary()`` gives the medians and CIs,
    its ``baseline`` the reference) or a frame with the columns of ``frugal.results()``
    (medians of the per-call values and bootstrap CIs computed here). ``by`` defaults to
    ``variant`` when the frame has it, else ``name``. Each bar reads its ratio to the
    baseline's median (the ratio of ``Comparison.ratios()``, in the same format). Units on the y axis follow the metric (J, s, B...).
    The caption says whether the metric was measured or modelled and the grid intensity.
    """
    frame, cmp = unpack(cmp_or_frame, "compare(cmp_or_frame=...)")
    by = group_column(frame, by)
    need(frame, metric)
    if baseline is None and cmp is not None:
        baseline = getattr(cmp, "baseline", None)
    table = comparison_medians(cmp, frame, metric, by) if cmp is not None else medians(frame, metric, by)
    finite_or_raise(table["median"], metric, "compare")
    names = [str(g) for g in table[by]]
    if baseline is not None and str(baseline) not in names:
        raise ValueError(f"compare(baseline=...): {baseline!r} is not one of {names}")

    label, unit, _ = metric_info(metric)
    med = table["median"].to_numpy(dtype="f8")
    low, high = table["ci_low"].to_numpy(dtype="f8"), table["ci_high"].to_numpy(dtype="f8")
    factor, shown = scale_for(np.concatenate([med, high]), unit)
    per_run = f" per {table.attrs['per']}" if table.attrs.get("per") else ""
    fig, (ax,) = new_figure(caption=provenance(frame, metric) + " Bars: median of the successful runs; whiskers: 95% "
                            "bootstrap CI of the median" + ("; ratio to the baseline's median above each bar."
                                                            if baseline is not None else "."))
    x = np.arange(len(names))
    bars = ax.bar(x, med * factor, color=palette(len(names)), edgecolor="black", linewidth=0.6)
    known = np.isfinite(low) & np.isfinite(high)
    if known.any():
        ax.errorbar(x[known], med[known] * factor,
                    yerr=[(med - low)[known] * factor, (high - med)[known] * factor],
                    fmt="none", ecolor="black", elinewidth=1.0, capsize=4, label="95% CI")
    tick_labels = list(names)
    if baseline is not None:
        b = names.index(str(baseline))
        bars[b].set_hatch("//")
        ax.axhline(med[b] * factor, color="black", linestyle="--", linewidth=0.8,
                   label=f"baseline: {baseline}")
        tick_labels[b] = f"{names[b]}\n(baseline)"
    tops = np.fmax(med, np.where(known, high, med)) * factor
    for i in range(len(names)):
        note = f"n={table['n'].iloc[i]:.0f}" if np.isfinite(float(table["n"].iloc[i])) else ""
        if baseline is not None and med[b] > 0 and np.isfinite(med[i]):
            # the ratio of medians, printed as everywhere else (frugal.units.format_ratio)
            note = f"×{format_ratio(med[i] / med[b])}\n{note}"
        ax.annotate(note, (x[i], tops[i]), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, tick_labels)
    ax.set_xlabel(f"{by} (name)")
    ax.set_ylabel(axis_label(label + per_run, shown))
    ax.set_ylim(0, np.nanmax(tops) * 1.22 if np.isfinite(np.nanmax(tops)) and np.nanmax(tops) > 0 else 1)
    ax.set_title(f"{label}{per_run} by {by}: median and 95% CI")
    if ax.get_legend_handles_labels()[0]:  # no baseline and no CI: nothing to explain
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


# indicator -> tick label; normalised by the largest value across the groups. Only costs
# (lower is more frugal): CPU utilisation and the embodied share are ratios, not costs.
PROFILE = {
    "energy_per_unit_j": "Energy\n/unit",
    "carbon_per_unit_g": "Carbon\n/unit (SCI)",
    "embodied_per_unit_g": "Embodied carbon\n/unit",
    "peak_added_per_unit_bytes": "Memory added\n/unit",
    "time_per_unit_s": "Time\n/unit",
    "cpu_per_unit_s": "CPU time\n/unit",
}


@literal_text
def profile(frame_or_cmp: Any, by: str | None = None, baseline: str | None = None,
            grades: str | Mapping[str, Sequence[float]] = "relative", *, table: Any = None) -> Figure:
    """The frugality profile: every indicator divided by its largest value, variants side by side.

    One group of bars per cost indicator of ``frugal.indicators`` (energy, SCI carbon,
    embodied carbon, peak memory, time and CPU time per unit); 1 is the largest value in
    the set (least frugal), so the shorter the bars the more frugal the variant.
    Grade letters (A-G, on the ``grades`` scale) sit above the graded indicators. Indicators
    with no value (energy before a model or meter ran) are left out and named in the caption.
    ``table``: ``frugal.indicators`` of this frame, when already computed (``grades`` and
    ``baseline`` are then the table's).
    """
    frame, cmp = unpack(frame_or_cmp, "profile(frame_or_cmp=...)")
    by = group_column(frame, by)
    if baseline is None and cmp is not None:
        baseline = getattr(cmp, "baseline", None)
    table = given_table(table, by, "profile") if table is not None else \
        indicators(frame, by=by, baseline=baseline, grades=grades)
    shown = [k for k in PROFILE if (table[k].to_numpy(dtype="f8") > 0).any()]
    missing = [k for k in PROFILE if k not in shown]
    if not shown:
        raise ValueError("profile: no indicator has a value in this frame")
    groups = [str(g) for g in table.index]
    n = len(groups)
    width = 0.8 / n
    grade_of = {k: v[0] for k, v in GRADED.items()}
    scale_kind = {k: s.get("kind") for k, s in table.attrs["grade_scale"].items()}
    caption = (provenance(frame) + f" Each indicator is divided by its largest value across the {by}s "
               "(1 = least frugal). Letters: grades A (most frugal) to G, "
               + ("relative to this set. " if "absolute" not in scale_kind.values() else "on the given scale. ")
               + table.attrs["unit_note"]
               + (f" Zero or not available, not drawn: {', '.join(missing)}." if missing else ""))
    fig, (ax,) = new_figure(width=max(7.5, 1.1 * len(shown) * max(1, n / 3)), caption=caption)
    x = np.arange(len(shown))
    colors = palette(n)
    for j, group in enumerate(groups):
        values = np.array([table[k].iloc[j] / np.nanmax(table[k].to_numpy(dtype="f8")) for k in shown])
        xs = x - 0.4 + width * (j + 0.5)
        failed = table["status"].iloc[j] == "failed"
        ax.bar(xs, values, width, color=colors[j], edgecolor="black", linewidth=0.5,
               label=group + (" (baseline)" if baseline is not None and group == str(baseline) else "")
               + (" (failed: not graded)" if failed else ""))
        for xi, k, v in zip(xs, shown, values):
            letter = table[grade_of[k]].iloc[j] if k in grade_of else None
            if letter is not None and isinstance(letter, str) and np.isfinite(v):
                ax.annotate(letter, (xi, v), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, fontweight="bold")
    ax.set_xticks(x, [PROFILE[k] for k in shown], fontsize=8)
    ax.set_xlabel("indicator (ratio to the largest value)")
    ax.set_ylabel(axis_label("Relative to the largest", "ratio, 1 = largest"))
    ax.set_ylim(0, 1.15)
    ax.set_title(f"Frugality profile by {by} (shorter is more frugal)")
    ax.legend(fontsize=8, frameon=False, ncols=min(n, 4), loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


COMPONENTS = (("energy_cpu_j", "CPU", OKABE_ITO[0]), ("energy_ram_j", "RAM", OKABE_ITO[1]),
              ("energy_gpu_j", "GPU", OKABE_ITO[2]))


@literal_text
def breakdown(frame_or_cmp: Any, by: str | None = None) -> Figure:
    """Energy per unit split into CPU, RAM and GPU (left), carbon per unit split into
    operational and embodied (right), stacked, one bar per group.

    Energy the components do not account for (``energy_j`` above their sum: the PUE
    overhead) is its own segment. A component that is zero or unknown everywhere (no GPU) is
    left out and named in the caption; one unknown on some rows counts as 0 there. Joules
    and grams of CO2e per functional unit (per call for groups without units).
    """
    frame, _ = unpack(frame_or_cmp, "breakdown(frame_or_cmp=...)")
    by = group_column(frame, by)
    columns = [c for c, _, _ in COMPONENTS] + ["energy_j", "carbon_g", "embodied_g"]
    need(frame, *columns)
    table = per_unit(frame, by=by, columns=columns)
    total = table["energy_j"].to_numpy(dtype="f8")
    finite_or_raise(total, "energy_j", "breakdown")
    groups = [str(g) for g in table.index]
    per = "unit" if (table["unit"] == "unit").all() else ("call" if (table["unit"] == "call").all() else "unit or call")
    x = np.arange(len(groups))
    parts = [(table[c].to_numpy(dtype="f8"), name, color) for c, name, color in COMPONENTS]
    known = np.nansum([np.nan_to_num(v) for v, _, _ in parts], axis=0)
    other = np.where(total - known > 1e-9 * np.fmax(total, 1e-300), total - known, 0.0)
    parts.append((other, "other (PUE)", OKABE_ITO[5]))
    absent = [name for values, name, _ in parts if not (np.nan_to_num(values) > 0).any()]
    parts = [p for p in parts if p[1] not in absent]
    fig, (left, right) = new_figure(width=9.0, ncols=2, caption=(
        provenance(frame, "energy_j") + " Energy panel: energy per " + per + " by component; 'other' is "
        "energy_j beyond CPU + RAM + GPU (PUE overhead). Carbon panel: operational (energy x grid intensity) "
        "and embodied (SCI M) carbon per " + per + "."
        + (f" Zero or not measured, not drawn: {', '.join(absent)}." if absent else "")))
    factor, unit = scale_for(total, "J")
    bottom = np.zeros(len(groups))
    for values, name, color in parts:
        v = np.nan_to_num(values) * factor
        left.bar(x, v, 0.6, bottom=bottom, color=color, edgecolor="black", linewidth=0.5, label=name)
        bottom += v
    left.set_xticks(x, groups)
    left.set_xlabel(f"{by} (name)")
    left.set_ylabel(axis_label("Energy", unit, per))
    left.set_title("Energy by component")
    left.legend(fontsize=8, frameon=False)

    operational = table["carbon_g"].to_numpy(dtype="f8")
    embodied = table["embodied_g"].to_numpy(dtype="f8")
    cfactor, cunit = scale_for(np.nan_to_num(operational) + np.nan_to_num(embodied), "gCO2e")
    right.bar(x, np.nan_to_num(operational) * cfactor, 0.6, color=OKABE_ITO[3], edgecolor="black",
              linewidth=0.5, label="operational")
    right.bar(x, np.nan_to_num(embodied) * cfactor, 0.6, bottom=np.nan_to_num(operational) * cfactor,
              color=OKABE_ITO[4], edgecolor="black", linewidth=0.5, hatch="//", label="embodied")
    right.set_xticks(x, groups)
    right.set_xlabel(f"{by} (name)")
    right.set_ylabel(axis_label("Carbon", cunit, per))
    right.set_title("Carbon: operational + embodied")
    right.legend(fontsize=8, frameon=False)
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return fig
