"""Frugality indicators: what a group of measured runs costs per functional unit, graded A-G.

Every indicator is a ratio of totals (the total over the group's rows divided by the
group's total units of work), so summary rows (``calls`` > 1, totals) and single calls add
up the way the SCI does: ``SCI = (E x I + M) / R``. Formulas, grade scales and the
constants of the human equivalents are in METHODOLOGY.md ("Frugality indicators").
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from frugal import stats
from frugal.units import format_quantity, unit_of

GRADES = "ABCDEFG"
MIN_SPREAD = 0.05   # relative grades: the bins span at least 5% of the largest value

# indicator -> (grade column, unit of the indicator); all are "lower is more frugal"
GRADED: dict[str, tuple[str, str]] = {
    "energy_per_unit_j": ("grade_energy", "J"),
    "carbon_per_unit_g": ("grade_carbon", "gCO2e"),
    "peak_rss_per_unit_bytes": ("grade_memory", "B"),
    "time_per_unit_s": ("grade_time", "s"),
}

UNITS: dict[str, str] = {k: unit_of(k) for k in (
    "energy_per_unit_j", "carbon_per_unit_g", "operational_per_unit_g", "embodied_per_unit_g",
    "embodied_share", "peak_rss_per_unit_bytes", "time_per_unit_s", "cpu_per_unit_s", "cpu_util",
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
           "peak_rss_per_unit_bytes", "time_per_unit_s", "cpu_per_unit_s")

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
    "peak_rss_per_unit_bytes": "measured (kernel resident high-water mark)",
    "energy_per_unit_j": "measured or modelled: see the energy_basis column",
    "operational_per_unit_g": "modelled: energy x grid intensity (intensity_source)",
    "embodied_per_unit_g": "modelled: manufacturing emissions x time share x core share (SCI M)",
    "carbon_per_unit_g": "modelled: SCI per functional unit, operational + embodied",
    "embodied_share": "modelled: embodied / (operational + embodied)",
}


def indicators(frame: pd.DataFrame, by: str = "name", baseline: str | None = None,
               grades: str | Mapping[str, Sequence[float]] = "relative", *, view: str = "table",
               gain_of: str = "energy_per_unit_j", n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Frugality indicators, one row per group of ``frame`` (indexed by the ``by`` value).

    ``frame`` has the columns of ``frugal.results()`` (a stored frame or ``Comparison.frame``
    works too). Per functional unit (the ``units`` given to ``measure``; one *call* when a
    group has no units, said in the ``unit`` column and ``attrs["unit_note"]``), over the
    group's totals:

    - ``energy_per_unit_j`` (J), measured by a meter or modelled (``energy_basis``);
    - ``carbon_per_unit_g`` (gCO2e): operational + embodied, the SCI score per unit;
      ``operational_per_unit_g``, ``embodied_per_unit_g`` and ``embodied_share`` (matter);
    - ``peak_rss_per_unit_bytes`` (B, measured): peak memory x calls / units;
    - ``time_per_unit_s``, ``cpu_per_unit_s`` (s, measured) and ``cpu_util`` (ratio);
    - ``gain`` against ``baseline`` = 1 - value / baseline value of ``gain_of`` (positive:
      more frugal), with a 95% percentile-bootstrap CI (``n_boot`` resamples of the rows,
      ``seed``) and a two-sided Mann-Whitney U p-value when both groups have 2+ rows;
    - ``grade_energy``, ``grade_carbon``, ``grade_memory``, ``grade_time`` and ``grade``
      (A most frugal .. G): ``grades="relative"`` cuts the compared set's range into 7
      equal-width bins; a mapping ``{indicator: [6 increasing thresholds]}`` grades those
      indicators on absolute thresholds (value <= first threshold is A). The overall grade
      is the rounded mean of the indicator grades. The scale is in ``attrs["grade_scale"]``
      (dict) and ``attrs["grade_scale_text"]`` (readable);
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
    scales = _grade_spec(grades)
    rows = {g: _group_indicators(sub) for g, sub in frame.groupby(by, sort=False, dropna=False)}
    if baseline is not None and baseline not in rows:
        raise ValueError(f"indicators(baseline=...): {baseline!r} is not a value of column {by!r} "
                         f"(values: {list(rows)[:10]})")
    table = pd.DataFrame([r["values"] for r in rows.values()], index=pd.Index(list(rows), name=by))
    _add_gain(table, rows, baseline, gain_of, n_boot, seed)
    scale = _add_grades(table, scales)
    _add_equivalents(table)

    table.attrs.update({
        "grade_scale": scale,
        "grade_scale_text": _scale_text(scale),
        "unit_note": _unit_note(table),
        "units": {k: v for k, v in UNITS.items() if k in table.columns},
        "provenance": dict(PROVENANCE),
        "equivalents": {k: dict(v) for k, v in EQUIVALENTS.items()},
        "baseline": baseline, "gain_of": gain_of, "by": by,
    })
    if view == "principles":
        return _principles(table, rows, gain_of, n_boot, seed)
    return table


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
        if col in frame.columns and (_floats(frame[col]) < 0).any():
            raise ValueError(f"column {col!r} has negative values; costs are >= 0")
    if "units" in frame.columns and (_floats(frame["units"]) <= 0).any():
        raise ValueError("column 'units' has values <= 0; a functional unit count must be > 0 "
                         "(leave it empty, NaN, for 'one call')")
    if "calls" in frame.columns:
        calls = _floats(frame["calls"])
        if np.isnan(calls).any() or (calls < 1).any():
            raise ValueError("column 'calls' must be >= 1 on every row")


def _floats(series: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(series, errors="coerce").astype("Float64")
    values: np.ndarray = numbers.to_numpy(dtype="f8", na_value=np.nan)
    return values


# --- one group ----------------------------------------------------------------------------

def _denominator(g: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Each row's share of the group's work: its units when every row has units, else its calls."""
    units = _floats(g["units"])
    if np.isfinite(units).all():
        return units, True
    return _floats(g["calls"]), False


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
    for g, sub in frame.groupby(by, sort=False, dropna=False):
        denom, has_units = _denominator(sub)
        row: dict[str, Any] = {c: float(_floats(sub[c]).sum() / denom.sum()) for c in columns}
        row["unit"] = "unit" if has_units else "call"
        out[g] = row
    table = pd.DataFrame(list(out.values()), index=pd.Index(list(out), name=by))
    return table


