"""Frugality indicators: what a group of measured runs costs per functional unit, graded A-G.

Every indicator is a ratio of totals over the group's successful rows (the total divided by
the group's total units of work), so summary rows (``calls`` > 1, totals) and single calls
add up the way the SCI does: ``SCI = (E x I + M) / R``. Comparisons between groups (the
ratio to a baseline, the grades) use the one ratio of frugal (``frugal.analysis.ratios``):
the ratio of the medians of the per-row values, with its bootstrap interval. Formulas, grade
scales and the constants of the human equivalents are in METHODOLOGY.md ("Frugality
indicators", "Statistics").
"""
from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from frugal.analysis import grades as G
from frugal import stats
from frugal.frames.columns import memory_column
from frugal.frames.frame import floats, labels
from frugal.units import MEMORY_FALLBACK, format_quantity, unit_of
from frugal.analysis.ratios import Medians, against_baseline
from frugal.analysis.verdicts import ALPHA, CANNOT, FAILED, Failure, Table, failures_of

MAX_BOOT_CELLS = 10_000_000   # bootstrap values drawn per group and indicator at most (rows x resamples)

# indicator -> (grade column, unit of the indicator); all are "lower is more frugal"
GRADED: dict[str, tuple[str, str]] = {
    "energy_per_unit_j": ("grade_energy", "J"),
    "carbon_per_unit_g": ("grade_carbon", "gCO2e"),
    "peak_added_per_unit_bytes": ("grade_memory", "B"),
    "time_per_unit_s": ("grade_time", "s"),
}

# Shown where memory_column falls back to the process's peak.
MEMORY_FALLBACK_NOTE = ("Memory here is the peak resident memory of the process (these measurements were "
                        "stored before frugal recorded peak_added_bytes, the memory a region added above its start).")

UNITS: dict[str, str] = {k: unit_of(k) for k in (
    "energy_per_unit_j", "carbon_per_unit_g", "operational_per_unit_g", "embodied_per_unit_g",
    "embodied_share", "peak_added_per_unit_bytes", "time_per_unit_s", "cpu_per_unit_s", "cpu_util",
    "carbon_g", "car_km", "smartphone_charges", "tree_months", "gain", "gain_ci_low", "gain_ci_high")}

# Human equivalents of a mass of CO2e: grams of CO2e per one of each (METHODOLOGY.md).
EQUIVALENTS: dict[str, dict[str, Any]] = {
    "car_km": {
        "g_per": 108.1, "label": "km driven by a new car",
        "source": "EEA, CO2 performance of new passenger cars in Europe: 108.1 gCO2/km, "
                  "new cars registered in 2022 (WLTP type approval)",
    },
    "smartphone_charges": {
        "g_per": 8.22, "label": "smartphone charges",
        "source": "US EPA, Greenhouse Gas Equivalencies Calculator, calculations and references: "
                  "8.22e-6 t CO2 per smartphone charged",
    },
    "tree_months": {
        "g_per": 11_000.0 / 12.0, "label": "months of a mature tree's uptake",
        "source": "Lannelongue, Grealey & Inouye, Green Algorithms, Adv. Sci. 2021, 8, 2100707: "
                  "a mature tree sequesters about 11 kg CO2 a year",
    },
}

# indicators with per-row samples: what a gain, a CV or a CI can be computed on
SAMPLED = ("energy_per_unit_j", "carbon_per_unit_g", "operational_per_unit_g", "embodied_per_unit_g",
           "peak_added_per_unit_bytes", "time_per_unit_s", "cpu_per_unit_s")

# energy_method tokens that name a meter; "model" is the documented model
METERS = frozenset({"rapl", "nvml", "powercap", "meter"})

NEEDED = ("wall_s", "cpu_s", "peak_rss_bytes", "energy_j", "carbon_g", "embodied_g", "units", "calls")
NON_NEGATIVE = ("wall_s", "cpu_s", "peak_rss_bytes", "energy_cpu_j", "energy_ram_j", "energy_gpu_j",
                "energy_j", "carbon_g", "embodied_g", "intensity_g_per_kwh")

