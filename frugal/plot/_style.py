"""What every frugal chart shares: the palette, labels with units, the caption, the figure."""
from __future__ import annotations

import functools
import io
import math
import re
import textwrap

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.text import Text

from frugal.indicators import energy_basis

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
# vision deficiency. Ordered so the first colours contrast best on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo")

# column -> (label, unit, how it is known)
METRICS: dict[str, tuple[str, str, str]] = {
    "wall_s": ("Wall time", "s", "measured"),
    "cpu_s": ("CPU time", "s", "measured"),
    "cpu_user_s": ("User CPU time", "s", "measured"),
    "cpu_system_s": ("System CPU time", "s", "measured"),
    "cpu_util": ("CPU utilisation", "ratio", "measured"),
    "peak_rss_bytes": ("Peak memory", "B", "measured"),
    "rss_delta_bytes": ("Memory growth", "B", "measured"),
    "energy_j": ("Energy", "J", "energy"),
    "energy_cpu_j": ("CPU energy", "J", "energy"),
    "energy_ram_j": ("Memory energy", "J", "energy"),
    "energy_gpu_j": ("GPU energy", "J", "energy"),
    "carbon_g": ("Operational carbon", "gCO2e", "operational"),
    "embodied_g": ("Embodied carbon", "gCO2e", "embodied"),
    "units": ("Functional units", "units", "given"),
    "energy_per_unit_j": ("Energy per unit", "J", "energy"),
    "carbon_per_unit_g": ("Carbon per unit (SCI)", "gCO2e", "sci"),
    "operational_per_unit_g": ("Operational carbon per unit", "gCO2e", "operational"),
    "embodied_per_unit_g": ("Embodied carbon per unit", "gCO2e", "embodied"),
    "embodied_share": ("Embodied share", "ratio", "sci"),
    "peak_rss_per_unit_bytes": ("Peak memory per unit", "B", "measured"),
    "time_per_unit_s": ("Time per unit", "s", "measured"),
    "cpu_per_unit_s": ("CPU time per unit", "s", "measured"),
}

# metrics that are totals over a summary row's calls (divide by calls for one call)
ADDITIVE = frozenset({"wall_s", "cpu_s", "cpu_user_s", "cpu_system_s", "energy_j", "energy_cpu_j",
                      "energy_ram_j", "energy_gpu_j", "carbon_g", "embodied_g", "units"})

_BASES = {
    "operational": "modelled (energy x grid intensity)",
    "embodied": "modelled (share of manufacturing emissions, SCI M)",
    "sci": "modelled (operational + embodied, SCI)",
    "given": "given by the caller",
}

_PREFIXES = ((1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))
_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B"))


