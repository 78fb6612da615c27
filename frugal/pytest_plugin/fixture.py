"""The ``frugal_measure`` fixture: explicit regions inside a test, with optional budgets."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest

from frugal.core.measure import measure
from frugal.pytest_plugin.marks import limits
from frugal.pytest_plugin.session import REGIONS, footprint


class RegionMeter:
    """``with frugal_measure("parse", max_cpu_s=0.5) as m: ...``, then ``m.result``.

    Each region is a ``frugal.measure`` region (so it also lands in ``frugal.results()``,
    nested under the test when the test is measured); budget keywords are those of the
    ``frugal`` marker and fail the test when the region goes over one.
    """

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    @contextlib.contextmanager
    def __call__(self, name: str, *, units: float | None = None, **budgets: Any) -> Iterator[Any]:
        checks = limits(f"frugal_measure({name!r})", **budgets)
        with measure(name, units=units) as region:
            yield region
        used = footprint(region.result)
        self._item.stash.setdefault(REGIONS, []).append(used)
        breaches = [b for b in (limit.breach(used) for limit in checks) if b]
        if breaches:
            pytest.fail("\n  ".join([f"frugal: region {name!r} of {self._item.nodeid} went over its budget",
                                     *breaches]), pytrace=False)


@pytest.fixture
def frugal_measure(request: pytest.FixtureRequest) -> RegionMeter:
    """Measure explicit regions of a test: ``with frugal_measure("name", **budgets) as m:``.

    Time and CPU are measured, peak memory too (on Linux exactly); energy and carbon are
    measured by a meter where one is present, else modelled (see ``m.result.energy_method``).
    """
    return RegionMeter(request.node)


__all__ = ["RegionMeter", "frugal_measure"]
