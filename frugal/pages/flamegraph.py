"""The flame graph of a profile: one self-contained HTML page (or a fragment for notebooks).

Inline SVG, root at the top: each box is a function on one path of calls, its width the share
of the region's energy it spent with its callees (which is its share of the region's CPU time),
its colour its module (or its self energy), its ``<title>`` tooltip the joules, grams of CO2e
and shares. Boxes are placed in percent and their text in pixels, so the graph fills a phone
or a laptop screen alike, and each box clips its own label. No script, nothing fetched: the
page is the dashboard's (``frugal.pages.html``), Content-Security-Policy included, and
every name is escaped.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from frugal.pages import html as P
from frugal.pages.html import e
from frugal.analysis.profiler import FRUGAL_ROW, UNATTRIBUTED_ROW, FlameNode
from frugal.units import format_quantity

if TYPE_CHECKING:
    from frugal.analysis.profiler import Profile

ROW_PX = 18          # height of one level
MIN_SHARE = 0.001    # boxes narrower than this share of the region are not drawn (their sum is said)
MAX_DEPTH = 150      # levels drawn at most
TOP_ROWS = 25        # functions in the table under the graph

CSS = """
svg.flame { display: block; width: 100%;
            font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.flame text { fill: #111; }
svg.flame text.light { fill: #fff; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: -0.1rem;
          margin-right: 0.25rem; }
.legend { display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; font-size: 0.82rem; margin: 0.4rem 0 0.8rem;
          overflow-wrap: anywhere; }
"""


def _module(node: FlameNode) -> str:
    return node.module or node.file


def _colour(node: FlameNode, color: str, top_self: float, hues: dict[str, float]) -> tuple[str, bool]:
    """(fill, light text) of a box: a hue per module, or red as deep as its self energy."""
    if node.name in (FRUGAL_ROW, UNATTRIBUTED_ROW) or not node.file:
        return "#c9ced6", False
    if color == "self":
        depth = node.self_energy_j / top_self if top_self > 0 else 0.0
        lightness = 92 - 50 * max(0.0, min(1.0, depth))
        return f"hsl(8, 78%, {lightness:.0f}%)", lightness < 60
    return f"hsl({hues[_module(node)]:.0f}, 62%, 76%)", False


def _tooltip(node: FlameNode) -> str:
    where = f"\n{node.file}:{node.line}" if node.file else ""
    return (f"{node.name}\n"
            f"total {format_quantity(node.energy_j, 'J')} ({format_quantity(node.share, '%')} of the region), "
            f"self {format_quantity(node.self_energy_j, 'J')}\n"
            f"carbon {format_quantity(node.carbon_g, 'gCO2e')} operational, "
            f"{format_quantity(node.embodied_g, 'gCO2e')} embodied\n"
            f"CPU {format_quantity(node.cpu_s, 's')}{where}")


def svg(root: FlameNode, color: str = "module") -> tuple[str, float, list[tuple[str, str]]]:
    """The graph as inline SVG; the share of the region left undrawn (boxes too narrow);
    the legend (module, fill) of the modules drawn, largest first."""
    boxes: list[str] = []
    hidden = 0.0
    top_self = 0.0
    spent: dict[str, float] = {}           # self energy per module
    stack = list(root.children)
    while stack:
        node = stack.pop()
        top_self = max(top_self, node.self_energy_j)
        if node.file:
            spent[_module(node)] = spent.get(_module(node), 0.0) + node.self_energy_j
        stack.extend(node.children)
    # hues a golden angle apart, costliest module first: neighbours in the ranking differ most
    ranked = sorted(spent, key=lambda m: (-spent[m], m))
    hues = {m: (35 + i * 137.508) % 360 for i, m in enumerate(ranked)}
    drawn: set[str] = set()
    depth_max = 0
    todo: list[tuple[FlameNode, float, int]] = [(root, 0.0, 0)]
    while todo:
        node, x, depth = todo.pop()
        if node is not root and (node.share < MIN_SHARE or depth >= MAX_DEPTH):
            hidden += node.share
            continue
        depth_max = max(depth_max, depth)
        fill, light = _colour(node, color, top_self, hues) if node is not root else ("#e1e4e8", False)
        if node is not root and node.file:
            drawn.add(_module(node))
        width = node.share * 100
        label = node.name if node is not root else f"all: {node.name}"
        text_class = ' class="light"' if light else ""
        boxes.append(
            f'<g><title>{e(_tooltip(node))}</title>'
            f'<svg x="{x * 100:.4f}%" y="{depth * ROW_PX}" width="{width:.4f}%" height="{ROW_PX - 1}">'
            f'<rect width="100%" height="100%" rx="2" fill="{fill}"/>'
            f'<text x="4" y="{ROW_PX - 5}"{text_class}>'
            f'{e(label)}</text></svg></g>')
        offset = x
        for child in node.children:
            todo.append((child, offset, depth + 1))
            offset += child.share
    height = (depth_max + 1) * ROW_PX
    graph = (f'<svg class="flame" xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
             f'role="img" aria-label="flame graph of energy by function">{"".join(boxes)}</svg>')
    return graph, hidden, [(m, f"hsl({hues[m]:.0f}, 62%, 76%)") for m in ranked if m in drawn]


def _table(prof: Profile, top: int) -> str:
    table = prof.results()
    table = table[table["total_cpu_s"] > 0].head(top)
    rows: list[list[str | tuple[str, str]]] = []
    for r in table.itertuples(index=False):
        where = (f'<span title="{e(r.file)}">{e(os.path.basename(r.file))}:{r.line}</span>'
                 if r.file else "")
        rows.append([("name", e(r.function)), format_quantity(r.self_energy_j, "J"),
                     format_quantity(r.self_share, "%"), format_quantity(r.total_energy_j, "J"),
                     format_quantity(r.total_share, "%"), format_quantity(r.self_carbon_g, "gCO2e"),
                     format_quantity(r.self_embodied_g, "gCO2e"), format_quantity(r.self_cpu_s, "s"),
                     ("name", where)])
    return P.table(["function", "self energy", "self share", "total energy", "total share",
                    "self carbon", "self embodied", "self CPU", "where"], rows)


def _summary(prof: Profile) -> str:
    m = prof.measurement
    method = m.energy_method or "unknown"
    return (f"{format_quantity(m.energy_j, 'J')} ({method}), {format_quantity(m.carbon_g, 'gCO2e')} "
            f"operational and {format_quantity(m.embodied_g, 'gCO2e')} embodied carbon, "
            f"{format_quantity(m.cpu_s, 's')} of CPU in {format_quantity(m.wall_s, 's')}; "
            f"{prof.samples} sample{'' if prof.samples == 1 else 's'} every "
            f"{format_quantity(prof.interval, 's')}.")


def render(prof: Profile, *, color: str = "module", title: str | None = None, fragment: bool = False,
           top: int = TOP_ROWS) -> str:
    """The flame graph page of a finished profile (``fragment``: the graph and table only, for a
    notebook); ``top``: functions in the table."""
    root = prof.tree()
    graph, hidden, legend = svg(root, color)
    if color == "module":
        keys = "".join(f'<span><span class="swatch" style="background:{fill}"></span>{e(name)}</span>'
                       for name, fill in legend[:12])
        what = f'<div class="legend">Colour: module. {keys}</div>'
    else:
        what = '<div class="legend">Colour: self energy, deeper red for more.</div>'
    note = (f" Boxes under {format_quantity(MIN_SHARE, '%')} of the region are not drawn "
            f"({format_quantity(hidden, '%')} in all)." if hidden > 0 else "")
    body = (f"<p>{e(_summary(prof))}</p>"
            f"<p>Width: share of the region's energy, which is its share of the region's CPU time "
            f"(each thread charged by its own CPU clock). Hover or tap a box for joules, grams of "
            f"CO2e and shares.{e(note)}</p>{what}{graph}"
            f"<h2>Functions by self energy</h2>{_table(prof, top)}"
            f"<p class=\"missing\">Self: spent in the function's own code; total: with the functions "
            f"it called. &lt;frugal&gt;: the profiler's own CPU; &lt;unattributed&gt;: CPU no Python "
            f"stack explains (threads frugal cannot see, such as a native library's). Time and CPU "
            f"are measured; energy is the region's, {e(prof.measurement.energy_method or 'unknown')}, split by "
            f"CPU share (METHODOLOGY.md).</p>")
    name = prof.name or "profile"
    if fragment:
        return f'<div class="frugal-profile"><style>{CSS}</style><h3>{e(name)}</h3>{body}</div>'
    heading = title or f"Energy profile: {name}"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    page: str = P.page(heading, f"<style>{CSS}</style><header><h1>{e(heading)}</h1></header>"
                       f"<section>{body}</section>", generated)
    return page

