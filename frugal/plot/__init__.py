"""Charts of frugality: each function returns a ``matplotlib.figure.Figure`` made directly.

No pyplot global state is touched, so the charts draw headless (Agg) and in threads. The
palette is Okabe-Ito (safe for colour-blind readers); every axis carries its unit; each
figure's caption says whether its numbers were measured or modelled and which grid carbon
intensity was used. ``to_svg(fig)`` gives an inline SVG string for an HTML page, its text
kept as text; ``for_screen(fig)`` first makes a figure legible at phone width (and returns
its caption, to show as HTML). ``fig.savefig("chart.png")`` still gives a PNG.
"""
from __future__ import annotations

from frugal.plot._style import caption_of, for_screen, to_svg
from frugal.plot.bars import breakdown, compare, profile
from frugal.plot.xy import pareto, pareto_front, scaling, trend

__all__ = ["breakdown", "caption_of", "compare", "for_screen", "pareto", "pareto_front", "profile", "scaling",
           "to_svg", "trend"]
