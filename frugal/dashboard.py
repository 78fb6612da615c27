"""The team dashboard: one self-contained HTML file from measurements, to publish as it is.

``report(frame, "dashboard.html")`` (and ``frugal dashboard``) writes headline figures, the
indicators table with grades, the comparison charts (inline SVG), the trend across stored
runs or commits, and where every number comes from. The page loads nothing and sends
nothing; every name from the data is HTML-escaped. The page is in ``frugal._dashboard_page``.
"""
from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from frugal import _dashboard_page as P
from frugal._version import __version__
from frugal._dashboard_page import e
from frugal.progress import Progress
from frugal.units import check_bool, check_text, format_count, format_p, format_quantity, format_ratio

MAX_GROUPS = 12      # charts show at most this many names (the costliest); the table shows all
CHART_SAMPLE = 5_000  # median-and-CI charts bootstrap at most this many measurements per name
BOOT_ROWS = 20_000    # above this many rows in a group, the gains' bootstrap uses fewer resamples
MAX_RUNS_LISTED = 30

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
    noun = "commits" if key == "git_commit" else "runs"
    return current, history, key, (f"the latest of {len(starts)} {noun}: {what}, {len(current)} "
                                   f"measurements; the trend covers all {len(frame)}")


def _top_groups(frame: Any, by: str, limit: int = MAX_GROUPS) -> list[str]:
    """The names that cost the most (energy, else wall time), at most ``limit``."""
    import pandas as pd

    metric = "energy_j" if pd.to_numeric(frame["energy_j"], errors="coerce").notna().any() else "wall_s"
    totals = pd.to_numeric(frame[metric], errors="coerce").groupby(frame[by].astype("string")).sum()
    return [str(g) for g in totals.sort_values(ascending=False, kind="stable").index[:limit]]


def _floats(series: Any) -> Any:
    import numpy as np
    import pandas as pd

    return pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(dtype="f8", na_value=np.nan)


# --- sections -------------------------------------------------------------------------------

def _headlines(current: Any, table: Any) -> str:
    import numpy as np

    from frugal.frugality import EQUIVALENTS, energy_basis

    energy = float(np.nansum(_floats(current["energy_j"]))) if np.isfinite(_floats(current["energy_j"])).any() else math.nan
    operational = float(np.nansum(_floats(current["carbon_g"]))) if np.isfinite(_floats(current["carbon_g"])).any() else math.nan
    embodied = float(np.nansum(_floats(current["embodied_g"]))) if np.isfinite(_floats(current["embodied_g"])).any() else math.nan
    carbon = operational + embodied
    methods = {str(m) for m in current["energy_method"].dropna().unique()} if "energy_method" in current else set()
    basis = energy_basis(methods)
    wall = float(np.nansum(_floats(current["wall_s"])))
    cpu = float(np.nansum(_floats(current["cpu_s"])))
    peak = _floats(current["peak_rss_bytes"])
    calls = int(np.nansum(_floats(current["calls"]))) if "calls" in current else len(current)
    parts = []
    if "energy_cpu_j" in current and math.isfinite(energy) and energy > 0:
        shares = [(label, float(np.nansum(_floats(current[c]))) / energy)
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
        P.card("Time", format_quantity(wall, "s"), f"CPU {format_quantity(cpu, 's')} over {format_count(calls)} calls", "measured"),
        P.card("Peak memory", format_quantity(np.nanmax(peak) if np.isfinite(peak).any() else math.nan, "B"),
               "highest resident set of one measurement", "measured"),
    ]
    return f'<section aria-label="headline figures"><div class="cards">{"".join(cards)}</div></section>'


_TABLE_COLUMNS = (  # indicator, header, unit, grade column
    ("energy_per_unit_j", "Energy/unit", "J", "grade_energy"),
    ("carbon_per_unit_g", "SCI/unit", "gCO2e", "grade_carbon"),
    ("embodied_share", "Embodied", "%", None),
    ("peak_rss_per_unit_bytes", "Memory/unit", "B", "grade_memory"),
    ("time_per_unit_s", "Time/unit", "s", "grade_time"),
    ("cpu_util", "CPU use", "x", None),
)


def _ratio_text(row: Any) -> str:
    """Energy per unit as a multiple of the baseline's, with its 95% CI: ``2.13x [1.79, 2.48]``."""
    gain = row.get("gain", math.nan)
    if not isinstance(gain, float) or not math.isfinite(gain):
        return "n/a"
    low, high = 1.0 - row.get("gain_ci_high", math.nan), 1.0 - row.get("gain_ci_low", math.nan)
    ci = f" [{format_ratio(low)}, {format_ratio(high)}]" if math.isfinite(low) and math.isfinite(high) else ""
    return f"{format_ratio(1.0 - gain)}x{ci}"


