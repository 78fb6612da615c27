"""The team dashboard: one self-contained HTML file of a store or a frame, to publish as it is.

``report(frame, "dashboard.html")`` (and ``frugal dashboard STORE``) writes, for a stored frame,
first the changes across commits (``frugal.pages.steps``), then the latest run
(or commit) in detail: headline figures, the indicators with grades, the comparison charts;
then, for a stored frame, the trend of every name measured in more than one run and every
run newest first (``frugal.pages.runs``, which states how a large store is summarised);
and where every number comes from. Charts are inline SVG with their text as text, legible
on a phone. The page loads nothing and sends nothing; every name from the data is
HTML-escaped (``frugal.pages.html``).
"""
from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from frugal.pages import html as P
from frugal.pages.runs import TREND_CHARTS, costliest, runs_section, short_label, trends_section
from frugal.pages.steps import changes_section
from frugal._version import __version__
from frugal.frames.columns import memory_column
from frugal.frames.frame import floats, labels
from frugal.pages.html import e
from frugal.progress import Progress
from frugal.units import counted, format_count, format_quantity, format_ratio
from frugal.validate import check_bool, check_text

MAX_GROUPS = 12      # charts show at most this many names (the costliest)
TABLE_NAMES = 30     # the indicators table shows at most this many (the costliest), the others summed in one line
CHART_SAMPLE = 5_000  # median-and-CI charts bootstrap at most this many measurements per name
BOOT_ROWS = 20_000    # above this many rows in a group, the gains' bootstrap uses fewer resamples

# --- what to show ---------------------------------------------------------------------------

def _unpack(data: Any, by: str | None, baseline: str | None) -> tuple[Any, str, str | None]:
    import pandas as pd

    frame = data
    if not isinstance(data, pd.DataFrame):
        frame = getattr(data, "frame", None)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"report(data=...) must be a DataFrame (frugal.results(), frugal.load()) or a "
                            f"frugal.Comparison, got {type(data).__name__}")
        if baseline is None:
            baseline = getattr(data, "baseline", None)
    if by is None:
        by = "variant" if "variant" in frame.columns else "name"
    if by not in frame.columns:
        raise ValueError(f"report(by=...): the frame has no column {by!r}")
    if len(frame) == 0:
        raise ValueError("report(data=...): there are no measurements to report")
    if baseline is not None and baseline not in set(frame[by].astype("string").dropna()):
        raise ValueError(f"report(baseline=...): {baseline!r} is not a value of column {by!r}")
    return frame, by, baseline


def _history_key(frame: Any) -> str | None:
    """The column that tells runs apart over time: commits when there are several, else runs."""
    for key in ("git_commit", "run_id"):
        if key in frame.columns and frame[key].dropna().nunique() >= 2:
            return key
    return None


def _scope(frame: Any) -> tuple[Any, Any, str | None, str]:
    """(current rows, history with a ``_point`` label column or None, key, sentence)."""
    key = _history_key(frame)
    if key is None:
        return frame, None, None, f"all {len(frame)} measurements"
    starts = frame.groupby(key, sort=False)["started_at"].min().sort_values(kind="stable")
    latest = starts.index[-1]
    current = frame[frame[key] == latest]
    history = frame[frame[key].notna()].copy()
    number = {k: i + 1 for i, k in enumerate(starts.index)}
    if key == "git_commit":
        history["_point"] = history[key].map(lambda c: str(c)[:7])
        what = f"commit {str(latest)[:12]}"
    else:
        history["_point"] = history[key].map(lambda r: f"#{number[r]} {starts[r].strftime('%H:%M')}")
        what = f"run #{number[latest]} (started {starts[latest].strftime('%Y-%m-%d %H:%M UTC')})"
    noun = "commit" if key == "git_commit" else "run"
    return current, history, key, (f"the latest of {counted(len(starts), noun)}: {what}, "
                                   f"{counted(len(current), 'measurement')}; the trend covers all {format_count(len(frame))}")


