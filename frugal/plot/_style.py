"""What every frugal chart shares: the palette, labels with units, the caption, the figure."""
from __future__ import annotations

import functools
import html
import io
import re
import textwrap
from typing import Callable, ParamSpec

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text

from frugal.frames.frame import labels
from frugal.analysis.indicators import energy_basis
from frugal.units import format_quantity, label_of, unit_of

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
# vision deficiency. Ordered so the first colours contrast best on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo")

# column -> how it is known (its label and unit are frugal.units')
BASIS: dict[str, str] = {
    "wall_s": "measured", "cpu_s": "measured", "cpu_user_s": "measured", "cpu_system_s": "measured",
    "cpu_util": "measured", "peak_rss_bytes": "measured", "rss_delta_bytes": "measured",
    "energy_j": "energy", "energy_cpu_j": "energy", "energy_ram_j": "energy", "energy_gpu_j": "energy",
    "carbon_g": "operational", "embodied_g": "embodied", "units": "given",
    "energy_per_unit_j": "energy", "carbon_per_unit_g": "sci", "operational_per_unit_g": "operational",
    "embodied_per_unit_g": "embodied", "embodied_share": "sci", "peak_added_per_unit_bytes": "measured",
    "peak_added_bytes": "measured",
    "rss_start_bytes": "measured",
    "time_per_unit_s": "measured", "cpu_per_unit_s": "measured",
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

_P = ParamSpec("_P")


def palette(n: int) -> list[str]:
    """``n`` colours from the Okabe-Ito palette, cycling after eight."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


def metric_info(metric: str) -> tuple[str, str, str]:
    """(label, unit, basis) of a column or indicator; unknown columns get their own name."""
    label = label_of(metric)
    return label[:1].upper() + label[1:], unit_of(metric), BASIS.get(metric, "as recorded")


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
        methods = set(labels(frame["energy_method"]))
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
    shown = fmt(values[0]) if len(values) == 1 else f"{fmt(min(values))}-{fmt(max(values))}"
    sources = []
    if "intensity_source" in frame.columns:
        sources = sorted(labels(frame["intensity_source"]))
    return f"Grid intensity: {shown} gCO2e/kWh" + (f" ({'; '.join(sources)})" if sources else "")


def new_figure(width: float = 7.5, height: float = 4.6, caption: str = "",
               ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A Figure made directly (no pyplot state), with room at the bottom for the caption."""
    lines = textwrap.wrap(caption, 120) if caption else []
    fig = Figure(figsize=(width, height + 0.16 * len(lines)), layout="constrained")
    bottom = (0.16 * len(lines) + 0.08) / (height + 0.16 * len(lines)) if lines else 0.0
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)  # layout="constrained" above
    engine.set(rect=(0.0, bottom, 1.0, 1.0 - bottom))
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, color="#333333", ha="left", va="bottom",
                 gid="frugal-caption")
    return fig, axes