# what each indicator rests on, stated with the table
PROVENANCE = {
    "time_per_unit_s": "measured (monotonic clock)",
    "cpu_per_unit_s": "measured (kernel CPU time)",
    "cpu_util": "measured (CPU time / wall time)",
    "peak_added_per_unit_bytes": "measured (kernel resident high-water mark minus the resident memory at the start)",
    "energy_per_unit_j": "measured or modelled: see the energy_basis column",
    "operational_per_unit_g": "modelled: energy x grid intensity (intensity_source)",
    "embodied_per_unit_g": "modelled: manufacturing emissions x time share x core share (SCI M)",
    "carbon_per_unit_g": "modelled: SCI per functional unit, operational + embodied",
    "embodied_share": "modelled: embodied / (operational + embodied)",
}


def indicators(frame: pd.DataFrame, by: str = "name", baseline: str | None = None,
               grades: str | Mapping[str, Sequence[float]] = "relative", *, view: str = "table",
               gain_of: str = "energy_per_unit_j", n_boot: int = 2000, seed: int = 0,
               errors: Mapping[Any, Sequence[str]] | None = None) -> pd.DataFrame:
    """Frugality indicators, one row per group of ``frame`` (indexed by the ``by`` value).

    ``frame`` has the columns of ``frugal.results()`` (a stored frame or ``Comparison.frame``
    works too). Per functional unit (the ``units`` given to ``measure``; one *call* when a
    group has no units, said in the ``unit`` column and ``attrs["unit_note"]``), over the
    group's totals:

    - ``energy_per_unit_j`` (J), measured by a meter or modelled (``energy_basis``);
    - ``carbon_per_unit_g`` (gCO2e): operational + embodied, the SCI score per unit;
      ``operational_per_unit_g``, ``embodied_per_unit_g`` and ``embodied_share`` (matter);
    - ``peak_added_per_unit_bytes`` (B, measured): memory added (``peak_added_bytes``, the
      peak above the region's start) x calls / units; a frame without that column's values
      (a store written before frugal recorded it) uses the process's peak ``peak_rss_bytes``,
      and says so in ``attrs["memory"]`` and ``attrs["memory_note"]``;
    - ``time_per_unit_s``, ``cpu_per_unit_s`` (s, measured) and ``cpu_util`` (ratio);
    - ``ratio`` against ``baseline``: the ratio of the medians of the per-row values of
      ``gain_of`` (the one ratio of frugal), with its percentile-bootstrap interval
      (``ratio_ci_low``, ``ratio_ci_high`` at ``ratio_ci_level``: ``n_boot`` resamples or
      more, ``seed``); ``significant`` exactly when it excludes 1, decided over every group
      against the baseline (Benjamini-Hochberg, false discovery rate 5%); an ``outcome``
      and a ``verdict`` sentence; ``gain`` = 1 - ratio (positive: more frugal) with
      ``gain_ci_low``/``gain_ci_high``, and the supporting Mann-Whitney U ``gain_p``.
      Fewer than 5 rows on a side: "too few runs" and no interval;
    - ``grade_energy``, ``grade_carbon``, ``grade_memory``, ``grade_time`` and ``grade``
      (A most frugal .. G): ``grades="relative"`` grades the ratio of each group's median to
      the best group's on the geometric scale A <= 1.1x, B <= 1.25x, C <= 1.5x, D <= 2x,
      E <= 4x, F <= 10x, G beyond, and a group tied with the best (its interval against the
      best includes 1) gets the best's grade; a mapping ``{indicator: [6 increasing
      thresholds]}`` grades those indicators on absolute thresholds of the value shown
      (value <= first threshold is A). The overall grade is the rounded mean of the
      indicator grades. The scale is in ``attrs["grade_scale"]`` (dict) and
      ``attrs["grade_scale_text"]`` (readable), which the printed table shows under itself;
    - ``status`` ("ok", "partly failed", "failed") and ``errors`` (``errors[group]``, the
      failed rows' error texts when given, else the frame's ``error`` column): a group's
      failed rows are left out of every indicator; a group with no successful row has none,
      and no grade, ratio or gain;
    - human equivalents of the group's total carbon ``carbon_g``: ``car_km``,
      ``smartphone_charges``, ``tree_months`` (constants and sources in ``attrs["equivalents"]``).

    ``view="principles"`` returns the same numbers grouped by principle under two-level
    columns: ``energy``, ``matter``, ``reliability`` (runs, coefficients of variation, CI
    width, measured vs modelled, failed runs) and ``overall`` (SCI, grade, gain).

    Raises ``ValueError`` naming the column for a missing column, units <= 0 or a negative
    value, and naming the argument for a bad ``by``, ``baseline``, ``grades`` or ``view``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"indicators(frame=...) must be a pandas DataFrame, got {type(frame).__name__}")
    if view not in ("table", "principles"):
        raise ValueError(f"indicators(view=...) must be 'table' or 'principles', got {view!r}")
    if gain_of not in SAMPLED:
        raise ValueError(f"indicators(gain_of=...) must be one of {', '.join(SAMPLED)}, got {gain_of!r}")
    _check_frame(frame, by)
    scales = G.spec(grades, GRADED)
    table, rows, _, _ = _table(frame, by, baseline, scales, gain_of, n_boot, seed, errors, None)
    if view == "principles":
        return _as_table(_principles(table, rows, gain_of, n_boot, seed))
    return _as_table(table)


def indicators_of(frame: pd.DataFrame, names: Collection[str], by: str = "name", baseline: str | None = None, *,
                  n_boot: int = 2000, seed: int = 0, errors: Mapping[Any, Sequence[str]] | None = None) -> pd.DataFrame:
    """The rows of ``indicators(frame, by, baseline, n_boot=n_boot, seed=seed, errors=errors)``
    for the groups named in ``names`` (as text) and the baseline, with the same numbers, at a
    cost bounded in the other groups: they enter the grades through their medians only (which
    is the best, how large the family is), computed for all in one sort, and are not
    bootstrapped. With a baseline every group is (their ratios are decided as one family).
    ``attrs["others"]``: the other groups' rows pooled as one group (its indicators, and
    ``groups``: how many), or None when there are none.
    """
    _check_frame(frame, by)
    keep = {str(n) for n in names} | ({str(baseline)} if baseline is not None else set())
    table, _, groups, codes = _table(frame, by, baseline, G.spec("relative", GRADED), "energy_per_unit_j", n_boot,
                                     seed, errors, keep if baseline is None else None)
    out = _as_table(table[[str(g) in keep for g in table.index]])
    out.attrs["others"] = None
    listed = np.array([str(g) in keep for g in groups])
    rest = np.flatnonzero(~listed[codes])
    if len(rest):
        out.attrs["others"] = {**_group_indicators(frame.iloc[rest], memory_column(frame))["values"],
                               "groups": int((~listed).sum())}
    return out


def _table(frame: pd.DataFrame, by: str, baseline: Any, scales: dict[str, list[float] | None], gain_of: str,
           n_boot: int, seed: int, errors: Mapping[Any, Sequence[str]] | None,
           keep: set[str] | None) -> tuple[pd.DataFrame, dict[Any, _Group], list[Any], np.ndarray]:
    """The indicators table of the groups named in ``keep`` (all when None), its rows, every
    group and each frame row's group (its position in that list); every group counts in the
    grades (their best, their family) and the ratios."""
    memory = memory_column(frame)
    grouped = frame.groupby(by, sort=False, dropna=False)
    groups = list(grouped.size().index)
    codes = grouped.ngroup().to_numpy()
    if baseline is not None and baseline not in groups:
        raise ValueError(f"indicators(baseline=...): {baseline!r} is not a value of column {by!r} "
                         f"(values: {groups[:10]})")
    order = np.argsort(codes, kind="stable")
    positions = np.split(order, np.cumsum(np.bincount(codes, minlength=len(groups)))[:-1])
    listed = [i for i, g in enumerate(groups) if keep is None or str(g) in keep]
    rows = {groups[i]: _group_indicators(frame.iloc[positions[i]], memory) for i in listed}
    table = pd.DataFrame([r["values"] for r in rows.values()], index=pd.Index(list(rows), name=by))
    failures = _add_failures(table, frame, by, errors)
    values = _row_values(frame, codes, len(groups), memory)
    index_of = {g: i for i, g in enumerate(groups)}

    def sample(g: Any, indicator: str) -> np.ndarray:
        # the group's per-row values in row order, the unknown ones left out (as _per_row)
        v = values[indicator][positions[index_of[g]]]
        known: np.ndarray = v[np.isfinite(v)]
        return known

    # enough resamples for a family of every pair of groups on every graded indicator
    boot = Medians(sample, groups, stats.replicates_for(max(len(GRADED) * G.pairs(len(groups)), 1), ALPHA, n_boot),
                   seed, MAX_BOOT_CELLS)
    _add_gain(table, list(rows), sample, boot, baseline, gain_of)
    row_of = np.full(len(groups), -1)
    row_of[listed] = np.arange(len(listed))
    graded = [i for i, g in enumerate(groups) if not (g in failures and failures[g].status == FAILED)]
    scale = _add_grades(table, groups, graded, row_of, values, codes, boot, scales)
    _add_equivalents(table)

    table.attrs.update({
        "grade_scale": scale,
        "grade_scale_text": G.scale_text_of(scale),
        "unit_note": _unit_note(table),
        "units": {k: v for k, v in UNITS.items() if k in table.columns},
        "provenance": dict(PROVENANCE),
        "equivalents": {k: dict(v) for k, v in EQUIVALENTS.items()},
        "baseline": baseline, "gain_of": gain_of, "by": by,
        "memory": memory, "memory_note": MEMORY_FALLBACK_NOTE if memory == MEMORY_FALLBACK else "",
    })
    return table, rows, groups, codes


def _as_table(frame: pd.DataFrame) -> Table:
    """The table, printing the grade scale and the failed groups under itself."""
    out = Table(frame)
    out.attrs.update(frame.attrs)
    failed = frame.attrs.get("failures", {})
    out.attrs["warnings"] = [f["sentence"] for f in failed.values()]
    out.attrs["notes"] = frame.attrs["grade_scale_text"].splitlines()
    return out


# --- input checks -------------------------------------------------------------------------

def _check_frame(frame: pd.DataFrame, by: str) -> None:
    if not isinstance(by, str) or by not in frame.columns:
        raise ValueError(f"indicators(by=...): the frame has no column {by!r}")
    for col in NEEDED:
        if col not in frame.columns:
            raise ValueError(f"indicators: the frame has no column {col!r} (needs {', '.join(NEEDED)})")
    if len(frame) == 0:
        raise ValueError("indicators(frame=...): the frame has no rows")
    check_values(frame)


def check_values(frame: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the column when a cost is negative, units <= 0 or calls < 1."""
    for col in NON_NEGATIVE:
        if col in frame.columns and (floats(frame[col]) < 0).any():
            raise ValueError(f"column {col!r} has negative values; costs are >= 0")
    if "units" in frame.columns and (floats(frame["units"]) <= 0).any():
        raise ValueError("column 'units' has values <= 0; a functional unit count must be > 0 "
                         "(leave it empty, NaN, for 'one call')")
    if "calls" in frame.columns:
        calls = floats(frame["calls"])
        if np.isnan(calls).any() or (calls < 1).any():
            raise ValueError("column 'calls' must be >= 1 on every row")