class _Group(TypedDict):
    """One group's indicators (``values``, a row of the table) and per-row samples (numerator, denominator)."""

    values: dict[str, Any]
    samples: dict[str, tuple[np.ndarray, np.ndarray]]


def _group_indicators(g: pd.DataFrame) -> _Group:
    col = {c: _floats(g[c]) for c in NEEDED}
    denom, has_units = _denominator(g)
    total = denom.sum()

    def per(values: np.ndarray) -> float:
        return float(values.sum() / total)          # NaN anywhere -> NaN: no partial totals

    operational, embodied = col["carbon_g"].sum(), col["embodied_g"].sum()
    carbon = operational + embodied
    methods = _methods(g)
    values = {
        "n_runs": len(g),
        "calls": int(col["calls"].sum()),
        "units": float(total),
        "unit": "unit" if has_units else "call",
        "energy_per_unit_j": per(col["energy_j"]),
        "carbon_per_unit_g": float(carbon / total),
        "operational_per_unit_g": per(col["carbon_g"]),
        "embodied_per_unit_g": per(col["embodied_g"]),
        "embodied_share": float(embodied / carbon) if carbon > 0 else math.nan,
        "peak_rss_per_unit_bytes": per(col["peak_rss_bytes"] * col["calls"]),
        "time_per_unit_s": per(col["wall_s"]),
        "cpu_per_unit_s": per(col["cpu_s"]),
        "cpu_util": float(col["cpu_s"].sum() / col["wall_s"].sum()) if col["wall_s"].sum() > 0 else math.nan,
        "carbon_g": float(carbon),
        "energy_basis": energy_basis(methods),
        "energy_method": "+".join(sorted(methods)) or None,
        "intensity_g_per_kwh": _median_or_nan(g, "intensity_g_per_kwh"),
        "intensity_source": _joined(g, "intensity_source"),
        "failed_runs": int((g["status"].astype("string") != "ok").sum()) if "status" in g.columns else 0,
    }
    # per-row samples, for the bootstrap, the p-value and the coefficients of variation
    samples = {
        "energy_per_unit_j": (col["energy_j"], denom),
        "carbon_per_unit_g": (col["carbon_g"] + col["embodied_g"], denom),
        "operational_per_unit_g": (col["carbon_g"], denom),
        "embodied_per_unit_g": (col["embodied_g"], denom),
        "peak_rss_per_unit_bytes": (col["peak_rss_bytes"] * col["calls"], denom),
        "time_per_unit_s": (col["wall_s"], denom),
        "cpu_per_unit_s": (col["cpu_s"], denom),
    }
    return {"values": values, "samples": samples}


def _methods(g: pd.DataFrame) -> set[str]:
    if "energy_method" not in g.columns:
        return set()
    return {str(m) for m in g["energy_method"].dropna().unique()}


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
    values = _floats(g[col])
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def _joined(g: pd.DataFrame, col: str) -> str | None:
    if col not in g.columns:
        return None
    values = sorted({str(v) for v in g[col].dropna().unique()})
    return "; ".join(values) or None