def _indicators_section(table: Any, by: str, baseline: str | None) -> str:
    headers = [by, "Grade"] + [h for _, h, _, _ in _TABLE_COLUMNS] + \
              (["x baseline [95% CI]"] if baseline is not None else []) + ["Runs"]
    rows = []
    for group, row in table.iterrows():
        name = str(group) + (" (baseline)" if baseline is not None and str(group) == str(baseline) else "")
        cells: list[Any] = [("name", f'<span title="{e(str(group))}">{e(name)}</span>'), P.grade_badge(row["grade"])]
        for column, _, unit, grade in _TABLE_COLUMNS:
            text = e(format_quantity(row[column], unit))
            if grade is not None:
                text += " " + P.grade_badge(row[grade])
            cells.append(text)
        if baseline is not None:
            same = baseline in table.index and table.loc[baseline, "unit"] == row["unit"]
            cells.append(e(("baseline" if str(group) == str(baseline) else _ratio_text(row)) if same
                           else f"n/a (per {row['unit']})"))
        cells.append(e(format_count(row['n_runs'])))
        rows.append(cells)
    parts = [P.table(headers, rows)]
    verdicts = list(_verdicts(table, baseline)) if baseline is not None else []
    if verdicts:
        parts.append("<h3>Against the baseline</h3>" + P.bullet_list(verdicts, "verdicts"))
    notes = [table.attrs.get("unit_note", ""),
             "SCI/unit: carbon per unit, operational + embodied (the SCI score). Embodied: the embodied share. "
             "Memory/unit: peak resident memory x calls / units. CPU use: CPU time / wall time.",
             "x baseline: energy per unit as a multiple of the baseline's (below 1 is more frugal), "
             "with a 95% bootstrap CI."] \
        + table.attrs.get("grade_scale_text", "").splitlines()
    parts.append("<details><summary>How the grades and units are set</summary>"
                 + P.bullet_list(n for n in notes if n) + "</details>")
    return "".join(parts)


def _verdicts(table: Any, baseline: str) -> Iterable[str]:
    gain_of = table.attrs.get("gain_of", "energy_per_unit_j")
    noun = {"energy_per_unit_j": "energy per unit"}.get(gain_of, gain_of)
    base_unit = table.loc[baseline, "unit"] if baseline in table.index else None
    for group, row in table.iterrows():
        if str(group) == str(baseline):
            continue
        if row["unit"] != base_unit:
            yield (f"{group} is not compared with {baseline}: one is counted per {row['unit']}, "
                   f"the other per {base_unit} (give both the same units=...)")
            continue
        gain, p = row.get("gain", math.nan), row.get("gain_p", math.nan)
        if not (isinstance(gain, float) and math.isfinite(gain)):
            continue
        ratio = 1.0 - gain
        low, high = 1.0 - row.get("gain_ci_high", math.nan), 1.0 - row.get("gain_ci_low", math.nan)
        ci = (f"95% CI {format_ratio(low)}-{format_ratio(high)}x" if math.isfinite(low) and math.isfinite(high)
              else "no CI")
        p_text = format_p(p)
        significant = isinstance(p, float) and math.isfinite(p) and p < 0.05
        if significant:
            yield f"{group} uses {format_ratio(ratio)}x the {noun} of {baseline} ({ci}, {p_text})"
        else:
            yield f"no significant difference in {noun} between {group} and {baseline} ({format_ratio(ratio)}x, {ci}, {p_text})"


def _chart(make: Any, prefix: str, title: str, bar: Progress | None = None) -> str:
    """One chart as inline SVG, or a sentence saying why it is not drawn."""
    from frugal import plot

    if bar is not None:
        bar.step(title)
    try:
        fig = make()
    except (ValueError, TypeError) as exc:
        return f'<div class="chart"><h3>{e(title)}</h3><p class="missing">Not drawn: {e(str(exc))}</p></div>'
    svg = P.inline_svg(plot.to_svg(fig), prefix)
    caption = plot.caption_of(fig)
    if svg is None:
        return f'<div class="chart"><h3>{e(title)}</h3><p class="missing">Not drawn: the chart held unsafe markup.</p></div>'
    label = e(f"{title}. {caption}")
    return f'<figure class="chart" role="img" aria-label="{label}"><h3>{e(title)}</h3>{svg}</figure>'


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


CHART_LABEL_CHARS = 60   # longer names are shortened on charts (the tables show them whole)