# --- sections -------------------------------------------------------------------------------

def _headlines(current: Any, table: Any) -> str:
    import numpy as np

    from frugal.analysis.indicators import EQUIVALENTS, energy_basis

    energy = float(np.nansum(floats(current["energy_j"]))) if np.isfinite(floats(current["energy_j"])).any() else math.nan
    operational = float(np.nansum(floats(current["carbon_g"]))) if np.isfinite(floats(current["carbon_g"])).any() else math.nan
    embodied = float(np.nansum(floats(current["embodied_g"]))) if np.isfinite(floats(current["embodied_g"])).any() else math.nan
    carbon = operational + embodied
    methods = set(labels(current["energy_method"])) if "energy_method" in current else set()
    basis = energy_basis(methods)
    wall = float(np.nansum(floats(current["wall_s"])))
    cpu = float(np.nansum(floats(current["cpu_s"])))
    memory = memory_column(current)
    peak = floats(current[memory])
    calls = int(np.nansum(floats(current["calls"]))) if "calls" in current else len(current)
    parts = []
    if "energy_cpu_j" in current and math.isfinite(energy) and energy > 0:
        shares = [(label, float(np.nansum(floats(current[c]))) / energy)
                  for c, label in (("energy_cpu_j", "CPU"), ("energy_ram_j", "RAM"), ("energy_gpu_j", "GPU"))]
        parts = [f"{label} {share:.0%}" for label, share in shares if share > 0.005]
    cards = [
        P.card("Energy", format_quantity(energy, "J"), ", ".join(parts) or "no energy derived", basis if basis != "none" else ""),
        P.card("Carbon (SCI total)", format_quantity(carbon, "gCO2e"),
               f"operational {format_quantity(operational, 'gCO2e')} + embodied {format_quantity(embodied, 'gCO2e')}", "modelled"),
        P.card("Embodied share", format_quantity(embodied / carbon if carbon > 0 else math.nan, "%"),
               "of that carbon: making the hardware", "modelled"),
    ]
    if math.isfinite(carbon) and carbon > 0:
        car_m = carbon / EQUIVALENTS["car_km"]["g_per"] * 1000
        phone = carbon / EQUIVALENTS["smartphone_charges"]["g_per"]
        cards.append(P.card("Like driving", format_quantity(car_m, "m"),
                            f"in a new car, or {format_quantity(phone, '%')} of a phone charge (sources below)", "equivalent"))
    cards += [
        P.card("Time", format_quantity(wall, "s"), f"CPU {format_quantity(cpu, 's')} over {counted(calls, 'call')}", "measured"),
        P.card("Memory added" if memory == "peak_added_bytes" else "Peak memory",
               format_quantity(np.nanmax(peak) if np.isfinite(peak).any() else math.nan, "B"),
               "the most one measurement added above its start" if memory == "peak_added_bytes"
               else "the highest peak resident set of one measurement (whole processes, or rows stored before "
                    "frugal recorded memory added)",
               "measured"),
    ]
    return f'<section aria-label="headline figures"><div class="cards">{"".join(cards)}</div></section>'


_TABLE_COLUMNS = (  # indicator, header, unit, grade column
    ("energy_per_unit_j", "Energy/unit", "J", "grade_energy"),
    ("carbon_per_unit_g", "SCI/unit", "gCO2e", "grade_carbon"),
    ("embodied_share", "Embodied", "%", None),
    ("peak_added_per_unit_bytes", "Memory added/unit", "B", "grade_memory"),
    ("time_per_unit_s", "Time/unit", "s", "grade_time"),
    ("cpu_util", "CPU use", "x", None),
)


def _ratio_text(row: Any) -> str:
    """Energy per unit as a multiple of the baseline's (ratio of medians), with its interval: ``2.13x [1.79, 2.48]``."""
    ratio = row.get("ratio", math.nan)
    if not isinstance(ratio, float) or not math.isfinite(ratio):
        return "failed" if row.get("status") == "failed" else "n/a"
    low, high = row.get("ratio_ci_low", math.nan), row.get("ratio_ci_high", math.nan)
    ci = f" [{format_ratio(low)}, {format_ratio(high)}]" if math.isfinite(low) and math.isfinite(high) else ""
    return f"{format_ratio(ratio)}x{ci}"