# --- gain against a baseline --------------------------------------------------------------

def _add_gain(table: pd.DataFrame, rows: dict[Any, _Group], baseline: str | None, gain_of: str,
              n_boot: int, seed: int) -> None:
    for c in ("gain", "gain_ci_low", "gain_ci_high", "gain_p"):
        table[c] = math.nan
    if baseline is None:
        return
    base_num, base_den = rows[baseline]["samples"][gain_of]
    base_value = table.at[baseline, gain_of]
    for g, r in rows.items():
        value = table.at[g, gain_of]
        if not (np.isfinite(value) and np.isfinite(base_value) and base_value > 0):
            continue
        table.at[g, "gain"] = 1.0 - value / base_value
        if g == baseline:
            continue
        num, den = r["samples"][gain_of]
        if len(num) >= 2 and len(base_num) >= 2:
            rng = np.random.default_rng(seed)
            ratio = _ratio_boot(num, den, n_boot, rng) / _ratio_boot(base_num, base_den, n_boot, rng)
            low, high = np.nanpercentile(1.0 - ratio, [2.5, 97.5])
            table.at[g, "gain_ci_low"], table.at[g, "gain_ci_high"] = float(low), float(high)
            table.at[g, "gain_p"] = _mann_whitney(num / den, base_num / base_den)