# --- one group ----------------------------------------------------------------------------

def _denominator(g: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Each row's share of the group's work: its units when every row has units, else its calls."""
    units = floats(g["units"])
    if np.isfinite(units).all():
        return units, True
    return floats(g["calls"]), False


def per_unit(frame: pd.DataFrame, by: str = "name", columns: Sequence[str] = ("energy_j",)) -> pd.DataFrame:
    """Each group's total of ``columns`` divided by its total units (per call without units).

    The same ratio of totals as ``indicators`` (units of the columns, per unit); a ``unit``
    column says "unit" or "call". Raises ``ValueError`` naming a missing or negative column.
    """
    for col in (by, "units", "calls", *columns):
        if col not in frame.columns:
            raise ValueError(f"per_unit: the frame has no column {col!r}")
    check_values(frame)
    out = {}
    needed = list(dict.fromkeys((by, "units", "calls", *columns)))   # groups of these columns only: no copy of the rest
    for g, sub in frame[needed].groupby(by, sort=False, dropna=False):
        denom, has_units = _denominator(sub)
        row: dict[str, Any] = {c: float(floats(sub[c]).sum() / denom.sum()) for c in columns}
        row["unit"] = "unit" if has_units else "call"
        out[g] = row
    table = pd.DataFrame(list(out.values()), index=pd.Index(list(out), name=by))
    return table


class _Group(TypedDict):
    """One group's indicators (``values``, a row of the table) and per-row samples (numerator, denominator)."""

    values: dict[str, Any]
    samples: dict[str, tuple[np.ndarray, np.ndarray]]


def _successful(g: pd.DataFrame) -> np.ndarray:
    """Rows whose status is "ok" (every row when the frame has no status column)."""
    if "status" not in g.columns:
        return np.ones(len(g), dtype=bool)
    ok: np.ndarray = (g["status"].astype("string") == "ok").fillna(False).to_numpy(dtype=bool)
    return ok


def _group_indicators(group: pd.DataFrame, memory: str) -> _Group:
    ok = _successful(group)
    g = group[ok]
    col = {c: floats(g[c]) for c in (*NEEDED, memory)}
    denom, has_units = _denominator(g)
    total = denom.sum()

    def per(values: np.ndarray) -> float:
        # NaN anywhere -> NaN: no partial totals; no successful row -> no value
        return float(values.sum() / total) if total > 0 else math.nan

    operational, embodied = col["carbon_g"].sum(), col["embodied_g"].sum()
    carbon = operational + embodied
    methods = _methods(g)
    values = {
        "n_runs": len(group),
        "calls": int(col["calls"].sum()),
        "units": float(total),
        "unit": "unit" if has_units else "call",
        "energy_per_unit_j": per(col["energy_j"]),
        "carbon_per_unit_g": float(carbon / total) if total > 0 else math.nan,
        "operational_per_unit_g": per(col["carbon_g"]),
        "embodied_per_unit_g": per(col["embodied_g"]),
        "embodied_share": float(embodied / carbon) if carbon > 0 else math.nan,
        "peak_added_per_unit_bytes": per(col[memory] * col["calls"]),
        "time_per_unit_s": per(col["wall_s"]),
        "cpu_per_unit_s": per(col["cpu_s"]),
        "cpu_util": float(col["cpu_s"].sum() / col["wall_s"].sum()) if col["wall_s"].sum() > 0 else math.nan,
        "carbon_g": float(carbon) if len(g) else math.nan,
        "energy_basis": energy_basis(methods),
        "energy_method": "+".join(sorted(methods)) or None,
        "intensity_g_per_kwh": _median_or_nan(g, "intensity_g_per_kwh"),
        "intensity_source": _joined(g, "intensity_source"),
        "failed_runs": int((~ok).sum()),
    }
    # per-row samples, for the bootstrap, the p-value and the coefficients of variation
    samples = {k: (num, denom) for k, num in _numerators(col, memory).items()}
    return {"values": values, "samples": samples}


def _numerators(col: Mapping[str, np.ndarray], memory: str) -> dict[str, np.ndarray]:
    """Each row's numerator of every SAMPLED indicator (its denominator: ``_denominator``)."""
    return {
        "energy_per_unit_j": col["energy_j"],
        "carbon_per_unit_g": col["carbon_g"] + col["embodied_g"],
        "operational_per_unit_g": col["carbon_g"],
        "embodied_per_unit_g": col["embodied_g"],
        "peak_added_per_unit_bytes": col[memory] * col["calls"],
        "time_per_unit_s": col["wall_s"],
        "cpu_per_unit_s": col["cpu_s"],
    }


def _row_values(frame: pd.DataFrame, codes: np.ndarray, k: int, memory: str) -> dict[str, np.ndarray]:
    """Each row's value of every SAMPLED indicator, for all groups at once (``codes``: each row's
    group of k): the row's numerator over its denominator, units where its group's successful
    rows all have units, else calls (``_denominator``); NaN on failed rows and where the
    denominator is not > 0. Elementwise the same arithmetic as ``_per_row``."""
    ok = _successful(frame)
    col = {c: floats(frame[c]) for c in (*NEEDED, memory)}
    units = col["units"]
    partial = np.bincount(codes[ok], weights=(~np.isfinite(units[ok])).astype("f8"), minlength=k) > 0
    den = np.where(partial[codes], col["calls"], units)
    use = ok & (den > 0)
    return {k: np.divide(num, den, out=np.full(len(den), np.nan), where=use)
            for k, num in _numerators(col, memory).items()}


def _methods(g: pd.DataFrame) -> set[str]:
    if "energy_method" not in g.columns:
        return set()
    return set(labels(g["energy_method"]))


def energy_basis(methods: set[str] | Sequence[str]) -> str:
    """``"measured"``, ``"modelled"``, ``"mixed"`` or ``"none"`` for a set of ``energy_method`` values.

    A method is split on ``+`` ("rapl+nvml"); ``model`` is modelled, a meter (rapl, nvml)
    is measured, and anything else (e.g. ``codecarbon``) is reported under its own name.
    """
    tokens = {t for m in methods for t in str(m).split("+") if t}
    if not tokens:
        return "none"
    if tokens <= {"model"}:
        return "modelled"
    if tokens <= METERS:
        return "measured"
    if tokens <= METERS | {"model"}:
        return "mixed"
    return "+".join(sorted(tokens))


def _median_or_nan(g: pd.DataFrame, col: str) -> float:
    if col not in g.columns:
        return math.nan
    values = floats(g[col])
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def _joined(g: pd.DataFrame, col: str) -> str | None:
    if col not in g.columns:
        return None
    values = sorted(labels(g[col]))
    return "; ".join(values) or None


# --- failures -----------------------------------------------------------------------------

def _add_failures(table: pd.DataFrame, frame: pd.DataFrame, by: str,
                  errors: Mapping[Any, Sequence[str]] | None) -> dict[Any, Failure]:
    failures = failures_of(frame, by, errors)
    table["status"] = pd.array([failures[g].status if g in failures else "ok" for g in table.index], dtype="string")
    table["errors"] = pd.array(["; ".join(failures[g].errors) if g in failures else pd.NA for g in table.index],
                               dtype="string")
    table.attrs["failures"] = {str(g): {"status": f.status, "failed": f.failed, "runs": f.runs,
                                        "errors": list(f.errors), "sentence": f.sentence(repr(str(g)))}
                               for g, f in failures.items()}
    return failures


def _per_row(r: _Group, indicator: str) -> np.ndarray:
    """A group's per-row values of ``indicator`` (per unit), the unknown ones left out."""
    num, den = r["samples"][indicator]
    values: np.ndarray = np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)
    known: np.ndarray = values[np.isfinite(values)]
    return known