def _indicators_section(table: Any, by: str, baseline: str | None) -> str:
    added = table.attrs.get("memory", "peak_added_bytes") == "peak_added_bytes"
    headers = [by, "Grade"] + [h if added or not h.startswith("Memory") else "Peak memory/unit"
                               for _, h, _, _ in _TABLE_COLUMNS] + \
              (["x baseline [CI]"] if baseline is not None else []) + ["Runs"]
    rows = []
    for group, row in table.iterrows():
        name = str(group) + (" (baseline)" if baseline is not None and str(group) == str(baseline) else "")
        failed = row.get("status") == "failed"
        grade = '<span class="missing">failed</span>' if failed else P.grade_badge(row["grade"])
        cells: list[Any] = [("name", f'<span title="{e(str(group))}">{e(name)}</span>'), grade]
        for column, _, unit, grade_column in _TABLE_COLUMNS:
            text = e(format_quantity(row[column], unit))
            if grade_column is not None and not failed:
                text += " " + P.grade_badge(row[grade_column])
            cells.append(text)
        if baseline is not None:
            same = baseline in table.index and table.loc[baseline, "unit"] == row["unit"]
            cells.append(e(("baseline" if str(group) == str(baseline) else _ratio_text(row)) if same or failed
                           else f"n/a (per {row['unit']})"))
        runs = format_count(row['n_runs'])
        if row.get("failed_runs", 0):
            runs += f" ({format_count(row['failed_runs'])} failed)"
        cells.append(e(runs))
        rows.append(cells)
    others = table.attrs.get("others")
    if others is not None:
        rows.append(_others_row(others, by, baseline is not None))
    scale = table.attrs.get("grade_scale_text", "").splitlines()
    parts = [P.table(headers, rows), P.bullet_list(scale, "notes scale")]
    listed = set(table.index.astype("string"))     # failures of the names summed below are counted there
    failures = [f["sentence"] for g, f in table.attrs.get("failures", {}).items() if others is None or g in listed]
    if failures:
        parts.append("<h3>Failed runs</h3>" + P.bullet_list(failures, "verdicts"))
    verdicts = list(_verdicts(table, baseline)) if baseline is not None else []
    if verdicts:
        parts.append("<h3>Against the baseline</h3>" + P.bullet_list(verdicts, "verdicts"))
    notes = [table.attrs.get("unit_note", ""),
             "SCI/unit: carbon per unit, operational + embodied (the SCI score). Embodied: the embodied share. "
             "Memory added/unit: what a measurement added to the resident memory above its start (its peak "
             "minus its start) x calls / units. CPU use: CPU time / wall time. Failed runs are left out of "
             "every figure.", table.attrs.get("memory_note", ""),
             "x baseline: the ratio of the median energy per unit to the baseline's (below 1 is more frugal), "
             "with its bootstrap CI, widened for the number of groups compared (Benjamini-Hochberg)."]
    parts.append("<details><summary>How the units and ratios are set</summary>"
                 + P.bullet_list(n for n in notes if n) + "</details>")
    return "".join(parts)


def _others_row(others: dict[str, Any], by: str, compared: bool) -> list[Any]:
    """The names beyond the table summed in one line: their rows pooled as one group (ratios of
    their totals, no grade), and how many names it holds."""
    count = others["groups"]
    cells: list[Any] = [("text", e(f"{format_count(count)} other {by}s" if count != 1 else f"1 other {by}")),
                        '<span class="missing">-</span>']
    cells += [e(format_quantity(others[column], unit)) for column, _, unit, _ in _TABLE_COLUMNS]
    runs = format_count(others["n_runs"]) + (f" ({format_count(others['failed_runs'])} failed)"
                                             if others["failed_runs"] else "")
    return cells + ([""] if compared else []) + [e(runs)]


