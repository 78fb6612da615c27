"""How much a metric may grow over a baseline (``energy_j:10%``, ``cpu_s:0.05``): the thresholds
that the pytest baseline gate and ``frugal check`` hold a change to, and their parsing.
"""
from __future__ import annotations

from dataclasses import dataclass

from frugal.units import format_quantity, parse_size
from frugal.validate import parse_number

# footprint fields a threshold may name, with their unit ("B" prints as a size)
METRICS: dict[str, str] = {
    "energy_j": "J", "carbon_g": "gCO2e", "embodied_g": "gCO2e", "cpu_s": "s", "wall_s": "s",
    "peak_added_bytes": "B", "peak_rss_bytes": "B",
}


@dataclass(frozen=True)
class Threshold:
    """How much ``metric`` may grow over the baseline: relatively (``10%``) or absolutely."""

    metric: str
    allowed: float
    relative: bool

    def __str__(self) -> str:
        return f"{self.metric}:{self.allowed * 100:g}%" if self.relative else f"{self.metric}:{self.show(self.allowed)}"

    def show(self, value: float) -> str:
        return format_quantity(value, METRICS[self.metric])

    def limit(self, before: float) -> float:
        """The largest ratio of medians (now / baseline) this threshold allows."""
        return 1.0 + (self.allowed if self.relative else self.allowed / before)

    def allowance(self) -> str:
        return f"{self.allowed:.0%}" if self.relative else self.show(self.allowed)


def parse_threshold(text: str, option: str = "--frugal-compare-fail") -> Threshold:
    """``energy_j:10%`` (relative growth) or ``cpu_s:0.05`` / ``peak_added_bytes:20 MB`` (absolute)."""
    metric, sep, amount = text.partition(":")
    metric, amount = metric.strip(), amount.strip()
    if not sep or not amount:
        raise ValueError(f"{option}={text!r}: write METRIC:AMOUNT, e.g. energy_j:10% or cpu_s:0.05")
    if metric not in METRICS:
        raise ValueError(f"{option}={text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}")
    what = f"{option}={text!r}"
    if amount.endswith("%"):
        try:
            value = float(amount[:-1])
        except ValueError:
            raise ValueError(f"{what}: {amount!r} is not a percentage") from None
        return Threshold(metric, parse_number(value, what) / 100, relative=True)
    if METRICS[metric] == "B":
        return Threshold(metric, float(parse_size(amount, what)), relative=False)
    try:
        value = float(amount)
    except ValueError:
        raise ValueError(f"{what}: {amount!r} is not a number of {METRICS[metric]} "
                         "(or a percentage such as 10%)") from None
    return Threshold(metric, parse_number(value, what), relative=False)
