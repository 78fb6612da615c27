"""Services a lower layer needs from a higher one, registered by the higher one.

Layers point one way (ARCHITECTURE.md): ``Comparison.plot()`` and ``Scaling.plot()`` live
below ``frugal.plot``, so they ask this registry for the chart, which the package fills in
when it is imported (``frugal/__init__.py``). Standard library only.
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