def palette(n: int) -> list[str]:
    """``n`` colours from the Okabe-Ito palette, cycling after eight."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


def scale(values: np.ndarray | pd.Series, unit: str) -> tuple[float, str]:
    """(factor, unit) that show ``values`` with a readable prefix: ``values * factor`` in ``unit``.

    Bytes use binary prefixes (KiB, MiB, GiB); seconds, joules and grams SI ones; ratios none.
    """
    finite = np.abs(np.asarray(values, dtype="f8"))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if unit in ("ratio", "units", "") or len(finite) == 0:
        return 1.0, unit
    top = float(finite.max())
    if unit == "B":
        for size, name in _BINARY:
            if top >= size:
                return 1.0 / size, name
        return 1.0, "B"
    for size, prefix in _PREFIXES:
        if top >= size:
            return 1.0 / size, _prefixed(prefix, unit)
    return 1e9, _prefixed("n", unit)


def _prefixed(prefix: str, unit: str) -> str:
    if unit == "gCO2e" and prefix == "k":
        return "kgCO2e"
    return prefix + unit


def metric_info(metric: str) -> tuple[str, str, str]:
    """(label, unit, basis) of a column or indicator; unknown columns get their own name."""
    return METRICS.get(metric, (metric, "", "as recorded"))


def axis_label(label: str, unit: str, per: str | None = None, log: bool = False) -> str:
    """``"Energy per unit (mJ/unit)"``: the label and its unit, always."""
    shown = unit or "value"
    if per:
        shown = f"{shown}/{per}"
    return f"{label} ({shown}{', log scale' if log else ''})"


def provenance(frame: pd.DataFrame, metric: str | None = None) -> str:
    """One sentence on where the numbers come from: measured or modelled, and the grid intensity."""
    methods = set()
    if "energy_method" in frame.columns:
        methods = {str(m) for m in frame["energy_method"].dropna().unique()}
    basis = energy_basis(methods)
    energy_known = "energy_j" in frame.columns and pd.to_numeric(frame["energy_j"], errors="coerce").notna().any()
    if not energy_known:
        energy = "Energy: not available in these results"
    else:
        energy = f"Energy: {basis}" + (f" ({'+'.join(sorted(methods))})" if methods else "")
    parts = []
    if metric is not None:
        label, _, how = metric_info(metric)
        if how == "energy":
            parts.append(energy.replace("Energy", label, 1))
        else:
            parts += [f"{label}: {_BASES.get(how, how)}", energy]
    else:
        parts.append(energy)
    parts.append(intensity_text(frame))
    return ". ".join(parts) + "."


def intensity_text(frame: pd.DataFrame) -> str:
    """``"Grid intensity: 56 gCO2e/kWh (FRA)"`` or says that none was recorded."""
    if "intensity_g_per_kwh" not in frame.columns:
        return "Grid intensity: not recorded"
    values = pd.to_numeric(frame["intensity_g_per_kwh"], errors="coerce").dropna().unique()
    if len(values) == 0:
        return "Grid intensity: not recorded"
    shown = f"{values[0]:.4g}" if len(values) == 1 else f"{min(values):.4g}-{max(values):.4g}"
    sources = []
    if "intensity_source" in frame.columns:
        sources = sorted({str(s) for s in frame["intensity_source"].dropna().unique()})
    return f"Grid intensity: {shown} gCO2e/kWh" + (f" ({'; '.join(sources)})" if sources else "")


def new_figure(width: float = 7.5, height: float = 4.6, caption: str = "", ncols: int = 1) -> tuple[Figure, list]:
    """A Figure made directly (no pyplot state), with room at the bottom for the caption."""
    lines = textwrap.wrap(caption, 120) if caption else []
    fig = Figure(figsize=(width, height + 0.16 * len(lines)), layout="constrained")
    bottom = (0.16 * len(lines) + 0.08) / (height + 0.16 * len(lines)) if lines else 0.0
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom))
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, color="#333333", ha="left", va="bottom",
                 gid="frugal-caption")
    return fig, axes


def literal_text(chart):
    """Decorates a chart function: names from the data are drawn as written.

    matplotlib reads the text between two ``$`` as math: a name such as ``echo $A $B`` would
    lose its dollars, and one such as ``$\\x$`` would fail to draw. frugal writes no math of its
    own (only the axis formatters do, as ``\\mathdefault``), so math is turned off in every
    other text holding a ``$``.
    """
    @functools.wraps(chart)
    def wrapper(*args, **kwargs):
        fig = chart(*args, **kwargs)
        for text in fig.findobj(Text):
            content = text.get_text()
            if "$" in content and "\\mathdefault" not in content:
                text.set_parse_math(False)
        return fig
    return wrapper


def caption_of(fig: Figure) -> str:
    """The caption text of a frugal chart (one string, lines joined by spaces)."""
    for text in fig.texts:
        if text.get_gid() == "frugal-caption":
            return " ".join(text.get_text().split())
    return ""


def to_svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (a str), for a self-contained HTML page.

    Text is drawn as paths (no font needed by the reader); no date or random ids are written,
    so the same figure gives the same string.
    """
    buf = io.StringIO()
    with rc_context({"svg.hashsalt": "frugal", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    start = svg.find("<svg")
    return re.sub(r"\s+$", "", svg[start:]) + "\n"


def finite_or_raise(values: np.ndarray, column: str, what: str) -> None:
    """A chart needs numbers: ``ValueError`` naming the column when none is known."""
    if not np.isfinite(np.asarray(values, dtype="f8")).any():
        raise ValueError(f"{what}: column {column!r} has no values in this frame "
                         "(energy and carbon are NaN when no energy model or meter ran)")


def fmt(value: float) -> str:
    """A short number for an annotation."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}"