# --- the ratio to a baseline --------------------------------------------------------------

def _add_gain(table: pd.DataFrame, groups: list[Any], sample: Callable[[Any, str], np.ndarray], boot: Medians[Any],
              baseline: Any, gain_of: str) -> None:
    """The ratio of medians of ``gain_of`` to the baseline's, its interval and verdict; gain = 1 - ratio."""
    for c in ("ratio", "ratio_ci_low", "ratio_ci_high", "ratio_ci_level", "gain", "gain_ci_low",
              "gain_ci_high", "gain_p"):
        table[c] = math.nan
    table["significant"] = False
    table["outcome"] = pd.array([pd.NA] * len(table), dtype="string")
    table["verdict"] = pd.array([pd.NA] * len(table), dtype="string")
    if baseline is None:
        return
    base = sample(baseline, gain_of)
    apart = {g: _apart(table, g, baseline) for g in groups if g != baseline}
    samples = {g: (sample(g, gain_of), base) for g, why in apart.items() if why is None}
    found = against_baseline(samples, lambda g: (boot(g, gain_of), boot(baseline, gain_of)))
    failures = table.attrs["failures"]
    for g, why in apart.items():
        if why is None:
            r = found[g]
            table.at[g, "ratio"], table.at[g, "significant"] = r.ratio, r.significant
            table.at[g, "ratio_ci_low"], table.at[g, "ratio_ci_high"] = r.ci_low, r.ci_high
            table.at[g, "ratio_ci_level"] = r.ci_level
            table.at[g, "gain_p"] = r.p_value if min(r.n) >= 2 else math.nan
            note = "; ".join(failures[str(k)]["sentence"] for k in (g, baseline) if str(k) in failures)
            why = r.outcome, r.verdict(str(g), str(baseline), gain_of, failure=note)
        table.at[g, "outcome"], table.at[g, "verdict"] = why
    if len(base) and table.at[baseline, "status"] != FAILED:
        table.at[baseline, "ratio"] = 1.0
    table["gain"] = 1.0 - table["ratio"]
    table["gain_ci_low"], table["gain_ci_high"] = 1.0 - table["ratio_ci_high"], 1.0 - table["ratio_ci_low"]


