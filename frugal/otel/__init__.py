"""OpenTelemetry instruments: frugal's running totals per region name as observable counters
(``frugal[otel]``), read by whatever exporter the application's meter provider has.

Nothing is sent by frugal: ``instrument()`` only registers callbacks, called when the
provider's reader collects; the counters never go down (``frugal.clear()`` included).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from frugal._version import __version__
from frugal.frames.totals import DEFAULT_MAX_NAMES, METRICS, RunningTotals

try:
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, Observation
except ModuleNotFoundError as exc:     # the extra is not installed: say which one
    if not (exc.name or "").startswith("opentelemetry"):
        raise
    raise ImportError("frugal.otel needs the extra: pip install 'frugal[otel]'") from exc

ATTRIBUTE = "frugal.name"
# instrument of each total: (name, unit, description)
INSTRUMENTS: dict[str, tuple[str, str, str]] = {
    "energy_j": ("frugal.energy", "J", "Energy of the measured calls (CPU, memory, GPU, times PUE)"),
    "carbon_g": ("frugal.carbon", "g", "Operational carbon of the measured calls' energy, gCO2e"),
    "embodied_g": ("frugal.carbon.embodied", "g", "Embodied carbon the measured calls used up, gCO2e"),
    "cpu_s": ("frugal.cpu.time", "s", "CPU time of the measured calls"),
    "wall_s": ("frugal.wall.time", "s", "Wall-clock time of the measured calls"),
    "calls": ("frugal.calls", "{call}", "Measured calls"),
    "errors": ("frugal.errors", "{call}", "Measured calls that raised"),
}


class Instruments:
    """The observable counters made by ``instrument()``; ``totals`` feeds them all.

    One reading of the totals serves every counter of one collection: the first callback of a
    collection updates them, the others reuse that reading (so the counters agree)."""

    def __init__(self, meter: Any, max_names: int) -> None:
        self.totals = RunningTotals(max_names)
        self._reading: dict[str, list[float]] = {}
        self._served: set[str] = set(METRICS)
        self.counters = [meter.create_observable_counter(name, callbacks=[self._callback(metric)],
                                                         unit=unit, description=text)
                         for metric, (name, unit, text) in INSTRUMENTS.items()]

    def _callback(self, metric: str) -> Any:
        column = METRICS.index(metric)

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            if metric in self._served:      # a new collection: read the totals again
                self._reading, self._served = self.totals.update(), set()
            self._served.add(metric)
            return [Observation(values[column], {ATTRIBUTE: name}) for name, values in self._reading.items()]

        return observe


def instrument(meter_provider: Any = None, max_names: int = DEFAULT_MAX_NAMES) -> Instruments:
    """Register frugal's counters (``frugal.energy`` in J, ``frugal.carbon`` in g,
    ``frugal.cpu.time`` in s, ``frugal.calls``...; attribute ``frugal.name``) with
    ``meter_provider`` (the global one if None). ``max_names``: names exported each on its
    own; further ones are summed under ``other``."""
    meter = metrics.get_meter("frugal", __version__, meter_provider=meter_provider)
    return Instruments(meter, max_names)


__all__ = ["ATTRIBUTE", "INSTRUMENTS", "Instruments", "instrument"]