def literal_text(chart: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Decorates a chart function: names from the data are drawn as written.

    matplotlib reads the text between two ``$`` as math: a name such as ``echo $A $B`` would
    lose its dollars, and one such as ``$\\x$`` would fail to draw. frugal writes no math of its
    own (only the axis formatters do, as ``\\mathdefault``), so math is turned off in every
    other text holding a ``$``.
    """
    @functools.wraps(chart)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        return _literal(chart(*args, **kwargs))
    return wrapper


def _literal(fig: Figure) -> Figure:
    """Math turned off in every text of ``fig`` that holds a ``$`` (see ``literal_text``)."""
    for text in fig.findobj(Text):
        content = text.get_text()
        if "$" in content and "\\mathdefault" not in content:
            text.set_parse_math(False)
    return fig


def caption_of(fig: Figure) -> str:
    """The caption text of a frugal chart (one string, lines joined by spaces)."""
    for text in fig.texts:
        if text.get_gid() == "frugal-caption":
            return " ".join(text.get_text().split())
    return ""


# Chart text stays text in SVG (selectable, searchable, read aloud), in fonts every browser
# has; DejaVu Sans (matplotlib's own, whose metrics laid the text out) where it is installed.
FONT_STACK = ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"]   # then the generic sans-serif
SCREEN_WIDTH_IN = 5.0    # 360 SVG units wide: shown at >= 360 CSS px on a 390 px phone
SCREEN_FONT = 11.0       # the smallest text on screen, SVG units: >= 11 CSS px at that width


def to_svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (a str), for a self-contained HTML page.

    Text is kept as ``<text>`` in the font stack ``FONT_STACK`` (then sans-serif); points
    given hover titles (``set_titles``) carry them as ``<title>``; no date or random ids
    are written, so the same figure gives the same string.
    """
    buf = io.StringIO()
    with rc_context({"svg.hashsalt": "frugal", "svg.fonttype": "none", "font.family": "sans-serif",
                     "font.sans-serif": FONT_STACK}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    start = svg.find("<svg")
    svg = re.sub(r"\s+$", "", svg[start:]) + "\n"
    for gid, titles in getattr(fig, "_frugal_titles", {}).items():
        svg = _with_titles(svg, gid, titles)
    return svg


def set_titles(fig: Figure, gid: str, titles: list[str]) -> None:
    """Hover titles for the markers of the artist with id ``gid``, one per point in order
    (``to_svg`` writes each as the ``<title>`` of its marker)."""
    registry: dict[str, list[str]] = getattr(fig, "_frugal_titles", {})
    registry[gid] = list(titles)
    setattr(fig, "_frugal_titles", registry)   # a Figure takes attributes; PNG output ignores it


def _with_titles(svg: str, gid: str, titles: list[str]) -> str:
    """Each marker (``<use>``) of group ``gid`` given its title, if the markers are as many as the titles."""
    start = svg.find(f'<g id="{gid}">')
    if start < 0:
        return svg
    uses = list(re.finditer(r"<use [^>]*?/>", svg[start:]))[:len(titles)]
    if len(uses) != len(titles):
        return svg             # some points were not drawn (outside the figure): no title rather than a wrong one
    out, at = [svg[:start]], start
    for match, title in zip(uses, titles):
        out += [svg[at:start + match.start()], match.group()[:-2], f"><title>{html.escape(title)}</title></use>"]
        at = start + match.end()
    return "".join(out + [svg[at:]])


def for_screen(fig: Figure, width: float = SCREEN_WIDTH_IN, font: float = SCREEN_FONT) -> str:
    """Make a chart legible inline on a page at any screen width, and return its caption.

    The caption leaves the figure (the page shows it as HTML text, which wraps); the figure
    becomes ``width`` inches wide, side-by-side panels one above the other, a little taller
    in proportion; no text is smaller than ``font`` points, long titles wrap and crowded
    category labels turn. Call before ``to_svg``.
    """
    caption = caption_of(fig)
    for text in list(fig.texts):
        if text.get_gid() == "frugal-caption":
            text.remove()
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, 0.0, 1.0, 1.0))
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
    old_w, old_h = fig.get_size_inches()
    if len(axes) > 1:            # panels side by side: one above the other
        grid = GridSpec(len(axes), 1, figure=fig)
        for i, ax in enumerate(axes):
            ax.set_subplotspec(grid[i])
    chars = 72 * width / (0.6 * font)          # characters of ``font`` points across the figure
    extra = 0.0                                # inches of labels and legends below the panels
    for ax in axes:
        ax.tick_params(labelsize=font)
        ax.set_title("\n".join(textwrap.wrap(ax.get_title(), int(chars / 1.1))))
        labels = [t.get_text() for t in ax.get_xticklabels()]
        if len(labels) > 2 and sum(max(map(len, t.split("\n"))) for t in labels) > chars * 0.8:
            flat = [t.replace("\n", "") for t in labels]
            ax.set_xticks(ax.get_xticks(), flat, rotation=30, ha="right", rotation_mode="anchor")
            extra += min(40, max(map(len, flat))) * font * 0.6 * 0.5 / 72      # sin 30° of the longest
        legend = ax.get_legend()
        if legend is not None and len(legend.texts) > 4:    # a long legend goes under the panel
            entries = [(h, textwrap.shorten(" ".join(t.get_text().split()), int(chars * 0.8), placeholder="…"))
                       for h, t in zip(legend.legend_handles, legend.texts) if h is not None]
            names = [n for _, n in entries]
            columns = 2 if max(map(len, names)) <= chars * 0.35 else 1
            legend.remove()
            fig.legend([h for h, _ in entries], names, loc="outside lower center", ncols=columns, frameon=False)
            extra += -(-len(names) // columns) * font * 1.5 / 72
    per_panel = max(3.2, old_h * width / old_w * 1.35)
    fig.set_size_inches(width, per_panel * max(1, len(axes)) + extra)
    for text in fig.findobj(Text):
        if float(text.get_fontsize()) < font:
            text.set_fontsize(font)
    _literal(fig)              # the labels and legends made again here draw names as written too
    return caption


def finite_or_raise(values: np.ndarray, column: str, what: str) -> None:
    """A chart needs numbers: ``ValueError`` naming the column when none is known."""
    if not np.isfinite(np.asarray(values, dtype="f8")).any():
        raise ValueError(f"{what}: column {column!r} has no values in this frame "
                         "(energy and carbon are NaN when no energy model or meter ran)")


def fmt(value: float, unit: str = "") -> str:
    """A short number for an annotation, through the one formatter."""
    return format_quantity(value, unit)