def _apart(table: pd.DataFrame, g: Any, baseline: Any) -> tuple[str, str] | None:
    """(outcome, sentence) when group ``g`` is not compared with the baseline: either failed,
    or they count different units; None when they are compared."""
    failures = table.attrs["failures"]
    if table.at[g, "status"] == FAILED:
        return FAILED, failures[str(g)]["sentence"]
    if table.at[baseline, "status"] == FAILED:
        return CANNOT, f"{g} is not compared with {baseline}: {failures[str(baseline)]['sentence']}"
    if table.at[g, "unit"] != table.at[baseline, "unit"]:
        return CANNOT, (f"{g} is not compared with {baseline}: one is counted per {table.at[g, 'unit']}, "
                        f"the other per {table.at[baseline, 'unit']} (give both the same units=...)")
    return None


# --- grades -------------------------------------------------------------------------------

def _add_grades(table: pd.DataFrame, groups: list[Any], graded: list[int], row_of: np.ndarray,
                values: dict[str, np.ndarray], codes: np.ndarray, boot: Medians[Any],
                spec: dict[str, list[float] | None]) -> dict[str, dict[str, Any]]:
    """Grade columns of ``table`` (whose rows are ``row_of`` each of ``groups``, -1: left out).
    ``graded``: the positions of the groups graded (not failed), all of which set the best and
    the family; the groups left out of the table are not bootstrapped."""
    scale: dict[str, dict[str, Any]] = {}
    indices = []
    at = row_of[graded]
    inside = at >= 0
    names = [groups[i] for i in graded]
    together = sum(spec[k] is None for k in GRADED)    # indicators graded relatively, as one family
    for indicator, (column, unit) in GRADED.items():
        thresholds = spec[indicator]
        idx = np.full(len(table), np.nan)
        if thresholds is None:
            medians, n = G.group_medians(values[indicator], codes, len(groups))
            medians, n = medians[graded], n[graded]
            def replicates(i: int, indicator: str = indicator) -> np.ndarray:
                return boot(names[i], indicator)

            result = G.relative(medians, replicates, n, ALPHA, tables=together, only=None if inside.all() else inside)
            idx[at[inside]] = result.index[inside]
            best = names[result.best] if result.best is not None else None
            scale[indicator] = {"kind": "relative", "bounds": list(G.SCALE), "unit": unit, "best": best,
                                "best_median": float(medians[result.best]) if result.best is not None else math.nan,
                                "tie_level": result.level,
                                "tied": [g for g, t in zip(names, result.tied) if t and g != best]}
        else:
            idx[at[inside]] = G.absolute(table[indicator].to_numpy(dtype="f8")[at[inside]], thresholds)
            scale[indicator] = {"kind": "absolute", "thresholds": list(thresholds), "unit": unit}
        table[column] = pd.array(G.letters(idx), dtype="string")
        indices.append(idx)
    table["grade"] = pd.array(G.letters(G.overall(indices)), dtype="string")
    scale["overall"] = {"kind": "mean", "of": [c for c, _ in GRADED.values()]}
    return scale