def _chart_labels(frame: Any, by: str, baseline: str | None) -> tuple[Any, str | None]:
    """The frame with names longer than CHART_LABEL_CHARS shortened (start ... end, kept unique),
    and the baseline's name as shortened: laying out a 100,000-character label takes matplotlib
    minutes, and no chart can show it anyway."""
    names = [str(n) for n in frame[by].dropna().unique()]
    long = [n for n in names if len(n) > CHART_LABEL_CHARS]
    if not long:
        return frame, baseline
    taken = set(names) - set(long)
    short = {}
    for name in long:
        label = f"{name[:CHART_LABEL_CHARS - 20]}…{name[-19:]}"
        k = 1
        while label in taken:
            k += 1
            label = f"{name[:CHART_LABEL_CHARS - 24]}…{name[-19:]} #{k}"
        taken.add(label)
        short[name] = label
    frame = frame.copy()
    frame[by] = frame[by].replace(short)
    return frame, short.get(baseline, baseline) if baseline is not None else None


def _charts_section(current: Any, by: str, baseline: str | None, bar: Progress) -> str:
    from frugal import plot

    names = _top_groups(current, by)
    shown = current[current[by].astype("string").isin(names)]
    shown, baseline = _chart_labels(shown, by, baseline)
    names = [n for n in shown[by].dropna().unique()]
    notes = []
    if current[by].nunique() > len(names):
        notes.append(f"Charts show the {len(names)} {by}s that cost the most of {current[by].nunique()}; "
                     "the table above lists all.")
    sample, cut = _sample(shown, by)
    if cut:
        notes.append(f"Median charts use a random sample of {CHART_SAMPLE:,} measurements per {by}; "
                     "the other charts and the table use all of them.")
    note = "".join(f'<p class="missing">{e(n)}</p>' for n in notes)
    base = baseline if baseline in names else None
    charts = [
        (lambda: plot.compare(sample, metric="energy_j", by=by, baseline=base), "Energy per call"),
        (lambda: plot.compare(sample, metric="wall_s", by=by, baseline=base), "Wall time per call"),
        (lambda: plot.compare(sample, metric="peak_rss_bytes", by=by, baseline=base), "Peak memory"),
        (lambda: plot.profile(shown, by=by, baseline=base), "Frugality profile"),
        (lambda: plot.breakdown(shown, by=by), "Energy and carbon breakdown"),
        (lambda: plot.pareto(shown, by=by), "Time against energy"),
    ]
    return note + "".join(_chart(make, f"c{i}", title, bar) for i, (make, title) in enumerate(charts))


def _trend_section(history: Any, key: str, by: str, bar: Progress) -> str:
    from frugal import plot

    names = _top_groups(history, by)
    shown, _ = _chart_labels(history[history[by].astype("string").isin(names)], by, None)
    metric = "energy_j" if _has(shown, "energy_j") else "wall_s"
    label = "commit" if key == "git_commit" else "run"
    shown = shown.rename(columns={"_point": label})
    return _chart(lambda: plot.trend(shown, metric=metric, by=by, x=label), "trend",
                  f"{'Energy' if metric == 'energy_j' else 'Wall time'} per call across {label}s", bar)


def _has(frame: Any, column: str) -> bool:
    import numpy as np

    return column in frame.columns and bool(np.isfinite(_floats(frame[column])).any())


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


def _str(value: Any) -> str:
    """A cell's text: "" for None, NaN and pandas' NA."""
    if value is None or value is getattr(__import__("pandas"), "NA", object()):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return str(value)


def _runs_table(frame: Any, runs: Any) -> str:
    if "run_id" not in frame.columns:
        return ""
    cols = [c for c in ("run_started_at", "host", "program", "cpu", "python", "frugal_version", "git_commit",
                        "git_branch") if c in frame.columns]
    grouped = frame.groupby("run_id", sort=False)
    summary = grouped[cols].first()
    summary["measurements"] = grouped.size()
    if "run_started_at" in summary:
        summary = summary.sort_values("run_started_at", kind="stable")
    summary = summary.tail(MAX_RUNS_LISTED)
    rows: list[list[str | tuple[str, str]]] = []
    for i, (_, row) in enumerate(summary.iterrows()):
        started = row.get("run_started_at")
        number = i + 1 + max(0, grouped.ngroups - MAX_RUNS_LISTED)
        rows.append([e(str(number)),
                     e(started.strftime("%Y-%m-%d %H:%M:%S") if hasattr(started, "strftime") else "n/a"),
                     ("name", e(_str(row.get("host")))), ("name", e(_str(row.get("program")))),
                     ("name", e(_str(row.get("cpu")))), e(_str(row.get("python"))),
                     e(_str(row.get("frugal_version"))), ("name", e(_str(row.get("git_commit"))[:12])),
                     ("name", e(_str(row.get("git_branch")))), e(format_count(row['measurements']))])
    head = ["#", "Started (UTC)", "Host", "Program", "CPU", "Python", "frugal", "Commit", "Branch", "Measurements"]
    return "<h3>Runs</h3>" + P.table(head, rows)


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