def _verdicts(table: Any, baseline: str) -> Iterable[str]:
    """The indicators' verdicts against the baseline (failed groups are listed above)."""
    for group, row in table.iterrows():
        text = row.get("verdict")
        if str(group) != str(baseline) and isinstance(text, str) and row.get("status") != "failed":
            yield text


def _chart(make: Any, prefix: str, title: str, bar: Progress | None = None) -> str:
    """One chart as inline SVG, legible at any screen width, or a sentence saying why it is not drawn."""
    from frugal import plot

    if bar is not None:
        bar.step(title)
    try:
        fig = make()
    except (ValueError, TypeError) as exc:
        return P.not_drawn(title, str(exc))
    caption = plot.for_screen(fig)
    svg = P.inline_svg(plot.to_svg(fig), prefix)
    if svg is None:
        return P.not_drawn(title, "the chart held unsafe markup.")
    return P.figure(title, svg, caption)


def _sample(frame: Any, by: str, size: int | None = None) -> tuple[Any, bool]:
    """At most ``size`` (CHART_SAMPLE) rows of each group, drawn at random (seeded), and whether any was cut."""
    import numpy as np

    size = CHART_SAMPLE if size is None else size
    groups = frame.groupby(by, sort=False, dropna=False).indices
    if max(len(idx) for idx in groups.values()) <= size:
        return frame, False
    rng = np.random.default_rng(0)
    keep = [idx if len(idx) <= size else rng.choice(idx, size, replace=False) for idx in groups.values()]
    return frame.iloc[np.sort(np.concatenate(keep))], True