def _unit_note(table: pd.DataFrame) -> str:
    per_call = [str(g) for g, u in table["unit"].items() if u == "call"]
    if not per_call:
        return "Per functional unit: the units given to frugal.measure(units=...)."
    return ("Per functional unit where units were given; per call for groups without units on "
            f"every row: {', '.join(per_call)}.")


# --- equivalents --------------------------------------------------------------------------

def _add_equivalents(table: pd.DataFrame) -> None:
    for column, eq in EQUIVALENTS.items():
        table[column] = table["carbon_g"] / eq["g_per"]


# --- the view by principle ----------------------------------------------------------------

PRINCIPLES: dict[str, tuple[str, ...]] = {
    "energy": ("energy_per_unit_j", "operational_per_unit_g", "time_per_unit_s", "cpu_per_unit_s",
               "cpu_util", "grade_energy", "grade_time"),
    "matter": ("peak_added_per_unit_bytes", "embodied_per_unit_g", "embodied_share", "grade_memory"),
    "reliability": ("n_runs", "calls", "failed_runs", "status", "errors", "cv_energy", "cv_time", "ci_rel_width",
                    "energy_basis", "energy_method", "intensity_g_per_kwh", "intensity_source"),
    "overall": ("carbon_per_unit_g", "grade_carbon", "grade", "ratio", "ratio_ci_low", "ratio_ci_high",
                "significant", "gain", "gain_ci_low", "gain_ci_high", "gain_p", "car_km", "smartphone_charges",
                "tree_months"),
}


