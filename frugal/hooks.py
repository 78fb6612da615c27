"""Services a lower layer needs from a higher one, registered by the higher one.

Layers point one way (ARCHITECTURE.md): ``Comparison.plot()`` and ``Scaling.plot()`` live
below ``frugal.plot``, and ``Profile.flamegraph()`` below ``frugal.flamegraph``, so they ask
this registry, which the package fills in when it is imported (``frugal/__init__.py``). Standard library only.
"""
from __future__ import annotations

from collections.abc import Callable

from frugal.errors import FrugalError

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    ChartProvider: TypeAlias = Callable[[str], Callable[..., Any]]
_charts: ChartProvider | None = None


def set_chart_provider(provider: ChartProvider) -> None:
    """Register how to find a chart function by name (``"compare"``, ``"scaling"``...)."""
    global _charts
    _charts = provider


def chart(kind: str) -> Callable[..., Any]:
    """The chart function ``kind`` of the registered provider (``frugal.plot``)."""
    if _charts is None:
        raise FrugalError("no chart provider is registered: import frugal (the package) first")
    return _charts(kind)


# --- the flame graph page (frugal.flamegraph), asked for by frugal.profiler's Profile ---------
if TYPE_CHECKING:
    FlamegraphRenderer: TypeAlias = Callable[..., str]
_flamegraph: FlamegraphRenderer | None = None


def set_flamegraph_renderer(renderer: FlamegraphRenderer) -> None:
    """Register what turns a finished Profile into its flame graph's HTML."""
    global _flamegraph
    _flamegraph = renderer


def flamegraph() -> FlamegraphRenderer:
    """The registered flame graph renderer (``frugal.flamegraph.render``)."""
    if _flamegraph is None:
        raise FrugalError("no flame graph renderer is registered: import frugal (the package) first")
    return _flamegraph