def _n_boot(frame: Any, by: str) -> int:
    """Bootstrap resamples for the gains: 2,000, fewer for very large groups (the cost is rows x resamples)."""
    largest = int(frame.groupby(by, sort=False, dropna=False).size().max())
    return 2000 if largest <= BOOT_ROWS else max(200, 2000 * BOOT_ROWS // largest)


def _chart_labels(frame: Any, by: str, baseline: str | None) -> tuple[Any, str | None, dict[str, str]]:
    """The frame with names longer than LABEL_CHARS shortened and kept unique, the baseline's
    name as shortened, and the map from each long name to its label (the tables show names whole)."""
    names = labels(frame[by])
    long = [n for n in names if n != short_label(n)]
    if not long:
        return frame, baseline, {}
    taken = set(names) - set(long)
    short = {}
    for name in long:
        label, k = short_label(name), 1
        while label in taken:
            k += 1
            label = short_label(name, f" #{k}")
        taken.add(label)
        short[name] = label
    frame = frame.assign(**{by: frame[by].replace(short)})
    return frame, short.get(baseline, baseline) if baseline is not None else None, short


def _top_names(current: Any, by: str, count: int) -> list[str]:
    """The ``count`` costliest names of the latest rows: the one rule of the charts and the table."""
    return costliest(current, current[by].astype("string"), sort=True)[1][:count]


def _charts_section(current: Any, table: Any, by: str, baseline: str | None, bar: Progress) -> str:
    """The comparison charts of the costliest names; the profile and the Pareto chart draw the
    indicators table itself (its grades), the median charts a sample of large groups."""
    from frugal import plot

    names = _top_names(current, by, MAX_GROUPS)
    shown = current[current[by].astype("string").isin(names)]
    drawn = table[table.index.astype("string").isin(names)]
    shown, baseline, short = _chart_labels(shown, by, baseline)
    if short:
        drawn = drawn.rename(index=short)
        names = [short.get(n, n) for n in names]
    drawn.attrs = dict(table.attrs)
    notes = []
    if current[by].nunique() > len(names):
        listed = "all" if table.attrs.get("others") is None else f"the {format_count(len(table))} that cost the most"
        notes.append(f"Charts show the {len(names)} {by}s that cost the most of {format_count(current[by].nunique())}; "
                     f"the table above lists {listed}.")
    sample, cut = _sample(shown, by)
    if cut:
        notes.append(f"Median charts use a random sample of {format_count(CHART_SAMPLE)} measurements per {by}; "
                     "the other charts and the table use all of them.")
    note = "".join(f'<p class="missing">{e(n)}</p>' for n in notes)
    base = baseline if baseline in names else None
    memory = memory_column(shown)
    charts = [
        (lambda: plot.compare(sample, metric="energy_j", by=by, baseline=base), "Energy per call"),
        (lambda: plot.compare(sample, metric="wall_s", by=by, baseline=base), "Wall time per call"),
        (lambda: _memory_chart(sample, memory, by, base), "Memory added" if memory == "peak_added_bytes" else "Peak memory"),
        (lambda: plot.profile(shown, by=by, table=drawn), "Frugality profile"),
        (lambda: plot.breakdown(shown, by=by), "Energy and carbon breakdown"),
        (lambda: plot.pareto(shown, by=by, table=drawn), "Time against energy"),
    ]
    return note + P.charts(_chart(make, f"c{i}", title, bar) for i, (make, title) in enumerate(charts))


def _memory_chart(sample: Any, memory: str, by: str, baseline: str | None) -> Any:
    """The memory chart; when no measurement added any memory, the sentence that says so instead of
    a chart of empty bars (raised as ValueError, what ``_chart`` shows as not drawn)."""
    import numpy as np

    from frugal import plot

    values = floats(sample[memory])
    known = values[~np.isnan(values)]
    if memory == "peak_added_bytes" and len(known) and not known.any():
        raise ValueError("no measurement added memory above its start (each added 0 B).")
    return plot.compare(sample, metric=memory, by=by, baseline=baseline)


def _versions() -> list[tuple[str, str]]:
    import platform
    from importlib import metadata

    out = [("frugal", __version__), ("Python", platform.python_version())]
    for dist in ("numpy", "pandas", "matplotlib", "codecarbon"):
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            out.append((dist, "not installed"))
    return out


def _recorded_settings(runs: Any) -> dict[str, Any] | None:
    """The methodology settings recorded with the latest run, or this process's (a dict)."""
    text = None
    if runs is not None and len(runs) and "settings" in runs.columns:
        known = runs["settings"].dropna()
        if len(known):
            text = str(known.iloc[-1])
    if text is None:
        from frugal.store import settings_json

        text = settings_json()
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return {"settings": text}
    return value if isinstance(value, dict) else None


_SETTING_LABELS = (("cpu_model", "CPU"), ("power_model", "Power model"), ("cpu_power_source", "CPU power"),
                   ("idle_power", "Idle power"), ("memory_probe", "Memory probe"),
                   ("embodied_allocation", "Embodied allocation"), ("embodied_source", "Embodied preset"),
                   ("pue", "PUE"))


def _settings_pairs(settings: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not settings:
        return []
    pairs = [(label, str(settings[k])) for k, label in _SETTING_LABELS if settings.get(k) is not None]
    for group, label in (("meters", "Meter"), ("data", "Data")):
        values = settings.get(group)
        if isinstance(values, dict):
            pairs += [(f"{label}: {k}", str(v)) for k, v in values.items()]
    return pairs


def _settings_details(settings: dict[str, Any] | None) -> str:
    if not settings:
        return ""
    pretty = json.dumps(settings, indent=2, sort_keys=True, default=str)
    return ("<details><summary>All settings in force when measured (frugal.environment())</summary>"
            f"<pre>{e(pretty)}</pre></details>")


def _methodology(frame: Any, current: Any, table: Any, runs: Any, generated: str) -> str:
    import pandas as pd

    from frugal.analysis.indicators import EQUIVALENTS, PROVENANCE, energy_basis

    methods = sorted(labels(frame["energy_method"])) if "energy_method" in frame else []
    intensities = sorted({format_quantity(v, "") for v in pd.unique(floats(frame["intensity_g_per_kwh"]))
                          if math.isfinite(v)}) if "intensity_g_per_kwh" in frame else []
    sources = sorted(labels(frame["intensity_source"])) if "intensity_source" in frame else []
    pairs = [
        ("Energy", f"{energy_basis(methods)} ({', '.join(methods) or 'none recorded'}): a meter (RAPL, NVML) when "
                   "present, else the model: CPU time x the CPU's TDP per thread, plus peak memory x 0.3725 W/GB x "
                   "wall time (Green Algorithms), times the PUE. Formulas and sources: METHODOLOGY.md."),
        ("Grid intensity", f"{', '.join(intensities) or 'not recorded'} gCO2e/kWh"
                           + (f" ({'; '.join(sources)})" if sources else "")),
        ("Embodied carbon", "SCI's M: manufacturing emissions x (wall time / lifetime) x the share of the "
                            "machine's logical CPUs held (modelled)."),
        ("Time, CPU, memory", "measured: monotonic clock, the kernel's CPU time (getrusage / wait4) and "
                              "resident high-water mark."),
    ]
    settings = _recorded_settings(runs)
    pairs += _settings_pairs(settings)
    pairs += [(f"{k}", v) for k, v in PROVENANCE.items()]
    pairs += [(f"Equivalent: {v['label']}", f"{format_quantity(v['g_per'], 'gCO2e')} each. {v['source']}") for v in EQUIVALENTS.values()]
    pairs += [("Generated", generated)] + [(f"Version: {k}", v) for k, v in _versions()]
    return P.definitions(pairs) + _settings_details(settings)


# --- the page ---------------------------------------------------------------------------------

def _drawable(frame: Any, by: str) -> Any:
    """The frame with names that are not valid Unicode (lone surrogates, from undecodable bytes)
    written as their ``\\udcxx`` escapes, as the store keeps them: no chart can draw them.
    Each distinct name is checked once."""
    import pandas as pd

    from frugal.store import storable_text

    names = list(frame[by].dropna().unique())
    fixed = storable_text(names)
    if fixed is names:
        return frame
    frame = frame.copy()
    frame[by] = frame[by].replace(dict(zip(names, fixed))).astype(frame[by].dtype)
    return frame


def _store_sentence(frame: Any, by: str) -> str:
    """``1,000 runs from 2026-01-01 to 2026-03-01: 30,000 measurements of 3 names.``"""
    names = f"{counted(len(frame), 'measurement')} of {counted(frame[by].nunique(), by)}"
    if "run_id" not in frame.columns or frame["run_id"].isna().all():
        return names + "."
    start = frame["run_started_at"] if "run_started_at" in frame.columns else frame["started_at"]
    return (f"{counted(frame['run_id'].nunique(), 'run')} from {start.min().strftime('%Y-%m-%d')} to "
            f"{start.max().strftime('%Y-%m-%d')}: {names}.")


def render(frame: Any, *, by: str = "name", baseline: str | None = None, title: str | None = None,
           runs: Any = None, progress: bool | None = None, errors: Any = None) -> str:
    """The dashboard's HTML (a str) for a frame with the columns of ``frugal.results()``.

    ``runs``: the store's runs (``frugal.store.load_runs``), for the recorded settings.
    ``errors``: per group, the failed runs' error texts (a Comparison's ``errors``).
    ``progress``: a bar on stderr, by default when stderr is a terminal.
    """
    from frugal.analysis.indicators import energy_basis, indicators_of

    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    frame = _drawable(frame, by)
    current, history, key, scope = _scope(frame)
    bar = Progress(9 + (TREND_CHARTS if history is not None else 0), "frugal dashboard", progress)
    try:
        bar.step("indicators")
        if baseline is not None and baseline not in set(current[by].astype("string").dropna()):
            baseline = None          # not in the latest run: gains cannot be computed there
        # the table's numbers are those of indicators() over every name; only the shown names are bootstrapped
        table = indicators_of(current, _top_names(current, by, TABLE_NAMES), by=by, baseline=baseline,
                              n_boot=_n_boot(current, by), errors=errors)
        title = title or "Frugality dashboard"
        methods = set(labels(current["energy_method"])) if "energy_method" in current else set()
        basis = energy_basis(methods)
        latest = "the latest commit" if key == "git_commit" else "the latest run" if key else "these measurements"
        body = [
            f"<header><h1>{e(title)}</h1><p>{e(_store_sentence(frame, by))}</p>"
            f"<p>{e(f'Figures for {scope}.')}</p>"
            f"<p>{e(f'Energy is {basis}, carbon modelled; time, CPU and memory are measured.')}</p></header>",
        ]
        changes = None
        if "run_id" in frame.columns and frame["run_id"].notna().any():    # a stored frame: its history first
            bar.step("changes across commits")
            changes = changes_section(frame, by)
            body.append(f"<section><h2>Changes across commits</h2>{changes.html}</section>")
        body += [
            _headlines(current, table),
            f"<section><h2>Frugality indicators by {e(by)}: {e(latest)}</h2>"
            f"{_indicators_section(table, by, baseline)}</section>",
            f"<section><h2>Comparison: {e(latest)}</h2>{_charts_section(current, table, by, baseline, bar)}</section>",
        ]
        if history is not None:
            assert key is not None  # _scope gives a history only with the key it follows
            trends = trends_section(frame, by, key, lambda make, prefix, title: _chart(make, prefix, title, bar),
                                    marks=changes.marks if changes is not None and key == "git_commit" else None)
            if trends:
                body.append(f"<section><h2>Trends</h2>{trends}</section>")
        bar.step("runs")
        runs_html = runs_section(frame, by)
        if runs_html:
            body.append(f"<section><h2>Runs</h2>{runs_html}</section>")
        body.append("<section><h2>Methodology and provenance</h2>"
                    f"{_methodology(frame, current, table, runs, generated)}</section>")
    finally:
        bar.close()
    return P.page(title, "\n".join(body), generated)


def report(data: Any, path: str | os.PathLike[str] = "dashboard.html", *, title: str | None = None,
           baseline: str | None = None, by: str | None = None, store: str | os.PathLike[str] | None = None,
           progress: bool | None = None, overwrite: bool = False) -> Path:
    """Write the frugality dashboard of ``data`` to ``path``: one self-contained HTML file.

    ``data``: a frame with the columns of ``frugal.results()`` or a ``frugal.Comparison``.
    The headline figures, indicators and comparison charts cover the latest commit or run
    when there are several; a frame of ``frugal.load()`` also gets a trend chart for each name
    measured in several runs (or commits) and every run, newest first, summarised by the
    rules of ``frugal.pages.runs``. Memory is what each measurement added
    (``peak_added_bytes``; the peak resident set, said so, for older stores). Time, CPU and
    memory are measured; energy is
    measured or modelled (stated on the page) and carbon modelled. ``baseline``: the name the
    others are compared with. ``store``: the store the frame came from, for the settings
    recorded with its runs. ``progress``: a bar on stderr, by default when stderr is a
    terminal. The file is written atomically with the permissions the umask gives; an existing
    file is replaced only if it is a dashboard frugal wrote, or with ``overwrite=True`` (a
    frugal store or any other file is left untouched: ``ValueError``). Returns the path written.
    """
    from frugal.files import check_output, write_output

    frame, by, baseline = _unpack(data, by, baseline)
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"report(path=...) must be a path, got {type(path).__name__}")
    check_text("report(title=...)", title or None, optional=True)
    check_bool("report(overwrite=...)", overwrite)
    out = check_output(path, "html", overwrite=overwrite, argument="report(path=...)")
    runs = None
    if store is not None:
        from frugal.store import load_runs

        runs = load_runs(store)
    text = render(frame, by=by, baseline=baseline, title=title, runs=runs, progress=progress,
                  errors=getattr(data, "errors", None) if frame is not data and by == "variant" else None)
    return write_output(out, text, "html", overwrite=overwrite, argument="report(path=...)")