_SETTING_LABELS = (("cpu_model", "CPU"), ("cpu_power_source", "CPU power"), ("memory_probe", "Memory probe"),
                   ("embodied_source", "Embodied preset"), ("pue", "PUE"))


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
    from frugal.frugality import EQUIVALENTS, PROVENANCE, energy_basis

    methods = sorted({str(m) for m in frame["energy_method"].dropna().unique()}) if "energy_method" in frame else []
    intensities = sorted({format_quantity(v, "") for v in _floats(frame["intensity_g_per_kwh"]) if math.isfinite(v)}) \
        if "intensity_g_per_kwh" in frame else []
    sources = sorted({str(s) for s in frame["intensity_source"].dropna().unique()}) if "intensity_source" in frame else []
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
    return P.definitions(pairs) + _runs_table(frame, runs) + _settings_details(settings)


# --- the page ---------------------------------------------------------------------------------

def _drawable(frame: Any, by: str) -> Any:
    """The frame with names that are not valid Unicode (lone surrogates, from undecodable bytes)
    written as their ``\\udcxx`` escapes, as the store keeps them: no chart can draw them."""
    import pandas as pd

    from frugal.store import storable_text

    values = frame[by].tolist()
    fixed = storable_text(values)
    if fixed is values:
        return frame
    frame = frame.copy()
    frame[by] = pd.Series(fixed, index=frame.index, dtype=frame[by].dtype)
    return frame


def render(frame: Any, *, by: str = "name", baseline: str | None = None, title: str | None = None,
           runs: Any = None, progress: bool | None = None) -> str:
    """The dashboard's HTML (a str) for a frame with the columns of ``frugal.results()``.

    ``runs``: the store's runs (``frugal.store.load_runs``), for the recorded settings.
    ``progress``: a bar on stderr, by default when stderr is a terminal.
    """
    from frugal.frugality import energy_basis, indicators

    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    frame = _drawable(frame, by)
    current, history, key, scope = _scope(frame)
    bar = Progress(8 if history is not None else 7, "frugal dashboard", progress)
    try:
        bar.step("indicators")
        if baseline is not None and baseline not in set(current[by].astype("string").dropna()):
            baseline = None          # not in the latest run: gains cannot be computed there
        table = indicators(current, by=by, baseline=baseline, n_boot=_n_boot(current, by))
        title = title or "Frugality dashboard"
        methods = {str(m) for m in current["energy_method"].dropna().unique()} if "energy_method" in current else set()
        basis = energy_basis(methods)
        body = [
            f"<header><h1>{e(title)}</h1><p>{e(f'{current[by].nunique()} {by}s; figures for {scope}.')}</p>"
            f"<p>{e(f'Energy is {basis}, carbon modelled; time, CPU and memory are measured.')}</p></header>",
            _headlines(current, table),
            f"<section><h2>Frugality indicators by {e(by)}</h2>{_indicators_section(table, by, baseline)}</section>",
            f"<section><h2>Comparison</h2>{_charts_section(current, by, baseline, bar)}</section>",
        ]
        if history is not None:
            assert key is not None  # _scope gives a history only with the key it follows
            body.append(f"<section><h2>Trend</h2>{_trend_section(history, key, by, bar)}</section>")
        body.append("<section><h2>Methodology and provenance</h2>"
                    f"{_methodology(frame, current, table, runs, generated)}</section>")
    finally:
        bar.close()
    return P.page(title, "\n".join(body), generated)


def report(data: Any, path: str | os.PathLike[str] = "dashboard.html", *, title: str | None = None,
           baseline: str | None = None, by: str | None = None, store: str | os.PathLike[str] | None = None,
           progress: bool | None = None, overwrite: bool = False) -> Path:
    """Write the frugality dashboard of ``data`` to ``path``: one self-contained HTML file.

    ``data``: a frame with the columns of ``frugal.results()`` (``frugal.load()`` adds the
    runs, and the page then shows the trend across runs or commits) or a
    ``frugal.Comparison``. The headline figures, indicators and charts cover the latest
    commit or run when there are several. Time, CPU and memory are measured; energy is
    measured or modelled (stated on the page) and carbon modelled. ``baseline``: the name the
    others are compared with. ``store``: the store the frame came from, for the settings
    recorded with its runs. ``progress``: a bar on stderr, by default when stderr is a
    terminal. The file is written atomically with the permissions the umask gives; an existing
    file is replaced only if it is a dashboard frugal wrote, or with ``overwrite=True`` (a
    frugal store or any other file is left untouched: ``ValueError``). Returns the path written.
    """
    from frugal._output import check_output, write_output

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
    text = render(frame, by=by, baseline=baseline, title=title, runs=runs, progress=progress)
    return write_output(out, text, "html", overwrite=overwrite, argument="report(path=...)")