def _ratio_boot(num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of sum(num) / sum(den), resampling rows with replacement.

    frugal.stats bootstraps medians; indicators are ratios of totals, hence this helper.
    Chunked so that a group of many rows never needs more than a few million indices at once.
    """
    n = len(num)
    out = np.empty(n_boot)
    step = max(1, 4_000_000 // n)
    for start in range(0, n_boot, step):
        idx = rng.integers(0, n, size=(min(step, n_boot - start), n))
        out[start:start + len(idx)] = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return out


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return math.nan
    return stats.mann_whitney_u(a, b)[1]


# --- grades -------------------------------------------------------------------------------

def _grade_spec(grades: Any) -> dict[str, list[float] | None]:
    """Indicator -> 6 absolute thresholds, or None for the relative scale."""
    if isinstance(grades, str):
        if grades != "relative":
            raise ValueError(f"indicators(grades=...) must be 'relative' or a mapping of thresholds, got {grades!r}")
        return {k: None for k in GRADED}
    if not isinstance(grades, Mapping):
        raise TypeError(f"indicators(grades=...) must be 'relative' or a mapping, got {type(grades).__name__}")
    spec: dict[str, list[float] | None] = {k: None for k in GRADED}
    for key, thresholds in grades.items():
        if key not in GRADED:
            raise ValueError(f"indicators(grades=...): {key!r} is not a graded indicator "
                             f"(one of {', '.join(GRADED)})")
        try:
            t = [float(x) for x in thresholds]
        except (TypeError, ValueError):
            raise ValueError(f"indicators(grades=...): thresholds for {key!r} must be numbers") from None
        if len(t) != len(GRADES) - 1 or not all(math.isfinite(x) for x in t) \
                or any(b <= a for a, b in zip(t, t[1:])):
            raise ValueError(f"indicators(grades=...): {key!r} needs {len(GRADES) - 1} finite, strictly "
                             f"increasing thresholds (A <= t1 < B <= t2 ... G), got {list(thresholds)!r}")
        spec[key] = t
    return spec


def _add_grades(table: pd.DataFrame, spec: dict[str, list[float] | None]) -> dict[str, dict[str, Any]]:
    scale: dict[str, dict[str, Any]] = {}
    indices = []
    for indicator, (column, unit) in GRADED.items():
        values = table[indicator].to_numpy(dtype="f8")
        thresholds = spec[indicator]
        if thresholds is None:
            idx, edges, widened = _relative_grades(values)
            scale[indicator] = {"kind": "relative", "edges": edges, "widened": widened, "unit": unit}
        else:
            idx = np.where(np.isfinite(values), np.searchsorted(thresholds, values, side="left"), np.nan)
            scale[indicator] = {"kind": "absolute", "thresholds": list(thresholds), "unit": unit}
        table[column] = _letters(idx)
        indices.append(idx)
    stacked = np.vstack(indices)
    known = np.isfinite(stacked)
    mean = np.where(known.any(axis=0), np.nansum(stacked, axis=0) / np.maximum(known.sum(axis=0), 1), np.nan)
    table["grade"] = _letters(np.floor(mean + 0.5))       # round half up, towards G
    scale["overall"] = {"kind": "mean", "of": [c for c, _ in GRADED.values()]}
    return scale


def _relative_grades(values: np.ndarray) -> tuple[np.ndarray, list[float], bool]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.full(len(values), np.nan), [], False
    lo, hi = float(finite.min()), float(finite.max())
    if hi == lo:
        return np.where(np.isfinite(values), 0.0, np.nan), [lo, hi], False
    # a range narrower than MIN_SPREAD of the largest value is mostly noise: widen it, so
    # two variants 0.1% apart are not graded A and G
    widened = hi - lo < MIN_SPREAD * abs(hi)
    width = (MIN_SPREAD * abs(hi) if widened else hi - lo) / len(GRADES)
    idx = np.minimum(np.floor((values - lo) / width), len(GRADES) - 1)
    return idx, [lo + k * width for k in range(len(GRADES) + 1)], widened


def _letters(idx: np.ndarray) -> pd.Series:
    return pd.Series([GRADES[int(i)] if np.isfinite(i) else pd.NA for i in idx], dtype="string").values


def _scale_text(scale: dict[str, dict[str, Any]]) -> str:
    lines = ["Grades run from A (most frugal) to G (least); lower values are better."]
    for indicator, s in scale.items():
        if indicator == "overall":
            continue
        def q(x: float) -> str:
            return format_quantity(x, s["unit"]) + "/unit"

        if s["kind"] == "relative":
            edges = s["edges"]
            if not edges:
                lines.append(f"{indicator}: not graded (no values).")
            elif edges[0] == edges[-1]:
                lines.append(f"{indicator}: relative; one value ({q(edges[0])}) in the set, every group A.")
            else:
                lines.append(f"{indicator}: relative to the compared set, 7 equal-width bins of "
                             f"{q(edges[1] - edges[0])} from {q(edges[0])} (A) to {q(edges[-1])} (G)"
                             + (f", widened to {MIN_SPREAD:.0%} of the largest value (the set's range is "
                                "narrower)." if s["widened"] else "."))
        else:
            t = ", ".join(q(x) for x in s["thresholds"])
            lines.append(f"{indicator}: absolute thresholds {t} (value <= first threshold is A).")
    lines.append("Overall grade: the mean of the indicator grades (A=0 .. G=6), rounded half up.")
    return "\n".join(lines)


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
    "matter": ("peak_rss_per_unit_bytes", "embodied_per_unit_g", "embodied_share", "grade_memory"),
    "reliability": ("n_runs", "calls", "failed_runs", "cv_energy", "cv_time", "ci_rel_width",
                    "energy_basis", "energy_method", "intensity_g_per_kwh", "intensity_source"),
    "overall": ("carbon_per_unit_g", "grade_carbon", "grade", "gain", "gain_ci_low", "gain_ci_high",
                "gain_p", "car_km", "smartphone_charges", "tree_months"),
}


def _principles(table: pd.DataFrame, rows: dict[Any, _Group], gain_of: str, n_boot: int, seed: int) -> pd.DataFrame:
    extra = pd.DataFrame(index=table.index)
    extra["cv_energy"] = [_cv(*rows[g]["samples"]["energy_per_unit_j"]) for g in table.index]
    extra["cv_time"] = [_cv(*rows[g]["samples"]["time_per_unit_s"]) for g in table.index]
    extra["ci_rel_width"] = [_ci_rel_width(*rows[g]["samples"][gain_of], n_boot, seed) for g in table.index]
    full = pd.concat([table, extra], axis=1)
    columns = [(p, c) for p, cols in PRINCIPLES.items() for c in cols]
    out = full[[c for _, c in columns]].copy()
    out.columns = pd.MultiIndex.from_tuples(columns, names=["principle", "indicator"])
    out.attrs.update(table.attrs)
    out.attrs["units"] = {**table.attrs["units"], "cv_energy": "ratio", "cv_time": "ratio", "ci_rel_width": "ratio"}
    out.attrs["reliability_note"] = (
        f"cv_*: coefficient of variation (sd / mean) of the per-row values; ci_rel_width: width of "
        f"the 95% bootstrap CI of {gain_of} divided by its value; NaN with fewer than 2 rows.")
    return out


def _cv(num: np.ndarray, den: np.ndarray) -> float:
    per_row = num / den
    if not np.isfinite(per_row).all():
        return math.nan
    return stats.coefficient_of_variation(per_row)


def _ci_rel_width(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int) -> float:
    if len(num) < 2 or not (np.isfinite(num).all() and np.isfinite(den).all()):
        return math.nan
    value = num.sum() / den.sum()
    if value <= 0:
        return math.nan
    reps = _ratio_boot(num, den, n_boot, np.random.default_rng(seed))
    low, high = np.percentile(reps, [2.5, 97.5])
    return float((high - low) / value)