def _principles(table: pd.DataFrame, rows: dict[Any, _Group], gain_of: str, n_boot: int, seed: int) -> pd.DataFrame:
    extra = pd.DataFrame(index=table.index)
    extra["cv_energy"] = [_cv(*rows[g]["samples"]["energy_per_unit_j"]) for g in table.index]
    extra["cv_time"] = [_cv(*rows[g]["samples"]["time_per_unit_s"]) for g in table.index]
    extra["ci_rel_width"] = [_ci_rel_width(_per_row(rows[g], gain_of), n_boot, seed) for g in table.index]
    full = pd.concat([table, extra], axis=1)
    columns = [(p, c) for p, cols in PRINCIPLES.items() for c in cols]
    out = full[[c for _, c in columns]].copy()
    out.columns = pd.MultiIndex.from_tuples(columns, names=["principle", "indicator"])
    out.attrs.update(table.attrs)
    out.attrs["units"] = {**table.attrs["units"], "cv_energy": "ratio", "cv_time": "ratio", "ci_rel_width": "ratio"}
    out.attrs["reliability_note"] = (
        f"cv_*: coefficient of variation (sd / mean) of the per-row values; ci_rel_width: width of "
        f"the 95% bootstrap CI of the median per-row {gain_of} divided by that median; NaN with fewer "
        "than 2 rows.")
    return out


def _cv(num: np.ndarray, den: np.ndarray) -> float:
    per_row = num / den
    if not np.isfinite(per_row).all():
        return math.nan
    return stats.coefficient_of_variation(per_row)


def _ci_rel_width(values: np.ndarray, n_boot: int, seed: int) -> float:
    median = float(np.median(values)) if len(values) >= 2 else math.nan
    if not median > 0:
        return math.nan
    low, high = stats.bootstrap_median_ci(values, n_boot=min(n_boot, max(1, MAX_BOOT_CELLS // len(values))), seed=seed)
    return float((high - low) / median)
